#include "server/tls_context.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "server/openssl_error.h"

namespace weftkit::server {
namespace {

constexpr char kCipherSuites[] =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr char kGroups[] = "X25519:P-256";
constexpr unsigned char kSessionIdContext[] = "weftkit-kms";

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct FileClose {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

Error TlsError(const char* code, const std::string& what,
               ErrorKind kind = ErrorKind::kFailedPrecondition) {
  return Error(kind, code, what + ": " + DrainOpensslErrors());
}

// An encrypted key file would make OpenSSL prompt on the terminal; refuse it instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

Status ValidateSettings(const TlsContextSettings& settings) {
  if (settings.key_file.empty() == settings.key_uri.empty()) {
    return Error(ErrorKind::kInvalidArgument, "tls_settings_invalid",
                 "exactly one of the TLS key file and the TLS key URI must be set");
  }
  if (settings.client_ca_files.empty()) {
    return Error(ErrorKind::kInvalidArgument, "tls_settings_invalid",
                 "at least one client CA bundle is required for mutual TLS");
  }
  return OkStatus();
}

// Opens the key file once and checks the opened file, so that it cannot be swapped between the
// check and the read.
Result<std::unique_ptr<EVP_PKEY, PkeyFree>> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    return Error(ErrorKind::kFailedPrecondition, "tls_key_unreadable", "cannot open " + path);
  }
  std::unique_ptr<std::FILE, FileClose> file(::fdopen(fd, "r"));
  if (!file) {
    ::close(fd);
    return Error(ErrorKind::kFailedPrecondition, "tls_key_unreadable", "cannot read " + path);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode) || (info.st_mode & (S_IRWXG | S_IRWXO))) {
    return Error(ErrorKind::kFailedPrecondition, "tls_key_file_unsafe",
                 path + " must be a regular file that only its owner can access (mode 0600)");
  }
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_PrivateKey(file.get(), nullptr, NoPassphrase, nullptr));
  if (!key) return TlsError("tls_key_unreadable", "cannot parse private key " + path);
  return key;
}

Status ApplyProtocolPolicy(SSL_CTX* ctx) {
  bool ok =
      SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
      SSL_CTX_set_ciphersuites(ctx, kCipherSuites) == 1 &&
      SSL_CTX_set1_groups_list(ctx, kGroups) == 1 &&
      SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) == 1 &&
      SSL_CTX_set_num_tickets(ctx, 0) == 1;
  if (!ok) return TlsError("tls_policy_rejected", "OpenSSL rejected the TLS 1.3 policy");
  SSL_CTX_set_options(ctx,
                      SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // The chain sent is exactly tls.certificate. Without NO_AUTO_CHAIN OpenSSL would rebuild it
  // from the client-CA store on every handshake, verifying the server certificate's signature
  // each time (17% of a handshake's CPU; docs/performance.md).
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  return OkStatus();
}

Status LoadClientTrust(SSL_CTX* ctx, const TlsContextSettings& settings) {
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  for (const std::string& file : settings.client_ca_files) {
    if (SSL_CTX_load_verify_locations(ctx, file.c_str(), nullptr) != 1 ||
        SSL_add_file_cert_subjects_to_stack(names, file.c_str()) != 1) {
      sk_X509_NAME_pop_free(names, X509_NAME_free);
      return TlsError("tls_client_ca_unreadable", "cannot load client CA bundle " + file);
    }
  }
  SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership of `names`
  // Request a certificate but do not require one: public routes serve clients without.
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(ctx, settings.verify_depth);
  return OkStatus();
}

Status LoadCrl(SSL_CTX* ctx, const std::string& crl_file) {
  if (crl_file.empty()) return OkStatus();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (lookup == nullptr || X509_load_crl_file(lookup, crl_file.c_str(), X509_FILETYPE_PEM) <= 0) {
    return TlsError("tls_crl_unreadable", "cannot load CRL " + crl_file);
  }
  // The leaf is checked; an expired CRL fails every verification, which is the safe direction.
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  return OkStatus();
}

Result<std::unique_ptr<Pkcs11EngineKey>> InstallKey(SSL_CTX* ctx,
                                                    const TlsContextSettings& settings) {
  std::unique_ptr<Pkcs11EngineKey> engine_key;
  EVP_PKEY* key = nullptr;
  std::unique_ptr<EVP_PKEY, PkeyFree> file_key;
  if (!settings.key_uri.empty()) {
    WK_ASSIGN_OR_RETURN(
        engine_key,
        Pkcs11EngineKey::Load(settings.key_uri, settings.pkcs11_module_path, settings.pkcs11_pin));
    key = engine_key->key();
  } else {
    WK_ASSIGN_OR_RETURN(file_key, ReadKeyFile(settings.key_file));
    key = file_key.get();
  }
  if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    return TlsError("tls_key_mismatch", "the TLS key does not match " + settings.cert_file);
  }
  return engine_key;
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsContextSettings& settings) {
  WK_RETURN_IF_ERROR(ValidateSettings(settings));
  // Declared before the context so that, on failure, the context is freed first.
  std::unique_ptr<Pkcs11EngineKey> engine_key;
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return TlsError("tls_context_failed", "SSL_CTX_new failed", ErrorKind::kInternal);
  WK_RETURN_IF_ERROR(ApplyProtocolPolicy(ctx.get()));
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), settings.cert_file.c_str()) != 1) {
    return TlsError("tls_certificate_unreadable", "cannot load " + settings.cert_file);
  }
  WK_ASSIGN_OR_RETURN(engine_key, InstallKey(ctx.get(), settings));
  WK_RETURN_IF_ERROR(LoadClientTrust(ctx.get(), settings));
  WK_RETURN_IF_ERROR(LoadCrl(ctx.get(), settings.crl_file));
  return std::unique_ptr<TlsContext>(new TlsContext(ctx.release(), std::move(engine_key)));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace weftkit::server

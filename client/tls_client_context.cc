#include "client/tls_client_context.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "client/client_error.h"
#include "common/base64.h"
#include "common/secret_bytes.h"

namespace weftkit::client {
namespace {

Error BadOption(const std::string& what) {
  return Error(ErrorKind::kInvalidArgument, std::string(kInvalidOption), what);
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Adds every certificate of `pem` to the context's (empty) trust store.
bool AddCaPem(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert) == 1 ? 1 : 0;
    X509_free(cert);
  }
  return added > 0;
}

Status LoadTrust(SSL_CTX* ctx, const KmsClientOptions& options) {
  if (options.ca_file.empty() == options.ca_pem.empty()) {
    return BadOption("exactly one of ca_file and ca_pem must be set");
  }
  bool ok = options.ca_file.empty()
                ? AddCaPem(ctx, options.ca_pem)
                : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) == 1;
  if (!ok) return BadOption("ca_file/ca_pem: no CA certificate could be loaded");
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return OkStatus();
}

bool UsePemIdentity(SSL_CTX* ctx, const std::string& cert_pem, const std::string& key_pem) {
  BioPtr cert_bio = MemoryBio(cert_pem);
  X509* cert = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
  bool ok = cert != nullptr && SSL_CTX_use_certificate(ctx, cert) == 1;
  X509_free(cert);
  while (ok) {  // the rest of the chain, if any
    X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr);
    if (extra == nullptr) break;
    if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      ok = false;
    }
  }
  BioPtr key_bio = MemoryBio(key_pem);
  EVP_PKEY* key = ok ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr) : nullptr;
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  return ok;
}

Status LoadIdentity(SSL_CTX* ctx, const KmsClientOptions& options) {
  bool from_files = !options.cert_file.empty() || !options.key_file.empty();
  bool inline_pem = !options.cert_pem.empty() || !options.key_pem.empty();
  if (!from_files && !inline_pem) return OkStatus();
  if (from_files && inline_pem)
    return BadOption("cert_file/key_file and cert_pem/key_pem: pick one");
  bool ok = from_files ? SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) == 1 &&
                             SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(),
                                                         SSL_FILETYPE_PEM) == 1
                       : UsePemIdentity(ctx, options.cert_pem, options.key_pem);
  if (!ok || SSL_CTX_check_private_key(ctx) != 1) {
    return BadOption("client certificate or key cannot be loaded, or they do not match");
  }
  return OkStatus();
}

Result<std::vector<std::vector<std::uint8_t>>> DecodePins(const KmsClientOptions& options) {
  std::vector<std::vector<std::uint8_t>> pins;
  for (const std::string& pin : options.pinned_server_spki_sha256) {
    Result<std::vector<std::uint8_t>> bytes = Base64Decode(pin);
    if (!bytes.ok() || bytes->size() != 32) {
      return BadOption("pinned_server_spki_sha256: not base64 of 32 bytes");
    }
    pins.push_back(std::move(bytes).value());
  }
  return pins;
}

}  // namespace

Result<std::unique_ptr<TlsClientContext>> TlsClientContext::Create(
    const KmsClientOptions& options) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Error(ErrorKind::kInternal, "client_tls", "SSL_CTX_new failed");
  Result<std::vector<std::vector<std::uint8_t>>> pins = DecodePins(options);
  if (!pins.ok()) {
    SSL_CTX_free(ctx);
    return pins.error();
  }
  std::unique_ptr<TlsClientContext> context(new TlsClientContext(ctx, std::move(pins).value()));

  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Error(ErrorKind::kInternal, "client_tls", "TLS 1.3 is not available");
  }
  WK_RETURN_IF_ERROR(LoadTrust(ctx, options));
  WK_RETURN_IF_ERROR(LoadIdentity(ctx, options));
  return context;
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

Status TlsClientContext::CheckPeer(SSL* ssl) const {
  if (pins_.empty()) return OkStatus();
  X509* peer = SSL_get1_peer_certificate(ssl);
  if (peer == nullptr) {
    return Error(ErrorKind::kUnauthenticated, std::string(kPinMismatch), "no peer certificate");
  }
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(peer), &der);
  X509_free(peer);
  std::uint8_t digest[32];
  bool hashed = length > 0 && EVP_Digest(der, static_cast<std::size_t>(length), digest, nullptr,
                                         EVP_sha256(), nullptr) == 1;
  OPENSSL_free(der);
  if (hashed) {
    for (const auto& pin : pins_) {
      if (ConstantTimeEquals(pin, digest)) return OkStatus();
    }
  }
  return Error(ErrorKind::kUnauthenticated, std::string(kPinMismatch),
               "the server's public key is not among the pinned keys");
}

}  // namespace weftkit::client

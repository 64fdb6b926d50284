// TlsContext: the one OpenSSL SSL_CTX the whole server uses, built from files and checked before
// the server listens.
//
// The policy is fixed, not configurable: TLS 1.3 only; cipher suites AES-256-GCM, ChaCha20-
// Poly1305, AES-128-GCM; key exchange X25519 or P-256 (ECDHE only); no renegotiation; no
// session resumption, so that every connection is verified (and revocation checked) afresh.
// A client certificate is requested and, when presented, must chain to one of the client CAs
// (and not be revoked, when a CRL is configured); a client without one may still connect, for
// health, readiness and public keys, and is refused on every other route by the dispatcher.
//
// Thread safety: immutable after Create; the SSL_CTX may be shared by all I/O threads.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"
#include "server/pkcs11_engine_key.h"

namespace weftkit::server {

struct TlsContextSettings {
  std::string cert_file;  // PEM: the leaf first, then any intermediates
  // Exactly one of key_file and key_uri is set.
  std::string key_file;  // PEM private key; a regular file no group or other user can access
  std::string key_uri;   // "pkcs11:..." (RFC 7512), loaded through the pkcs11 ENGINE
  std::string pkcs11_module_path;            // the PKCS#11 library, for key_uri
  SecretBytes pkcs11_pin;                    // the token's user PIN, for key_uri
  std::vector<std::string> client_ca_files;  // one or more PEM trust bundles for client certs
  std::string crl_file;                      // optional PEM CRL(s) for client certificates
  int verify_depth = 4;  // longest client chain accepted, intermediates below the root
};

class TlsContext {
 public:
  // Builds and checks the context. Named failures (kind kFailedPrecondition unless noted):
  //   tls_settings_invalid        (kInvalidArgument) no key, both key forms, no client CA
  //   tls_key_file_unsafe         the key file is not a regular file or group/other can access it
  //   tls_key_unreadable          the key file cannot be opened or parsed
  //   tls_certificate_unreadable  the certificate chain cannot be loaded
  //   tls_key_mismatch            the key does not belong to the certificate
  //   tls_client_ca_unreadable    a client CA bundle cannot be loaded
  //   tls_crl_unreadable          the CRL cannot be loaded
  //   tls_pkcs11_*                see Pkcs11EngineKey::Load
  static Result<std::unique_ptr<TlsContext>> Create(const TlsContextSettings& settings);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();

  // The context, owned by this object; callers that keep it longer take their own reference
  // with SSL_CTX_up_ref.
  SSL_CTX* native_handle() const { return ctx_; }

 private:
  TlsContext(SSL_CTX* ctx, std::unique_ptr<Pkcs11EngineKey> engine_key)
      : ctx_(ctx), engine_key_(std::move(engine_key)) {}

  SSL_CTX* ctx_;
  // Keeps the engine loaded while the context signs with its key. The destructor frees ctx_
  // first; whoever took an extra reference to ctx_ must drop it before this object dies.
  std::unique_ptr<Pkcs11EngineKey> engine_key_;
};

}  // namespace weftkit::server

// A TLS private key that stays in the HSM, used through libp11's OpenSSL ENGINE "pkcs11"
// (Debian package libengine-pkcs11-openssl).
//
// OpenSSL signs the handshake with the key by calling the engine, which calls the PKCS#11
// module; the key bytes never enter this process. The engine stays initialised for as long as
// this object lives, so it must outlive every SSL_CTX that uses key().
//
// Thread safety: key() may be used from any thread once loaded (libp11 serialises its
// PKCS#11 calls); loading itself is not meant to run concurrently.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::server {

class Pkcs11EngineKey {
 public:
  // Loads the private key named by `uri` (RFC 7512, e.g. "pkcs11:token=kms;object=tls") from
  // the PKCS#11 library at `module_path`, logging in with `pin`. Fails with kUnavailable when
  // the engine cannot be loaded or initialised and kNotFound when the key cannot be loaded; the
  // detail names the URI and OpenSSL's errors, never the PIN.
  static Result<std::unique_ptr<Pkcs11EngineKey>> Load(const std::string& uri,
                                                       const std::string& module_path,
                                                       const SecretBytes& pin);

  Pkcs11EngineKey(const Pkcs11EngineKey&) = delete;
  Pkcs11EngineKey& operator=(const Pkcs11EngineKey&) = delete;
  ~Pkcs11EngineKey();

  // The key, owned by this object.
  EVP_PKEY* key() const { return key_; }

 private:
  Pkcs11EngineKey(ENGINE* engine, EVP_PKEY* key) : engine_(engine), key_(key) {}

  ENGINE* engine_;  // structural and functional reference
  EVP_PKEY* key_;
};

}  // namespace weftkit::server

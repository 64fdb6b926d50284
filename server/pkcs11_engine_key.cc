// The ENGINE API is deprecated in OpenSSL 3, but libp11 ships no provider in Debian 12, so the
// engine is the supported way to use an HSM-held TLS key there.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "server/pkcs11_engine_key.h"

#include <openssl/engine.h>
#include <openssl/evp.h>

#include <algorithm>

#include "server/openssl_error.h"

namespace weftkit::server {
namespace {

struct EngineFree {
  void operator()(ENGINE* engine) const { ENGINE_free(engine); }
};
using EnginePtr = std::unique_ptr<ENGINE, EngineFree>;

// Drops the functional reference taken by ENGINE_init when loading fails part-way.
struct EngineFinish {
  void operator()(ENGINE* engine) const { ENGINE_finish(engine); }
};

Error EngineError(ErrorKind kind, const char* code, const std::string& what) {
  return Error(kind, code, what + ": " + DrainOpensslErrors());
}

// ENGINE_ctrl_cmd_string wants a NUL-terminated PIN; the copy lives in SecretBytes so it is wiped.
SecretBytes NulTerminated(const SecretBytes& pin) {
  SecretBytes copy(pin.size() + 1);
  std::copy(pin.expose().begin(), pin.expose().end(), copy.expose_mutable().begin());
  return copy;
}

}  // namespace

Result<std::unique_ptr<Pkcs11EngineKey>> Pkcs11EngineKey::Load(const std::string& uri,
                                                               const std::string& module_path,
                                                               const SecretBytes& pin) {
  ENGINE_load_builtin_engines();
  EnginePtr engine(ENGINE_by_id("pkcs11"));
  if (!engine) {
    return EngineError(ErrorKind::kUnavailable, "tls_pkcs11_engine_missing",
                       "OpenSSL engine pkcs11 (libengine-pkcs11-openssl) not found");
  }
  if (ENGINE_ctrl_cmd_string(engine.get(), "MODULE_PATH", module_path.c_str(), 0) != 1 ||
      ENGINE_init(engine.get()) != 1) {
    return EngineError(ErrorKind::kUnavailable, "tls_pkcs11_engine_init_failed",
                       "cannot initialise engine pkcs11 with module " + module_path);
  }
  std::unique_ptr<ENGINE, EngineFinish> initialised(engine.get());
  SecretBytes pin_z = NulTerminated(pin);
  if (ENGINE_ctrl_cmd_string(engine.get(), "PIN", pin_z.expose_chars().data(), 0) != 1) {
    return EngineError(ErrorKind::kUnavailable, "tls_pkcs11_engine_init_failed",
                       "engine pkcs11 refused the PIN command");
  }
  EVP_PKEY* key = ENGINE_load_private_key(engine.get(), uri.c_str(), nullptr, nullptr);
  if (key == nullptr) {
    return EngineError(ErrorKind::kNotFound, "tls_pkcs11_key_not_found",
                       "cannot load TLS key " + uri);
  }
  initialised.release();
  return std::unique_ptr<Pkcs11EngineKey>(new Pkcs11EngineKey(engine.release(), key));
}

Pkcs11EngineKey::~Pkcs11EngineKey() {
  EVP_PKEY_free(key_);
  ENGINE_finish(engine_);
  ENGINE_free(engine_);
}

}  // namespace weftkit::server

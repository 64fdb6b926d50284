// SecurityContext: who is calling, how they proved it, and what they held at that moment.
//
// Built once per request from the authenticated connection and credentials, then immutable:
// every accessor is const and there are no setters, so nothing downstream can grant itself more.
// Every handler, store call and audit entry receives it by const reference.
//
// Thread-safe: immutable after construction.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace weftkit {

enum class AuthMethod {
  kNone,  // only for health, readiness and public keys
  kMtls,  // a verified client certificate
  kJwt,   // a bearer token issued by this server
  kScram  // a SCRAM-SHA-256 exchange in progress
};

const char* AuthMethodName(AuthMethod method);

class SecurityContext {
 public:
  struct Fields {
    std::string principal;  // e.g. "spiffe://weftkit.dev/engine/orders"
    AuthMethod auth_method = AuthMethod::kNone;
    std::vector<std::string> roles;  // as resolved when the request arrived
    std::string request_id;
    std::string peer;       // "ip:port"
    std::int64_t time = 0;  // Unix seconds when the context was built
  };

  explicit SecurityContext(Fields fields) : fields_(std::move(fields)) {}

  const std::string& principal() const { return fields_.principal; }
  AuthMethod auth_method() const { return fields_.auth_method; }
  const std::vector<std::string>& roles() const { return fields_.roles; }
  const std::string& request_id() const { return fields_.request_id; }
  const std::string& peer() const { return fields_.peer; }
  std::int64_t time() const { return fields_.time; }

  bool authenticated() const { return fields_.auth_method != AuthMethod::kNone; }
  bool HasRole(const std::string& role) const;

 private:
  const Fields fields_;
};

}  // namespace weftkit

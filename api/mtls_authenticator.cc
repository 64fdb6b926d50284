#include "api/mtls_authenticator.h"

#include "api/access_policy.h"
#include "common/time_util.h"

namespace weftkit::api {
namespace {

Error Unauthenticated(const char* code, const std::string& detail) {
  return Error(ErrorKind::kUnauthenticated, code, detail);
}

}  // namespace

Result<SecurityContext> AuthenticateRequest(const server::Request& request) {
  const server::PeerCertificate& certificate = request.peer_certificate;
  if (!certificate.present) {
    return Unauthenticated("client_certificate_required", "no client certificate presented");
  }
  std::vector<std::string> spiffe_ids;
  for (const std::string& uri : certificate.uri_sans) {
    if (uri.rfind("spiffe://", 0) == 0) spiffe_ids.push_back(uri);
  }
  if (spiffe_ids.size() != 1) {
    return Unauthenticated("certificate_identity",
                           "client certificate '" + certificate.subject + "' has " +
                               std::to_string(spiffe_ids.size()) + " SPIFFE URI SANs, not one");
  }
  SecurityContext::Fields fields;
  fields.principal = spiffe_ids.front();
  fields.auth_method = AuthMethod::kMtls;
  fields.roles = BuiltInRolesFor(fields.principal);
  fields.request_id = request.request_id;
  fields.peer = request.peer;
  fields.time = UnixNow();
  return SecurityContext(std::move(fields));
}

SecurityContext AnonymousContext(const server::Request& request) {
  SecurityContext::Fields fields;
  fields.auth_method = AuthMethod::kNone;
  fields.request_id = request.request_id;
  fields.peer = request.peer;
  fields.time = UnixNow();
  return SecurityContext(std::move(fields));
}

}  // namespace weftkit::api

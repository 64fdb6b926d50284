#include "api/request_authenticator.h"

#include <algorithm>

#include "common/time_util.h"

namespace weftkit::api {
namespace {

constexpr std::string_view kBearer = "Bearer ";

Error Unauthenticated(const char* code, const std::string& detail) {
  return Error(ErrorKind::kUnauthenticated, code, detail);
}

// The values of `names` that start with `prefix` ("" for any).
std::vector<std::string> WithPrefix(const std::vector<std::string>& names,
                                    std::string_view prefix) {
  std::vector<std::string> found;
  for (const std::string& name : names) {
    if (name.rfind(prefix, 0) == 0) found.push_back(name);
  }
  return found;
}

Result<std::string> Single(std::vector<std::string> candidates, const char* what,
                           const std::string& subject) {
  if (candidates.size() != 1) {
    return Unauthenticated("certificate_identity", "client certificate '" + subject + "' has " +
                                                       std::to_string(candidates.size()) + " " +
                                                       what + ", not one");
  }
  return std::move(candidates.front());
}

}  // namespace

RequestAuthenticator::RequestAuthenticator(const auth::RbacService& rbac,
                                           const auth::TokenService& tokens,
                                           AuthenticatorOptions options)
    : rbac_(rbac), tokens_(tokens), options_(std::move(options)) {}

Result<std::string> RequestAuthenticator::CertificatePrincipal(
    const server::PeerCertificate& certificate) const {
  if (!options_.pinned_spki_sha256.empty() &&
      std::find(options_.pinned_spki_sha256.begin(), options_.pinned_spki_sha256.end(),
                certificate.spki_sha256_hex) == options_.pinned_spki_sha256.end()) {
    return Unauthenticated("certificate_not_pinned",
                           "public key of '" + certificate.subject + "' is not pinned");
  }
  switch (options_.certificate_identity) {
    case CertificateIdentity::kSpiffeUri:
      return Single(WithPrefix(certificate.uri_sans, "spiffe://"), "SPIFFE URI SANs",
                    certificate.subject);
    case CertificateIdentity::kDnsSan:
      return Single(certificate.dns_sans, "DNS SANs", certificate.subject);
    case CertificateIdentity::kSubject:
      if (certificate.subject.empty()) {
        return Unauthenticated("certificate_identity", "client certificate has no subject");
      }
      return certificate.subject;
  }
  return Unauthenticated("certificate_identity", "no identity source configured");
}

SecurityContext RequestAuthenticator::Build(const server::Request& request, std::string principal,
                                            AuthMethod method, bool with_roles) const {
  SecurityContext::Fields fields;
  if (with_roles) fields.roles = rbac_.RolesOf(principal);
  fields.principal = std::move(principal);
  fields.auth_method = method;
  fields.request_id = request.request_id;
  fields.peer = request.peer;
  fields.time = UnixNow();
  return SecurityContext(std::move(fields));
}

Result<SecurityContext> RequestAuthenticator::Authenticate(const server::Request& request) const {
  if (std::optional<std::string_view> authorization = request.Header("authorization")) {
    if (authorization->substr(0, kBearer.size()) != kBearer) {
      // Other schemes (SCRAM) belong to the login route, which is public and never gets here.
      return Unauthenticated("bearer_malformed", "Authorization is not a Bearer token");
    }
    WK_ASSIGN_OR_RETURN(auth::VerifiedToken token,
                        tokens_.Verify(authorization->substr(kBearer.size())));
    // A password-change token gets no roles: the only route it can use is the one that lets a
    // user change their own password, which needs no role.
    bool with_roles = token.scope == auth::TokenScope::kFull;
    return Build(request, std::move(token.sub), AuthMethod::kJwt, with_roles);
  }
  if (request.peer_certificate.present) {
    WK_ASSIGN_OR_RETURN(std::string principal, CertificatePrincipal(request.peer_certificate));
    return Build(request, std::move(principal), AuthMethod::kMtls, /*with_roles=*/true);
  }
  return Unauthenticated("credentials_required",
                         "neither a client certificate nor a bearer token was presented");
}

}  // namespace weftkit::api

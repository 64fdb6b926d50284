#include "auth/token_service.h"

#include "common/time_util.h"

namespace weftkit::auth {

Result<std::unique_ptr<TokenService>> TokenService::Create(
    pkcs11::Hsm& hsm, std::shared_ptr<store::Database> database, TokenPolicy policy) {
  if (!policy.now) policy.now = UnixNow;
  WK_RETURN_IF_ERROR(ValidateTokenPolicy(policy));

  std::unique_ptr<TokenService> service(new TokenService(policy));
  WK_ASSIGN_OR_RETURN(service->keys_, SigningKeyRing::Open(hsm, database, policy));
  WK_ASSIGN_OR_RETURN(service->revocations_, TokenRevocations::Open(database, policy.now));
  WK_ASSIGN_OR_RETURN(service->issuer_, TokenIssuer::Create(hsm, *service->keys_, policy));
  WK_ASSIGN_OR_RETURN(service->verifier_,
                      TokenVerifier::Create(*service->keys_, *service->revocations_, policy));
  return service;
}

Status TokenService::Revoke(std::string_view jti, std::string_view revoked_by) {
  // The jti alone does not say when its token expires, but no token outlives this bound.
  const std::int64_t expires_at = policy_.now() + RetirementDelay(policy_);
  return revocations_->Revoke(jti, expires_at, revoked_by);
}

Status TokenService::Maintain() {
  WK_RETURN_IF_ERROR(keys_->RetireExpired());
  return revocations_->PurgeExpired();
}

}  // namespace weftkit::auth

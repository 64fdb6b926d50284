// TokenService: the API-token module in one object, as kmsd wires it: the signing key ring, the
// issuer, the verifier and the revocation list, sharing one TokenPolicy, one HSM and one store.
//
// Thread safety: all members are thread-safe. Issue and RotateSigningKey call the HSM, Revoke
// and Maintain write the store (run them on worker threads); Verify and JwkSetJson touch
// neither.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/jwt_issuer.h"
#include "auth/jwt_verifier.h"
#include "auth/signing_key_ring.h"
#include "auth/token_policy.h"
#include "auth/token_revocations.h"
#include "pkcs11/hsm.h"
#include "store/database.h"

namespace weftkit::auth {

class TokenService {
 public:
  // Opens the key ring (creating the first signing key on first start) and the revocation list
  // in `database`, which may be shared with other modules. An unset policy.now means the system
  // clock. `hsm` must outlive the service. Fails with "invalid_token_policy" or as
  // SigningKeyRing::Open and TokenRevocations::Open do.
  static Result<std::unique_ptr<TokenService>> Create(pkcs11::Hsm& hsm,
                                                      std::shared_ptr<store::Database> database,
                                                      TokenPolicy policy);

  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  // See TokenIssuer::Issue.
  Result<IssuedToken> Issue(std::string_view principal, std::string_view audience,
                            std::int64_t lifetime_s, AuthMethod method,
                            TokenScope scope = TokenScope::kFull) const {
    return issuer_->Issue(principal, audience, lifetime_s, method, scope);
  }

  // See TokenVerifier::Verify.
  Result<VerifiedToken> Verify(std::string_view token) const { return verifier_->Verify(token); }

  // Revokes the token id `jti` for as long as any token carrying it could still verify
  // (now + max lifetime + leeway), recording `revoked_by`. See TokenRevocations::Revoke.
  Status Revoke(std::string_view jti, std::string_view revoked_by);

  // See SigningKeyRing::Rotate.
  Result<SigningKeyRecord> RotateSigningKey() { return keys_->Rotate(); }

  // The published JWK set, for /.well-known/jwks.json.
  std::string JwkSetJson() const { return keys_->JwkSetJson(); }

  // Housekeeping for a periodic timer: records expired retiring keys as retired and purges
  // revocations of tokens that have expired anyway.
  Status Maintain();

  const TokenPolicy& policy() const { return policy_; }
  SigningKeyRing& keys() { return *keys_; }
  TokenRevocations& revocations() { return *revocations_; }

 private:
  TokenService(TokenPolicy policy) : policy_(std::move(policy)) {}

  const TokenPolicy policy_;
  std::unique_ptr<SigningKeyRing> keys_;
  std::unique_ptr<TokenRevocations> revocations_;
  std::unique_ptr<TokenIssuer> issuer_;      // refers to *keys_
  std::unique_ptr<TokenVerifier> verifier_;  // refers to *keys_ and *revocations_
};

}  // namespace weftkit::auth

#include "auth/scram_bootstrap.h"

#include <openssl/crypto.h>

#include <string>

#include "auth/scram_credentials.h"
#include "common/base64.h"

namespace weftkit::auth {

Result<std::optional<SecretBytes>> CreateBootstrapCredential(PasswordStore& store,
                                                             std::uint32_t iterations) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> random, RandomBytes(kBootstrapPasswordBytes));
  std::string encoded = Base64UrlEncode(random);
  SecretBytes password = SecretBytes::CopyOf(encoded);
  OPENSSL_cleanse(random.data(), random.size());
  OPENSSL_cleanse(encoded.data(), encoded.size());

  WK_ASSIGN_OR_RETURN(ScramCredentials credentials, NewScramCredentials(password, iterations));
  WK_ASSIGN_OR_RETURN(bool created, store.CreateFirstUser(kBootstrapUser, credentials,
                                                          /*must_change_password=*/true));
  if (!created) return std::optional<SecretBytes>();
  return std::optional<SecretBytes>(std::move(password));
}

}  // namespace weftkit::auth

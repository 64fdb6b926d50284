#include "auth/scram_password_store.h"

#include <algorithm>
#include <cctype>

namespace weftkit::auth {

bool IsValidUserName(std::string_view name) {
  constexpr std::size_t kMaxLength = 64;
  if (name.empty() || name.size() > kMaxLength) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
           c == '-';
  });
}

Status PasswordStore::SetPassword(const std::string& user, const SecretBytes& password,
                                  std::uint32_t iterations, bool must_change_password) {
  if (!IsValidUserName(user)) {
    return Error(ErrorKind::kInvalidArgument, "invalid_user_name", "user name not allowed");
  }
  WK_RETURN_IF_ERROR(CheckPassword(password));
  WK_ASSIGN_OR_RETURN(ScramCredentials credentials, NewScramCredentials(password, iterations));
  return PutCredentials(user, credentials, must_change_password);
}

}  // namespace weftkit::auth

#include "policy_store/canonical_json.h"

#include <openssl/evp.h>

#include <array>

namespace weftkit::policy_store {

Result<std::string> CanonicalJson(const nlohmann::json& document) {
  // nlohmann::json keeps object members in a std::map, so dump() already sorts them by bytes.
  try {
    return document.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception&) {
    return Error(ErrorKind::kInvalidArgument, "policy_not_utf8",
                 "the document holds a string that is not valid UTF-8");
  }
}

Result<std::string> Sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    return Error(ErrorKind::kInternal, "openssl_error", "EVP_Digest(SHA-256) failed");
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 0x0f]);
  }
  return hex;
}

Result<std::string> ContentHash(const nlohmann::json& document) {
  WK_ASSIGN_OR_RETURN(std::string canonical, CanonicalJson(document));
  return Sha256Hex(canonical);
}

}  // namespace weftkit::policy_store

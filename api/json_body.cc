#include "api/json_body.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "common/base64.h"

namespace weftkit::api {

Error InvalidField(const std::string& pointer, const std::string& expected) {
  return Error(ErrorKind::kInvalidArgument, "invalid_field", pointer + ": expected " + expected);
}

Result<nlohmann::json> ParseObject(std::string_view body,
                                   const std::vector<std::string_view>& allowed) {
  WK_ASSIGN_OR_RETURN(nlohmann::json parsed, ParseJsonObject(body));
  WK_RETURN_IF_ERROR(CheckObjectFields(parsed, allowed, ""));
  return parsed;
}

Result<nlohmann::json> ParseJsonObject(std::string_view body) {
  if (body.empty()) return nlohmann::json::object();
  // No exceptions: parse errors come back as a discarded value. nlohmann's parser and destructor
  // do not recurse, so even a body of a million nested brackets is safe to parse and drop.
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return Error(ErrorKind::kInvalidArgument, "malformed_json", "request body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return Error(ErrorKind::kInvalidArgument, "malformed_json", "request body is not an object");
  }
  return parsed;
}

Status CheckObjectFields(const nlohmann::json& object, const std::vector<std::string_view>& allowed,
                         const std::string& pointer) {
  if (!object.is_object()) return InvalidField(pointer.empty() ? "/" : pointer, "an object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      // The unknown name is attacker-chosen: name its position, not its text.
      return Error(ErrorKind::kInvalidArgument, "unknown_field",
                   "unknown field in " + (pointer.empty() ? std::string("/") : pointer));
    }
  }
  return OkStatus();
}

Result<std::string> RequiredString(const nlohmann::json& object, const char* field,
                                   const std::string& pointer) {
  auto found = object.find(field);
  if (found == object.end() || !found->is_string()) return InvalidField(pointer, "a string");
  return found->get<std::string>();
}

Result<std::optional<std::string>> OptionalString(const nlohmann::json& object, const char* field,
                                                  const std::string& pointer) {
  auto found = object.find(field);
  if (found == object.end() || found->is_null()) return std::optional<std::string>();
  if (!found->is_string()) return InvalidField(pointer, "a string");
  return std::optional<std::string>(found->get<std::string>());
}

Result<std::optional<std::int64_t>> OptionalInteger(const nlohmann::json& object, const char* field,
                                                    const std::string& pointer, std::int64_t min,
                                                    std::int64_t max) {
  auto found = object.find(field);
  if (found == object.end() || found->is_null()) return std::optional<std::int64_t>();
  std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!found->is_number_integer()) return InvalidField(pointer, expected);
  // Unsigned values above int64's range are refused before conversion.
  if (found->is_number_unsigned() &&
      found->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    return InvalidField(pointer, expected);
  }
  std::int64_t value = found->get<std::int64_t>();
  if (value < min || value > max) return InvalidField(pointer, expected);
  return std::optional<std::int64_t>(value);
}

Result<std::map<std::string, std::string>> OptionalStringMap(const nlohmann::json& object,
                                                             const char* field,
                                                             const std::string& pointer) {
  std::map<std::string, std::string> result;
  auto found = object.find(field);
  if (found == object.end() || found->is_null()) return result;
  if (!found->is_object()) return InvalidField(pointer, "an object of strings");
  for (const auto& [key, value] : found->items()) {
    if (!value.is_string()) return InvalidField(pointer, "an object of strings");
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

Result<SecretBytes> TakeSecretBase64(nlohmann::json& object, const char* field,
                                     const std::string& pointer) {
  auto found = object.find(field);
  if (found == object.end() || !found->is_string()) return InvalidField(pointer, "base64 text");
  std::string& text = found->get_ref<std::string&>();
  Result<SecretBytes> decoded = Base64DecodeSecret(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!decoded.ok()) return InvalidField(pointer, "canonical padded base64");
  return decoded;
}

}  // namespace weftkit::api

// Strict JSON request bodies: an object, only known fields, each of the expected type.
//
// Unknown fields are refused rather than ignored, so a typo ("contxt") cannot silently drop an
// encryption context. Errors name the offending field by JSON Pointer and never echo its value.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::api {

// Parses `body` as a JSON object, of any keys. An empty body counts as {}.
Result<nlohmann::json> ParseJsonObject(std::string_view body);

// Parses `body` as a JSON object whose keys are all in `allowed`. An empty body counts as {}.
Result<nlohmann::json> ParseObject(std::string_view body,
                                   const std::vector<std::string_view>& allowed);
inline Result<nlohmann::json> ParseObject(std::string_view body,
                                          std::initializer_list<std::string_view> allowed) {
  return ParseObject(body, std::vector<std::string_view>(allowed));
}

// Checks that `object` is a JSON object whose keys are all in `allowed`; `pointer` locates it.
Status CheckObjectFields(const nlohmann::json& object, const std::vector<std::string_view>& allowed,
                         const std::string& pointer);

// Field readers. `pointer` is the field's JSON Pointer, used in error details ("/items/3/key").
Result<std::string> RequiredString(const nlohmann::json& object, const char* field,
                                   const std::string& pointer);
Result<std::optional<std::string>> OptionalString(const nlohmann::json& object, const char* field,
                                                  const std::string& pointer);
Result<std::optional<std::int64_t>> OptionalInteger(const nlohmann::json& object, const char* field,
                                                    const std::string& pointer, std::int64_t min,
                                                    std::int64_t max);
// A map of strings, for encryption contexts. Absent or null gives an empty map.
Result<std::map<std::string, std::string>> OptionalStringMap(const nlohmann::json& object,
                                                             const char* field,
                                                             const std::string& pointer);
// Decodes a base64 field into secure memory and wipes the JSON copy of it.
Result<SecretBytes> TakeSecretBase64(nlohmann::json& object, const char* field,
                                     const std::string& pointer);

Error InvalidField(const std::string& pointer, const std::string& expected);

}  // namespace weftkit::api

// Fuzzes the strict JSON request-body readers (api/json_body.h) the way the routes use them.
//
// The input is a request body. It is parsed as the single-item DEK body (context, bytes,
// plaintext, wrapped), as the key-creation body (name, description, rotation_period_s) and as a
// batch body ({"items": [...]}, each item checked like a single-item body). Properties checked,
// all promised by json_body.h:
//   - nothing crashes or throws, however deep or large the JSON;
//   - ParseObject accepts a body exactly when ParseJsonObject does and every key is allowed;
//   - refusals carry kInvalidArgument and one of the documented codes;
//   - OptionalInteger returns values inside [min, max] only;
//   - TakeSecretBase64 decodes exactly what Base64DecodeSecret decodes, and wipes the JSON copy.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_body.h"
#include "common/base64.h"
#include "fuzz/fuzz_check.h"
#include "kms/encryption_context.h"

namespace weftkit::api {
namespace {

const std::vector<std::string_view> kItemFields = {"context", "bytes", "plaintext", "wrapped"};

void CheckRefusal(const Error& error) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code() == "malformed_json" || error.code() == "unknown_field" ||
             error.code() == "invalid_field");
}

// Reads every field of a DEK item as dek_routes.cc does.
void ReadItem(nlohmann::json& item, const std::string& pointer) {
  Status fields = CheckObjectFields(item, kItemFields, pointer);
  if (!fields.ok()) return CheckRefusal(fields.error());

  auto context = OptionalStringMap(item, "context", pointer + "/context");
  if (context.ok()) {
    (void)kms::EncryptionContext::Create(*context);
  } else {
    CheckRefusal(context.error());
  }
  auto bytes = OptionalInteger(item, "bytes", pointer + "/bytes", 16, 64);
  if (bytes.ok() && bytes->has_value()) FUZZ_CHECK(**bytes >= 16 && **bytes <= 64);
  auto wrapped = RequiredString(item, "wrapped", pointer + "/wrapped");
  if (wrapped.ok()) (void)Base64Decode(*wrapped);

  auto found = item.find("plaintext");
  const bool is_text = found != item.end() && found->is_string();
  const std::string original = is_text ? found->get<std::string>() : std::string();
  auto secret = TakeSecretBase64(item, "plaintext", pointer + "/plaintext");
  FUZZ_CHECK(!secret.ok() || is_text);
  if (is_text) {
    FUZZ_CHECK(secret.ok() == Base64DecodeSecret(original).ok());
    const std::string& left = item["plaintext"].get_ref<const std::string&>();
    FUZZ_CHECK(left.size() == original.size());
    FUZZ_CHECK(left.find_first_not_of('\0') == std::string::npos);
  }
}

void ReadKeyBody(std::string_view body, bool parses) {
  auto parsed = ParseObject(body, {"name", "description", "rotation_period_s"});
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  FUZZ_CHECK(parses);
  (void)RequiredString(*parsed, "name", "/name");
  (void)OptionalString(*parsed, "description", "/description");
  auto period = OptionalInteger(*parsed, "rotation_period_s", "/rotation_period_s", 3600,
                                std::int64_t{100} * 365 * 24 * 3600);
  if (period.ok() && period->has_value()) FUZZ_CHECK(**period >= 3600);
}

void ReadBatchBody(std::string_view body) {
  auto parsed = ParseObject(body, {"items"});
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  auto items = parsed->find("items");
  if (items == parsed->end() || !items->is_array()) return;
  for (std::size_t i = 0; i < items->size(); ++i) {
    ReadItem((*items)[i], "/items/" + std::to_string(i));
  }
}

}  // namespace
}  // namespace weftkit::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body = weftkit::fuzz::AsText(data, size);
  auto object = weftkit::api::ParseJsonObject(body);
  if (object.ok()) {
    weftkit::api::ReadItem(*object, "");
  } else {
    weftkit::api::CheckRefusal(object.error());
  }
  weftkit::api::ReadKeyBody(body, object.ok());
  weftkit::api::ReadBatchBody(body);
  return 0;
}

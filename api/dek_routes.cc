#include "api/dek_routes.h"

#include <openssl/crypto.h>

#include "api/authorizer.h"
#include "api/json_body.h"
#include "api/responses.h"
#include "common/base64.h"
#include "server/problem.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

// What one item of a DEK operation produced.
struct ItemOutput {
  std::string key;
  std::uint32_t key_version = 0;
  std::optional<SecretBytes> plaintext;  // only generate-data-key and unwrap
  std::vector<std::uint8_t> wrapped;     // empty for unwrap
};

using ItemRunner = std::function<Result<ItemOutput>(
    kms::KeyService&, const std::string& key, nlohmann::json& item, const std::string& pointer)>;

struct DekOperation {
  const char* name;
  const char* action;  // what RBAC must allow on the key
  std::vector<std::string_view> fields;
  ItemRunner run;
  bool rate_limited = false;                 // counted against the unwrap limits, per item
  server::CounterFamily* counter = nullptr;  // kms_dek_operations_total
};

// Runs one item and counts its outcome.
Result<ItemOutput> RunItem(kms::KeyService& keys, const DekOperation& op, const std::string& key,
                           nlohmann::json& item, const std::string& pointer) {
  Status fields = CheckObjectFields(item, op.fields, pointer);
  Result<ItemOutput> output =
      fields.ok() ? op.run(keys, key, item, pointer) : Result<ItemOutput>(fields.error());
  if (op.counter != nullptr) {
    op.counter->WithLabels({op.name, output.ok() ? "ok" : output.error().code()}).Increment();
  }
  return output;
}

Result<kms::EncryptionContext> ContextOf(const nlohmann::json& item, const std::string& pointer) {
  WK_ASSIGN_OR_RETURN(auto entries, OptionalStringMap(item, "context", pointer + "/context"));
  return kms::EncryptionContext::Create(std::move(entries));
}

Result<std::vector<std::uint8_t>> EnvelopeOf(const nlohmann::json& item,
                                             const std::string& pointer) {
  WK_ASSIGN_OR_RETURN(std::string text, RequiredString(item, "wrapped", pointer + "/wrapped"));
  Result<std::vector<std::uint8_t>> bytes = Base64Decode(text);
  if (!bytes.ok()) return InvalidField(pointer + "/wrapped", "canonical padded base64");
  return bytes;
}

Result<ItemOutput> Generate(kms::KeyService& keys, const std::string& key, nlohmann::json& item,
                            const std::string& pointer, bool with_plaintext) {
  WK_ASSIGN_OR_RETURN(auto context, ContextOf(item, pointer));
  WK_ASSIGN_OR_RETURN(
      auto bytes, OptionalInteger(item, "bytes", pointer + "/bytes", kms::KeyService::kMinDekBytes,
                                  kms::KeyService::kMaxDekBytes));
  WK_ASSIGN_OR_RETURN(
      kms::GeneratedDek dek,
      keys.GenerateDataKey(key, static_cast<std::size_t>(bytes.value_or(32)), context));
  ItemOutput output{dek.wrapped.key_name, dek.wrapped.key_version, std::nullopt,
                    std::move(dek.wrapped.envelope)};
  if (with_plaintext) output.plaintext = std::move(dek.plaintext);
  return output;
}

Result<ItemOutput> WrapItem(kms::KeyService& keys, const std::string& key, nlohmann::json& item,
                            const std::string& pointer) {
  WK_ASSIGN_OR_RETURN(SecretBytes dek, TakeSecretBase64(item, "plaintext", pointer + "/plaintext"));
  WK_ASSIGN_OR_RETURN(auto context, ContextOf(item, pointer));
  WK_ASSIGN_OR_RETURN(kms::WrappedDek wrapped, keys.Wrap(key, dek, context));
  return ItemOutput{wrapped.key_name, wrapped.key_version, std::nullopt,
                    std::move(wrapped.envelope)};
}

Result<ItemOutput> UnwrapItem(kms::KeyService& keys, const std::string& key, nlohmann::json& item,
                              const std::string& pointer) {
  WK_ASSIGN_OR_RETURN(auto envelope, EnvelopeOf(item, pointer));
  WK_ASSIGN_OR_RETURN(auto context, ContextOf(item, pointer));
  WK_ASSIGN_OR_RETURN(kms::UnwrappedDek dek, keys.Unwrap(envelope, context, key));
  return ItemOutput{dek.key_name, dek.key_version, std::move(dek.plaintext), {}};
}

Result<ItemOutput> RewrapItem(kms::KeyService& keys, const std::string& key, nlohmann::json& item,
                              const std::string& pointer) {
  WK_ASSIGN_OR_RETURN(auto envelope, EnvelopeOf(item, pointer));
  WK_ASSIGN_OR_RETURN(auto context, ContextOf(item, pointer));
  WK_ASSIGN_OR_RETURN(kms::WrappedDek wrapped, keys.Rewrap(envelope, context, key));
  return ItemOutput{wrapped.key_name, wrapped.key_version, std::nullopt,
                    std::move(wrapped.envelope)};
}

std::vector<DekOperation> Operations() {
  return {
      {"generate-data-key",
       "dek.generate",
       {"context", "bytes"},
       [](auto& keys, const auto& key, auto& item, const auto& pointer) {
         return Generate(keys, key, item, pointer, true);
       }},
      {"generate-data-key-without-plaintext",
       "dek.generate",
       {"context", "bytes"},
       [](auto& keys, const auto& key, auto& item, const auto& pointer) {
         return Generate(keys, key, item, pointer, false);
       }},
      {"wrap", "dek.wrap", {"plaintext", "context"}, WrapItem},
      {"unwrap", "dek.unwrap", {"wrapped", "context"}, UnwrapItem, /*rate_limited=*/true},
      {"rewrap", "dek.rewrap", {"wrapped", "context"}, RewrapItem},
  };
}

// Appends `"name":"<base64>"` for secret bytes, wiping the temporary encoding.
void AppendSecretField(std::string& out, const char* name, const SecretBytes& secret) {
  std::string encoded = Base64Encode(secret.expose());
  out.append(",\"").append(name).append("\":\"").append(encoded).append("\"");
  OPENSSL_cleanse(encoded.data(), encoded.size());
}

// Writes an item by hand rather than through nlohmann::json so that the plaintext exists only in
// SecretBytes and in the response body, which the server wipes after sending. Key names are
// validated to [A-Za-z0-9._-] and need no escaping.
void AppendItem(std::string& out, const ItemOutput& item, bool in_batch) {
  out.append(in_batch ? "{\"ok\":true," : "{");
  out.append("\"key\":\"").append(item.key).append("\",\"key_version\":");
  out.append(std::to_string(item.key_version));
  if (item.plaintext) AppendSecretField(out, "plaintext", *item.plaintext);
  if (!item.wrapped.empty()) {
    out.append(",\"wrapped\":\"").append(Base64Encode(item.wrapped)).append("\"");
  }
  out.append("}");
}

void AppendItemError(std::string& out, const SecurityContext& context, const Error& error) {
  // Log it like a request failure, then report only the stable code to the client.
  (void)ErrorResponse(context, error);
  nlohmann::json problem = {{"status", server::HttpStatusFor(error.kind())},
                            {"code", error.code()}};
  out.append("{\"ok\":false,\"error\":").append(problem.dump()).append("}");
}

Response SensitiveResponse(std::string body) {
  Response response;
  response.status = 200;
  response.body = std::move(body);
  response.wipe_after_send = true;
  return response;
}

// What the operation's limit says about `count` items; nullopt when admitted.
std::optional<Response> RateLimited(server::RateLimits* limits, const DekOperation& op,
                                    const SecurityContext& context, std::size_t count) {
  if (limits == nullptr || !op.rate_limited) return std::nullopt;
  std::optional<server::RateRefusal> refusal =
      limits->AdmitUnwrap(context.peer(), context.principal(), count);
  if (!refusal) return std::nullopt;
  return server::RateLimitedResponse(*refusal, context.request_id());
}

Result<Response> RunSingle(kms::KeyService& keys, const Authorizer& authorize,
                           server::RateLimits* limits, const DekOperation& op,
                           const Request& request, const SecurityContext& context) {
  const std::string& key = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, op.action, KeyResource(key)));
  if (std::optional<Response> refused = RateLimited(limits, op, context, 1)) return *refused;
  WK_ASSIGN_OR_RETURN(nlohmann::json item, ParseJsonObject(request.body));
  // An empty body is an empty item; a body that is not a JSON object never reaches RunItem.
  WK_ASSIGN_OR_RETURN(ItemOutput output, RunItem(keys, op, key, item, ""));
  std::string body;
  AppendItem(body, output, false);
  Response response = SensitiveResponse(std::move(body));
  // The version that wrapped or unwrapped, for the audit entry (a batch may use several, so
  // its entry names the key only).
  response.audit.key_name = output.key;
  response.audit.key_version = output.key_version;
  return response;
}

Result<Response> RunBatch(kms::KeyService& keys, const Authorizer& authorize,
                          server::RateLimits* limits, const DekOperation& op, std::size_t max_items,
                          const Request& request, const SecurityContext& context) {
  const std::string& key = request.PathParam("name");
  WK_RETURN_IF_ERROR(authorize(context, op.action, KeyResource(key)));
  WK_ASSIGN_OR_RETURN(nlohmann::json body, ParseObject(request.body, {"items"}));
  auto items = body.find("items");
  if (items == body.end() || !items->is_array()) return InvalidField("/items", "an array");
  if (items->size() > max_items) {
    return Error(ErrorKind::kPayloadTooLarge, "batch_too_large",
                 "batch of " + std::to_string(items->size()) + " items exceeds the limit of " +
                     std::to_string(max_items));
  }
  if (auto refused = RateLimited(limits, op, context, items->size())) return *std::move(refused);
  // TODO(#7): a DEK costs kmsd ~1.5x the raw HSM's CPU; perf puts most of it in SoftHSM's
  // C_DecryptInit per item, the JSON parse at ~4%, the session lease below 1% (performance.md).
  std::string out = "{\"results\":[";
  for (std::size_t index = 0; index < items->size(); ++index) {
    if (index > 0) out.push_back(',');
    std::string pointer = "/items/" + std::to_string(index);
    nlohmann::json& item = (*items)[index];
    Result<ItemOutput> output = RunItem(keys, op, key, item, pointer);
    if (output.ok()) {
      AppendItem(out, *output, true);
    } else {
      AppendItemError(out, context, output.error());
    }
  }
  out.append("]}");
  return SensitiveResponse(std::move(out));
}

}  // namespace

void RegisterDekRoutes(server::Router& router, kms::KeyService& keys, Authorizer authorize,
                       server::Metrics& metrics, std::size_t max_batch_items,
                       server::RateLimits* limits) {
  kms::KeyService* service = &keys;
  auto authorizer = std::make_shared<const Authorizer>(std::move(authorize));
  auto counter = metrics.AddCounter("kms_dek_operations_total",
                                    "DEK operations by operation and outcome (ok or error code)",
                                    {"operation", "outcome"});
  for (DekOperation& op : Operations()) {
    if (counter.ok()) op.counter = *counter;
    auto shared = std::make_shared<const DekOperation>(std::move(op));
    router.Add({"POST", "/v1/keys/{name}/" + std::string(shared->name), server::RunOn::kWorker,
                false,
                [service, authorizer, limits, shared](const Request& request,
                                                      const SecurityContext& context) {
                  return Respond(context, [&] {
                    return RunSingle(*service, *authorizer, limits, *shared, request, context);
                  });
                }});
    router.Add({"POST", "/v1/keys/{name}/batch/" + std::string(shared->name),
                server::RunOn::kWorker, false,
                [service, authorizer, limits, shared, max_batch_items](
                    const Request& request, const SecurityContext& context) {
                  return Respond(context, [&] {
                    return RunBatch(*service, *authorizer, limits, *shared, max_batch_items,
                                    request, context);
                  });
                }});
  }
}

}  // namespace weftkit::api

#include "audit/formats/json_lines_encoder.h"

#include <chrono>

#include "common/time_util.h"

namespace weftkit::audit::formats {
namespace {

nlohmann::ordered_json OptionalNumber(const auto& value) {
  if (!value.has_value()) return nullptr;
  return *value;
}

}  // namespace

nlohmann::ordered_json AuditEntryToJson(const AuditEntry& entry) {
  auto instant = std::chrono::system_clock::time_point(std::chrono::milliseconds(entry.time_ms));
  nlohmann::ordered_json object;
  object["index"] = entry.index;
  object["time"] = FormatRfc3339Millis(instant);
  object["time_ms"] = entry.time_ms;
  object["request_id"] = entry.request_id;
  object["principal"] = entry.principal;
  object["auth_method"] = entry.auth_method;
  object["peer"] = entry.peer;
  object["action"] = entry.action;
  object["resource"] = entry.resource;
  object["key_name"] = entry.key_name;
  object["key_version"] = OptionalNumber(entry.key_version);
  object["policy_version"] = OptionalNumber(entry.policy_version);
  object["decision"] = entry.decision;
  object["rule"] = entry.rule;
  object["outcome"] = entry.outcome;
  object["status"] = entry.status;
  object["error_code"] = entry.error_code;
  object["previous_hash"] = entry.previous_hash;
  return object;
}

std::string EncodeJsonLine(const AuditEntry& entry) {
  // `replace` turns ill-formed UTF-8 into U+FFFD instead of throwing.
  return AuditEntryToJson(entry).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace weftkit::audit::formats

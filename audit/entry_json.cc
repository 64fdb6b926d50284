#include "audit/entry_json.h"

#include <limits>
#include <string>

namespace weftkit::audit {
namespace {

// Member name and the entry field it holds, for the text members.
struct TextMember {
  const char* name;
  std::string AuditEntry::*field;
};

constexpr TextMember kTextMembers[] = {
    {"request_id", &AuditEntry::request_id},
    {"principal", &AuditEntry::principal},
    {"auth_method", &AuditEntry::auth_method},
    {"peer", &AuditEntry::peer},
    {"action", &AuditEntry::action},
    {"resource", &AuditEntry::resource},
    {"key_name", &AuditEntry::key_name},
    {"decision", &AuditEntry::decision},
    {"rule", &AuditEntry::rule},
    {"outcome", &AuditEntry::outcome},
    {"error_code", &AuditEntry::error_code},
    {"previous_hash", &AuditEntry::previous_hash},
};

Error BadJson(const std::string& member) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_entry_json",
               "member \"" + member + "\" is missing or has the wrong type");
}

template <typename T>
nlohmann::ordered_json OrNull(const std::optional<T>& value) {
  return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json EntryToJson(const AuditEntry& entry) {
  nlohmann::ordered_json json;
  json["index"] = entry.index;
  json["time_ms"] = entry.time_ms;
  for (const TextMember& member : kTextMembers) {
    if (std::string(member.name) == "previous_hash") continue;  // last, after the numbers
    json[member.name] = entry.*member.field;
  }
  json["key_version"] = OrNull(entry.key_version);
  json["policy_version"] = OrNull(entry.policy_version);
  json["status"] = entry.status;
  json["previous_hash"] = entry.previous_hash;
  return json;
}

Result<AuditEntry> EntryFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return BadJson("(entry)");
  AuditEntry entry;
  auto number = [&](const char* name) -> const nlohmann::json* {
    auto it = json.find(name);
    return it != json.end() && it->is_number_integer() ? &*it : nullptr;
  };
  const nlohmann::json* index = number("index");
  if (index == nullptr || !index->is_number_unsigned()) return BadJson("index");
  entry.index = index->get<std::uint64_t>();
  const nlohmann::json* time = number("time_ms");
  if (time == nullptr) return BadJson("time_ms");
  entry.time_ms = time->get<std::int64_t>();
  const nlohmann::json* status = number("status");
  if (status == nullptr || *status < 0 || *status > 999) return BadJson("status");
  entry.status = status->get<int>();
  for (const TextMember& member : kTextMembers) {
    auto it = json.find(member.name);
    if (it == json.end() || !it->is_string()) return BadJson(member.name);
    entry.*member.field = it->get<std::string>();
  }
  auto key_version = json.find("key_version");
  if (key_version == json.end()) return BadJson("key_version");
  if (!key_version->is_null()) {
    if (!key_version->is_number_unsigned() ||
        key_version->get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max()) {
      return BadJson("key_version");
    }
    entry.key_version = key_version->get<std::uint32_t>();
  }
  auto policy_version = json.find("policy_version");
  if (policy_version == json.end()) return BadJson("policy_version");
  if (!policy_version->is_null()) {
    if (!policy_version->is_number_unsigned()) return BadJson("policy_version");
    entry.policy_version = policy_version->get<std::uint64_t>();
  }
  return entry;
}

}  // namespace weftkit::audit

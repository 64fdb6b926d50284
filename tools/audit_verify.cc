// weftkit-audit-verify: checks an audit log offline and names the first entry that was
// changed, removed or inserted (docs/audit.md, "Verifying").
//
//   weftkit-audit-verify --keys KEYS.json --db audit.db
//   weftkit-audit-verify --keys KEYS.json --entries ENTRIES.jsonl --checkpoints CHECKPOINTS.json
//
// KEYS.json is the checkpoint keys' JWK set, obtained from GET /v1/audit/keys and kept apart
// from the log (keys read from the log's own file would prove nothing). ENTRIES.jsonl holds one
// entry per line in the JSON form of GET /v1/audit/entries; CHECKPOINTS.json is the body of
// GET /v1/audit/checkpoints or a JSON array of checkpoints.
//
// Prints the report as one JSON object on stdout. Exit status: 0 the log verifies, 1 a finding,
// 2 the verification could not run (usage, unreadable input).
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/entry_json.h"
#include "audit/sqlite_audit_store.h"
#include "audit/verifier.h"

namespace weftkit {
namespace {

constexpr int kVerified = 0;
constexpr int kFinding = 1;
constexpr int kCannotRun = 2;

int Fail(const std::string& message) {
  std::fprintf(stderr, "weftkit-audit-verify: %s\n", message.c_str());
  return kCannotRun;
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorKind::kNotFound, "cannot_read", "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<nlohmann::json> ReadJson(const std::string& path) {
  WK_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Error(ErrorKind::kInvalidArgument, "bad_json", path + " is not JSON");
  }
  return json;
}

Result<std::vector<audit::Checkpoint>> ParseCheckpoints(const nlohmann::json& json) {
  const nlohmann::json& list =
      json.is_object() && json.contains("checkpoints") ? json["checkpoints"] : json;
  if (!list.is_array()) {
    return Error(ErrorKind::kInvalidArgument, "bad_checkpoints", "checkpoints are a JSON array");
  }
  std::vector<audit::Checkpoint> checkpoints;
  for (const nlohmann::json& item : list) {
    WK_ASSIGN_OR_RETURN(audit::Checkpoint checkpoint, audit::CheckpointFromJson(item));
    checkpoints.push_back(std::move(checkpoint));
  }
  return checkpoints;
}

Result<std::vector<audit::AuditEntry>> ParseEntryLines(const std::string& text) {
  std::vector<audit::AuditEntry> entries;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    nlohmann::json json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    WK_ASSIGN_OR_RETURN(audit::AuditEntry entry, audit::EntryFromJson(json));
    entries.push_back(std::move(entry));
  }
  return entries;
}

void PrintReport(const audit::VerificationReport& report) {
  nlohmann::ordered_json out;
  out["verified"] = report.ok();
  out["finding"] = audit::FindingName(report.finding);
  out["first_bad_index"] =
      report.first_bad_index ? nlohmann::ordered_json(*report.first_bad_index) : nullptr;
  out["detail"] = report.detail;
  out["entries"] = report.entries;
  out["checkpoints_verified"] = report.checkpoints_verified;
  out["verified_tree_size"] = report.verified_tree_size;
  out["unanchored_entries"] = report.unanchored_entries;
  std::printf("%s\n", out.dump().c_str());
}

int Run(const std::map<std::string, std::string>& args) {
  auto arg = [&](const char* name) {
    auto it = args.find(name);
    return it == args.end() ? std::string() : it->second;
  };
  if (arg("--keys").empty() || (arg("--db").empty() == arg("--entries").empty())) {
    return Fail("usage: --keys KEYS.json (--db audit.db | --entries E.jsonl --checkpoints C.json)");
  }
  Result<nlohmann::json> jwk_set = ReadJson(arg("--keys"));
  if (!jwk_set.ok()) return Fail(jwk_set.error().detail());
  Result<audit::CheckpointKeys> keys = audit::CheckpointKeysFromJwkSet(*jwk_set);
  if (!keys.ok()) return Fail(keys.error().ToString());

  Result<audit::VerificationReport> report = Error(ErrorKind::kInternal, "unset", "");
  if (!arg("--db").empty()) {
    if (!std::filesystem::is_regular_file(arg("--db"))) return Fail("no file " + arg("--db"));
    auto store = audit::SqliteAuditStore::Open(arg("--db"));
    if (!store.ok()) return Fail(store.error().ToString());
    auto checkpoints = (*store)->AllCheckpoints();
    if (!checkpoints.ok()) return Fail(checkpoints.error().ToString());
    audit::SqliteAuditStore* s = store->get();
    report = audit::VerifyAuditLog(
        [s](std::uint64_t first, std::size_t limit) { return s->Read(first, limit); }, *checkpoints,
        *keys);
  } else {
    Result<std::string> lines = ReadText(arg("--entries"));
    if (!lines.ok()) return Fail(lines.error().detail());
    Result<std::vector<audit::AuditEntry>> entries = ParseEntryLines(*lines);
    if (!entries.ok()) return Fail(entries.error().ToString());
    Result<nlohmann::json> checkpoint_json = ReadJson(arg("--checkpoints"));
    if (!checkpoint_json.ok()) return Fail(checkpoint_json.error().detail());
    auto checkpoints = ParseCheckpoints(*checkpoint_json);
    if (!checkpoints.ok()) return Fail(checkpoints.error().ToString());
    const std::vector<audit::AuditEntry>& all = *entries;
    report = audit::VerifyAuditLog(
        [&all](std::uint64_t first, std::size_t limit) -> Result<std::vector<audit::AuditEntry>> {
          std::vector<audit::AuditEntry> page;
          // Entries are matched by position: a file with a gap or an insertion is still read
          // to its end, so the verifier sees the indexes as they are.
          for (std::uint64_t i = first; i < all.size() && page.size() < limit; ++i) {
            page.push_back(all[i]);
          }
          return page;
        },
        *checkpoints, *keys);
  }
  if (!report.ok()) return Fail(report.error().ToString());
  PrintReport(*report);
  return report->ok() ? kVerified : kFinding;
}

}  // namespace
}  // namespace weftkit

int main(int argc, char** argv) {
  std::map<std::string, std::string> args;
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (argc % 2 == 0) return weftkit::Fail("every option takes a value");
  return weftkit::Run(args);
}

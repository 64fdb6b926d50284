// weftkit-audit-verify: checks an audit log offline and names the first entry that was
// changed, removed or inserted (docs/audit.md, "Verifying").
//
//   weftkit-audit-verify --keys KEYS.json --db audit.db [--archives DIR]
//   weftkit-audit-verify --keys KEYS.json --entries ENTRIES.jsonl --checkpoints CHECKPOINTS.json
//                        [--archives DIR]
//
// DIR holds the archive files retention wrote (docs/audit.md, "Retention"): every *.wkar file
// in it is checked (digest, contents, order, no file missing), then the archived entries and the
// live ones are verified as one log. A live log that no longer starts at entry 0 needs them.
// KEYS.json is the checkpoint keys' JWK set, obtained from GET /v1/audit/keys and kept apart
// from the log (keys read from the log's own file would prove nothing). ENTRIES.jsonl holds one
// entry per line in the JSON form of GET /v1/audit/entries; CHECKPOINTS.json is the body of
// GET /v1/audit/checkpoints or a JSON array of checkpoints.
//
// Prints the report as one JSON object on stdout ("file" names the archive file a finding is
// in, or is null for the live log). Exit status: 0 the log verifies, 1 a finding,
// 2 the verification could not run (usage, unreadable input).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "audit/archive_verifier.h"
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
  out["file"] =
      report.file.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(report.file);
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
    return Fail(
        "usage: --keys KEYS.json (--db audit.db | --entries E.jsonl --checkpoints C.json) "
        "[--archives DIR]");
  }
  Result<nlohmann::json> jwk_set = ReadJson(arg("--keys"));
  if (!jwk_set.ok()) return Fail(jwk_set.error().detail());
  Result<audit::CheckpointKeys> keys = audit::CheckpointKeysFromJwkSet(*jwk_set);
  if (!keys.ok()) return Fail(keys.error().ToString());

  std::vector<std::filesystem::path> archives;
  if (!arg("--archives").empty()) {
    auto listed = audit::ListArchiveFiles(arg("--archives"));
    if (!listed.ok()) return Fail(listed.error().detail());
    archives = std::move(listed).value();
  }

  Result<audit::VerificationReport> report = Error(ErrorKind::kInternal, "unset", "");
  if (!arg("--db").empty()) {
    if (!std::filesystem::is_regular_file(arg("--db"))) return Fail("no file " + arg("--db"));
    auto store = audit::SqliteAuditStore::Open(arg("--db"));
    if (!store.ok()) return Fail(store.error().ToString());
    audit::SqliteAuditStore* s = store->get();
    audit::LiveLog live;
    auto checkpoints = s->AllCheckpoints();
    auto first = s->LiveStart();
    if (!checkpoints.ok()) return Fail(checkpoints.error().ToString());
    if (!first.ok()) return Fail(first.error().ToString());
    live.checkpoints = std::move(checkpoints).value();
    live.first_index = *first;
    live.fetch = [s](std::uint64_t from, std::size_t limit) { return s->Read(from, limit); };
    report = audit::VerifyWithArchives(archives, live, *keys);
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
    audit::LiveLog live;
    live.checkpoints = std::move(checkpoints).value();
    // Without archives the file must hold the whole log, from entry 0.
    live.first_index = archives.empty() || all.empty() ? 0 : all.front().index;
    std::uint64_t base = live.first_index;
    live.fetch = [&all, base](std::uint64_t first,
                              std::size_t limit) -> Result<std::vector<audit::AuditEntry>> {
      std::vector<audit::AuditEntry> page;
      // Entries are matched by position from the file's first index: a file with a gap or an
      // insertion is still read to its end, so the verifier sees the indexes as they are.
      for (std::uint64_t i = first - std::min(first, base); i < all.size() && page.size() < limit;
           ++i) {
        page.push_back(all[i]);
      }
      return page;
    };
    report = audit::VerifyWithArchives(archives, live, *keys);
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

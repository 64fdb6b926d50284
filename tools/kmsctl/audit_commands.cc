// kmsctl audit ...: the tamper-evident audit log (docs/siem.md, docs/compliance.md): tail,
// independent verification, export, compliance evidence and checkpoints.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "audit/archive_verifier.h"
#include "audit/checkpoint.h"
#include "audit/entry_json.h"
#include "audit/verifier.h"
#include "tools/kmsctl/command.h"
#include "tools/kmsctl/terminal.h"

namespace weftkit::kmsctl {
namespace {

using client::Retry;
using nlohmann::json;

const std::vector<Column> kEntryColumns = {{"INDEX", "index"},         {"TIME_MS", "time_ms"},
                                           {"PRINCIPAL", "principal"}, {"ACTION", "action"},
                                           {"RESOURCE", "resource"},   {"DECISION", "decision"},
                                           {"STATUS", "status"},       {"ERROR", "error_code"}};

Result<json> GetJson(client::KmsClient& kms, const std::string& path) {
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      kms.Call("GET", path, nullptr, Retry::kIdempotent));
  return std::move(result.body);
}

// The log's head: {"tree_size", "first_index", "entries": []}. It asks from the largest index,
// past any log, because a page from entry 0 is refused once retention has archived it.
Result<json> GetHead(client::KmsClient& kms) {
  return GetJson(kms, "/v1/audit/entries?start=18446744073709551615&limit=1");
}

Result<std::uint64_t> OptionalNumber(const Arguments& args, const std::string& name,
                                     std::uint64_t fallback) {
  auto text = args.Get(name);
  if (!text) return fallback;
  WK_ASSIGN_OR_RETURN(long long value, NumberArgument(*text, "--" + name));
  return static_cast<std::uint64_t>(value);
}

// audit tail [-n N] [--follow]: the last N entries, then (with --follow) new ones as they come.
Result<int> Tail(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::uint64_t count, OptionalNumber(call.args, "lines", 20));
  WK_ASSIGN_OR_RETURN(json head, GetHead(call.client));
  std::uint64_t size = head.value("tree_size", std::uint64_t{0});
  std::uint64_t start = size > count ? size - count : 0;
  WK_ASSIGN_OR_RETURN(
      json page,
      GetJson(call.client, "/v1/audit/entries?start=" + std::to_string(start) + "&limit=" +
                               std::to_string(std::min<std::uint64_t>(
                                   std::max<std::uint64_t>(count, 1), 1000))));
  call.out.Table(page, "entries", kEntryColumns);
  if (!call.args.Has("follow")) return kExitOk;

  // Follow with the stream route's long poll: the cursor resumes with no gap and no duplicate.
  std::string cursor = size == 0 ? "" : std::to_string(size - 1);
  while (true) {
    std::string path = "/v1/audit/stream?format=jsonl&wait=25";
    if (!cursor.empty()) path += "&after=" + cursor;
    WK_ASSIGN_OR_RETURN(client::HttpResponse lines,
                        call.client.CallRaw("GET", path, nullptr, Retry::kIdempotent));
    std::cout << lines.body << std::flush;
    if (!lines.Header("audit-cursor").empty()) cursor = lines.Header("audit-cursor");
  }
}

// Every signed checkpoint, following the `before` pagination.
Result<std::vector<audit::Checkpoint>> AllCheckpoints(client::KmsClient& kms) {
  std::vector<audit::Checkpoint> checkpoints;
  std::string path = "/v1/audit/checkpoints?limit=1000";
  while (true) {
    WK_ASSIGN_OR_RETURN(json page, GetJson(kms, path));
    const json& items = page.contains("checkpoints") ? page["checkpoints"] : json::array();
    for (const json& item : items) {
      WK_ASSIGN_OR_RETURN(audit::Checkpoint checkpoint, audit::CheckpointFromJson(item));
      checkpoints.push_back(std::move(checkpoint));
    }
    if (items.size() < 1000 || checkpoints.back().tree_size == 0) return checkpoints;
    path =
        "/v1/audit/checkpoints?limit=1000&before=" + std::to_string(checkpoints.back().tree_size);
  }
}

// audit verify [--archives DIR]: fetches entries, checkpoints and keys from kmsd and checks them
// independently (audit/verifier.h), after the archive files in DIR when retention has moved the
// oldest entries out (audit/archive_verifier.h): nothing the server says is trusted beyond the
// published keys.
Result<int> Verify(Invocation& call) {
  std::vector<std::filesystem::path> archives;
  if (auto directory = call.args.Get("archives")) {
    Result<std::vector<std::filesystem::path>> listed = audit::ListArchiveFiles(*directory);
    if (!listed.ok()) return UsageError("cannot list the archive directory " + *directory);
    archives = std::move(listed).value();
  }
  WK_ASSIGN_OR_RETURN(json jwks, GetJson(call.client, "/v1/audit/keys"));
  WK_ASSIGN_OR_RETURN(audit::CheckpointKeys keys, audit::CheckpointKeysFromJwkSet(jwks));
  WK_ASSIGN_OR_RETURN(std::vector<audit::Checkpoint> checkpoints, AllCheckpoints(call.client));
  WK_ASSIGN_OR_RETURN(json head, GetHead(call.client));
  // Every request, this command's own reads included, adds an entry: verify the log as it was
  // when the command started (and at least up to the newest checkpoint), or it would chase its
  // own tail.
  std::uint64_t end = head.value("tree_size", std::uint64_t{0});
  for (const audit::Checkpoint& checkpoint : checkpoints) end = std::max(end, checkpoint.tree_size);
  double size = static_cast<double>(end);

  ProgressBar progress(stderr);
  audit::EntryFetcher fetch = [&](std::uint64_t first,
                                  std::size_t limit) -> Result<std::vector<audit::AuditEntry>> {
    std::vector<audit::AuditEntry> entries;
    if (first >= end) return entries;
    limit = static_cast<std::size_t>(std::min<std::uint64_t>(limit, end - first));
    WK_ASSIGN_OR_RETURN(json page,
                        GetJson(call.client, "/v1/audit/entries?start=" + std::to_string(first) +
                                                 "&limit=" + std::to_string(limit)));
    for (const json& item : page.value("entries", json::array())) {
      if (entries.size() == limit) break;
      WK_ASSIGN_OR_RETURN(audit::AuditEntry entry, audit::EntryFromJson(item));
      entries.push_back(std::move(entry));
    }
    progress.Update(first + entries.size(),
                    size > 0 ? static_cast<double>(first + entries.size()) / size : -1);
    return entries;
  };
  WK_ASSIGN_OR_RETURN(std::size_t page_size, OptionalNumber(call.args, "page-size", 1000));
  audit::LiveLog live{fetch, head.value("first_index", std::uint64_t{0}), std::move(checkpoints)};
  WK_ASSIGN_OR_RETURN(audit::VerificationReport report,
                      audit::VerifyWithArchives(archives, live, keys,
                                                {std::clamp<std::size_t>(page_size, 1, 1000)}));
  progress.Finish(report.entries);

  json out = {{"ok", report.ok()},
              {"finding", audit::FindingName(report.finding)},
              {"first_bad_index", report.first_bad_index ? json(*report.first_bad_index) : json()},
              {"detail", report.detail},
              {"file", report.file.empty() ? json() : json(report.file)},
              {"entries", report.entries},
              {"checkpoints_verified", report.checkpoints_verified},
              {"verified_tree_size", report.verified_tree_size},
              {"unanchored_entries", report.unanchored_entries}};
  call.out.Object(out);
  return report.ok() ? kExitOk : kExitVerification;
}

// audit export: every page of /v1/audit/export, following Audit-Next, to --out or stdout.
Result<int> Export(Invocation& call) {
  std::string format = call.args.Get("format").value_or("jsonl");
  WK_ASSIGN_OR_RETURN(json head, GetHead(call.client));
  // By default from the oldest entry still live: older ones are in retention's archive files.
  WK_ASSIGN_OR_RETURN(std::uint64_t from,
                      OptionalNumber(call.args, "from", head.value("first_index", 0ULL)));
  std::string to = call.args.Get("to").value_or("");
  if (to.empty()) {
    // The export's own requests are audited too: stop at the log's size when the command
    // started, or it would keep finding the entries it caused.
    to = std::to_string(head.value("tree_size", std::uint64_t{0}));
  }
  std::ofstream file;
  if (auto path = call.args.Get("out")) {
    file.open(*path, std::ios::trunc);
    if (!file) return UsageError("cannot write " + *path);
  }
  std::ostream& out = file.is_open() ? file : std::cout;
  std::uint64_t lines = 0;
  std::string next = std::to_string(from);
  while (!next.empty()) {
    std::string path = "/v1/audit/export?format=" + client::PercentEncode(format) + "&from=" + next;
    path += "&to=" + client::PercentEncode(to);
    WK_ASSIGN_OR_RETURN(client::HttpResponse page,
                        call.client.CallRaw("GET", path, nullptr, Retry::kIdempotent));
    out << page.body;
    lines += static_cast<std::uint64_t>(std::count(page.body.begin(), page.body.end(), '\n'));
    std::string following = page.Header("audit-next");
    next = following != next ? following : "";
  }
  out.flush();
  if (!out) return Error(ErrorKind::kUnavailable, "output_failed", "cannot write the export");
  call.err << "audit export: " << lines << " entries\n";
  return kExitOk;
}

// audit report|access-review|change-history: compliance evidence as JSON or CSV, printed as is.
Command Evidence(const std::string& word, const std::string& route, const std::string& summary,
                 bool has_period) {
  std::set<std::string> options = {"format"};
  if (has_period) options.insert({"from", "to"});
  return {{"audit", word},
          has_period ? "[--from UNIX_S] [--to UNIX_S] [--format json|csv]" : "[--format json|csv]",
          summary,
          "Printed exactly as kmsd sends it (docs/compliance.md); --json changes nothing.",
          options,
          {},
          0,
          0,
          [route](Invocation& call) -> Result<int> {
            std::string path = route + "?format=" +
                               client::PercentEncode(call.args.Get("format").value_or("json"));
            for (const char* name : {"from", "to"}) {
              if (auto value = call.args.Get(name)) {
                path += std::string("&") + name + "=" + client::PercentEncode(*value);
              }
            }
            WK_ASSIGN_OR_RETURN(client::HttpResponse response,
                                call.client.CallRaw("GET", path, nullptr, Retry::kIdempotent));
            std::cout << response.body;
            if (!response.body.empty() && response.body.back() != '\n') std::cout << "\n";
            return kExitOk;
          }};
}

}  // namespace

std::vector<Command> AuditCommands() {
  return {
      {{"audit", "tail"},
       "[--lines N] [--follow]",
       "Show the newest audit entries, and follow new ones",
       "--follow long-polls GET /v1/audit/stream and prints new entries as JSON lines until\n"
       "interrupted.",
       {"lines"},
       {"follow"},
       0,
       0,
       Tail},
      {{"audit", "verify"},
       "[--page-size N] [--archives DIR]",
       "Verify the audit log independently: hash chain, Merkle tree, signed checkpoints",
       "Fetches every entry, every checkpoint and the checkpoint keys, and recomputes\n"
       "everything locally. Exit code 7 names a changed, removed or inserted entry, a truncated\n"
       "log or a bad checkpoint signature. Progress goes to stderr on a terminal.\n"
       "When retention has archived the oldest entries, --archives DIR names a copy of the\n"
       "archive directory: every file is checked and the log verified across files and live\n"
       "entries; a damaged, missing or misplaced file is named in \"file\".",
       {"page-size", "archives"},
       {},
       0,
       0,
       Verify},
      {{"audit", "export"},
       "[--format jsonl|cef|leef] [--from INDEX] [--to INDEX] [--out FILE]",
       "Export a range of the audit log for a SIEM (all pages)",
       "Formats and field mappings: docs/siem.md.",
       {"format", "from", "to", "out"},
       {},
       0,
       0,
       Export},
      Evidence("report", "/v1/audit/compliance/report",
               "Compliance report over a period: rotations, failed logins, denials", true),
      Evidence("access-review", "/v1/audit/compliance/access-review",
               "Access review: every principal and what it may do", false),
      Evidence("change-history", "/v1/audit/compliance/change-history",
               "Change history of keys and policies over a period", true),
      {{"audit", "checkpoint"},
       "",
       "Sign the current tree head now",
       "",
       {},
       {},
       0,
       0,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(
             client::CallResult result,
             call.client.Call("POST", "/v1/audit/checkpoints", nullptr, Retry::kIdempotent));
         call.out.Object(result.body);
         return kExitOk;
       }},
  };
}

}  // namespace weftkit::kmsctl

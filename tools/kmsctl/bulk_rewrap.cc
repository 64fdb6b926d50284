#include "tools/kmsctl/bulk_rewrap.h"

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "common/base64.h"
#include "tools/kmsctl/terminal.h"

namespace weftkit::kmsctl {
namespace {

using nlohmann::json;

// One input line and what became of it.
struct Line {
  std::string text;  // as read
  json object;       // parsed; discarded when not a usable item
  std::string key;
};

struct Totals {
  std::uint64_t done = 0;
  std::uint64_t changed = 0;
  std::uint64_t failed = 0;
};

json ErrorMember(const std::string& code, int status) {
  return {{"code", code}, {"status", status}};
}

// Parses a line into an item, or records why it cannot be one.
void Prepare(Line& line, const std::optional<std::string>& key_option) {
  line.object = json::parse(line.text, nullptr, false);
  bool usable = line.object.is_object() && line.object.contains("wrapped") &&
                line.object["wrapped"].is_string() &&
                (!line.object.contains("context") || line.object["context"].is_object());
  if (!usable) {
    line.object = {{"input", line.text}, {"error", ErrorMember("invalid_line", 0)}};
    return;
  }
  if (line.object.contains("key") && line.object["key"].is_string()) {
    line.key = line.object["key"].get<std::string>();
  } else {
    line.key = key_option.value_or(KeyNameInEnvelope(line.object["wrapped"].get<std::string>()));
  }
  if (line.key.empty()) line.object["error"] = ErrorMember("envelope_key_unknown", 0);
}

client::EnvelopeItem ItemOf(const json& object) {
  client::EnvelopeItem item{object["wrapped"].get<std::string>(), {}};
  if (object.contains("context")) {
    for (const auto& [name, value] : object["context"].items()) {
      item.context[name] = value.is_string() ? value.get<std::string>() : value.dump();
    }
  }
  return item;
}

// Rewraps the usable lines of one chunk, one batch call per key.
Status RewrapChunk(client::KmsClient& client, std::vector<Line>& chunk, std::size_t batch,
                   Totals& totals) {
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    if (!chunk[i].object.contains("error")) by_key[chunk[i].key].push_back(i);
  }
  for (const auto& [key, indices] : by_key) {
    std::vector<client::EnvelopeItem> items;
    for (std::size_t i : indices) items.push_back(ItemOf(chunk[i].object));
    auto batch_result = client.BatchRewrap(key, items, batch);
    if (!batch_result.ok()) {
      // The whole batch was refused (403 for this key, say): its lines fail, the rest go on.
      // A server that stays unavailable ends the run instead of failing every remaining line.
      for (std::size_t i : indices) {
        chunk[i].object["error"] = ErrorMember(batch_result.error().code(), 0);
      }
      if (client::IsTransient(batch_result.error())) return batch_result.error();
      continue;
    }
    auto& results = batch_result.value();
    for (std::size_t j = 0; j < indices.size(); ++j) {
      json& object = chunk[indices[j]].object;
      if (!results[j].ok()) {
        int status = results[j].error().kind() == ErrorKind::kUnavailable ? 503 : 0;
        object["error"] = ErrorMember(results[j].error().code(), status);
        continue;
      }
      if (results[j]->wrapped != object["wrapped"]) ++totals.changed;
      object["wrapped"] = results[j]->wrapped;
      object["key_version"] = results[j]->key_version;
    }
  }
  for (const Line& line : chunk) totals.failed += line.object.contains("error") ? 1 : 0;
  totals.done += chunk.size();
  return OkStatus();
}

// The size of `path` when it is a regular file, for the progress fraction; 0 otherwise.
std::uint64_t RegularFileSize(const std::string& path) {
  struct stat info {};
  if (path == "-" || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return 0;
  return static_cast<std::uint64_t>(info.st_size);
}

}  // namespace

std::string KeyNameInEnvelope(const std::string& wrapped) {
  Result<std::vector<std::uint8_t>> bytes = Base64Decode(wrapped);
  if (!bytes.ok() || bytes->size() < 10 || (*bytes)[0] != 'W' || (*bytes)[1] != 'K') return "";
  std::size_t length = (*bytes)[8];
  if (length == 0 || bytes->size() < 9 + length) return "";
  return std::string(bytes->begin() + 9, bytes->begin() + 9 + static_cast<long>(length));
}

Result<int> RunBulkRewrap(Invocation& call) {
  std::string in_path = call.args.Get("in").value_or("");
  std::string out_path = call.args.Get("out").value_or("");
  if (in_path.empty() || out_path.empty()) return UsageError("--in and --out are required");
  std::size_t batch = 200;
  if (auto text = call.args.Get("batch")) {
    WK_ASSIGN_OR_RETURN(long long value, NumberArgument(*text, "--batch"));
    if (value < 1 || value > 1000) return UsageError("--batch must be 1 to 1000");
    batch = static_cast<std::size_t>(value);
  }
  std::ifstream in_file;
  if (in_path != "-") {
    in_file.open(in_path);
    if (!in_file) return UsageError("cannot read " + in_path);
  }
  std::istream& in = in_path == "-" ? std::cin : in_file;
  std::ofstream out_file;
  if (out_path != "-") {
    out_file.open(out_path, std::ios::trunc);
    if (!out_file) return UsageError("cannot write " + out_path);
  }
  std::ostream& out = out_path == "-" ? std::cout : out_file;

  std::uint64_t total_bytes = RegularFileSize(in_path);
  std::uint64_t read_bytes = 0;
  ProgressBar progress(stderr);
  Totals totals;
  std::optional<std::string> key_option = call.args.Get("key-name");
  std::string text;
  bool more = true;
  while (more) {
    std::vector<Line> chunk;
    while (chunk.size() < batch && (more = static_cast<bool>(std::getline(in, text)))) {
      read_bytes += text.size() + 1;
      if (text.empty()) continue;
      chunk.push_back(Line{text, {}, ""});
      Prepare(chunk.back(), key_option);
    }
    Status rewrapped = RewrapChunk(call.client, chunk, batch, totals);
    for (const Line& line : chunk) out << line.object.dump() << "\n";
    out.flush();
    if (!rewrapped.ok()) {
      call.err << "bulk-rewrap: stopped after " << totals.done + chunk.size()
               << " lines; the output holds them, rerun on the rest\n";
      return rewrapped.error();
    }
    progress.Update(totals.done, total_bytes > 0 ? static_cast<double>(read_bytes) /
                                                       static_cast<double>(total_bytes)
                                                 : -1.0);
  }
  progress.Finish(totals.done);
  if (!out) return Error(ErrorKind::kUnavailable, "output_failed", "cannot write " + out_path);
  call.err << "bulk-rewrap: " << totals.done << " envelopes, " << totals.changed
           << " moved to a newer version, " << totals.failed << " failed\n";
  return totals.failed > 0 ? kExitPartial : kExitOk;
}

}  // namespace weftkit::kmsctl

#include "test/secret_scan/secret_scanner.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "common/base64.h"

namespace weftkit::test {
namespace {

namespace fs = std::filesystem;

// Stricter kinds win when one value was registered as two.
int Strictness(const std::string& kind) { return kind == "never" ? 2 : kind == "token" ? 1 : 0; }

std::string ReadAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Hex(std::string_view bytes, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  return hex;
}

Result<std::string> Unhex(const std::string& hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return Error(ErrorKind::kInvalidArgument, "bad_hex", hex);
  std::string bytes;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int high = nibble(hex[i]), low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return Error(ErrorKind::kInvalidArgument, "bad_hex", hex);
    bytes.push_back(static_cast<char>(high << 4 | low));
  }
  return bytes;
}

std::vector<std::pair<std::string, std::string>> FormsOf(const std::string& value) {
  auto bytes = AsBytes(value);
  std::string base64 = Base64Encode(bytes);
  std::string unpadded = base64.substr(0, base64.find('='));
  std::string url = unpadded;
  std::replace(url.begin(), url.end(), '+', '-');
  std::replace(url.begin(), url.end(), '/', '_');
  // The unpadded forms are prefixes of the padded ones, so they catch both.
  return {{"raw", value},
          {"base64", unpadded},
          {"base64url", url},
          {"hex", Hex(value, false)},
          {"HEX", Hex(value, true)}};
}

bool TokenIssuer(const std::string& method, const std::string& path) {
  return method == "POST" && (path == "/v1/auth/tokens" || path == "/v1/auth/scram");
}

bool DekIssuer(const std::string& path) {
  auto ends_with = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  return ends_with("/generate-data-key") || ends_with("/unwrap");
}

std::vector<fs::path> FilesIn(const fs::path& dir, std::string_view prefix,
                              std::string_view suffix) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

void SecretScanner::AddSecret(const std::string& kind, const std::string& value) {
  if (auto known = by_value_.find(value); known != by_value_.end()) {
    std::string& current = secrets_[known->second].kind;
    if (Strictness(kind) > Strictness(current)) current = kind;
    return;
  }
  std::size_t index = secrets_.size();
  secrets_.push_back({kind});
  by_value_.emplace(value, index);
  for (auto& [name, text] : FormsOf(value)) {
    if (text.size() >= kMinFormBytes) forms_.push_back({std::move(text), name, index});
  }
}

Status SecretScanner::LoadSecrets(const fs::path& dir) {
  for (const fs::path& file : FilesIn(dir, "secrets-", ".tsv")) {
    std::istringstream lines(ReadAll(file));
    std::string line;
    while (std::getline(lines, line)) {
      std::size_t tab = line.find('\t');
      std::string kind = line.substr(0, tab);
      if (tab == std::string::npos || (kind != "never" && kind != "token" && kind != "dek")) {
        return Error(ErrorKind::kInvalidArgument, "bad_secrets_line", file.string() + ": " + line);
      }
      WK_ASSIGN_OR_RETURN(std::string value, Unhex(line.substr(tab + 1)));
      AddSecret(kind, value);
    }
  }
  return OkStatus();
}

std::vector<const SecretScanner::Form*> SecretScanner::Find(const PrefixIndex& index,
                                                            std::string_view text) const {
  std::set<const Form*> found;
  for (std::size_t at = 0; at + kMinFormBytes <= text.size(); ++at) {
    auto candidates = index.find(text.substr(at, kMinFormBytes));
    if (candidates == index.end()) continue;
    for (std::size_t form : candidates->second) {
      if (text.substr(at, forms_[form].text.size()) == forms_[form].text) {
        found.insert(&forms_[form]);
      }
    }
  }
  return {found.begin(), found.end()};
}

Result<ScanReport> SecretScanner::Scan(const fs::path& dir) const {
  PrefixIndex index;
  for (std::size_t i = 0; i < forms_.size(); ++i) {
    index[std::string_view(forms_[i].text).substr(0, kMinFormBytes)].push_back(i);
  }
  ScanReport report;
  report.secrets = secrets_.size();

  for (const fs::path& log : FilesIn(dir, "", ".log")) {
    ++report.log_files;
    std::set<std::size_t> reported;  // one leak per secret and file, in its first form found
    for (const Form* form : Find(index, ReadAll(log))) {
      if (!reported.insert(form->secret).second) continue;
      report.leaks.push_back({log.filename().string(), secrets_[form->secret].kind, form->name,
                              form->text.substr(0, 6)});
    }
  }

  std::vector<Response> responses;
  for (const fs::path& file : FilesIn(dir, "responses-", ".rec")) {
    std::string text = ReadAll(file);
    for (std::size_t at = 0; at < text.size();) {
      std::size_t eol = text.find('\n', at);
      std::istringstream header(text.substr(at, eol - at));
      std::string tag, method, path;
      int status = 0;
      std::size_t length = 0;
      header >> tag >> method >> path >> status >> length;
      if (eol == std::string::npos || tag != "#response" || eol + 1 + length + 1 > text.size()) {
        return Error(ErrorKind::kDataLoss, "bad_record", file.string());
      }
      responses.push_back(
          {file.filename().string() + ": " + method + " " + path + " " + std::to_string(status),
           method, path, text.substr(eol + 1, length)});
      at = eol + 1 + length + 1;
    }
  }
  report.responses = responses.size();
  ScanResponses(index, responses, report);
  return report;
}

void SecretScanner::ScanResponses(const PrefixIndex& index, const std::vector<Response>& responses,
                                  ScanReport& report) const {
  std::map<std::size_t, int> token_responses;  // secret -> responses that carried it
  for (const Response& response : responses) {
    std::set<std::size_t> seen;
    for (const Form* form : Find(index, response.content)) {
      const std::string& kind = secrets_[form->secret].kind;
      bool allowed = false;
      if (kind == "token") {
        allowed = TokenIssuer(response.method, response.path) &&
                  (seen.count(form->secret) > 0 || ++token_responses[form->secret] == 1);
      } else if (kind == "dek") {
        allowed = DekIssuer(response.path);
      }
      if (!seen.insert(form->secret).second && !allowed) continue;  // reported already
      if (!allowed) {
        report.leaks.push_back({response.where, kind, form->name, form->text.substr(0, 6)});
      }
    }
  }
}

}  // namespace weftkit::test

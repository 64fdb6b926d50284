#include "test/support/test_recorder.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/base64.h"

namespace weftkit::test {
namespace {

constexpr std::size_t kMinSecretBytes = 8;

std::mutex& FileMutex() {
  static std::mutex mutex;
  return mutex;
}

std::string ProcessFile(const char* prefix, const char* suffix) {
  return std::string(prefix) + std::to_string(::getpid()) + suffix;
}

void Append(const std::string& name, const std::string& text) {
  std::optional<std::filesystem::path> dir = TestRecorder::Directory();
  if (!dir) return;
  std::lock_guard<std::mutex> lock(FileMutex());
  std::ofstream out(*dir / name, std::ios::app | std::ios::binary);
  out << text;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : bytes) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string PathOf(const std::string& target) { return target.substr(0, target.find('?')); }

// A DEK sent or received as base64 in a JSON string field.
void RegisterDekField(const nlohmann::json& object) {
  if (!object.is_object()) return;
  auto field = object.find("plaintext");
  if (field == object.end() || !field->is_string()) return;
  Result<std::vector<std::uint8_t>> bytes = Base64Decode(field->get<std::string>());
  if (!bytes.ok()) return;
  TestRecorder::RegisterSecret(
      SecretKind::kDek,
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
}

// Single items and batches ({"items": [...]} in requests, {"results": [...]} in responses).
void RegisterDeks(const nlohmann::json& body) {
  RegisterDekField(body);
  for (const char* list : {"items", "results"}) {
    if (!body.is_object() || !body.contains(list) || !(*body.find(list)).is_array()) continue;
    for (const nlohmann::json& item : body[list]) RegisterDekField(item);
  }
}

void RegisterRequestSecrets(const std::string& path,
                            const std::vector<std::pair<std::string, std::string>>& headers,
                            const std::string& body) {
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "authorization" && value.rfind("Bearer ", 0) == 0) {
      TestRecorder::RegisterSecret(SecretKind::kToken, value.substr(7));
    }
  }
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return;
  if (EndsWith(path, "/password") && json.contains("password") && json["password"].is_string()) {
    TestRecorder::RegisterSecret(SecretKind::kNever, json["password"].get<std::string>());
  }
  if (EndsWith(path, "/wrap")) RegisterDeks(json);
}

void RegisterResponseSecrets(const std::string& body) {
  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return;
  if (json.contains("access_token") && json["access_token"].is_string()) {
    TestRecorder::RegisterSecret(SecretKind::kToken, json["access_token"].get<std::string>());
  }
  RegisterDeks(json);
}

}  // namespace

std::optional<std::filesystem::path> TestRecorder::Directory() {
  const char* dir = std::getenv("WEFTKIT_TEST_RECORD_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  return std::filesystem::path(dir);
}

void TestRecorder::RegisterSecret(SecretKind kind, std::string_view value) {
  if (value.size() < kMinSecretBytes) return;
  static constexpr const char* kNames[] = {"never", "token", "dek"};
  Append(ProcessFile("secrets-", ".tsv"),
         std::string(kNames[static_cast<int>(kind)]) + "\t" + Hex(value) + "\n");
}

void TestRecorder::RecordExchange(const std::string& method, const std::string& target,
                                  const std::vector<std::pair<std::string, std::string>>& headers,
                                  const std::string& request_body, int status,
                                  const std::string& response_head,
                                  const std::string& response_body) {
  if (!Directory()) return;
  const std::string path = PathOf(target);
  RegisterRequestSecrets(path, headers, request_body);
  RegisterResponseSecrets(response_body);
  // Targets never contain spaces or newlines (the request line would be malformed).
  std::string content = response_head + "\r\n" + response_body;
  Append(ProcessFile("responses-", ".rec"),
         "#response " + method + " " + path + " " + std::to_string(status) + " " +
             std::to_string(content.size()) + "\n" + content + "\n");
}

void TestRecorder::KeepServerLog(const std::filesystem::path& log) {
  std::optional<std::filesystem::path> dir = Directory();
  if (!dir) return;
  static std::atomic<int> next{0};
  std::filesystem::path copy =
      *dir / ("kmsd-" + std::to_string(::getpid()) + "-" + std::to_string(next++) + ".log");
  std::error_code ignored;
  std::filesystem::copy_file(log, copy, std::filesystem::copy_options::overwrite_existing, ignored);
}

}  // namespace weftkit::test

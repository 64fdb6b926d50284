#include "client/policy_state_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/policy_bundle_check.h"

namespace weftkit::client {
namespace {

constexpr std::string_view kFormat = "weftkit.policy-state/v1";
constexpr std::int64_t kMaxVersion = 999999999;

Error Invalid(const std::string& why) {
  return Error(ErrorKind::kFailedPrecondition, std::string(kPolicyStateInvalid), why);
}

bool IsHash(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Writes all of `text` to `fd`.
bool WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t written = ::write(fd, text.data() + done, text.size() - done);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    done += static_cast<std::size_t>(written);
  }
  return true;
}

bool SyncFolder(const std::filesystem::path& folder) {
  int fd = ::open(folder.empty() ? "." : folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced;
}

}  // namespace

std::string PolicyStateText(const PolicyState& state) {
  nlohmann::ordered_json json = {{"format", kFormat},
                                 {"scope", state.scope},
                                 {"version", state.version},
                                 {"content_hash", state.content_hash}};
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Result<PolicyState> ParsePolicyState(std::string_view text) {
  nlohmann::json state = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (!state.is_object() || state.size() != 4 || !state.contains("format") ||
      state["format"] != kFormat) {
    return Invalid("not a weftkit.policy-state/v1 object");
  }
  if (!state.contains("scope") || !state["scope"].is_string() || !state.contains("version") ||
      !state["version"].is_number_integer() || !state.contains("content_hash") ||
      !state["content_hash"].is_string()) {
    return Invalid("scope, version and content_hash are required");
  }
  PolicyState out{state["scope"].get<std::string>(), state["version"].get<std::int64_t>(),
                  state["content_hash"].get<std::string>()};
  if (out.version < 1 || out.version > kMaxVersion || !IsHash(out.content_hash) ||
      out.scope.empty()) {
    return Invalid("version or content_hash out of range");
  }
  return out;
}

Result<std::optional<PolicyState>> LoadPolicyState(const std::filesystem::path& path,
                                                   std::string_view scope) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::optional<PolicyState>();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Invalid("cannot read " + path.string());
  Result<PolicyState> state = ParsePolicyState(text.str());
  if (!state.ok()) return Invalid(path.string() + ": " + state.error().detail());
  if (state->scope != scope) {
    return Invalid(path.string() + " holds the state of " + state->scope);
  }
  return std::optional<PolicyState>(std::move(state).value());
}

Status SavePolicyState(const std::filesystem::path& path, const PolicyState& state) {
  std::string text = PolicyStateText(state);
  std::filesystem::path temporary = path;
  temporary += ".tmp";

  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Invalid("cannot create " + temporary.string() + ": " + std::strerror(errno));
  bool written = WriteAll(fd, text) && ::fsync(fd) == 0;
  written = ::close(fd) == 0 && written;
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return Invalid("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  if (!SyncFolder(path.parent_path())) return Invalid("cannot sync the folder of " + path.string());
  return OkStatus();
}

}  // namespace weftkit::client

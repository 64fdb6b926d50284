#include "tools/kmsctl/profile.h"

#include <cstdlib>
#include <fstream>
#include <map>

#include "tools/kmsctl/arguments.h"

namespace weftkit::kmsctl {
namespace {

std::string Trim(const std::string& text) {
  std::size_t begin = text.find_first_not_of(" \t\r");
  std::size_t end = text.find_last_not_of(" \t\r");
  return begin == std::string::npos ? "" : text.substr(begin, end - begin + 1);
}

// Each name, the field it sets, and whether its value is a path.
struct Field {
  std::string Profile::*member;
  bool is_path;
};

const std::map<std::string, Field>& Fields() {
  static const auto* fields = new std::map<std::string, Field>{
      {"server", {&Profile::server, false}},
      {"ca", {&Profile::ca, true}},
      {"cert", {&Profile::cert, true}},
      {"key", {&Profile::key, true}},
      {"user", {&Profile::user, false}},
      {"password_file", {&Profile::password_file, true}},
      {"server_spki_sha256", {&Profile::server_spki_sha256, false}},
  };
  return *fields;
}

}  // namespace

Result<Profile> Profile::Load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return UsageError("cannot read the profile " + path.string());
  Profile profile;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string text = Trim(line);
    if (text.empty() || text.front() == '#') continue;
    std::size_t eq = text.find('=');
    std::string where = path.string() + ":" + std::to_string(number);
    if (eq == std::string::npos) return UsageError(where + ": expected name = value");
    std::string name = Trim(text.substr(0, eq));
    std::string value = Trim(text.substr(eq + 1));
    auto field = Fields().find(name);
    if (field == Fields().end()) return UsageError(where + ": unknown setting '" + name + "'");
    if (field->second.is_path && !value.empty() && std::filesystem::path(value).is_relative()) {
      value = (path.parent_path() / value).string();
    }
    profile.*(field->second.member) = value;
  }
  return profile;
}

std::optional<std::filesystem::path> Profile::DefaultPath() {
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::filesystem::path(xdg) / "weftkit" / "kmsctl.conf";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".config" / "weftkit" / "kmsctl.conf";
  }
  return std::nullopt;
}

}  // namespace weftkit::kmsctl

// Fuzzes kmsd's configuration reader: the INI parser (server/ini_file.h) on the raw text, and
// LoadConfig (server/config.h) on the same text written to a kmsd.conf in a scratch folder that
// holds the files conf/kmsd.conf names (PEM placeholders, a 0600 key and PIN file), so that
// validation gets past "file missing" to the checks behind it.
//
// Properties checked, promised by the two headers:
//   - ParseIni refuses with kInvalidArgument "config_syntax" or "config_duplicate_setting", its
//     detail starting with the source name; on success every entry's line lies after its
//     section's line and within the text, and no value holds a control character other than a
//     tab (the parser accepts tabs as whitespace, inside values too);
//   - LoadConfig refuses what ParseIni refuses, with the same code;
//   - every LoadConfig refusal has one of the documented codes, with the documented kind.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "server/config.h"
#include "server/ini_file.h"

namespace weftkit::server {
namespace {

// Every LoadConfig code and its kind, as server/config.h lists them.
const std::map<std::string, ErrorKind>& DocumentedCodes() {
  static const std::map<std::string, ErrorKind> codes = {
      {"config_unreadable", ErrorKind::kFailedPrecondition},
      {"config_syntax", ErrorKind::kInvalidArgument},
      {"config_duplicate_setting", ErrorKind::kInvalidArgument},
      {"config_unknown_setting", ErrorKind::kInvalidArgument},
      {"config_secret_in_file", ErrorKind::kInvalidArgument},
      {"config_invalid_value", ErrorKind::kInvalidArgument},
      {"config_missing_setting", ErrorKind::kInvalidArgument},
      {"config_conflicting_settings", ErrorKind::kInvalidArgument},
      {"config_insecure", ErrorKind::kFailedPrecondition},
      {"config_file_missing", ErrorKind::kFailedPrecondition},
      {"config_path_outside_roots", ErrorKind::kInvalidArgument},
      {"config_pin_unavailable", ErrorKind::kFailedPrecondition},
  };
  return codes;
}

// The scratch folder, made once per process and deleted at exit.
struct Scratch {
  std::filesystem::path dir;
  ~Scratch() {
    std::error_code ignored;
    if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
  }
};

void WriteFile(const std::filesystem::path& path, std::string_view text, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

const std::filesystem::path& ScratchDir() {
  static Scratch scratch = [] {
    std::string pattern = std::filesystem::temp_directory_path() / "weftkit-config-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    const std::filesystem::path dir = pattern;
    std::filesystem::create_directory(dir / "pki");
    WriteFile(dir / "pki" / "server.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    WriteFile(dir / "pki" / "ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    WriteFile(dir / "pki" / "server.key", "-----BEGIN PRIVATE KEY-----\n", 0600);
    WriteFile(dir / "user.pin", "1234\n", 0600);
    return Scratch{dir};
  }();
  return scratch.dir;
}

void CheckParsed(std::string_view text, const IniDocument& document) {
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const auto& [name, section] : document.sections) {
    FUZZ_CHECK(section.line >= 1 && section.line <= lines);
    for (const auto& [key, entry] : section.entries) {
      FUZZ_CHECK(entry.line > section.line && entry.line <= lines);
      FUZZ_CHECK(std::none_of(entry.value.begin(), entry.value.end(), [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F;
      }));
    }
  }
}

void CheckLoadConfig(std::string_view text, const Result<IniDocument>& parsed) {
  const std::filesystem::path file = ScratchDir() / "kmsd.conf";
  WriteFile(file, text, 0600);
  const MapEnvironment env(std::map<std::string, std::string>{{"KMSD_PIN", "1234"}});
  Result<Config> config = LoadConfig(file, env);
  if (!parsed.ok()) {
    FUZZ_CHECK(!config.ok());
    FUZZ_CHECK(config.error().code() == parsed.error().code());
  }
  if (config.ok()) return;
  auto documented = DocumentedCodes().find(config.error().code());
  FUZZ_CHECK(documented != DocumentedCodes().end());
  FUZZ_CHECK(documented->second == config.error().kind());
}

}  // namespace
}  // namespace weftkit::server

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = weftkit::fuzz::AsText(data, size);
  auto parsed = weftkit::server::ParseIni(text, "fuzz.conf");
  if (parsed.ok()) {
    weftkit::server::CheckParsed(text, *parsed);
  } else {
    FUZZ_CHECK(parsed.error().kind() == weftkit::ErrorKind::kInvalidArgument);
    FUZZ_CHECK(parsed.error().code() == "config_syntax" ||
               parsed.error().code() == "config_duplicate_setting");
    FUZZ_CHECK(parsed.error().detail().rfind("fuzz.conf:", 0) == 0);
  }
  weftkit::server::CheckLoadConfig(text, parsed);
  return 0;
}

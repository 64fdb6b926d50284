// Profile: where kmsctl finds the server and how it proves who it is, read from a small file so
// that a security officer does not type the CA path on every command.
//
// The file holds `name = value` lines; `#` starts a comment line. Names:
//   server         https://host[:port]                      (default https://127.0.0.1:8443)
//   ca             CA certificate file that signed kmsd's certificate (required)
//   cert, key      client certificate and key files, for mTLS
//   user           SCRAM user name, for password logins
//   password_file  file holding the password (first line), for CI
//   server_spki_sha256  optional pin of kmsd's public key (base64 SHA-256 of its SPKI)
// Relative paths are resolved against the profile's folder. Command-line options override the
// file. Default location: $XDG_CONFIG_HOME/weftkit/kmsctl.conf, else
// ~/.config/weftkit/kmsctl.conf; a missing default file is not an error.
//
// Thread safety: plain data.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/error.h"

namespace weftkit::kmsctl {

struct Profile {
  std::string server = "https://127.0.0.1:8443";
  std::string ca;
  std::string cert;
  std::string key;
  std::string user;
  std::string password_file;
  std::string server_spki_sha256;

  // Reads `path`. Fails (usage) naming the file and line for an unknown name or a line that is
  // not `name = value`, or when the file cannot be read.
  static Result<Profile> Load(const std::filesystem::path& path);

  // The default location, or nullopt when neither XDG_CONFIG_HOME nor HOME is set.
  static std::optional<std::filesystem::path> DefaultPath();
};

}  // namespace weftkit::kmsctl

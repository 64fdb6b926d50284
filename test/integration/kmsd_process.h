// KmsdProcess: the real kmsd binary, started for one test against a fresh SoftHSM token, a fresh
// development PKI and a fresh SQLite file, listening on 127.0.0.1 with a port the OS picks.
//
// Everything lives in one temporary directory that is removed afterwards. The server's stderr
// (its log) is kept in a file so that tests can check what it wrote and what it never wrote; its
// stdout (where a first start prints the one-time administrator password) is kept in another.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "test/support/https_client.h"
#include "test/support/softhsm_token.h"

namespace weftkit::test {

struct KmsdOptions {
  // Extra settings, as "section.key" -> value, added to or replacing the defaults; an empty
  // value removes the setting.
  std::map<std::string, std::string> settings;
  // When set, kmsd loads this PKCS#11 module instead of SoftHSM (e.g. the fault injector).
  std::string module_path;
  // Select the token by an RFC 7512 URI instead of its label.
  bool token_by_uri = false;
  // Pass the PIN in an environment variable (hsm.pin_env) instead of a file.
  bool pin_in_environment = false;
  // Called once the PKI exists in `pki_dir` and before the configuration is written, so that
  // settings and files can be derived from the generated certificates (pins, a CRL). Files it
  // writes must lie under pki_dir (or its parent, kmsd's configuration directory) to pass
  // kmsd's path checks.
  std::function<void(KmsdOptions& options, const std::filesystem::path& pki_dir)> prepare;
};

class KmsdProcess {
 public:
  // Creates the token, PKI and configuration, starts kmsd and waits until /healthz answers.
  static std::unique_ptr<KmsdProcess> Start(KmsdOptions options = {});
  ~KmsdProcess();

  // Sends SIGTERM and waits for the exit; returns the exit status (-1 if it had to be killed).
  int Stop();
  void Kill();  // SIGKILL, no clean-up by the server
  // Starts kmsd again on the same token, PKI and database (a new port).
  void Restart();

  int port() const { return port_; }
  // The running server's process id (-1 when stopped), for reading /proc/<pid>.
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path pki(const std::string& file) const { return dir_ / "pki" / file; }
  const SoftHsmToken& token() const { return *token_; }
  // Everything kmsd has written to stderr so far.
  std::string Log() const;
  // Everything kmsd has written to stdout so far, across restarts.
  std::string Stdout() const;

  // A TLS 1.3 client with the client certificate `identity` ("engine", "officer", "admin",
  // "rogue"), or none when `identity` is empty.
  std::unique_ptr<HttpsClient> Client(const std::string& identity) const;

 private:
  KmsdProcess() = default;
  void WriteConfig(const KmsdOptions& options);
  void Launch();

  std::unique_ptr<SoftHsmToken> token_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace weftkit::test

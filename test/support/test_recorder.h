// TestRecorder: what a test run wrote where a secret must never appear, kept for the secret-leak
// scan (test/secret_scan/). Opt-in: it records only when WEFTKIT_TEST_RECORD_DIR names a
// directory (ctest sets it for every test; see test/CMakeLists.txt), and does nothing otherwise.
//
// Into that directory, with one file per test process (the pid in the name):
//   responses-<pid>.rec  every response an HttpsClient received: method, target, status, the raw
//                        header block and the body (format in secret_scan/secret_scanner.h)
//   secrets-<pid>.tsv    every secret the run used, one "<kind>\t<hex of the value>" a line:
//                          never  PINs and passwords: in no log line and no response
//                          token  bearer tokens: in no log line, and in no response but the one
//                                 that issued it (POST /v1/auth/tokens, /v1/auth/scram)
//                          dek    DEK plaintexts: in no log line, and only in the responses of
//                                 generate-data-key and unwrap, to the caller who asked
//   kmsd-<pid>-<n>.log   the log (stderr) of each kmsd a test started, copied when it goes
//
// Secrets are found where tests use them, so that tests need not list them: SoftHsmToken
// registers its PINs, and RecordExchange picks out bearer tokens, passwords set through the API,
// DEKs sent to wrap and everything issued (access_token, plaintext) from the JSON it sees.
//
// Thread safety: all functions may be called from any thread (appends are serialised).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weftkit::test {

enum class SecretKind { kNever, kToken, kDek };

class TestRecorder {
 public:
  // The directory named by WEFTKIT_TEST_RECORD_DIR (created if missing), or nullopt when the
  // variable is unset or empty.
  static std::optional<std::filesystem::path> Directory();

  // Registers `value` (any bytes). Values shorter than 8 bytes are ignored: too short to find
  // without false alarms, and no test secret is that short.
  static void RegisterSecret(SecretKind kind, std::string_view value);

  // Records one exchange of an HTTPS client and registers the secrets in it.
  static void RecordExchange(const std::string& method, const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& request_body, int status,
                             const std::string& response_head, const std::string& response_body);

  // Copies a server log file into the directory under a fresh name.
  static void KeepServerLog(const std::filesystem::path& log);
};

}  // namespace weftkit::test

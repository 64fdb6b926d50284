// SecretScanner: finds secrets of a test run where they must not be: in any server log line, and
// in responses that had no business carrying them. It reads what TestRecorder
// (test/support/test_recorder.h) wrote into one directory.
//
// Each secret is looked for in several forms: its raw bytes, standard and URL-safe base64
// (unpadded too) and lower- and upper-case hex, so that an encoded leak is caught as well.
// Forms shorter than kMinFormBytes are not looked for.
//
// responses-*.rec holds records of this form, one after another:
//   "#response <METHOD> <path> <status> <length>\n" <length bytes: header block, CRLF, body> "\n"
//
// Rules, by the kind of secret:
//   never  found nowhere
//   token  in no log; in at most one response, and that one from POST /v1/auth/tokens or
//          POST /v1/auth/scram (the response that issued it)
//   dek    in no log; only in responses of generate-data-key and unwrap (single or batch)
//
// Thread safety: none needed; one scanner per scan.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"

namespace weftkit::test {

struct Leak {
  std::string where;   // "kmsd-123-0.log" or "responses-123.rec: POST /v1/keys/a/wrap 200"
  std::string kind;    // never, token, dek
  std::string form;    // raw, base64, base64url, hex, HEX
  std::string sample;  // the first characters of the form found, enough to recognise it
};

struct ScanReport {
  std::size_t secrets = 0;
  std::size_t log_files = 0;
  std::size_t responses = 0;
  std::vector<Leak> leaks;
};

class SecretScanner {
 public:
  static constexpr std::size_t kMinFormBytes = 12;

  // Registers a secret directly (tests of the scanner); `kind` as in the secrets files.
  void AddSecret(const std::string& kind, const std::string& value);
  // Reads every secrets-*.tsv in `dir`. Fails on a malformed line.
  Status LoadSecrets(const std::filesystem::path& dir);
  // Scans every *.log and responses-*.rec in `dir` against the secrets added so far. Fails when
  // a record file is malformed (a recorder bug would otherwise hide leaks).
  Result<ScanReport> Scan(const std::filesystem::path& dir) const;

 private:
  struct Form {
    std::string text;
    std::string name;
    std::size_t secret;  // index into secrets_
  };
  struct Secret {
    std::string kind;
  };
  struct Response {
    std::string where;
    std::string method;
    std::string path;
    std::string content;
  };

  using PrefixIndex = std::unordered_map<std::string_view, std::vector<std::size_t>>;

  // The forms found in `text`, each once.
  std::vector<const Form*> Find(const PrefixIndex& index, std::string_view text) const;
  void ScanResponses(const PrefixIndex& index, const std::vector<Response>& responses,
                     ScanReport& report) const;

  std::vector<Secret> secrets_;
  std::map<std::string, std::size_t> by_value_;  // raw value -> index, to merge duplicates
  std::vector<Form> forms_;
};

}  // namespace weftkit::test

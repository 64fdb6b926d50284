#include "server/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "common/path_jail.h"
#include "server/ini_file.h"

namespace weftkit::server {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// The schema: every section and key kmsd accepts, in documentation order.

constexpr std::array<std::string_view, 62> kSettingNames = {
    "server.listen",
    "server.io_threads",
    "server.workers",
    "server.queue_capacity",
    "server.max_connections",
    "server.max_header_bytes",
    "server.max_body_bytes",
    "server.max_batch_items",
    "server.handshake_timeout_ms",
    "server.read_timeout_ms",
    "server.idle_timeout_ms",
    "server.drain_timeout_ms",
    "server.max_parked_requests",
    "server.port_file",
    "tls.certificate",
    "tls.private_key",
    "tls.private_key_uri",
    "tls.client_ca",
    "tls.crl",
    "tls.min_version",
    "hsm.module",
    "hsm.token_label",
    "hsm.token_uri",
    "hsm.pin_file",
    "hsm.pin_env",
    "hsm.sessions",
    "store.path",
    "store.busy_timeout_ms",
    "state.directory",
    "keys.auto_rotation_check_s",
    "keys.max_encryptions_per_version",
    "keys.destruction_wait_min_s",
    "auth.principal_from",
    "auth.pinned_spki_sha256",
    "auth.bootstrap_admin",
    "auth.token_issuer",
    "auth.token_audience",
    "auth.token_lifetime_s",
    "auth.scram_iterations",
    "auth.lockout_failures",
    "auth.lockout_s",
    "limits.auth_per_source_per_s",
    "limits.auth_per_source_burst",
    "limits.auth_per_principal_per_s",
    "limits.auth_per_principal_burst",
    "limits.unwrap_per_source_per_s",
    "limits.unwrap_per_source_burst",
    "limits.unwrap_per_principal_per_s",
    "limits.unwrap_per_principal_burst",
    "limits.tracked_clients",
    "policy.max_wait_s",
    "policy.stale_after_s",
    "policy.max_history_page",
    "audit.path",
    "audit.max_batch_entries",
    "audit.checkpoint_interval_s",
    "audit.archive_directory",
    "audit.keep_days",
    "audit.keep_entries",
    "audit.archive_interval_s",
    "audit.max_archive_entries",
    "log.level",
};

constexpr std::array<std::string_view, 11> kSectionNames = {
    "server", "tls", "hsm", "store", "state", "keys", "auth", "limits", "policy", "audit", "log"};

constexpr std::uint64_t kMaxRate = 1000000000;  // requests or DEKs per second, and bursts

constexpr std::uint64_t kMaxEncryptionsPerVersion = std::uint64_t{1} << 30;  // 2^32 / 4

// Settings that are plain whole numbers: their range, and where the value goes. Defaults live in
// the structs of config.h, so each default is written down once.
struct IntegerSetting {
  std::string_view name;
  std::uint64_t min;
  std::uint64_t max;
  void (*store)(Config&, std::uint64_t);
  std::string_view why_max = {};  // appended to the error when the value is above max
};

using Ms = std::chrono::milliseconds;
using Sec = std::chrono::seconds;

std::uint32_t U32(std::uint64_t value) { return static_cast<std::uint32_t>(value); }
Ms Millis(std::uint64_t value) { return Ms(static_cast<Ms::rep>(value)); }
Sec Seconds(std::uint64_t value) { return Sec(static_cast<Sec::rep>(value)); }

constexpr std::string_view kWhyGcmBound =
    "; AES-GCM with random IVs is safe for at most 2^32 encryptions under one key "
    "(NIST SP 800-38D), and kmsd rotates well before that bound";

const IntegerSetting kIntegerSettings[] = {
    {"server.io_threads", 1, 64, [](Config& c, std::uint64_t v) { c.server.io_threads = U32(v); }},
    {"server.workers", 1, 256, [](Config& c, std::uint64_t v) { c.server.workers = U32(v); }},
    {"server.queue_capacity", 1, 1048576,
     [](Config& c, std::uint64_t v) { c.server.queue_capacity = U32(v); }},
    {"server.max_connections", 1, 1000000,
     [](Config& c, std::uint64_t v) { c.server.max_connections = U32(v); }},
    {"server.max_header_bytes", 1024, 65536,
     [](Config& c, std::uint64_t v) { c.server.max_header_bytes = U32(v); }},
    {"server.max_body_bytes", 1024, 67108864,
     [](Config& c, std::uint64_t v) { c.server.max_body_bytes = U32(v); }},
    {"server.max_batch_items", 1, 100000,
     [](Config& c, std::uint64_t v) { c.server.max_batch_items = U32(v); }},
    {"server.handshake_timeout_ms", 100, 60000,
     [](Config& c, std::uint64_t v) { c.server.handshake_timeout = Millis(v); }},
    {"server.read_timeout_ms", 100, 600000,
     [](Config& c, std::uint64_t v) { c.server.read_timeout = Millis(v); }},
    {"server.idle_timeout_ms", 1000, 3600000,
     [](Config& c, std::uint64_t v) { c.server.idle_timeout = Millis(v); }},
    {"server.drain_timeout_ms", 0, 600000,
     [](Config& c, std::uint64_t v) { c.server.drain_timeout = Millis(v); }},
    {"server.max_parked_requests", 1, 1000000,
     [](Config& c, std::uint64_t v) { c.server.max_parked_requests = U32(v); }},
    {"hsm.sessions", 1, 1024, [](Config& c, std::uint64_t v) { c.hsm.sessions = U32(v); }},
    {"store.busy_timeout_ms", 0, 600000,
     [](Config& c, std::uint64_t v) { c.store.busy_timeout = Millis(v); }},
    {"keys.auto_rotation_check_s", 1, 86400,
     [](Config& c, std::uint64_t v) { c.keys.auto_rotation_check = Seconds(v); }},
    {"keys.max_encryptions_per_version", 1, kMaxEncryptionsPerVersion,
     [](Config& c, std::uint64_t v) { c.keys.max_encryptions_per_version = v; }, kWhyGcmBound},
    {"keys.destruction_wait_min_s", 1, 315360000,
     [](Config& c, std::uint64_t v) { c.keys.destruction_wait_min = Seconds(v); }},
    {"auth.token_lifetime_s", 30, 3600,
     [](Config& c, std::uint64_t v) { c.auth.token_lifetime = Seconds(v); }},
    {"auth.scram_iterations", 4096, 10000000,
     [](Config& c, std::uint64_t v) { c.auth.scram_iterations = U32(v); }},
    {"auth.lockout_failures", 1, 100,
     [](Config& c, std::uint64_t v) { c.auth.lockout_failures = U32(v); }},
    {"auth.lockout_s", 1, 86400, [](Config& c, std::uint64_t v) { c.auth.lockout = Seconds(v); }},
    // Rates of 0 turn a limit off; a burst is at least one request.
    {"limits.auth_per_source_per_s", 0, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.auth_per_source.per_second = U32(v); }},
    {"limits.auth_per_source_burst", 1, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.auth_per_source.burst = U32(v); }},
    {"limits.auth_per_principal_per_s", 0, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.auth_per_principal.per_second = U32(v); }},
    {"limits.auth_per_principal_burst", 1, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.auth_per_principal.burst = U32(v); }},
    {"limits.unwrap_per_source_per_s", 0, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.unwrap_per_source.per_second = U32(v); }},
    {"limits.unwrap_per_source_burst", 1, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.unwrap_per_source.burst = U32(v); }},
    {"limits.unwrap_per_principal_per_s", 0, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.unwrap_per_principal.per_second = U32(v); }},
    {"limits.unwrap_per_principal_burst", 1, kMaxRate,
     [](Config& c, std::uint64_t v) { c.limits.unwrap_per_principal.burst = U32(v); }},
    {"limits.tracked_clients", 100, 10000000,
     [](Config& c, std::uint64_t v) { c.limits.tracked_clients = static_cast<std::size_t>(v); }},
    {"policy.max_wait_s", 1, 3600,
     [](Config& c, std::uint64_t v) { c.policy.max_wait = Seconds(v); }},
    {"policy.stale_after_s", 1, 31536000,
     [](Config& c, std::uint64_t v) { c.policy.stale_after = Seconds(v); }},
    {"policy.max_history_page", 1, 10000,
     [](Config& c, std::uint64_t v) { c.policy.max_history_page = U32(v); }},
    {"audit.max_batch_entries", 1, 100000,
     [](Config& c, std::uint64_t v) { c.audit.max_batch_entries = U32(v); }},
    {"audit.checkpoint_interval_s", 1, 86400,
     [](Config& c, std::uint64_t v) { c.audit.checkpoint_interval = Seconds(v); }},
    {"audit.keep_days", 1, 36500, [](Config& c, std::uint64_t v) { c.audit.keep_days = U32(v); }},
    {"audit.keep_entries", 0, std::uint64_t{1} << 48,
     [](Config& c, std::uint64_t v) { c.audit.keep_entries = v; }},
    {"audit.archive_interval_s", 1, 86400,
     [](Config& c, std::uint64_t v) { c.audit.archive_interval = Seconds(v); }},
    {"audit.max_archive_entries", 1, 10000000,
     [](Config& c, std::uint64_t v) { c.audit.max_archive_entries = v; }},
};

const std::pair<std::string_view, log::Level> kLogLevels[] = {
    {"debug", log::Level::kDebug},
    {"info", log::Level::kInfo},
    {"warning", log::Level::kWarning},
    {"error", log::Level::kError},
};

// ---------------------------------------------------------------------------------------------
// Errors about one setting.

enum class Problem {
  kUnknown,
  kSecretInFile,
  kInvalidValue,
  kMissing,
  kConflicting,
  kInsecure,
  kFileMissing,
  kOutsideRoots,
  kPinUnavailable,
};

struct ProblemInfo {
  const char* code;
  ErrorKind kind;
};

// Indexed by Problem.
constexpr ProblemInfo kProblems[] = {
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

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// The parsed file and its name, with lookups by "section.key" and error construction.
class Settings {
 public:
  Settings(const IniDocument& document, std::string source)
      : document_(document), source_(std::move(source)) {}

  const IniDocument& document() const { return document_; }

  // The entry for `name` ("section.key"), or null when it is not set.
  const IniEntry* Find(std::string_view name) const {
    std::size_t dot = name.find('.');
    auto section = document_.sections.find(name.substr(0, dot));
    if (section == document_.sections.end()) return nullptr;
    auto entry = section->second.entries.find(name.substr(dot + 1));
    return entry == section->second.entries.end() ? nullptr : &entry->second;
  }

  // "<file>:<line>: <name> <predicate>", with the line of `name` when it is set.
  Error Fail(Problem problem, std::string_view name, std::string_view predicate) const {
    const IniEntry* entry = Find(name);
    return FailAt(problem, entry != nullptr ? entry->line : 0, name, predicate);
  }

  Error FailAt(Problem problem, int line, std::string_view name, std::string_view predicate) const {
    std::string where = source_ + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": ";
    const ProblemInfo& info = kProblems[static_cast<int>(problem)];
    return Error(info.kind, info.code, where + std::string(name) + " " + std::string(predicate));
  }

 private:
  const IniDocument& document_;
  std::string source_;
};

// ---------------------------------------------------------------------------------------------
// Names: unknown sections and keys, and PINs written into the file.

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// "; did you mean X?" for the closest candidate within two edits, or nothing.
template <typename Candidates>
std::string Suggestion(std::string_view name, const Candidates& candidates) {
  std::string_view best;
  std::size_t best_distance = 3;
  for (std::string_view candidate : candidates) {
    // The distance is at least the difference in length: skip what cannot be within two edits,
    // so that a very long unknown key costs no more than a short one.
    std::size_t longer = std::max(name.size(), candidate.size());
    std::size_t shorter = std::min(name.size(), candidate.size());
    if (longer - shorter >= best_distance) continue;
    std::size_t distance = EditDistance(name, candidate);
    if (!candidate.empty() && distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best.empty() ? std::string() : "; did you mean " + std::string(best) + "?";
}

// Operators looking for an off switch get told there is none, instead of a bare "unknown".
std::string NoOffSwitchHint(std::string_view key) {
  constexpr std::string_view kSwitchWords[] = {"enable", "disable", "auth",  "insecure", "verify",
                                               "tls",    "ssl",     "plain", "require"};
  for (std::string_view word : kSwitchWords) {
    if (key.find(word) != std::string_view::npos) {
      return "; kmsd has no setting that turns TLS or client authentication off";
    }
  }
  return {};
}

bool IsKnownSetting(std::string_view name) {
  return std::find(kSettingNames.begin(), kSettingNames.end(), name) != kSettingNames.end();
}

Status CheckKey(const Settings& s, const std::string& section, const std::string& key, int line) {
  std::string name = section + "." + key;
  if (IsKnownSetting(name)) return OkStatus();
  if (section == "hsm" && key.find("pin") != std::string::npos) {
    return s.FailAt(Problem::kSecretInFile, line, name,
                    "is not accepted: a PIN is never written in the configuration file; put it "
                    "in a file named by hsm.pin_file (mode 0600) or in an environment variable "
                    "named by hsm.pin_env");
  }
  return s.FailAt(
      Problem::kUnknown, line, name,
      "is not a setting kmsd knows" + Suggestion(name, kSettingNames) + NoOffSwitchHint(key));
}

// Refuses the first unknown section or key, by line number, so the operator fixes them in order.
Status CheckNames(const Settings& s) {
  std::optional<Error> first;
  int first_line = 0;
  auto keep = [&](Status status, int line) {
    if (!status.ok() && (!first || line < first_line)) {
      first = status.error();
      first_line = line;
    }
  };
  for (const auto& [section, body] : s.document().sections) {
    if (std::find(kSectionNames.begin(), kSectionNames.end(), section) == kSectionNames.end()) {
      keep(s.FailAt(Problem::kUnknown, body.line, "[" + section + "]",
                    "is not a section kmsd knows" + Suggestion(section, kSectionNames) +
                        "; the sections are server, tls, hsm, store, state, keys, auth, limits, "
                        "policy, audit and log"),
           body.line);
      continue;
    }
    for (const auto& [key, entry] : body.entries) {
      keep(CheckKey(s, section, key, entry.line), entry.line);
    }
  }
  if (first) return *first;
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Numbers, addresses, names.

std::optional<std::uint64_t> ParseWholeNumber(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

Status ApplyInteger(const Settings& s, const IntegerSetting& setting, Config& config) {
  const IniEntry* entry = s.Find(setting.name);
  if (entry == nullptr) return OkStatus();
  std::optional<std::uint64_t> value = ParseWholeNumber(entry->value);
  std::string range = "must be a whole number from " + std::to_string(setting.min) + " to " +
                      std::to_string(setting.max);
  if (!value) {
    return s.Fail(Problem::kInvalidValue, setting.name, range + "; got " + Quote(entry->value));
  }
  if (*value < setting.min || *value > setting.max) {
    std::string why = *value > setting.max ? std::string(setting.why_max) : std::string();
    return s.Fail(Problem::kInvalidValue, setting.name,
                  range + "; got " + std::to_string(*value) + why);
  }
  setting.store(config, *value);
  return OkStatus();
}

Result<std::uint16_t> ParsePort(const Settings& s, std::string_view text) {
  std::optional<std::uint64_t> port = ParseWholeNumber(text);
  if (!port || text.size() > 5 || *port > 65535) {
    return s.Fail(Problem::kInvalidValue, "server.listen",
                  "must end in a port from 0 to 65535; got " + Quote(text));
  }
  return static_cast<std::uint16_t>(*port);
}

bool IsIpLiteral(const std::string& host, int family) {
  std::array<unsigned char, 16> address{};
  return inet_pton(family, host.c_str(), address.data()) == 1;
}

// "127.0.0.1:8443" or "[::1]:8443". Host names are refused: resolving them would make the bound
// address depend on DNS at start-up.
Result<ListenAddress> ParseListen(const Settings& s, std::string_view text) {
  const std::string expected =
      "must be an IP literal and a port, such as 127.0.0.1:8443 or [::1]:8443; got " + Quote(text);
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return s.Fail(Problem::kInvalidValue, "server.listen", expected);
  }
  std::string_view host = text.substr(0, colon);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  ListenAddress address;
  address.host = std::string(host);
  bool valid = bracketed ? IsIpLiteral(address.host, AF_INET6) : IsIpLiteral(address.host, AF_INET);
  if (!valid) {
    return s.Fail(Problem::kInvalidValue, "server.listen",
                  expected + " (host names are not resolved; IPv6 literals go in brackets)");
  }
  WK_ASSIGN_OR_RETURN(address.port, ParsePort(s, text.substr(colon + 1)));
  return address;
}

bool IsEnvironmentName(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// ---------------------------------------------------------------------------------------------
// PKCS#11 URIs (RFC 7512): only their shape is checked here; the pkcs11 module interprets them.

struct Pkcs11Uri {
  std::map<std::string, std::string> attributes;  // path attributes, percent-decoded
};

constexpr std::string_view kUriPathAttributes[] = {
    "token",
    "manufacturer",
    "serial",
    "model",
    "library-manufacturer",
    "library-version",
    "library-description",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
    "object",
    "type",
    "id",
};

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX escapes; nullopt on a truncated or non-hex escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    int high = HexDigit(text[i + 1]);
    int low = HexDigit(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// Query attributes are refused: a PIN (pin-value, pin-source) belongs in hsm.pin_file or
// hsm.pin_env, and the module (module-name, module-path) is hsm.module.
Error UriQueryError(const Settings& s, std::string_view name, std::string_view query) {
  if (query.find("pin-") != std::string_view::npos) {
    return s.Fail(Problem::kSecretInFile, name,
                  "must not carry a PIN (pin-value or pin-source); the PIN comes from "
                  "hsm.pin_file or hsm.pin_env");
  }
  return s.Fail(Problem::kInvalidValue, name,
                "must not have query attributes (after '?'); the module is set by hsm.module");
}

// Adds one `name=value` path attribute. Values are never quoted back in errors: a PIN put in the
// wrong place must not reach the logs.
Status AddUriAttribute(const Settings& s, std::string_view name, std::string_view part,
                       Pkcs11Uri& uri) {
  std::size_t equals = part.find('=');
  std::string attribute(part.substr(0, equals));
  if (attribute.starts_with("pin-")) return UriQueryError(s, name, attribute);
  bool known = std::find(std::begin(kUriPathAttributes), std::end(kUriPathAttributes), attribute) !=
                   std::end(kUriPathAttributes) ||
               attribute.starts_with("x-");
  std::optional<std::string> value =
      equals == std::string_view::npos ? std::nullopt : PercentDecode(part.substr(equals + 1));
  if (!known || !value || value->empty()) {
    return s.Fail(Problem::kInvalidValue, name,
                  "has a malformed or unknown attribute " + Quote(attribute) +
                      "; expected RFC 7512 attributes such as token=, serial=, object=, id=, "
                      "each with a non-empty, correctly %-encoded value");
  }
  if (!uri.attributes.emplace(attribute, std::move(*value)).second) {
    return s.Fail(Problem::kInvalidValue, name, "repeats the attribute " + Quote(attribute));
  }
  return OkStatus();
}

Result<Pkcs11Uri> ParsePkcs11Uri(const Settings& s, std::string_view name, std::string_view text) {
  constexpr std::string_view kScheme = "pkcs11:";
  if (!text.starts_with(kScheme)) {
    return s.Fail(Problem::kInvalidValue, name,
                  "must be a PKCS#11 URI (RFC 7512) starting with \"pkcs11:\"");
  }
  std::string_view rest = text.substr(kScheme.size());
  std::size_t question = rest.find('?');
  if (question != std::string_view::npos) return UriQueryError(s, name, rest.substr(question));
  Pkcs11Uri uri;
  while (!rest.empty()) {
    std::size_t semicolon = rest.find(';');
    WK_RETURN_IF_ERROR(AddUriAttribute(s, name, rest.substr(0, semicolon), uri));
    if (semicolon == std::string_view::npos) break;
    rest = rest.substr(semicolon + 1);
    if (rest.empty()) return s.Fail(Problem::kInvalidValue, name, "ends with a stray ';'");
  }
  return uri;
}

// ---------------------------------------------------------------------------------------------
// Files: resolution against the config directory, the path jail, and permission checks.

// The two directories every file kmsd reads or writes must lie under (DESIGN.md, decision 9).
struct Roots {
  fs::path config_dir;
  fs::path state_dir;
};

std::string RootsText(const Roots& roots) {
  return "the configuration directory " + roots.config_dir.string() + " and the state directory " +
         roots.state_dir.string();
}

fs::path Absolute(const fs::path& base, std::string_view value) {
  fs::path path(value);
  if (path.is_relative()) path = base / path;
  return path.lexically_normal();
}

// Resolves `absolute` (following symlinks) under one of the roots, or refuses it.
Result<fs::path> Jail(const Settings& s, std::string_view name, const Roots& roots,
                      const fs::path& absolute) {
  for (const fs::path* root : {&roots.config_dir, &roots.state_dir}) {
    Result<fs::path> resolved = ResolveUnder(*root, absolute);
    if (resolved.ok()) return std::move(resolved).value();
  }
  return s.Fail(Problem::kOutsideRoots, name,
                "names " + absolute.string() + ", which resolves outside " + RootsText(roots) +
                    "; move the file under one of them");
}

// A file that must exist: resolved, checked to be a regular readable file, and jailed.
Result<fs::path> ExistingFile(const Settings& s, std::string_view name, const Roots& roots,
                              std::string_view value) {
  fs::path absolute = Absolute(roots.config_dir, value);
  std::error_code error;
  fs::file_status status = fs::status(absolute, error);
  if (!fs::exists(status)) {
    return s.Fail(Problem::kFileMissing, name,
                  "names " + absolute.string() + ", which does not exist");
  }
  if (!fs::is_regular_file(status)) {
    return s.Fail(Problem::kFileMissing, name,
                  "names " + absolute.string() + ", which is not a regular file");
  }
  if (::access(absolute.c_str(), R_OK) != 0) {
    return s.Fail(Problem::kFileMissing, name,
                  "names " + absolute.string() + ", which this user cannot read");
  }
  return Jail(s, name, roots, absolute);
}

// A file kmsd writes, which may not exist yet: its directory must exist and lie under a root.
Result<fs::path> WritableFile(const Settings& s, std::string_view name, const Roots& roots,
                              const fs::path& absolute) {
  if (!absolute.has_filename()) {
    return s.Fail(Problem::kInvalidValue, name,
                  "names the directory " + absolute.string() + "; expected a file name");
  }
  std::error_code error;
  if (fs::exists(fs::symlink_status(absolute, error))) {
    if (!fs::is_regular_file(fs::status(absolute, error))) {
      return s.Fail(Problem::kFileMissing, name,
                    "names " + absolute.string() + ", which is not a regular file");
    }
    return Jail(s, name, roots, absolute);
  }
  fs::path parent = absolute.parent_path();
  if (!fs::is_directory(fs::status(parent, error))) {
    return s.Fail(Problem::kFileMissing, name,
                  "names " + absolute.string() + ", but the directory " + parent.string() +
                      " does not exist; create it");
  }
  return Jail(s, name, roots, absolute);
}

// Owns a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Checks that only the current user can reach a secret file (a PIN, a private key).
Status CheckPrivate(const Settings& s, std::string_view name, const fs::path& path,
                    const struct stat& info) {
  if (info.st_uid != ::geteuid()) {
    return s.Fail(Problem::kInsecure, name,
                  "is owned by uid " + std::to_string(info.st_uid) +
                      ", not by the user kmsd runs as (uid " + std::to_string(::geteuid()) +
                      "); chown it (" + path.string() + ")");
  }
  mode_t mode = info.st_mode & 07777;
  if ((mode & 044) != 0) {
    return s.Fail(Problem::kInsecure, name,
                  "is readable by group or others (mode " + ModeText(mode) + "); chmod 600 it (" +
                      path.string() + ")");
  }
  if ((mode & 033) != 0) {
    return s.Fail(Problem::kInsecure, name,
                  "is writable or executable by group or others (mode " + ModeText(mode) +
                      "); chmod 600 it (" + path.string() + ")");
  }
  return OkStatus();
}

// Opens a secret file without following a final symlink and checks it with fstat on the open
// descriptor, so the file checked is the file read.
Result<UniqueFd> OpenPrivateFile(const Settings& s, std::string_view name, const fs::path& path,
                                 struct stat& info) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return s.Fail(Problem::kFileMissing, name,
                  "names " + path.string() + ", which cannot be opened as a regular file (" +
                      std::strerror(errno) + ")");
  }
  WK_RETURN_IF_ERROR(CheckPrivate(s, name, path, info));
  return fd;
}

// ---------------------------------------------------------------------------------------------
// Sections.

// Reads the config file; refuses one that others may rewrite.
struct ConfigText {
  fs::path path;
  std::string content;
};

Result<ConfigText> ReadConfigFile(const fs::path& file) {
  std::error_code error;
  fs::path path = fs::canonical(file, error);
  if (error) {
    return Error(ErrorKind::kFailedPrecondition, "config_unreadable",
                 file.string() + ": cannot read the configuration file: " + error.message());
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && (info.st_mode & S_IWOTH) != 0) {
    return Error(ErrorKind::kFailedPrecondition, "config_insecure",
                 path.string() + ": the configuration file is writable by others (mode " +
                     ModeText(info.st_mode) + "); chmod o-w it");
  }
  constexpr std::size_t kMaxBytes = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in || !S_ISREG(info.st_mode) || content.str().size() > kMaxBytes) {
    return Error(ErrorKind::kFailedPrecondition, "config_unreadable",
                 path.string() + ": not a readable regular file of at most 1 MiB");
  }
  return ConfigText{path, content.str()};
}

Status LoadState(const Settings& s, Config& config) {
  const IniEntry* entry = s.Find("state.directory");
  fs::path absolute = Absolute(config.directory, entry != nullptr ? entry->value : ".");
  std::error_code error;
  fs::path directory = fs::canonical(absolute, error);
  if (error || !fs::is_directory(directory)) {
    return s.Fail(Problem::kFileMissing, "state.directory",
                  "names " + absolute.string() +
                      ", which is not an existing directory; create "
                      "it (mode 0700)");
  }
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0 && (info.st_mode & S_IWOTH) != 0) {
    return s.Fail(Problem::kInsecure, "state.directory",
                  "is writable by others (mode " + ModeText(info.st_mode) + "); chmod o-w " +
                      directory.string());
  }
  config.state.directory = directory;
  return OkStatus();
}

Status LoadServer(const Settings& s, const Roots& roots, Config& config) {
  if (const IniEntry* listen = s.Find("server.listen")) {
    WK_ASSIGN_OR_RETURN(config.server.listen, ParseListen(s, listen->value));
  }
  if (const IniEntry* port_file = s.Find("server.port_file")) {
    fs::path absolute = Absolute(roots.config_dir, port_file->value);
    WK_ASSIGN_OR_RETURN(config.server.port_file,
                        WritableFile(s, "server.port_file", roots, absolute));
  }
  return OkStatus();
}

// Exactly one of two alternatives must be set. Returns the one that is.
Result<const IniEntry*> ExactlyOne(const Settings& s, std::string_view first,
                                   std::string_view second, std::string_view what) {
  const IniEntry* a = s.Find(first);
  const IniEntry* b = s.Find(second);
  if ((a == nullptr) == (b == nullptr)) {
    std::string how = a == nullptr ? "neither is set" : "both are set";
    return s.Fail(Problem::kConflicting, a != nullptr ? first : second,
                  "conflicts: set exactly one of " + std::string(first) + " and " +
                      std::string(second) + " (" + std::string(what) + "); " + how);
  }
  return a != nullptr ? a : b;
}

Result<const IniEntry*> Required(const Settings& s, std::string_view name, std::string_view what) {
  const IniEntry* entry = s.Find(name);
  if (entry == nullptr) {
    return s.Fail(Problem::kMissing, name, "is required: " + std::string(what));
  }
  return entry;
}

Status LoadTlsKey(const Settings& s, const Roots& roots, Config& config) {
  WK_ASSIGN_OR_RETURN(const IniEntry* key,
                      ExactlyOne(s, "tls.private_key", "tls.private_key_uri",
                                 "a PEM file, or a pkcs11: URI for a key held in the HSM"));
  if (key == s.Find("tls.private_key_uri")) {
    WK_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(s, "tls.private_key_uri", key->value));
    if (!uri.attributes.contains("object") && !uri.attributes.contains("id")) {
      return s.Fail(Problem::kInvalidValue, "tls.private_key_uri",
                    "must name the key with object= or id=");
    }
    config.tls.private_key_uri = key->value;
    return OkStatus();
  }
  WK_ASSIGN_OR_RETURN(fs::path path, ExistingFile(s, "tls.private_key", roots, key->value));
  struct stat info {};
  WK_ASSIGN_OR_RETURN(UniqueFd fd, OpenPrivateFile(s, "tls.private_key", path, info));
  config.tls.private_key = path;
  return OkStatus();
}

Status LoadClientCas(const Settings& s, const Roots& roots, Config& config) {
  WK_ASSIGN_OR_RETURN(const IniEntry* entry, Required(s, "tls.client_ca",
                                                      "one or more PEM files of CAs that issue "
                                                      "client certificates, separated by commas"));
  std::string_view rest = entry->value;
  while (true) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    item.remove_prefix(std::min(item.find_first_not_of(" \t"), item.size()));
    item = item.substr(0, item.find_last_not_of(" \t") + 1);
    if (item.empty()) {
      return s.Fail(Problem::kInvalidValue, "tls.client_ca", "has an empty entry in its list");
    }
    WK_ASSIGN_OR_RETURN(fs::path path, ExistingFile(s, "tls.client_ca", roots, item));
    config.tls.client_ca.push_back(path);
    if (comma == std::string_view::npos) return OkStatus();
    rest = rest.substr(comma + 1);
  }
}

Status LoadTls(const Settings& s, const Roots& roots, Config& config) {
  if (const IniEntry* version = s.Find("tls.min_version"); version && version->value != "1.3") {
    return s.Fail(Problem::kInsecure, "tls.min_version",
                  "is " + Quote(version->value) +
                      ": TLS below 1.3 is not supported; the only accepted value is \"1.3\"");
  }
  WK_ASSIGN_OR_RETURN(const IniEntry* certificate,
                      Required(s, "tls.certificate", "the server's certificate chain (PEM)"));
  WK_ASSIGN_OR_RETURN(config.tls.certificate,
                      ExistingFile(s, "tls.certificate", roots, certificate->value));
  WK_RETURN_IF_ERROR(LoadTlsKey(s, roots, config));
  WK_RETURN_IF_ERROR(LoadClientCas(s, roots, config));
  if (const IniEntry* crl = s.Find("tls.crl")) {
    WK_ASSIGN_OR_RETURN(config.tls.crl, ExistingFile(s, "tls.crl", roots, crl->value));
  }
  return OkStatus();
}

// A PKCS#11 module is code kmsd loads: anyone who can rewrite it owns the keys' custody.
Status LoadModule(const Settings& s, Config& config) {
  WK_ASSIGN_OR_RETURN(const IniEntry* entry,
                      Required(s, "hsm.module", "the path of the PKCS#11 module (.so)"));
  fs::path absolute = Absolute(config.directory, entry->value);
  std::error_code error;
  fs::path path = fs::canonical(absolute, error);
  struct stat info {};
  if (error || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return s.Fail(Problem::kFileMissing, "hsm.module",
                  "names " + absolute.string() + ", which is not an existing file");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
      (info.st_uid != 0 && info.st_uid != ::geteuid())) {
    return s.Fail(Problem::kInsecure, "hsm.module",
                  "names " + path.string() +
                      ", which is writable by group or others or owned "
                      "by another user (mode " +
                      ModeText(info.st_mode) + ", uid " + std::to_string(info.st_uid) +
                      "); it must be owned by root or this user "
                      "and not writable by anyone else");
  }
  config.hsm.module = path;
  return OkStatus();
}

Status LoadToken(const Settings& s, Config& config) {
  WK_ASSIGN_OR_RETURN(const IniEntry* token,
                      ExactlyOne(s, "hsm.token_label", "hsm.token_uri",
                                 "the token's label, or a pkcs11: URI with token= or serial="));
  if (token == s.Find("hsm.token_label")) {
    // CK_TOKEN_INFO holds a label in 32 blank-padded bytes.
    if (token->value.empty() || token->value.size() > 32) {
      return s.Fail(Problem::kInvalidValue, "hsm.token_label",
                    "must have 1 to 32 bytes, as a PKCS#11 token label does");
    }
    config.hsm.token_label = token->value;
    return OkStatus();
  }
  WK_ASSIGN_OR_RETURN(Pkcs11Uri uri, ParsePkcs11Uri(s, "hsm.token_uri", token->value));
  const auto& attributes = uri.attributes;
  if (attributes.contains("object") || attributes.contains("id") || attributes.contains("type")) {
    return s.Fail(Problem::kInvalidValue, "hsm.token_uri",
                  "names an object (object=, id= or type=); it must select a token only");
  }
  if (!attributes.contains("token") && !attributes.contains("serial")) {
    return s.Fail(Problem::kInvalidValue, "hsm.token_uri", "must contain token= or serial=");
  }
  if (auto it = attributes.find("token"); it != attributes.end()) {
    config.hsm.token_label = it->second;
  }
  if (auto it = attributes.find("serial"); it != attributes.end()) {
    config.hsm.token_serial = it->second;
  }
  config.hsm.token_uri = token->value;
  return OkStatus();
}

// Reads the PIN straight into SecretBytes from the checked descriptor, dropping one trailing
// newline (echo and editors add one).
Result<SecretBytes> ReadPinFile(const Settings& s, const fs::path& path) {
  struct stat info {};
  WK_ASSIGN_OR_RETURN(UniqueFd fd, OpenPrivateFile(s, "hsm.pin_file", path, info));
  constexpr off_t kMaxPinFileBytes = 256;
  if (info.st_size > kMaxPinFileBytes) {
    return s.Fail(Problem::kInvalidValue, "hsm.pin_file",
                  "names a file of " + std::to_string(info.st_size) +
                      " bytes; a PIN file holds only the PIN");
  }
  SecretBytes pin(static_cast<std::size_t>(info.st_size));
  std::size_t filled = 0;
  while (filled < pin.size()) {
    ssize_t got = ::read(fd.get(), pin.expose_mutable().data() + filled, pin.size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    filled += static_cast<std::size_t>(got);
  }
  pin.Truncate(filled);
  if (!pin.empty() && pin.expose().back() == '\n') pin.Truncate(pin.size() - 1);
  if (!pin.empty() && pin.expose().back() == '\r') pin.Truncate(pin.size() - 1);
  return pin;
}

Status PinFromFile(const Settings& s, const Roots& roots, const IniEntry& entry, Config& config) {
  WK_ASSIGN_OR_RETURN(fs::path path, ExistingFile(s, "hsm.pin_file", roots, entry.value));
  WK_ASSIGN_OR_RETURN(config.hsm.pin, ReadPinFile(s, path));
  if (config.hsm.pin.empty()) {
    return s.Fail(Problem::kPinUnavailable, "hsm.pin_file",
                  "names " + path.string() + ", which holds no PIN; write the user PIN into it");
  }
  config.hsm.pin_source = "file " + path.string();
  return OkStatus();
}

Status PinFromEnvironment(const Settings& s, const Environment& env, const IniEntry& entry,
                          Config& config) {
  if (!IsEnvironmentName(entry.value)) {
    return s.Fail(Problem::kInvalidValue, "hsm.pin_env",
                  "must be the name of an environment variable (letters, digits, '_'); got " +
                      Quote(entry.value));
  }
  std::optional<std::string_view> value = env.Get(entry.value);
  if (!value || value->empty()) {
    return s.Fail(Problem::kPinUnavailable, "hsm.pin_env",
                  "names " + entry.value + ", which is not set or empty in kmsd's environment");
  }
  config.hsm.pin = SecretBytes::CopyOf(*value);
  config.hsm.pin_source = "env " + entry.value;
  config.hsm.pin_env = entry.value;
  return OkStatus();
}

Status LoadPin(const Settings& s, const Roots& roots, const Environment& env, Config& config) {
  WK_ASSIGN_OR_RETURN(const IniEntry* source,
                      ExactlyOne(s, "hsm.pin_file", "hsm.pin_env",
                                 "a file holding the user PIN, or an environment variable"));
  if (source == s.Find("hsm.pin_file")) return PinFromFile(s, roots, *source, config);
  return PinFromEnvironment(s, env, *source, config);
}

Status LoadHsm(const Settings& s, const Roots& roots, const Environment& env, Config& config) {
  WK_RETURN_IF_ERROR(LoadModule(s, config));
  WK_RETURN_IF_ERROR(LoadToken(s, config));
  WK_RETURN_IF_ERROR(LoadPin(s, roots, env, config));
  // One PKCS#11 session per worker (DESIGN.md, decision 4); fewer would make workers wait.
  if (s.Find("hsm.sessions") == nullptr) config.hsm.sessions = config.server.workers;
  if (config.hsm.sessions < config.server.workers) {
    return s.Fail(Problem::kInvalidValue, "hsm.sessions",
                  "is " + std::to_string(config.hsm.sessions) + ", below server.workers (" +
                      std::to_string(config.server.workers) +
                      "); each worker holds its own session");
  }
  return OkStatus();
}

Status LoadStore(const Settings& s, const Roots& roots, Config& config) {
  const IniEntry* entry = s.Find("store.path");
  fs::path absolute =
      entry != nullptr ? Absolute(roots.config_dir, entry->value) : roots.state_dir / "kms.db";
  WK_ASSIGN_OR_RETURN(config.store.path, WritableFile(s, "store.path", roots, absolute));

  // The audit log has a file of its own: its growth and its retention are not the key store's.
  const IniEntry* audit = s.Find("audit.path");
  fs::path audit_absolute =
      audit != nullptr ? Absolute(roots.config_dir, audit->value) : roots.state_dir / "audit.db";
  WK_ASSIGN_OR_RETURN(config.audit.path, WritableFile(s, "audit.path", roots, audit_absolute));
  if (config.audit.path == config.store.path) {
    return s.Fail(Problem::kInvalidValue, "audit.path",
                  "must name another file than store.path; the audit log has its own database");
  }
  return OkStatus();
}

// Retention is all or nothing: a directory and what to keep, or neither.
Status LoadRetention(const Settings& s, const Roots& roots, Config& config) {
  const IniEntry* entry = s.Find("audit.archive_directory");
  bool keeps = config.audit.keep_days || config.audit.keep_entries;
  if (entry == nullptr) {
    if (!keeps) return OkStatus();
    return s.Fail(Problem::kMissing,
                  config.audit.keep_days ? "audit.keep_days" : "audit.keep_entries",
                  "is set but audit.archive_directory is not; name the directory archives go to");
  }
  if (!keeps) {
    return s.Fail(Problem::kMissing, "audit.archive_directory",
                  "is set but neither audit.keep_days nor audit.keep_entries says what stays live");
  }
  fs::path absolute = Absolute(roots.config_dir, entry->value);
  std::error_code error;
  if (!fs::is_directory(fs::status(absolute, error))) {
    return s.Fail(Problem::kFileMissing, "audit.archive_directory",
                  "names " + absolute.string() + ", which is not an existing directory; create it");
  }
  WK_ASSIGN_OR_RETURN(fs::path directory, Jail(s, "audit.archive_directory", roots, absolute));
  struct stat info {};
  if (::stat(directory.c_str(), &info) == 0 && (info.st_mode & S_IWOTH) != 0) {
    return s.Fail(Problem::kInsecure, "audit.archive_directory",
                  "is writable by others (mode " + ModeText(info.st_mode) + "); chmod o-w " +
                      directory.string());
  }
  config.audit.archive_directory = directory;
  return OkStatus();
}

// A comma-separated list with surrounding spaces trimmed; empty items are dropped.
std::vector<std::string> SplitList(std::string_view text) {
  std::vector<std::string> items;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view item = text.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) items.emplace_back(item);
    start = comma + 1;
  }
  return items;
}

bool IsLowerHex(std::string_view text, std::size_t length) {
  return text.size() == length &&
         text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Status LoadAuthIdentity(const Settings& s, Config& config) {
  if (const IniEntry* from = s.Find("auth.principal_from")) {
    if (from->value == "spiffe") {
      config.auth.principal_from = PrincipalSource::kSpiffe;
    } else if (from->value == "dns") {
      config.auth.principal_from = PrincipalSource::kDnsSan;
    } else if (from->value == "subject") {
      config.auth.principal_from = PrincipalSource::kSubject;
    } else {
      return s.Fail(Problem::kInvalidValue, "auth.principal_from",
                    "must be spiffe, dns or subject; got " + Quote(from->value));
    }
  }
  if (const IniEntry* pins = s.Find("auth.pinned_spki_sha256")) {
    for (std::string& pin : SplitList(pins->value)) {
      if (!IsLowerHex(pin, 64)) {
        return s.Fail(Problem::kInvalidValue, "auth.pinned_spki_sha256",
                      "must list SHA-256 digests as 64 lower-case hex digits, comma-separated");
      }
      config.auth.pinned_spki_sha256.push_back(std::move(pin));
    }
  }
  if (const IniEntry* admin = s.Find("auth.bootstrap_admin")) {
    config.auth.bootstrap_admin = admin->value;
  }
  return OkStatus();
}

Status LoadAuthTokens(const Settings& s, Config& config) {
  if (const IniEntry* issuer = s.Find("auth.token_issuer")) {
    if (issuer->value.rfind("https://", 0) != 0) {
      return s.Fail(Problem::kInvalidValue, "auth.token_issuer",
                    "must be an https:// URL; got " + Quote(issuer->value));
    }
    config.auth.token_issuer = issuer->value;
  }
  if (const IniEntry* audience = s.Find("auth.token_audience")) {
    if (audience->value.empty()) {
      return s.Fail(Problem::kInvalidValue, "auth.token_audience", "must not be empty");
    }
    config.auth.token_audience = audience->value;
  }
  return OkStatus();
}

Status LoadLog(const Settings& s, Config& config) {
  const IniEntry* entry = s.Find("log.level");
  if (entry == nullptr) return OkStatus();
  for (const auto& [name, level] : kLogLevels) {
    if (entry->value == name) {
      config.log.level = level;
      return OkStatus();
    }
  }
  return s.Fail(Problem::kInvalidValue, "log.level",
                "must be one of debug, info, warning, error; got " + Quote(entry->value));
}

}  // namespace

std::optional<std::string_view> ProcessEnvironment::Get(const std::string& name) const {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string_view(value);
}

std::optional<std::string_view> MapEnvironment::Get(const std::string& name) const {
  auto it = variables_.find(name);
  if (it == variables_.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string ListenAddress::ToString() const {
  bool is_v6 = host.find(':') != std::string::npos;
  return (is_v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Config> LoadConfig(const std::filesystem::path& file, const Environment& env) {
  WK_ASSIGN_OR_RETURN(ConfigText text, ReadConfigFile(file));
  WK_ASSIGN_OR_RETURN(IniDocument document, ParseIni(text.content, text.path.string()));
  Settings s(document, text.path.string());
  WK_RETURN_IF_ERROR(CheckNames(s));

  Config config;
  config.file = text.path;
  config.directory = text.path.parent_path();
  WK_RETURN_IF_ERROR(LoadState(s, config));
  const Roots roots{config.directory, config.state.directory};

  for (const IntegerSetting& setting : kIntegerSettings) {
    WK_RETURN_IF_ERROR(ApplyInteger(s, setting, config));
  }
  WK_RETURN_IF_ERROR(LoadServer(s, roots, config));
  WK_RETURN_IF_ERROR(LoadTls(s, roots, config));
  WK_RETURN_IF_ERROR(LoadHsm(s, roots, env, config));
  WK_RETURN_IF_ERROR(LoadStore(s, roots, config));
  WK_RETURN_IF_ERROR(LoadRetention(s, roots, config));
  WK_RETURN_IF_ERROR(LoadAuthIdentity(s, config));
  WK_RETURN_IF_ERROR(LoadAuthTokens(s, config));
  WK_RETURN_IF_ERROR(LoadLog(s, config));
  return config;
}

std::vector<std::string> KnownSettings() {
  return std::vector<std::string>(kSettingNames.begin(), kSettingNames.end());
}

}  // namespace weftkit::server

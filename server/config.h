// kmsd's configuration: the typed, validated settings read from its INI file (server/ini_file.h).
//
// LoadConfig is the one place where settings are checked, so that the rest of the server can
// trust them. It refuses, with an Error whose detail names the setting as `section.key`, says
// what is wrong and what is expected:
//   - unknown sections and keys (a typo must never silently become a default), and duplicates;
//   - out-of-range numbers and malformed addresses, URIs and names;
//   - anything insecure: TLS below 1.3, a PIN written in the file, a PIN or private-key file
//     that group or others can access or that another user owns, a writable PKCS#11 module;
//   - a file path that resolves (after symlinks) outside both the configuration file's directory
//     and the state directory.
// There is deliberately no setting that turns TLS or client authentication off.
//
// Relative paths are resolved against the directory of the configuration file, never against
// the working directory, so a configuration means the same thing wherever kmsd starts.
//
// The complete reference is docs/configuration.md; conf/kmsd.conf is a commented example.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/secret_bytes.h"
#include "server/rate_limit_settings.h"

namespace weftkit::server {

// Reads environment variables. An interface so that tests can supply their own variables.
class Environment {
 public:
  virtual ~Environment() = default;

  // The value of variable `name`, or nullopt when it is not set. The view stays valid until the
  // environment changes; copy what must outlive that (into SecretBytes, for secrets).
  virtual std::optional<std::string_view> Get(const std::string& name) const = 0;
};

// The process environment, read with getenv. Not safe against concurrent setenv calls (no
// getenv is); kmsd reads its configuration before it starts any thread.
class ProcessEnvironment final : public Environment {
 public:
  std::optional<std::string_view> Get(const std::string& name) const override;
};

// A fixed set of variables, for tests. Thread-safe: immutable after construction.
class MapEnvironment final : public Environment {
 public:
  explicit MapEnvironment(std::map<std::string, std::string> variables)
      : variables_(std::move(variables)) {}

  std::optional<std::string_view> Get(const std::string& name) const override;

 private:
  std::map<std::string, std::string> variables_;
};

// An address to listen on: an IP literal and a port. Port 0 asks the OS for a free port (tests
// read the chosen one from server.port_file).
struct ListenAddress {
  std::string host = "127.0.0.1";  // IPv4 or IPv6 literal, IPv6 without brackets
  std::uint16_t port = 8443;

  // "127.0.0.1:8443" or "[::1]:8443".
  std::string ToString() const;
};

// [server]: the HTTPS front end, its thread pools and its limits.
struct ServerSettings {
  ListenAddress listen;
  std::uint32_t io_threads = 2;  // threads running Asio; they never block
  // Threads that call the HSM and the store. More than the cores: a worker mostly waits (for the
  // HSM, and for the audit entry's group commit), and a commit serves every worker waiting on it
  // (docs/performance.md).
  std::uint32_t workers = 16;
  std::uint32_t queue_capacity = 1024;  // jobs waiting for a worker before 503 + Retry-After
  std::uint32_t max_connections = 10000;
  std::uint32_t max_header_bytes = 8192;
  std::uint32_t max_body_bytes = 1048576;
  std::uint32_t max_batch_items = 1000;  // items in one batch request
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds read_timeout{10000};   // to receive one whole request
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive without a request
  std::chrono::milliseconds drain_timeout{10000};  // on shutdown, for requests in flight
  std::uint32_t max_parked_requests = 10000;       // long polls waiting at once
  // Where kmsd writes the port it bound, as decimal text and a newline. Empty: not written.
  std::optional<std::filesystem::path> port_file;
};

// [tls]: the server's certificate and the client CAs for mTLS. The protocol is always TLS 1.3
// and client certificates are always requested; neither is configurable.
struct TlsSettings {
  std::filesystem::path certificate;  // PEM; the leaf first, then any intermediates
  // Exactly one of these is set: a PEM file, or a key kept in the HSM (RFC 7512 URI).
  std::optional<std::filesystem::path> private_key;
  std::optional<std::string> private_key_uri;
  std::vector<std::filesystem::path> client_ca;  // at least one PEM file
  std::optional<std::filesystem::path> crl;      // PEM CRL, checked for client certificates
};

// [hsm]: the PKCS#11 module holding the master keys, the token, and the user PIN.
struct HsmSettings {
  std::filesystem::path module;  // the PKCS#11 shared library
  // The token, selected by label or by serial number. At least one is set; when both are (from
  // a token URI with token= and serial=), the token must match both.
  std::optional<std::string> token_label;
  std::optional<std::string> token_serial;
  std::optional<std::string> token_uri;  // as written, when the token was given as a URI
  SecretBytes pin;                       // the user PIN, never empty
  std::string pin_source;  // where the PIN came from, for logs: "file /x/user.pin" or "env X"
  std::optional<std::string> pin_env;  // the variable hsm.pin_env names; kmsd unsets it
  std::uint32_t sessions = 0;          // PKCS#11 sessions; defaults to server.workers
};

// [store]: the SQLite database of key metadata, principals, tokens and policies.
struct StoreSettings {
  std::filesystem::path path;  // default: kms.db in the state directory
  std::chrono::milliseconds busy_timeout{5000};
};

// [state]: the directory kmsd writes to.
struct StateSettings {
  std::filesystem::path directory;  // default: the configuration file's directory
};

// [keys]: master-key lifecycle limits.
struct KeySettings {
  std::chrono::seconds auto_rotation_check{60};  // how often rotation periods are checked
  // A key version is rotated before it has wrapped this many DEKs. At most 2^30: AES-GCM with
  // random 96-bit IVs is safe for 2^32 encryptions under one key (NIST SP 800-38D).
  std::uint64_t max_encryptions_per_version = 1073741824;
  std::chrono::seconds destruction_wait_min{86400};  // shortest waiting period before destruction
};

// Where a client certificate's principal comes from.
enum class PrincipalSource {
  kSpiffe,   // the single SPIFFE URI SAN (the default)
  kDnsSan,   // the single DNS SAN
  kSubject,  // the subject, RFC 2253
};

// [auth]: who callers are and how their credentials are issued and checked.
struct AuthSettings {
  PrincipalSource principal_from = PrincipalSource::kSpiffe;
  // When not empty, only client certificates whose public key (SHA-256 of the DER
  // SubjectPublicKeyInfo, lower-case hex) is listed are accepted.
  std::vector<std::string> pinned_spki_sha256;
  // A principal bound to the admin role at start-up when no principal holds it yet, e.g. the
  // first administrator's certificate identity.
  std::optional<std::string> bootstrap_admin;
  std::string token_issuer = "https://kms.weftkit.local";  // "iss" of issued JWTs
  std::string token_audience = "weftkit-kms";              // "aud" required of JWTs
  std::chrono::seconds token_lifetime{900};                // at most 1 hour
  std::uint32_t scram_iterations = 100000;                 // PBKDF2 rounds for new passwords
  std::uint32_t lockout_failures = 5;  // consecutive failed logins before the account locks
  std::chrono::seconds lockout{900};   // how long a locked account stays locked
};

// [policy]: serving policy bundles to engines.
struct PolicySettings {
  std::chrono::seconds max_wait{300};      // longest honoured "Prefer: wait=N" long poll
  std::chrono::seconds stale_after{3600};  // fleet reporters silent this long are stale
  std::uint32_t max_history_page = 100;    // versions in one page of history
};

// [audit]: the tamper-evident audit log (docs/audit.md).
struct AuditSettings {
  std::filesystem::path path;                     // default: audit.db in the state directory
  std::uint32_t max_batch_entries = 512;          // most entries one group commit appends
  std::chrono::seconds checkpoint_interval{300};  // how often a signed checkpoint is taken
  // Retention (docs/audit.md, "Retention"): off unless archive_directory is set, and then at
  // least one of keep_days and keep_entries is required.
  std::optional<std::filesystem::path> archive_directory;  // where archive files go
  std::optional<std::uint32_t> keep_days;                  // entries older than this are archived
  std::optional<std::uint64_t> keep_entries;    // entries beyond the newest N are archived
  std::chrono::seconds archive_interval{3600};  // how often the archiver runs
  std::uint64_t max_archive_entries = 100000;   // most entries one archive file holds
};

// [log]
struct LogSettings {
  log::Level level = log::Level::kInfo;
};

// The whole configuration. Move-only, because it holds the HSM PIN.
struct Config {
  std::filesystem::path file;       // the configuration file, canonical
  std::filesystem::path directory;  // its directory: the base of relative paths and a root
  ServerSettings server;
  TlsSettings tls;
  HsmSettings hsm;
  StoreSettings store;
  StateSettings state;
  KeySettings keys;
  AuthSettings auth;
  PolicySettings policy;
  AuditSettings audit;
  RateLimitSettings limits;  // [limits]
  LogSettings log;
};

// Reads, parses and validates `file`, reading environment variables (hsm.pin_env) from `env`.
// Every path in the result is absolute and canonical.
//
// On failure the Error's detail reads "<file>[:<line>]: <section.key> <what is wrong and what
// is expected>", e.g. "/etc/kmsd/kmsd.conf:12: server.workers must be a whole number from 1 to
// 256; got \"0\"". Codes (stable, for tests and scripts):
//   config_unreadable            the file cannot be read (kFailedPrecondition)
//   config_syntax                a malformed line (kInvalidArgument)
//   config_duplicate_setting     a key or section given twice (kInvalidArgument)
//   config_unknown_setting       a section or key kmsd does not know (kInvalidArgument)
//   config_secret_in_file        a PIN written in the file (kInvalidArgument)
//   config_invalid_value         a value of the wrong form or out of range (kInvalidArgument)
//   config_missing_setting       a required setting is absent (kInvalidArgument)
//   config_conflicting_settings  both or neither of two alternatives are set (kInvalidArgument)
//   config_insecure              TLS below 1.3, or file permissions that expose a secret
//                                (kFailedPrecondition)
//   config_file_missing          a named file or directory does not exist or is the wrong kind
//                                (kFailedPrecondition)
//   config_path_outside_roots    a path outside the config and state directories
//                                (kInvalidArgument)
//   config_pin_unavailable       hsm.pin_env names an unset or empty variable, or the PIN file
//                                is empty (kFailedPrecondition)
Result<Config> LoadConfig(const std::filesystem::path& file, const Environment& env);

// Every setting LoadConfig accepts, as "section.key", in the order of docs/configuration.md.
// Tests use it to check that the example file and the documentation cover every setting.
std::vector<std::string> KnownSettings();

}  // namespace weftkit::server

// ScramServer: the server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677,
// RFC 9266), as a two-step exchange keyed by an exchange id ("sid", RFC 7804).
//
//   Start(client-first)               -> sid, server-first
//   Finish(sid, client-final)          -> user, server-final ("v=..."), or an error
//
// Exchanges live in memory only. Each is single-use (removed by the first Finish for its sid,
// whatever the outcome), expires exchange_lifetime after Start, and at most max_exchanges may
// be pending; beyond that Start fails with kResourceExhausted "scram_too_many_exchanges".
//
// Channel binding. The caller passes the TLS exporter value of the request's connection (RFC
// 9266, 32 bytes), empty when there is none. With an exporter the server offers PLUS:
//   - "p=tls-exporter" binds the exchange to that connection; the client-final must arrive on a
//     connection with the same exporter and its c= must be the gs2 header followed by it, else
//     "scram_channel_bindings_dont_match". A stolen sid replayed through another connection
//     fails there.
//   - "y" means the client could bind but thinks the server cannot: a downgrade, refused with
//     "scram_downgrade_detected" (RFC 5802 §6).
//   - "n" is accepted unless require_channel_binding is set ("scram_channel_binding_required").
// Without an exporter, "p=" fails with "scram_channel_binding_not_supported". The mechanism
// name must agree with the flag: SCRAM-SHA-256-PLUS with "p=", SCRAM-SHA-256 with "n" or "y",
// else "scram_mechanism_mismatch".
//
// Unknown users get a fake salt (PasswordStore::FakeSalt) and default_iterations, and a random
// StoredKey; the exchange runs to the proof check and fails with "scram_invalid_proof", exactly
// as a wrong password does. The proof is compared in constant time.
//
// Throttling (scram_throttle.h) is checked at both steps, per user name; every failure of a
// Finish whose sid was found counts against the exchange's user name, and a success resets it.
// Throttled steps fail with kResourceExhausted "auth_throttled" or "account_locked" and set
// *out_retry_after_seconds.
//
// Error kinds: malformed messages kInvalidArgument (codes in scram_messages.h); failed
// authentication kUnauthenticated; limits kResourceExhausted; store failures as the store
// reports them. ServerErrorValueFor(code) gives the "e=" value where RFC 5802 defines one.
//
// Thread safety: thread-safe. The exchange table has its own lock; store calls run outside it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/scram_credentials.h"
#include "auth/scram_messages.h"
#include "auth/scram_password_store.h"
#include "auth/scram_throttle.h"
#include "common/error.h"

namespace weftkit::auth {

enum class ScramMechanism { kSha256, kSha256Plus };

// "SCRAM-SHA-256" or "SCRAM-SHA-256-PLUS".
const char* ScramMechanismName(ScramMechanism mechanism);
// Parses a mechanism (HTTP auth scheme) name, case-insensitively; nullopt for any other name.
std::optional<ScramMechanism> ParseScramMechanism(std::string_view name);

struct ScramServerOptions {
  // Iteration count advertised for unknown users; should equal what SetPassword uses so that
  // real and fake users look alike.
  std::uint32_t default_iterations = kDefaultScramIterations;
  std::chrono::milliseconds exchange_lifetime = std::chrono::seconds(30);
  std::size_t max_exchanges = 10000;
  // Refuse "n" (no channel binding) on connections that offer PLUS.
  bool require_channel_binding = false;
  ThrottlePolicy throttle;
  // Unix time in milliseconds; the system clock when empty. Tests inject a fake clock.
  std::function<std::int64_t()> now_ms;
  // The server's nonce part; 24 random bytes in base64 when empty. Tests inject fixed nonces
  // (RFC 7677's example). Must return printable ASCII without ','.
  std::function<std::string()> make_server_nonce;
};

struct ScramChallenge {
  std::string sid;           // 128 random bits, base64url
  std::string server_first;  // the server-first-message
};

struct ScramSuccess {
  std::string user;          // the authenticated SCRAM user name
  std::string server_final;  // "v=<ServerSignature>", for the client to verify the server
  // The password is a one-time password (the bootstrap administrator's): the caller must let
  // the resulting session do nothing but change it.
  bool must_change_password = false;
};

class ScramServer {
 public:
  // Fails with kInvalidArgument "invalid_scram_options" if default_iterations is outside
  // [kMinScramIterations, kMaxScramIterations], the lifetime or max_exchanges is not positive,
  // or the throttle policy is invalid. Shares ownership of `store`.
  static Result<std::unique_ptr<ScramServer>> Create(std::shared_ptr<PasswordStore> store,
                                                     ScramServerOptions options);

  ScramServer(const ScramServer&) = delete;
  ScramServer& operator=(const ScramServer&) = delete;
  ~ScramServer();

  // Handles a client-first-message sent under `mechanism` on a connection whose TLS exporter is
  // `tls_exporter` (raw bytes, empty if none). Fails as described in the header comment;
  // besides the parser's codes: scram_mechanism_mismatch, scram_downgrade_detected,
  // scram_channel_binding_not_supported, scram_channel_binding_required,
  // scram_authzid_refused (an authzid other than the user name), auth_throttled,
  // account_locked, scram_too_many_exchanges.
  Result<ScramChallenge> Start(ScramMechanism mechanism, std::string_view client_first,
                               std::string_view tls_exporter,
                               std::int64_t* out_retry_after_seconds = nullptr);

  // Handles the client-final-message of exchange `sid`. Fails with kUnauthenticated
  // "scram_unknown_exchange" (never started, already finished) or "scram_exchange_expired";
  // then, counting as a failed login: the parser's codes, scram_mechanism_mismatch,
  // scram_channel_bindings_dont_match, scram_nonce_mismatch, scram_invalid_proof; or
  // auth_throttled / account_locked.
  Result<ScramSuccess> Finish(std::string_view sid, ScramMechanism mechanism,
                              std::string_view client_final, std::string_view tls_exporter,
                              std::int64_t* out_retry_after_seconds = nullptr);

  // Exchanges started and neither finished nor purged, for metrics and tests.
  std::size_t PendingExchanges() const;

  const ScramServerOptions& options() const { return options_; }

 private:
  struct Exchange;

  ScramServer(std::shared_ptr<PasswordStore> store, ScramServerOptions options);

  Status CheckThrottle(const std::string& user, std::int64_t* out_retry_after_seconds);
  Result<ScramCredentials> CredentialsFor(const std::string& user, bool* known,
                                          bool* must_change_password);
  Result<std::string> Insert(std::unique_ptr<Exchange> exchange);
  Result<std::unique_ptr<Exchange>> Take(std::string_view sid);
  void PurgeExpiredLocked(std::int64_t now_ms);
  Result<ScramSuccess> Verify(const Exchange& exchange, ScramMechanism mechanism,
                              std::string_view client_final, std::string_view tls_exporter);

  const std::shared_ptr<PasswordStore> store_;
  const ScramServerOptions options_;

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Exchange>, std::less<>> exchanges_;  // guarded by mutex_
  // (expiry, sid) in order of Start, so expired exchanges are purged from the front.
  std::deque<std::pair<std::int64_t, std::string>> expiry_order_;  // guarded by mutex_
};

}  // namespace weftkit::auth

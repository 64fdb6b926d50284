#include "auth/scram_server.h"

#include <strings.h>

#include "common/base64.h"

namespace weftkit::auth {
namespace {

constexpr std::size_t kSidBytes = 16;          // 128 bits
constexpr std::size_t kServerNonceBytes = 24;  // 192 bits, 32 base64 characters

struct MechanismName {
  ScramMechanism mechanism;
  const char* name;
};
constexpr MechanismName kMechanismNames[] = {
    {ScramMechanism::kSha256, "SCRAM-SHA-256"},
    {ScramMechanism::kSha256Plus, "SCRAM-SHA-256-PLUS"},
};

Error Unauthenticated(const char* code, const char* detail) {
  return Error(ErrorKind::kUnauthenticated, code, detail);
}

std::int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Whether the client's channel-binding choice fits the mechanism it named and what this
// connection offers (RFC 5802 §6, RFC 9266).
Status CheckBindingChoice(ScramMechanism mechanism, ChannelBindingFlag flag,
                          std::string_view tls_exporter, bool require_channel_binding) {
  const bool plus = mechanism == ScramMechanism::kSha256Plus;
  const bool binds = flag == ChannelBindingFlag::kTlsExporter;
  if (plus != binds) {
    return Unauthenticated("scram_mechanism_mismatch", "gs2 flag does not fit the mechanism");
  }
  const bool server_can_bind = !tls_exporter.empty();
  if (binds && !server_can_bind) {
    return Unauthenticated("scram_channel_binding_not_supported", "no TLS exporter available");
  }
  if (flag == ChannelBindingFlag::kClientCanBind && server_can_bind) {
    return Unauthenticated("scram_downgrade_detected", "client says y while PLUS is offered");
  }
  if (flag == ChannelBindingFlag::kNone && server_can_bind && require_channel_binding) {
    return Unauthenticated("scram_channel_binding_required", "channel binding is required");
  }
  return OkStatus();
}

// Credentials that cannot verify any proof, for a name without a user.
Result<ScramCredentials> FakeCredentials(std::vector<std::uint8_t> salt, std::uint32_t iterations) {
  ScramCredentials credentials;
  credentials.salt = std::move(salt);
  credentials.iterations = iterations;
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> keys, RandomBytes(2 * kScramKeySize));
  credentials.stored_key = SecretBytes::CopyOf(std::span(keys).first(kScramKeySize));
  credentials.server_key = SecretBytes::CopyOf(std::span(keys).last(kScramKeySize));
  return credentials;
}

std::vector<std::uint8_t> ToBytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

}  // namespace

struct ScramServer::Exchange {
  std::string user;
  ScramMechanism mechanism = ScramMechanism::kSha256;
  ChannelBindingFlag binding = ChannelBindingFlag::kNone;
  std::string tls_exporter;  // of the connection that started a "p=" exchange
  std::vector<std::uint8_t> expected_channel_binding;  // gs2 header || cbind data
  std::string nonce;                                   // client's and server's
  std::string auth_message_prefix;                     // client-first-bare "," server-first ","
  ScramCredentials credentials;
  bool known_user = false;
  bool must_change_password = false;
  std::int64_t expires_ms = 0;
};

const char* ScramMechanismName(ScramMechanism mechanism) {
  for (const MechanismName& entry : kMechanismNames) {
    if (entry.mechanism == mechanism) return entry.name;
  }
  return "";
}

std::optional<ScramMechanism> ParseScramMechanism(std::string_view name) {
  for (const MechanismName& entry : kMechanismNames) {
    if (name.size() == std::char_traits<char>::length(entry.name) &&
        ::strncasecmp(name.data(), entry.name, name.size()) == 0) {
      return entry.mechanism;
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<ScramServer>> ScramServer::Create(std::shared_ptr<PasswordStore> store,
                                                         ScramServerOptions options) {
  const bool valid = store != nullptr && options.default_iterations >= kMinScramIterations &&
                     options.default_iterations <= kMaxScramIterations &&
                     options.exchange_lifetime.count() > 0 && options.max_exchanges > 0 &&
                     IsValidThrottlePolicy(options.throttle);
  if (!valid) {
    return Error(ErrorKind::kInvalidArgument, "invalid_scram_options",
                 "SCRAM server options out of range");
  }
  if (!options.now_ms) options.now_ms = SystemNowMs;
  return std::unique_ptr<ScramServer>(new ScramServer(std::move(store), std::move(options)));
}

ScramServer::ScramServer(std::shared_ptr<PasswordStore> store, ScramServerOptions options)
    : store_(std::move(store)), options_(std::move(options)) {}

ScramServer::~ScramServer() = default;

Result<ScramChallenge> ScramServer::Start(ScramMechanism mechanism, std::string_view client_first,
                                          std::string_view tls_exporter,
                                          std::int64_t* out_retry_after_seconds) {
  WK_ASSIGN_OR_RETURN(ClientFirstMessage first, ParseClientFirst(client_first));
  WK_RETURN_IF_ERROR(
      CheckBindingChoice(mechanism, first.binding, tls_exporter, options_.require_channel_binding));
  if (!first.authzid.empty() && first.authzid != first.username) {
    return Unauthenticated("scram_authzid_refused", "authzid differs from the user name");
  }
  WK_RETURN_IF_ERROR(CheckThrottle(first.username, out_retry_after_seconds));

  auto exchange = std::make_unique<Exchange>();
  WK_ASSIGN_OR_RETURN(exchange->credentials, CredentialsFor(first.username, &exchange->known_user,
                                                            &exchange->must_change_password));
  std::string server_nonce;
  if (options_.make_server_nonce) {
    server_nonce = options_.make_server_nonce();
  } else {
    WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> random, RandomBytes(kServerNonceBytes));
    server_nonce = Base64Encode(random);
  }

  exchange->user = first.username;
  exchange->mechanism = mechanism;
  exchange->binding = first.binding;
  exchange->nonce = first.client_nonce + server_nonce;
  exchange->expected_channel_binding = ToBytes(first.gs2_header);
  if (first.binding == ChannelBindingFlag::kTlsExporter) {
    exchange->tls_exporter = std::string(tls_exporter);
    exchange->expected_channel_binding.insert(exchange->expected_channel_binding.end(),
                                              tls_exporter.begin(), tls_exporter.end());
  }
  ScramChallenge challenge;
  challenge.server_first = FormatServerFirst(exchange->nonce, exchange->credentials.salt,
                                             exchange->credentials.iterations);
  exchange->auth_message_prefix = first.bare + "," + challenge.server_first + ",";
  WK_ASSIGN_OR_RETURN(challenge.sid, Insert(std::move(exchange)));
  return challenge;
}

Result<ScramSuccess> ScramServer::Finish(std::string_view sid, ScramMechanism mechanism,
                                         std::string_view client_final,
                                         std::string_view tls_exporter,
                                         std::int64_t* out_retry_after_seconds) {
  WK_ASSIGN_OR_RETURN(std::unique_ptr<Exchange> exchange, Take(sid));
  // Parallel exchanges started before a lock must not get around it.
  WK_RETURN_IF_ERROR(CheckThrottle(exchange->user, out_retry_after_seconds));

  Result<ScramSuccess> verified = Verify(*exchange, mechanism, client_final, tls_exporter);
  if (verified.ok()) {
    WK_RETURN_IF_ERROR(store_->ResetFailures(exchange->user));
    return verified;
  }
  // Failing closed: if the failure cannot be recorded, the store's error is returned instead,
  // and the login fails all the same.
  WK_RETURN_IF_ERROR(store_->RecordFailure(exchange->user, options_.now_ms(), options_.throttle));
  return verified.error();
}

std::size_t ScramServer::PendingExchanges() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return exchanges_.size();
}

Status ScramServer::CheckThrottle(const std::string& user, std::int64_t* out_retry_after_seconds) {
  WK_ASSIGN_OR_RETURN(FailureState state, store_->GetFailureState(user));
  return auth::CheckThrottle(state, options_.now_ms(), options_.throttle, out_retry_after_seconds);
}

Result<ScramCredentials> ScramServer::CredentialsFor(const std::string& user, bool* known,
                                                     bool* must_change_password) {
  WK_ASSIGN_OR_RETURN(std::optional<ScramUser> stored, store_->GetUser(user));
  *known = stored.has_value();
  if (stored.has_value()) {
    *must_change_password = stored->must_change_password;
    return std::move(stored->credentials);
  }
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> salt, store_->FakeSalt(user));
  return FakeCredentials(std::move(salt), options_.default_iterations);
}

Result<std::string> ScramServer::Insert(std::unique_ptr<Exchange> exchange) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> random, RandomBytes(kSidBytes));
  std::string sid = Base64UrlEncode(random);
  const std::int64_t now = options_.now_ms();
  exchange->expires_ms = now + options_.exchange_lifetime.count();

  std::lock_guard<std::mutex> lock(mutex_);
  PurgeExpiredLocked(now);
  if (exchanges_.size() >= options_.max_exchanges) {
    return Error(ErrorKind::kResourceExhausted, "scram_too_many_exchanges",
                 "pending SCRAM exchanges at the limit");
  }
  expiry_order_.emplace_back(exchange->expires_ms, sid);
  if (!exchanges_.emplace(sid, std::move(exchange)).second) {
    return Error(ErrorKind::kInternal, "scram_sid_collision", "random exchange id repeated");
  }
  return sid;
}

Result<std::unique_ptr<ScramServer::Exchange>> ScramServer::Take(std::string_view sid) {
  const std::int64_t now = options_.now_ms();
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = exchanges_.find(sid);
  if (found == exchanges_.end()) {
    PurgeExpiredLocked(now);
    return Unauthenticated("scram_unknown_exchange", "no pending exchange with that sid");
  }
  std::unique_ptr<Exchange> exchange = std::move(found->second);
  exchanges_.erase(found);  // single use, whatever happens next
  PurgeExpiredLocked(now);
  if (now >= exchange->expires_ms) {
    return Unauthenticated("scram_exchange_expired", "exchange outlived its lifetime");
  }
  return exchange;
}

void ScramServer::PurgeExpiredLocked(std::int64_t now_ms) {
  // The lifetime is fixed, so expiry times grow along the deque; sids already taken are simply
  // no longer in the map.
  while (!expiry_order_.empty() && expiry_order_.front().first <= now_ms) {
    exchanges_.erase(expiry_order_.front().second);
    expiry_order_.pop_front();
  }
}

Result<ScramSuccess> ScramServer::Verify(const Exchange& exchange, ScramMechanism mechanism,
                                         std::string_view client_final,
                                         std::string_view tls_exporter) {
  WK_ASSIGN_OR_RETURN(ClientFinalMessage final_message, ParseClientFinal(client_final));
  if (mechanism != exchange.mechanism) {
    return Unauthenticated("scram_mechanism_mismatch", "mechanism changed between the steps");
  }
  // A "p=" exchange is bound to the connection that started it: another connection has another
  // exporter, whatever the c= attribute claims.
  const bool same_connection =
      exchange.binding != ChannelBindingFlag::kTlsExporter || tls_exporter == exchange.tls_exporter;
  if (!same_connection || final_message.channel_binding != exchange.expected_channel_binding) {
    return Unauthenticated("scram_channel_bindings_dont_match", "c= or connection differs");
  }
  if (final_message.nonce != exchange.nonce) {
    return Unauthenticated("scram_nonce_mismatch", "r= is not the exchange's nonce");
  }

  const std::string auth_message = exchange.auth_message_prefix + final_message.without_proof;
  const ScramCredentials& credentials = exchange.credentials;
  WK_ASSIGN_OR_RETURN(SecretBytes client_key,
                      HmacSha256(credentials.stored_key.expose(), AsBytes(auth_message)));
  // ClientKey = ClientProof XOR ClientSignature, computed in place over the signature.
  std::span<std::uint8_t> key_bytes = client_key.expose_mutable();
  for (std::size_t i = 0; i < key_bytes.size(); ++i) key_bytes[i] ^= final_message.proof[i];
  WK_ASSIGN_OR_RETURN(SecretBytes stored_key, Sha256(client_key.expose()));
  // Computed for unknown users too (against a random StoredKey), so both take the same time.
  const bool proof_matches = stored_key.ConstantTimeEquals(credentials.stored_key);
  if (!proof_matches || !exchange.known_user) {
    return Unauthenticated("scram_invalid_proof", "client proof does not verify");
  }

  WK_ASSIGN_OR_RETURN(SecretBytes server_signature,
                      HmacSha256(credentials.server_key.expose(), AsBytes(auth_message)));
  ScramSuccess success;
  success.user = exchange.user;
  success.server_final = FormatServerFinal(server_signature.expose());
  success.must_change_password = exchange.must_change_password;
  return success;
}

}  // namespace weftkit::auth

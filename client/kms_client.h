// KmsClient: what an engine (or kmsctl) links to talk to kmsd. It keeps a pool of persistent
// TLS 1.3 connections, authenticates with a client certificate or a bearer token (optionally
// obtained with a SCRAM password login), retries what is safe to retry, and caches unwrapped
// DEKs in locked, zeroizing memory.
//
// Every method returns a Result: a server refusal is an Error whose code() is the problem's
// `code` (see client_error.h for the enum and docs/api.md for every code); a failure on this
// side has a client_* code. DEKs are returned as SecretBytes and never logged.
//
// Retries (docs/client-library.md): connection failures, timeouts and 503 answers are retried
// with exponential backoff and full jitter, honouring Retry-After, for calls whose Retry class
// allows it. Unwrap, rewrap and reads are idempotent; generate and wrap are safe to repeat (a
// repeat returns another valid envelope and the lost one was never stored); creating a key,
// rotating, changing settings and every other write are never retried.
//
// Thread safety: every method may be called from any thread at the same time.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/backoff.h"
#include "client/client_error.h"
#include "client/client_options.h"
#include "client/connection_pool.h"
#include "client/dek_cache.h"
#include "client/http_message.h"
#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::client {

// Whether a call may be sent again after a transient failure.
enum class Retry {
  kIdempotent,    // repeating has no further effect (GET, unwrap, rewrap, version states)
  kSafeToRepeat,  // repeating has a harmless effect (generate, wrap: another valid envelope)
  kNever,         // repeating could do it twice (create, rotate, PATCH, RBAC writes)
};

// A DEK with its envelope, from generate-data-key.
struct DataKey {
  std::string key;
  std::uint32_t key_version = 0;
  SecretBytes plaintext;
  std::string wrapped;  // base64 envelope, to store next to the data
};

// An envelope, from wrap, rewrap and generate-data-key-without-plaintext.
struct WrappedKey {
  std::string key;
  std::uint32_t key_version = 0;
  std::string wrapped;
};

// One envelope to unwrap or rewrap, with the context it was wrapped under.
struct EnvelopeItem {
  std::string wrapped;
  EncryptionContext context;
};

// The answer to a successful password login.
struct LoginResult {
  bool must_change_password = false;
  int expires_in_s = 0;
  SecretBytes access_token;  // a copy of the token the client now sends, for tools to hand on
};

// The answer to a generic call: the status and the JSON body (null for an empty body).
struct CallResult {
  int status = 0;
  nlohmann::json body;
};

// Counters for tests and monitoring.
struct ClientStats {
  std::uint64_t connections_opened = 0;  // TLS handshakes done
  std::uint64_t attempts = 0;            // requests tried (connect included), retries too
  std::uint64_t retries = 0;             // attempts after the first, across all calls
  std::uint64_t cache_hits = 0;
};

class KmsClient {
 public:
  // Validates `options` and loads the CA, certificate, key and pins. Connects lazily, on the
  // first call. Fails with client_invalid_option naming the option.
  static Result<std::unique_ptr<KmsClient>> Create(KmsClientOptions options);

  KmsClient(const KmsClient&) = delete;
  KmsClient& operator=(const KmsClient&) = delete;
  ~KmsClient();

  // --- Authentication -------------------------------------------------------------------------

  // Logs in as `user` with SCRAM-SHA-256-PLUS bound to the TLS connection, verifies the server's
  // signature, and from then on sends the token it received as the bearer token. Never
  // retried (the server throttles failures).
  Result<LoginResult> LoginWithPassword(const std::string& user, SecretBytes password);

  // Sends `token` as "Authorization: Bearer" on every following call (empty: stop sending one).
  void SetBearerToken(SecretBytes token);

  // --- DEK operations -------------------------------------------------------------------------

  Result<DataKey> GenerateDataKey(const std::string& key, const EncryptionContext& context,
                                  int bytes = 32);
  Result<WrappedKey> GenerateDataKeyWithoutPlaintext(const std::string& key,
                                                     const EncryptionContext& context,
                                                     int bytes = 32);
  Result<WrappedKey> Wrap(const std::string& key, const SecretBytes& dek,
                          const EncryptionContext& context);

  // The DEK inside `wrapped`, from the cache when present (and then without a request).
  Result<SecretBytes> Unwrap(const std::string& key, const std::string& wrapped,
                             const EncryptionContext& context);

  // Unwraps many envelopes of one key with as few requests as possible (batches of
  // `batch_size`), for engine start-up. The outer Result fails only when the batch requests
  // themselves fail; each item has its own Result. Items already cached are not sent; items
  // that failed with a 503 inside a batch are sent again under the retry policy. Successes
  // are cached.
  Result<std::vector<Result<SecretBytes>>> BatchUnwrap(const std::string& key,
                                                       const std::vector<EnvelopeItem>& items,
                                                       std::size_t batch_size = 250);

  Result<WrappedKey> Rewrap(const std::string& key, const std::string& wrapped,
                            const EncryptionContext& context);
  Result<std::vector<Result<WrappedKey>>> BatchRewrap(const std::string& key,
                                                      const std::vector<EnvelopeItem>& items,
                                                      std::size_t batch_size = 250);

  // --- Everything else ------------------------------------------------------------------------

  // Sends `body` (omitted when null) as JSON to `path` and returns the parsed answer of a 2xx
  // response; any other status becomes the problem's Error.
  Result<CallResult> Call(const std::string& method, const std::string& path,
                          const nlohmann::json& body, Retry retry);

  // Like Call, for routes whose answer is not JSON (exports, CSV, streams): the 2xx response
  // with its headers and body as sent.
  Result<HttpResponse> CallRaw(const std::string& method, const std::string& path,
                               const nlohmann::json& body, Retry retry);

  // --- Long polls (policy_watcher.h) ---------------------------------------------------------

  // A new TLS connection to kmsd, verified like every other (CA, host name, pins), that is never
  // pooled: its owner may give it a longer read timeout and Abort it from another thread.
  Result<std::unique_ptr<TlsConnection>> OpenDedicatedConnection();

  // Sends `request` with this client's credentials on `connection` and returns the response of
  // any status. Never retried: a long-polling loop decides itself when to try again.
  Result<HttpResponse> SendOn(TlsConnection& connection, HttpRequest request);

  // The retry policy and I/O timeout this client was made with, for loops of their own.
  const RetryPolicy& retry_policy() const { return options_.retry; }
  std::chrono::milliseconds io_timeout() const { return options_.io_timeout; }

  ClientStats stats() const;
  DekCache& cache() { return cache_; }

 private:
  KmsClient(KmsClientOptions options, std::shared_ptr<const TlsClientContext> context);

  // One request with retries; returns the raw response of the last attempt (any status).
  Result<HttpResponse> Send(HttpRequest request, Retry retry);
  Result<HttpResponse> SendOnce(const HttpRequest& request);
  void AddAuthorization(HttpRequest& request) const;
  void Sleep(std::chrono::milliseconds delay) const;

  // Batch plumbing shared by BatchUnwrap and BatchRewrap: sends `items` (indices into
  // `bodies`) to /v1/keys/<key>/batch/<op> and stores each item's result in `out`.
  Status RunBatch(const std::string& key, const std::string& op,
                  const std::vector<nlohmann::json>& bodies, std::size_t batch_size,
                  std::vector<std::optional<Result<nlohmann::json>>>& out);

  KmsClientOptions options_;
  std::shared_ptr<const TlsClientContext> context_;
  ConnectionPool pool_;
  DekCache cache_;

  mutable std::mutex token_mutex_;
  SecretBytes bearer_token_;  // guarded by token_mutex_

  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> cache_hits_{0};
};

// Sets host and port from "https://host:port" (port optional, default 8443). Fails with
// client_invalid_option for any other scheme or a malformed URL.
Status SetServerUrl(KmsClientOptions& options, std::string_view url);

// Percent-encodes a path segment (principal ids contain ':' and '/').
std::string PercentEncode(std::string_view segment);

// The Error a non-2xx response stands for: the problem's code, the status's kind, and the
// request id in the detail.
Error ErrorFromResponse(const HttpResponse& response);

}  // namespace weftkit::client

// KmsClientOptions: everything a KmsClient needs to reach kmsd, prove who it is, and decide how
// hard to try. Plain data; KmsClient::Create validates it and names the field that is wrong.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace weftkit::client {

// How the client retries requests that are safe to repeat (see docs/client-library.md).
// The delay before attempt n+1 is drawn uniformly from [0, min(max_backoff, initial * 2^n)]
// ("full jitter"), and is at least the server's Retry-After when it sent one.
struct RetryPolicy {
  int max_attempts = 6;  // including the first; 1 turns retries off
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // No new attempt starts once this much time has passed since the first.
  std::chrono::milliseconds max_elapsed{30000};
};

// The in-memory cache of unwrapped DEKs.
struct DekCacheOptions {
  std::size_t max_entries = 10000;  // 0 turns the cache off
  std::chrono::seconds ttl{300};
};

struct KmsClientOptions {
  // Where kmsd listens. `host` is also the name (or IP address) the server certificate must
  // carry.
  std::string host = "127.0.0.1";
  std::uint16_t port = 8443;

  // Trust: exactly these CA certificates (PEM), from a file or inline; system roots are never
  // consulted. One of the two is required.
  std::string ca_file;
  std::string ca_pem;
  // Optional pins: base64 SHA-256 of the server certificate's SubjectPublicKeyInfo. When any is
  // set, a server whose key is not listed is refused even if its chain verifies.
  std::vector<std::string> pinned_server_spki_sha256;

  // Client certificate for mTLS (PEM chain and private key), from files or inline. Leave empty
  // to authenticate with a bearer token instead.
  std::string cert_file;
  std::string key_file;
  std::string cert_pem;
  std::string key_pem;

  std::size_t max_idle_connections = 8;
  std::chrono::milliseconds io_timeout{10000};  // connect, and each read or write
  RetryPolicy retry;
  DekCacheOptions cache;

  // For tests: the clock the DEK cache reads, and the sleep between retries. Empty: the steady
  // clock and std::this_thread::sleep_for.
  std::function<std::chrono::steady_clock::time_point()> clock;
  std::function<void(std::chrono::milliseconds)> sleep;
};

}  // namespace weftkit::client

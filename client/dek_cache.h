// DekCache: unwrapped DEKs held in memory for a limited time, so an engine that opens the same
// object again does not ask kmsd again.
//
// Entries are keyed by SHA-256 over the envelope bytes and the encryption context (so the same
// envelope under another context is another entry, as it would be for the server). Each DEK is
// a SecretBytes: in OpenSSL's locked secure heap when the process called
// weftkit::InitSecureMemory, and wiped when it expires, is evicted or the cache is destroyed.
// An entry lives `ttl` after it was stored (reads do not extend it); when `max_entries` are held,
// storing evicts the least recently used entry.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "client/client_options.h"
#include "common/secret_bytes.h"

namespace weftkit::client {

// The encryption context of a DEK operation: string keys to string values (docs/api.md).
using EncryptionContext = std::map<std::string, std::string>;

class DekCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using CacheKey = std::array<std::uint8_t, 32>;

  // `clock` empty: the steady clock.
  DekCache(DekCacheOptions options, Clock clock);

  // The cache key of (`wrapped`, `context`); `wrapped` is the base64 envelope as sent to kmsd.
  static CacheKey KeyOf(const std::string& wrapped, const EncryptionContext& context);

  // A copy of the cached DEK, or nullopt when absent or expired (an expired entry is wiped).
  std::optional<SecretBytes> Get(const CacheKey& key);

  // Stores a copy of `dek` under `key`, replacing an older entry.
  void Put(const CacheKey& key, const SecretBytes& dek);

  // Wipes every entry.
  void Clear();

  std::size_t size() const;

 private:
  struct Entry {
    SecretBytes dek;
    std::chrono::steady_clock::time_point expires_at;
    std::list<CacheKey>::iterator recency;  // position in recency_
  };

  std::chrono::steady_clock::time_point Now() const;
  void Erase(std::map<CacheKey, Entry>::iterator it);  // caller holds mutex_

  DekCacheOptions options_;
  Clock clock_;
  mutable std::mutex mutex_;
  std::map<CacheKey, Entry> entries_;  // guarded by mutex_
  std::list<CacheKey> recency_;        // most recently used first; guarded by mutex_
};

}  // namespace weftkit::client

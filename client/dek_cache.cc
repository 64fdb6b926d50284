#include "client/dek_cache.h"

#include <openssl/evp.h>

#include <memory>

namespace weftkit::client {
namespace {

struct DigestFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// Length-prefixed so that no two different (envelope, context) pairs hash the same input.
void AddField(EVP_MD_CTX* ctx, const std::string& field) {
  std::uint8_t length[8];
  std::uint64_t size = field.size();
  for (int i = 7; i >= 0; --i, size >>= 8) length[i] = static_cast<std::uint8_t>(size & 0xff);
  EVP_DigestUpdate(ctx, length, sizeof(length));
  EVP_DigestUpdate(ctx, field.data(), field.size());
}

}  // namespace

DekCache::DekCache(DekCacheOptions options, Clock clock)
    : options_(options), clock_(std::move(clock)) {}

DekCache::CacheKey DekCache::KeyOf(const std::string& wrapped, const EncryptionContext& context) {
  std::unique_ptr<EVP_MD_CTX, DigestFree> ctx(EVP_MD_CTX_new());
  CacheKey key{};
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  AddField(ctx.get(), wrapped);
  for (const auto& [name, value] : context) {  // std::map: sorted, so order-independent
    AddField(ctx.get(), name);
    AddField(ctx.get(), value);
  }
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), key.data(), &length);
  return key;
}

std::chrono::steady_clock::time_point DekCache::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

std::optional<SecretBytes> DekCache::Get(const CacheKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (Now() >= it->second.expires_at) {
    Erase(it);
    return std::nullopt;
  }
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return it->second.dek.Clone();
}

void DekCache::Put(const CacheKey& key, const SecretBytes& dek) {
  if (options_.max_entries == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto existing = entries_.find(key);
  if (existing != entries_.end()) Erase(existing);
  while (entries_.size() >= options_.max_entries) Erase(entries_.find(recency_.back()));
  recency_.push_front(key);
  entries_.emplace(key, Entry{dek.Clone(), Now() + options_.ttl, recency_.begin()});
}

void DekCache::Clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();  // SecretBytes wipe themselves
  recency_.clear();
}

std::size_t DekCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void DekCache::Erase(std::map<CacheKey, Entry>::iterator it) {
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

}  // namespace weftkit::client

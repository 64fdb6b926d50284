#include "common/secret_bytes.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace weftkit {
namespace {

std::uint8_t* AllocateSecret(std::size_t size) {
  if (size == 0) return nullptr;
  // CRYPTO_secure_zalloc falls back to the ordinary heap when no secure heap was initialised.
  void* memory = CRYPTO_secure_zalloc(size, __FILE__, __LINE__);
  if (memory == nullptr) throw std::bad_alloc();
  return static_cast<std::uint8_t*>(memory);
}

}  // namespace

SecretBytes::SecretBytes(std::size_t size) : data_(AllocateSecret(size)), size_(size) {}

SecretBytes SecretBytes::CopyOf(std::span<const std::uint8_t> bytes) {
  SecretBytes secret(bytes.size());
  if (!bytes.empty()) std::memcpy(secret.data_, bytes.data(), bytes.size());
  return secret;
}

SecretBytes SecretBytes::CopyOf(std::string_view bytes) {
  return CopyOf(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                              bytes.size()));
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes SecretBytes::Clone() const { return CopyOf(expose()); }

bool SecretBytes::ConstantTimeEquals(const SecretBytes& other) const {
  return weftkit::ConstantTimeEquals(expose(), other.expose());
}

void SecretBytes::Truncate(std::size_t size) {
  if (size >= size_) return;
  OPENSSL_cleanse(data_ + size, size_ - size);
  size_ = size;
}

void SecretBytes::Release() {
  if (data_ != nullptr) {
    // The allocation may be larger than size_ after Truncate; the tail was wiped then.
    OPENSSL_cleanse(data_, size_);
    CRYPTO_secure_clear_free(data_, size_, __FILE__, __LINE__);
  }
  data_ = nullptr;
  size_ = 0;
}

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status InitSecureMemory(std::size_t bytes) {
  // Not dumpable: no core files, and other processes of the same user cannot ptrace us.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return Error(ErrorKind::kInternal, "secure_memory", "prctl(PR_SET_DUMPABLE) failed");
  }
  rlimit no_core{0, 0};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0) {
    return Error(ErrorKind::kInternal, "secure_memory", "setrlimit(RLIMIT_CORE) failed");
  }
  if (CRYPTO_secure_malloc_initialized()) return OkStatus();
  // The minimum allocation of 16 bytes keeps small secrets (PINs) from wasting the arena.
  // 1 means locked and excluded from dumps; 2 means allocated but unprotected, which we refuse.
  if (CRYPTO_secure_malloc_init(bytes, 16) != 1) {
    rlimit memlock{};
    getrlimit(RLIMIT_MEMLOCK, &memlock);
    std::string limit =
        memlock.rlim_cur == RLIM_INFINITY ? "unlimited" : std::to_string(memlock.rlim_cur);
    return Error(ErrorKind::kFailedPrecondition, "secure_memory",
                 "could not lock " + std::to_string(bytes) +
                     " bytes of secure heap (mlock, MADV_DONTDUMP); RLIMIT_MEMLOCK is " + limit +
                     " bytes: raise it above " + std::to_string(bytes) +
                     " (ulimit -l, or LimitMEMLOCK= for a systemd service)");
  }
  return OkStatus();
}

}  // namespace weftkit

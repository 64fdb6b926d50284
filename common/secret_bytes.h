// SecretBytes: the one type that holds key material, DEK plaintext, PINs, passwords and tokens.
//
// The bytes live in OpenSSL's secure heap when the process has initialised it (see
// InitSecureMemory): that memory is locked (never swapped), excluded from core dumps and
// surrounded by guard pages. Without it they live on the ordinary heap. Either way they are wiped
// with OPENSSL_cleanse before being freed.
//
// The type is move-only, cannot be printed or converted to a string implicitly, and compares in
// constant time. The only way to read the bytes is expose(), so every place that touches raw
// secret bytes can be found with `grep -rn 'expose('`.
//
// Thread safety: a SecretBytes is not synchronised; distinct objects may be used concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/error.h"

namespace weftkit {

class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(std::size_t size);
  // A copy of `bytes`. The caller remains responsible for wiping its own copy.
  static SecretBytes CopyOf(std::span<const std::uint8_t> bytes);
  static SecretBytes CopyOf(std::string_view bytes);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  // An explicit deep copy; copying a secret should be visible in the code.
  SecretBytes Clone() const;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Raw access to the secret bytes. Keep the span's use local and never log or store it.
  std::span<const std::uint8_t> expose() const { return {data_, size_}; }
  std::span<std::uint8_t> expose_mutable() { return {data_, size_}; }
  // The same bytes viewed as characters, for PINs and passwords handed to C APIs.
  std::string_view expose_chars() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Constant-time equality; the sizes themselves are not secret.
  bool ConstantTimeEquals(const SecretBytes& other) const;

  // Wipes and drops everything past the first `size` bytes. `size` must not exceed size().
  void Truncate(std::size_t size);

 private:
  void Release();

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Constant-time comparison of two byte strings (MACs, digests, tokens). Returns false when the
// lengths differ; the lengths are not treated as secret.
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// Sets up the process's locked, non-dumpable secure heap of `bytes` (a power of two) and makes
// the process itself non-dumpable with a core size of zero. Call once at start-up, before any
// SecretBytes is made. Fails if the OS refuses to lock the memory.
Status InitSecureMemory(std::size_t bytes);

}  // namespace weftkit

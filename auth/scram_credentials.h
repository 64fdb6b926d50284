// SCRAM-SHA-256 credentials (RFC 5802 §3, RFC 7677) and the primitives that derive and check
// them.
//
//   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations, 32 bytes)
//   ClientKey      = HMAC-SHA-256(SaltedPassword, "Client Key")
//   StoredKey      = SHA-256(ClientKey)
//   ServerKey      = HMAC-SHA-256(SaltedPassword, "Server Key")
//
// The server keeps only salt, iteration count, StoredKey and ServerKey per user; never the
// password, SaltedPassword or ClientKey. StoredKey and ServerKey are held as SecretBytes: with
// either one and a recorded exchange an attacker can impersonate the client or the server.
//
// Thread-safe: pure functions (randomness from OpenSSL's thread-safe RAND_bytes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::auth {

// RFC 7677 §4 asks for at least 4096 iterations. The upper bound keeps a stored count from
// making logins (which repeat PBKDF2 on the client) take minutes.
inline constexpr std::uint32_t kMinScramIterations = 4096;
inline constexpr std::uint32_t kMaxScramIterations = 10'000'000;
inline constexpr std::uint32_t kDefaultScramIterations = 100'000;
// Every salt, real or fake, has this size, so its length tells nothing about the user.
inline constexpr std::size_t kScramSaltSize = 16;
inline constexpr std::size_t kScramKeySize = 32;  // SHA-256 output
// Passwords: at least this many characters (code points), at most this many bytes.
inline constexpr std::size_t kMinPasswordCharacters = 12;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// What the server stores for one user. Move-only because of the keys.
struct ScramCredentials {
  std::vector<std::uint8_t> salt;
  std::uint32_t iterations = 0;
  SecretBytes stored_key;  // kScramKeySize bytes
  SecretBytes server_key;  // kScramKeySize bytes
};

// Derives the credentials of `password` (used as given: check it with CheckPassword first) under
// `salt` and `iterations`. Fails with kInvalidArgument "invalid_iterations" outside
// [kMinScramIterations, kMaxScramIterations], "invalid_salt" for a salt shorter than
// kScramSaltSize, or kInternal "crypto_failed" if OpenSSL fails.
Result<ScramCredentials> DeriveScramCredentials(const SecretBytes& password,
                                                std::span<const std::uint8_t> salt,
                                                std::uint32_t iterations);

// The same with a fresh random salt of kScramSaltSize bytes.
Result<ScramCredentials> NewScramCredentials(const SecretBytes& password, std::uint32_t iterations);

// Checks a password a person chose against the password policy: accepted by the SASLprep subset
// (scram_saslprep.h), at least kMinPasswordCharacters characters and at most kMaxPasswordBytes
// bytes. Fails with kInvalidArgument "password_not_allowed" (a refused or invalid character),
// "password_too_short" or "password_too_long". The error never contains the password.
Status CheckPassword(const SecretBytes& password);

// PBKDF2-HMAC-SHA-256 with a kScramKeySize-byte output; kInternal "crypto_failed" on failure.
Result<SecretBytes> ScramSaltedPassword(const SecretBytes& password,
                                        std::span<const std::uint8_t> salt,
                                        std::uint32_t iterations);

// HMAC-SHA-256(key, data) and SHA-256(data), into secure memory. kInternal "crypto_failed".
Result<SecretBytes> HmacSha256(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> data);
Result<SecretBytes> Sha256(std::span<const std::uint8_t> data);

// `size` bytes from OpenSSL's CSPRNG; kUnavailable "random_unavailable" if it fails.
Result<std::vector<std::uint8_t>> RandomBytes(std::size_t size);

}  // namespace weftkit::auth

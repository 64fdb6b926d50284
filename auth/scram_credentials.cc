#include "auth/scram_credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <string>

#include "auth/scram_saslprep.h"
#include "common/base64.h"

namespace weftkit::auth {
namespace {

Error CryptoFailed(const char* what) {
  return Error(ErrorKind::kInternal, "crypto_failed", std::string(what) + " failed in OpenSSL");
}

Error InvalidArgument(const char* code, std::string detail) {
  return Error(ErrorKind::kInvalidArgument, code, std::move(detail));
}

}  // namespace

Result<SecretBytes> ScramSaltedPassword(const SecretBytes& password,
                                        std::span<const std::uint8_t> salt,
                                        std::uint32_t iterations) {
  SecretBytes out(kScramKeySize);
  std::string_view chars = password.expose_chars();
  if (PKCS5_PBKDF2_HMAC(chars.data(), static_cast<int>(chars.size()), salt.data(),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), out.expose_mutable().data()) != 1) {
    return CryptoFailed("PBKDF2");
  }
  return out;
}

Result<SecretBytes> HmacSha256(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> data) {
  SecretBytes out(kScramKeySize);
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(),
           out.expose_mutable().data(), &length) == nullptr ||
      length != kScramKeySize) {
    return CryptoFailed("HMAC-SHA-256");
  }
  return out;
}

Result<SecretBytes> Sha256(std::span<const std::uint8_t> data) {
  SecretBytes out(kScramKeySize);
  if (SHA256(data.data(), data.size(), out.expose_mutable().data()) == nullptr) {
    return CryptoFailed("SHA-256");
  }
  return out;
}

Result<std::vector<std::uint8_t>> RandomBytes(std::size_t size) {
  std::vector<std::uint8_t> bytes(size);
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Error(ErrorKind::kUnavailable, "random_unavailable", "RAND_bytes failed");
  }
  return bytes;
}

Result<ScramCredentials> DeriveScramCredentials(const SecretBytes& password,
                                                std::span<const std::uint8_t> salt,
                                                std::uint32_t iterations) {
  if (iterations < kMinScramIterations || iterations > kMaxScramIterations) {
    return InvalidArgument("invalid_iterations",
                           "iteration count " + std::to_string(iterations) + " out of range");
  }
  if (salt.size() < kScramSaltSize) {
    return InvalidArgument("invalid_salt", "salt of " + std::to_string(salt.size()) + " bytes");
  }
  WK_ASSIGN_OR_RETURN(SecretBytes salted, ScramSaltedPassword(password, salt, iterations));

  WK_ASSIGN_OR_RETURN(SecretBytes client_key, HmacSha256(salted.expose(), AsBytes("Client Key")));
  ScramCredentials credentials;
  credentials.salt.assign(salt.begin(), salt.end());
  credentials.iterations = iterations;
  WK_ASSIGN_OR_RETURN(credentials.stored_key, Sha256(client_key.expose()));
  WK_ASSIGN_OR_RETURN(credentials.server_key, HmacSha256(salted.expose(), AsBytes("Server Key")));
  return credentials;
}

Result<ScramCredentials> NewScramCredentials(const SecretBytes& password,
                                             std::uint32_t iterations) {
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> salt, RandomBytes(kScramSaltSize));
  return DeriveScramCredentials(password, salt, iterations);
}

Status CheckPassword(const SecretBytes& password) {
  std::string_view chars = password.expose_chars();
  if (chars.size() > kMaxPasswordBytes) {
    return InvalidArgument("password_too_long", "password longer than the maximum");
  }
  if (!IsSaslPrepared(chars)) {
    return InvalidArgument("password_not_allowed", "password holds a refused character");
  }
  if (CountCodePoints(chars) < kMinPasswordCharacters) {
    return InvalidArgument("password_too_short", "password shorter than the minimum");
  }
  return OkStatus();
}

}  // namespace weftkit::auth

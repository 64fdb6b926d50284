// The first administrator of a fresh installation.
//
// A fresh installation has no users and no default password. At its first start the server
// creates the SCRAM user "admin" with a random one-time password, prints it once, and marks it
// must-change: the first login with it yields a session that may only set a new password.
//
// Thread safety: as the PasswordStore; the check for "no user yet" and the creation are one
// transaction, so two processes starting at once create at most one administrator.
#pragma once

#include <cstdint>
#include <optional>

#include "auth/scram_password_store.h"
#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::auth {

inline constexpr char kBootstrapUser[] = "admin";
inline constexpr std::size_t kBootstrapPasswordBytes = 24;  // 192 bits, 32 base64url chars

// When `store` holds no user, creates kBootstrapUser with a fresh random password (24 random
// bytes in base64url) derived with `iterations`, marked must-change, and returns that password
// for the caller to show once. Returns nullopt, creating nothing, when some user exists.
// The password is returned as SecretBytes, never logged; the caller prints it and drops it.
// Fails with kInvalidArgument "invalid_iterations", "random_unavailable" or a store error.
Result<std::optional<SecretBytes>> CreateBootstrapCredential(PasswordStore& store,
                                                             std::uint32_t iterations);

}  // namespace weftkit::auth

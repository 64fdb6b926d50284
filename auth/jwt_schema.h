// The SQLite schema of the JWT module (component "jwt" in schema_migrations): the token-signing
// keys and the revoked token ids. Both SigningKeyRing and TokenRevocations bring it up to date
// when they open, so either may be opened first.
//
//   jwt_signing_keys  kid (RFC 7638 thumbprint) | hsm_label | algorithm ('ES256')
//                     | state ('active' | 'retiring' | 'retired') | created_at
//                     | retire_after (set when the key stops signing) | retired_at
//                     A partial unique index allows at most one 'active' row.
//   jwt_revocations   jti | expires_at (when the row may be purged) | revoked_at | revoked_by
//
// Times are Unix seconds.
#pragma once

#include "common/error.h"
#include "store/database.h"

namespace weftkit::auth {

// Applies the missing "jwt" migrations in one transaction. Thread-safe.
Status MigrateJwtSchema(store::Database& database);

}  // namespace weftkit::auth

#include "auth/jwt_schema.h"

#include "store/migration.h"

namespace weftkit::auth {
namespace {

// Released migrations never change; a schema change is a new entry at the end.
constexpr store::Migration kMigrations[] = {
    {1, R"sql(
  CREATE TABLE jwt_signing_keys (
    kid          TEXT    NOT NULL PRIMARY KEY,
    hsm_label    TEXT    NOT NULL UNIQUE,
    algorithm    TEXT    NOT NULL CHECK (algorithm = 'ES256'),
    state        TEXT    NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
    created_at   INTEGER NOT NULL,
    retire_after INTEGER CHECK ((state = 'active') = (retire_after IS NULL)),
    retired_at   INTEGER CHECK ((state = 'retired') = (retired_at IS NOT NULL))
  ) STRICT;

  -- Tokens are signed by exactly one key at a time; a second active row is a bug.
  CREATE UNIQUE INDEX jwt_signing_keys_one_active ON jwt_signing_keys (state)
    WHERE state = 'active';

  -- A kid names one public key forever: verifiers cache it, so it must never change or return.
  CREATE TRIGGER jwt_signing_keys_never_deleted BEFORE DELETE ON jwt_signing_keys
  BEGIN SELECT RAISE(ABORT, 'signing keys are never deleted'); END;
  CREATE TRIGGER jwt_signing_keys_never_rekeyed BEFORE UPDATE OF kid, hsm_label ON jwt_signing_keys
  BEGIN SELECT RAISE(ABORT, 'a signing key keeps its kid and label'); END;

  CREATE TABLE jwt_revocations (
    jti        TEXT    NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER NOT NULL,
    revoked_by TEXT    NOT NULL
  ) STRICT;

  CREATE INDEX jwt_revocations_by_expiry ON jwt_revocations (expires_at);
)sql"},
};

}  // namespace

Status MigrateJwtSchema(store::Database& database) {
  return store::Migrate(database, "jwt", kMigrations);
}

}  // namespace weftkit::auth

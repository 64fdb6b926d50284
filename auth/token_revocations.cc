#include "auth/token_revocations.h"

#include "auth/jwt_schema.h"
#include "common/base64.h"
#include "store/statement.h"
#include "store/transaction.h"

namespace weftkit::auth {
namespace {

using store::Connection;
using store::Statement;

constexpr std::size_t kJtiBytes = 16;
constexpr std::size_t kMaxRevokedByLength = 1024;

using RevocationMap = std::unordered_map<std::string, std::int64_t>;

Status DeleteExpired(Connection& connection, std::int64_t now) {
  WK_ASSIGN_OR_RETURN(
      Statement purge,
      Statement::Prepare(connection, "DELETE FROM jwt_revocations WHERE expires_at <= ?1"));
  WK_RETURN_IF_ERROR(purge.Bind(1, now));
  return purge.StepToEnd();
}

Result<RevocationMap> SelectAll(Connection& connection) {
  WK_ASSIGN_OR_RETURN(
      Statement query,
      Statement::Prepare(connection, "SELECT jti, expires_at FROM jwt_revocations"));
  RevocationMap revoked;
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return revoked;
    revoked.emplace(query.ColumnText(0), query.ColumnInt64(1));
  }
}

Status InsertRevocation(Connection& connection, std::string_view jti, std::int64_t expires_at,
                        std::int64_t revoked_at, std::string_view revoked_by) {
  // ON CONFLICT keeps the first revocation's record: who revoked a token, and when, must not be
  // overwritten by a later request.
  WK_ASSIGN_OR_RETURN(Statement insert,
                      Statement::Prepare(connection,
                                         "INSERT INTO jwt_revocations (jti, expires_at, "
                                         "revoked_at, revoked_by) VALUES (?1, ?2, ?3, ?4) "
                                         "ON CONFLICT (jti) DO NOTHING"));
  WK_RETURN_IF_ERROR(insert.Bind(1, jti));
  WK_RETURN_IF_ERROR(insert.Bind(2, expires_at));
  WK_RETURN_IF_ERROR(insert.Bind(3, revoked_at));
  WK_RETURN_IF_ERROR(insert.Bind(4, revoked_by));
  return insert.StepToEnd();
}

}  // namespace

Status ValidateJti(std::string_view jti) {
  auto decoded = Base64UrlDecode(jti);
  if (!decoded.ok() || decoded->size() != kJtiBytes) {
    return Error(ErrorKind::kInvalidArgument, "invalid_jti", "a token id is 16 bytes in base64url");
  }
  return OkStatus();
}

Result<std::unique_ptr<TokenRevocations>> TokenRevocations::Open(
    std::shared_ptr<store::Database> database, std::function<std::int64_t()> now) {
  if (database == nullptr || !now) {
    return Error(ErrorKind::kInternal, "store_error",
                 "token revocations opened without a database or clock");
  }
  WK_RETURN_IF_ERROR(MigrateJwtSchema(*database));
  std::unique_ptr<TokenRevocations> revocations(
      new TokenRevocations(std::move(database), std::move(now)));
  WK_RETURN_IF_ERROR(revocations->PurgeExpired());
  WK_RETURN_IF_ERROR(revocations->Reload());
  return revocations;
}

Status TokenRevocations::Revoke(std::string_view jti, std::int64_t expires_at,
                                std::string_view revoked_by) {
  WK_RETURN_IF_ERROR(ValidateJti(jti));
  if (revoked_by.empty() || revoked_by.size() > kMaxRevokedByLength) {
    return Error(ErrorKind::kInvalidArgument, "invalid_principal",
                 "a revocation names the principal who made it");
  }
  const std::int64_t now = now_();
  WK_RETURN_IF_ERROR(store::InWriteTransaction(*database_, [&](Connection& connection) {
    return InsertRevocation(connection, jti, expires_at, now, revoked_by);
  }));

  // Only after the row is durable: a revocation the caller was told about survives a crash.
  std::unique_lock lock(mutex_);
  expires_at_by_jti_.emplace(std::string(jti), expires_at);
  return OkStatus();
}

bool TokenRevocations::IsRevoked(std::string_view jti) const {
  std::shared_lock lock(mutex_);
  return expires_at_by_jti_.find(std::string(jti)) != expires_at_by_jti_.end();
}

Status TokenRevocations::PurgeExpired() {
  const std::int64_t now = now_();
  WK_RETURN_IF_ERROR(store::InWriteTransaction(
      *database_, [&](Connection& connection) { return DeleteExpired(connection, now); }));
  std::unique_lock lock(mutex_);
  std::erase_if(expires_at_by_jti_, [now](const auto& entry) { return entry.second <= now; });
  return OkStatus();
}

Status TokenRevocations::Reload() {
  WK_ASSIGN_OR_RETURN(RevocationMap revoked,
                      store::InReadTransaction(*database_, [](Connection& connection) {
                        return SelectAll(connection);
                      }));
  std::unique_lock lock(mutex_);
  expires_at_by_jti_ = std::move(revoked);
  return OkStatus();
}

std::size_t TokenRevocations::size() const {
  std::shared_lock lock(mutex_);
  return expires_at_by_jti_.size();
}

}  // namespace weftkit::auth

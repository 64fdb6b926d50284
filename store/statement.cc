#include "store/statement.h"

#include <sqlite3.h>

#include <limits>
#include <utility>

#include "store/sqlite_error.h"

namespace weftkit::store {
namespace {

bool OnlyCommentsOrBlank(sqlite3* db, std::string_view text) {
  // Preparing the remainder yields no statement exactly when it holds no SQL.
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db, text.data(), static_cast<int>(text.size()), 0, &statement, &tail);
  sqlite3_finalize(statement);
  return rc == SQLITE_OK && statement == nullptr;
}

Error TooLong() { return Error(ErrorKind::kInternal, "store_error", "prepare: SQL text too long"); }

}  // namespace

Result<std::optional<Statement>> Statement::PrepareFirst(Connection& connection,
                                                         std::string_view sql,
                                                         std::string_view* rest) {
  if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return TooLong();

  sqlite3* db = connection.handle();
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &statement, &tail);
  if (rc != SQLITE_OK) return SqliteError(rc, db, "prepare");

  *rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
  if (statement == nullptr) return std::optional<Statement>();
  return std::optional<Statement>(Statement(statement, db));
}

Result<Statement> Statement::Prepare(Connection& connection, std::string_view sql) {
  std::string_view rest;
  WK_ASSIGN_OR_RETURN(std::optional<Statement> statement, PrepareFirst(connection, sql, &rest));
  if (!statement.has_value()) {
    return Error(ErrorKind::kInternal, "store_error", "prepare: no SQL statement");
  }
  // One statement per Prepare: a second one would silently never run.
  if (!OnlyCommentsOrBlank(connection.handle(), rest)) {
    return Error(ErrorKind::kInternal, "store_error", "prepare: more than one SQL statement");
  }
  return std::move(*statement);
}

Statement::Statement(Statement&& other) noexcept
    : statement_(std::exchange(other.statement_, nullptr)), db_(other.db_) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(statement_);
    statement_ = std::exchange(other.statement_, nullptr);
    db_ = other.db_;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(statement_); }

Status Statement::CheckBind(int rc, int index, const char* type) {
  if (rc == SQLITE_OK) return OkStatus();
  return SqliteError(rc, db_, std::string("bind ") + type + " parameter " + std::to_string(index));
}

Status Statement::Bind(int index, std::int64_t value) {
  return CheckBind(sqlite3_bind_int64(statement_, index, value), index, "integer");
}

Status Statement::Bind(int index, std::string_view text) {
  return CheckBind(sqlite3_bind_text64(statement_, index, text.data(), text.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8),
                   index, "text");
}

Status Statement::Bind(int index, std::span<const std::uint8_t> blob) {
  // A null pointer would bind NULL rather than an empty blob.
  static const std::uint8_t kEmpty = 0;
  const void* data = blob.empty() ? &kEmpty : blob.data();
  return CheckBind(sqlite3_bind_blob64(statement_, index, data, blob.size(), SQLITE_TRANSIENT),
                   index, "blob");
}

Status Statement::BindNull(int index) {
  return CheckBind(sqlite3_bind_null(statement_, index), index, "null");
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(statement_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, db_, "step");
}

Status Statement::StepToEnd() {
  while (true) {
    WK_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return OkStatus();
  }
}

std::int64_t Statement::ColumnInt64(int column) const {
  return sqlite3_column_int64(statement_, column);
}

std::string Statement::ColumnText(int column) const {
  const unsigned char* text = sqlite3_column_text(statement_, column);
  int size = sqlite3_column_bytes(statement_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::vector<std::uint8_t> Statement::ColumnBlob(int column) const {
  const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement_, column));
  int size = sqlite3_column_bytes(statement_, column);
  if (data == nullptr) return {};
  return std::vector<std::uint8_t>(data, data + size);
}

bool Statement::ColumnIsNull(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::ColumnOptionalInt64(int column) const {
  if (ColumnIsNull(column)) return std::nullopt;
  return ColumnInt64(column);
}

void Statement::Reset() {
  // sqlite3_reset repeats the last step's error, which the caller has already seen.
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

}  // namespace weftkit::store

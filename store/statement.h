// Statement: one prepared SQLite statement (RAII over sqlite3_stmt).
//
// Every value reaches SQL through a bound parameter; SQL text is always a constant of the code,
// never built from data. Parameters are bound by 1-based index, columns read by 0-based index,
// as in SQLite's C API.
//
// Ownership and thread safety: a Statement belongs to the Connection it was prepared on and must
// not outlive the Database::WithConnection call that provided that Connection, because only that
// call holds the lock that makes using the connection safe. Move-only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/connection.h"

struct sqlite3_stmt;

namespace weftkit::store {

class Statement {
 public:
  // Prepares `sql`, which must hold exactly one statement. Fails with the mapped SQLite error
  // (see sqlite_error.h), or kInternal "store_error" if `sql` holds more or fewer statements.
  static Result<Statement> Prepare(Connection& connection, std::string_view sql);

  // Prepares the first statement of `sql` and sets *rest to the text after it. Returns an empty
  // optional when `sql` holds only whitespace and comments. Used to run multi-statement scripts.
  static Result<std::optional<Statement>> PrepareFirst(Connection& connection, std::string_view sql,
                                                       std::string_view* rest);

  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binds parameter `index` (1-based). Text and blobs are copied, so the argument may die
  // before the statement runs. Fails if the index is out of range.
  Status Bind(int index, std::int64_t value);
  Status Bind(int index, std::string_view text);
  Status Bind(int index, std::span<const std::uint8_t> blob);
  Status BindNull(int index);
  // Binds the value, or NULL when `value` is empty.
  template <typename T>
  Status Bind(int index, const std::optional<T>& value) {
    if (!value.has_value()) return BindNull(index);
    return Bind(index, *value);
  }
  // Without these, a string literal or std::string would be ambiguous or bind as an integer.
  Status Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Status Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }

  // Advances the statement. Returns true when a row is available for the column getters, false
  // when the statement has finished, or the mapped SQLite error.
  Result<bool> Step();

  // Steps until the statement finishes, discarding rows (for INSERT, UPDATE, DELETE, DDL).
  Status StepToEnd();

  // Column getters for the current row (0-based). NULL reads as 0, "" or an empty blob.
  std::int64_t ColumnInt64(int column) const;
  std::string ColumnText(int column) const;
  std::vector<std::uint8_t> ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;
  std::optional<std::int64_t> ColumnOptionalInt64(int column) const;

  // Makes the statement runnable again and clears its bindings, so it can be reused with new
  // parameters.
  void Reset();

 private:
  Statement(sqlite3_stmt* statement, sqlite3* db) : statement_(statement), db_(db) {}
  Status CheckBind(int rc, int index, const char* type);

  sqlite3_stmt* statement_ = nullptr;
  sqlite3* db_ = nullptr;
};

}  // namespace weftkit::store

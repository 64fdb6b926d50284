#include "store/connection.h"

#include <sqlite3.h>

#include "store/statement.h"

namespace weftkit::store {

Connection::~Connection() {
  // sqlite3_close_v2 defers the close until every statement is finalised; by then none remain,
  // since statements cannot outlive the WithConnection call that made them.
  sqlite3_close_v2(db_);
}

Status Connection::ExecScript(std::string_view sql) {
  while (true) {
    std::string_view rest;
    WK_ASSIGN_OR_RETURN(std::optional<Statement> statement,
                        Statement::PrepareFirst(*this, sql, &rest));
    if (!statement.has_value()) return OkStatus();  // only whitespace or comments were left
    WK_RETURN_IF_ERROR(statement->StepToEnd());
    sql = rest;
  }
}

std::int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace weftkit::store

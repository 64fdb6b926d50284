#include "store/transaction.h"

#include <utility>

#include "store/statement.h"

namespace weftkit::store {

Result<Transaction> Transaction::Begin(Connection& connection, const char* sql) {
  WK_ASSIGN_OR_RETURN(Statement begin, Statement::Prepare(connection, sql));
  WK_RETURN_IF_ERROR(begin.StepToEnd());
  return Transaction(&connection);
}

Result<Transaction> Transaction::BeginWrite(Connection& connection) {
  return Begin(connection, "BEGIN IMMEDIATE");
}

Result<Transaction> Transaction::BeginRead(Connection& connection) {
  return Begin(connection, "BEGIN DEFERRED");
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)) {}

Transaction::~Transaction() {
  // Some failures (SQLITE_FULL, SQLITE_IOERR, ...) roll the transaction back by themselves;
  // rolling back again would only fail.
  if (connection_ == nullptr || !connection_->InTransaction()) return;
  auto rolled_back = Statement::Prepare(*connection_, "ROLLBACK");
  if (rolled_back.ok()) (void)rolled_back->StepToEnd();
}

Status Transaction::Commit() {
  if (connection_ == nullptr) {
    return Error(ErrorKind::kInternal, "store_error", "commit: transaction already finished");
  }
  WK_ASSIGN_OR_RETURN(Statement commit, Statement::Prepare(*connection_, "COMMIT"));
  WK_RETURN_IF_ERROR(commit.StepToEnd());
  connection_ = nullptr;
  return OkStatus();
}

}  // namespace weftkit::store

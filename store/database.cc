#include "store/database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "store/sqlite_error.h"
#include "store/statement.h"

namespace weftkit::store {
namespace {

namespace fs = std::filesystem;

Error FileError(const fs::path& path, const char* operation, int error_number) {
  return Error(ErrorKind::kUnavailable, "store_unavailable",
               std::string(operation) + " " + path.string() + ": " + std::strerror(error_number));
}

// SQLite creates database files with mode 0644 (less the umask) and gives the -wal and -shm
// files the mode of the database file. Creating the file first, empty and 0600, keeps all three
// private to the server's user. An empty file is a valid empty SQLite database.
Status CreatePrivateFileIfMissing(const fs::path& path) {
  std::error_code error;
  fs::file_status status = fs::symlink_status(path, error);
  if (fs::is_symlink(status)) {
    return Error(ErrorKind::kFailedPrecondition, "store_path_is_symlink",
                 "refusing to open a database through a symbolic link: " + path.string());
  }
  if (fs::exists(status)) return OkStatus();

  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST) return FileError(path, "create", errno);
  if (fd >= 0) ::close(fd);
  return OkStatus();
}

Status ExpectPragmaValue(Connection& connection, const char* sql, const std::string& expected) {
  WK_ASSIGN_OR_RETURN(Statement statement, Statement::Prepare(connection, sql));
  WK_ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row || statement.ColumnText(0) != expected) {
    return Error(ErrorKind::kInternal, "store_error",
                 std::string(sql) + ": SQLite did not accept the setting");
  }
  return statement.StepToEnd();
}

Status Configure(Connection& connection, const OpenOptions& options) {
  sqlite3* db = connection.handle();
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  // Defensive mode forbids writes that can corrupt the file through SQL (writable_schema and
  // the like); trusted_schema=OFF stops a tampered schema from running functions with effects.
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);

  WK_RETURN_IF_ERROR(ExpectPragmaValue(connection, "PRAGMA journal_mode=WAL", "wal"));
  return connection.ExecScript(
      "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;");
}

// SQLite cannot create the -shm file of a WAL database on a read-only file system and reports
// only "unable to open database file"; the operator needs to hear which fault it is.
bool OnReadOnlyFileSystem(const fs::path& path) {
  struct statvfs info {};
  fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return ::statvfs(directory.c_str(), &info) == 0 && (info.f_flag & ST_RDONLY) != 0;
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const fs::path& path, const OpenOptions& options) {
  Result<std::unique_ptr<Database>> opened = OpenAndConfigure(path, options);
  if (opened.ok() || opened.error().code() == "store_read_only" || !OnReadOnlyFileSystem(path)) {
    return opened;
  }
  return Error(ErrorKind::kUnavailable, "store_read_only",
               "the file system holding " + path.string() +
                   " is mounted read-only; kmsd needs to write its store (" +
                   opened.error().ToString() + ")");
}

Result<std::unique_ptr<Database>> Database::OpenAndConfigure(const fs::path& path,
                                                             const OpenOptions& options) {
  WK_RETURN_IF_ERROR(CreatePrivateFileIfMissing(path));

  // NOMUTEX: SQLite's own per-connection mutex is redundant under our lock. NOFOLLOW closes the
  // race between the symlink check above and the open.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // sqlite3_open_v2 usually returns a handle even on failure; the Connection owns and closes it.
  auto connection = std::unique_ptr<Connection>(new Connection(db));
  if (rc != SQLITE_OK) return SqliteError(rc, db, "open " + path.string());

  WK_RETURN_IF_ERROR(Configure(*connection, options));
  return std::unique_ptr<Database>(new Database(path, std::move(connection)));
}

Status Database::Ping() {
  return WithConnection([](Connection& connection) -> Status {
    WK_ASSIGN_OR_RETURN(Statement probe,
                        Statement::Prepare(connection, "SELECT count(*) FROM sqlite_schema"));
    return probe.StepToEnd();
  });
}

}  // namespace weftkit::store

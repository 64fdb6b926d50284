// Database: the embedded SQLite store of record, one connection behind one lock.
//
// The server writes from several worker threads but SQLite allows one writer at a time, so a
// Database holds a single connection and a mutex, and every use of the connection goes through
// WithConnection, which holds the mutex for the duration of the call. Other processes (the
// command-line tools) may open the same file; they wait for each other up to busy_timeout.
//
// The connection runs with journal_mode=WAL, synchronous=FULL (a committed transaction survives
// a power loss), foreign_keys=ON, trusted_schema=OFF and SQLite's defensive mode.
//
// Thread safety: all public members are thread-safe. WithConnection is not reentrant: calling it
// again from inside its own callback deadlocks.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "common/error.h"
#include "store/connection.h"

namespace weftkit::store {

struct OpenOptions {
  // How long a statement waits for another process's lock before failing with "store_busy".
  std::chrono::milliseconds busy_timeout{5000};
};

class Database {
 public:
  // Opens the SQLite database at `path`, creating it with mode 0600 if it does not exist, and
  // configures the connection as described above.
  // Fails with kFailedPrecondition "store_path_is_symlink" if `path` is a symbolic link, with
  // kInternal "store_corrupt" if the file is not a SQLite database, with kUnavailable
  // "store_read_only" if it lies on a read-only file system, or with another mapped SQLite or
  // file-system error.
  static Result<std::unique_ptr<Database>> Open(const std::filesystem::path& path,
                                                const OpenOptions& options = {});

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `function(Connection&)` while holding the database lock and returns its result.
  // Everything prepared from the connection must be finished before `function` returns.
  template <typename F>
  std::invoke_result_t<F, Connection&> WithConnection(F&& function) {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::forward<F>(function)(*connection_);
  }

  // Reads the schema through the connection, for readiness checks: fails with the mapped SQLite
  // error if the file has become unreadable, corrupt or locked past the busy timeout.
  Status Ping();

  const std::filesystem::path& path() const { return path_; }

 private:
  static Result<std::unique_ptr<Database>> OpenAndConfigure(const std::filesystem::path& path,
                                                            const OpenOptions& options);
  Database(std::filesystem::path path, std::unique_ptr<Connection> connection)
      : path_(std::move(path)), connection_(std::move(connection)) {}

  const std::filesystem::path path_;
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;  // guarded by mutex_
};

}  // namespace weftkit::store

// Temporary directories for tests: MakeTempDir makes a fresh, private (0700) one, and TempDir
// also removes it with everything in it afterwards. Tests of the store run against real SQLite
// files, never an in-memory database, so that WAL mode, file permissions and cross-connection
// locking are exercised as in production.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace weftkit::testing {

// A new directory "<TMPDIR>/<prefix>-<random>", or an empty path if it could not be made.
inline std::filesystem::path MakeTempDir(const std::string& prefix) {
  // mkdtemp replaces the trailing six X's of its template with random characters.
  std::string pattern = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
  return ::mkdtemp(pattern.data()) != nullptr ? std::filesystem::path(pattern)
                                              : std::filesystem::path();
}

class TempDir {
 public:
  TempDir() : path_(MakeTempDir("weftkit-test")) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }

  // Empty if the directory could not be made; tests then fail on their first file operation.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace weftkit::testing

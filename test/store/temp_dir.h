// TempDir: a fresh, private directory for one test, removed with everything in it afterwards.
// Tests of the store run against real SQLite files, never an in-memory database, so that WAL
// mode, file permissions and cross-connection locking are exercised as in production.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace weftkit::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/weftkit-test-XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
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

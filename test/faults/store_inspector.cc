#include "test/faults/store_inspector.h"

#include <sqlite3.h>

#include <memory>

namespace weftkit::test {
namespace {

struct CloseDatabase {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
using DatabaseHandle = std::unique_ptr<sqlite3, CloseDatabase>;

struct FinalizeStatement {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementHandle = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// Its own connection, read-only: what an operator's sqlite3 shell would see.
DatabaseHandle OpenReadOnly(const std::filesystem::path& database, std::string* error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  DatabaseHandle handle(db);
  if (rc != SQLITE_OK) {
    *error = "cannot open " + database.string() + ": " + sqlite3_errstr(rc);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  return handle;
}

StatementHandle Prepare(sqlite3* db, const char* sql, std::string* error) {
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
    *error = std::string("prepare: ") + sqlite3_errmsg(db);
  }
  return StatementHandle(statement);
}

std::string Text(sqlite3_stmt* statement, int column) {
  const unsigned char* text = sqlite3_column_text(statement, column);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

}  // namespace

std::string IntegrityCheck(const std::filesystem::path& database) {
  std::string error;
  DatabaseHandle db = OpenReadOnly(database, &error);
  if (!db) return error;
  StatementHandle check = Prepare(db.get(), "PRAGMA integrity_check", &error);
  if (!check) return error;
  std::string result;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(check.get())) == SQLITE_ROW) {
    if (!result.empty()) result += "\n";
    result += Text(check.get(), 0);
  }
  if (rc != SQLITE_DONE) return std::string("integrity_check: ") + sqlite3_errmsg(db.get());
  return result;
}

std::vector<StoredVersion> StoredVersions(const std::filesystem::path& database) {
  std::string error;
  DatabaseHandle db = OpenReadOnly(database, &error);
  if (!db) return {};
  StatementHandle rows =
      Prepare(db.get(),
              "SELECT key_name, version, state, hsm_label FROM key_versions ORDER BY 1, 2", &error);
  if (!rows) return {};
  std::vector<StoredVersion> versions;
  while (sqlite3_step(rows.get()) == SQLITE_ROW) {
    versions.push_back({Text(rows.get(), 0),
                        static_cast<std::uint32_t>(sqlite3_column_int64(rows.get(), 1)),
                        Text(rows.get(), 2), Text(rows.get(), 3)});
  }
  return versions;
}

std::vector<std::string> VersionsWithoutHsmObject(const SoftHsmToken& token,
                                                  const std::vector<StoredVersion>& versions) {
  auto hsm = token.OpenHsm(1);
  if (!hsm.ok()) return {"cannot open the token: " + hsm.error().ToString()};
  std::vector<std::string> missing;
  for (const StoredVersion& version : versions) {
    if (version.state == "destroyed") continue;
    if (!(*hsm)->ObjectExists(version.hsm_label)) {
      missing.push_back(version.key + " v" + std::to_string(version.version) + " (" +
                        version.hsm_label + ")");
    }
  }
  return missing;
}

}  // namespace weftkit::test

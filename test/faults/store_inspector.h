// Looks at kmsd's state from outside the server, as an operator would after a fault: the SQLite
// file with its own connection, and the HSM token with its own PKCS#11 session.
//
// Thread safety: free functions with no shared state; open no Hsm while kmsd runs on the same
// token in this process (PKCS#11 initialisation is process-wide; kmsd is another process).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "test/support/softhsm_token.h"

namespace weftkit::test {

struct StoredVersion {
  std::string key;
  std::uint32_t version = 0;
  std::string state;
  std::string hsm_label;
};

// The result of PRAGMA integrity_check on the database file ("ok" when sound), or a line that
// says why the file could not be checked.
std::string IntegrityCheck(const std::filesystem::path& database);

// Every row of key_versions, in key and version order (empty if the file cannot be read).
std::vector<StoredVersion> StoredVersions(const std::filesystem::path& database);

// The stored versions that are not destroyed yet have no HSM object behind their label: one
// line for each (empty when every version has its key), or one line saying the token could
// not be opened.
std::vector<std::string> VersionsWithoutHsmObject(const SoftHsmToken& token,
                                                  const std::vector<StoredVersion>& versions);

}  // namespace weftkit::test

// Verification that spans archive files and the live log: every archive's digest and contents,
// the order and continuity of the files, then one pass of VerifyAuditLog (verifier.h) over the
// archived entries followed by the live ones, against the checkpoints of both. A finding names
// the first bad entry and the file that holds it (VerificationReport::file).
//
// What a verifier needs: the archive files (all of them, from entry 0), the live entries from
// the first one not archived, every checkpoint, and the checkpoint keys obtained apart from the
// log.
//
// Thread safety: pure functions over their arguments; the fetch callback is called from the
// calling thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/verifier.h"
#include "common/error.h"

namespace weftkit::audit {

// The live part of the log.
struct LiveLog {
  EntryFetcher fetch;             // AuditReader::Read, a store, an export file, the HTTP route
  std::uint64_t first_index = 0;  // the first entry it holds (what was not archived)
  std::vector<Checkpoint> checkpoints;
};

// Every regular file in `directory` whose name ends in ".wkar", sorted by name. Files are not
// filtered by their names' form: a renamed file is still checked, and reported. Fails with
// kNotFound "audit_archive_unreadable" if the directory cannot be listed.
Result<std::vector<std::filesystem::path>> ListArchiveFiles(const std::filesystem::path& directory);

// Verifies `archives` (any order) followed by `live`. A finding is a successful result with
// ok() false; an error means the verification could not run (a fetch failed).
Result<VerificationReport> VerifyWithArchives(std::span<const std::filesystem::path> archives,
                                              const LiveLog& live, const CheckpointKeys& keys,
                                              VerifyOptions options = {});

}  // namespace weftkit::audit

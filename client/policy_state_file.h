// The policy state file: the rollback floor an engine keeps across restarts, so that a server,
// proxy or attacker cannot hand a restarted engine an older (genuinely signed) bundle.
//
// Format: one JSON object, written by SavePolicyState and read by ParsePolicyState:
//
//   {"format":"weftkit.policy-state/v1","scope":"cluster/prod","version":7,
//    "content_hash":"<64 lower-case hex digits>"}
//
// exactly these four members: `version` is the last version accepted (1 to 999999999) and
// `content_hash` its content hash. The file holds no key and no secret; it is written with mode
// 0600 anyway, since only the engine has any business changing it.
//
// Writes are atomic: a temporary file in the same folder is written, fsync'ed and renamed over
// the old one, and the folder is fsync'ed, so a crash leaves the old or the new state, never a
// torn one.
//
// Errors: kFailedPrecondition "policy_state_invalid", naming the file and what is wrong.
//
// Thread safety: pure functions; callers serialize writes to one file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::client {

struct PolicyState {
  std::string scope;
  std::int64_t version = 0;
  std::string content_hash;
};

// The text of a state file holding `state` (one line, ending in a newline).
std::string PolicyStateText(const PolicyState& state);

// Parses the text of a state file. Fails unless it is exactly the format above.
Result<PolicyState> ParsePolicyState(std::string_view text);

// The state in `path` for `scope`: nullopt when the file does not exist; an error when it cannot
// be read, does not parse, or belongs to another scope.
Result<std::optional<PolicyState>> LoadPolicyState(const std::filesystem::path& path,
                                                   std::string_view scope);

// Replaces `path` with `state`, atomically (above).
Status SavePolicyState(const std::filesystem::path& path, const PolicyState& state);

}  // namespace weftkit::client

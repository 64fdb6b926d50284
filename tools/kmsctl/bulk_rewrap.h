// kmsctl dek bulk-rewrap: moves a file of stored envelopes to their keys' primary versions, in
// batches, line by line (JSON lines in, JSON lines out, in the same order). The format is in
// docs/kmsctl.md and in the command's --help.
#pragma once

#include <string>

#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {

Result<int> RunBulkRewrap(Invocation& call);

// The key name stored inside a base64 envelope (docs/envelope.md: N at offset 8, the name at
// offset 9), or "" when it is not a well-formed envelope prefix.
std::string KeyNameInEnvelope(const std::string& wrapped);

}  // namespace weftkit::kmsctl

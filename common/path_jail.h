// Path confinement: every file the server reads or writes must lie under its configured folder.
//
// ResolveUnder is called before any file I/O on a path that came from configuration or a request.
// It resolves "..", "." and the symbolic links of every part of the path that exists, then
// checks the result against the resolved root, so neither "../" nor a symlink pointing outside
// can escape.
//
// Limitation: the check and the later open are two steps, so a process that can change the tree
// between them could still redirect the open. The configured folders must therefore be writable
// only by the server's own user.
//
// Thread-safe (reads the file system only).
#pragma once

#include <filesystem>

#include "common/error.h"

namespace weftkit {

// Returns the canonical form of `candidate` if it lies under `root` (or is `root` itself).
// A relative `candidate` is taken relative to `root`; an absolute one is checked as it is.
// The path need not exist yet (a file about to be created), but `root` must.
// Fails with kInvalidArgument:
//   "path_outside_root"      the resolved path is outside the resolved root;
//   "invalid_path"           `candidate` is empty or holds a NUL byte, or cannot be resolved;
// or kFailedPrecondition "path_root_unresolvable" if `root` does not exist or cannot be read.
Result<std::filesystem::path> ResolveUnder(const std::filesystem::path& root,
                                           const std::filesystem::path& candidate);

}  // namespace weftkit

#include "common/path_jail.h"

#include <algorithm>
#include <system_error>

namespace weftkit {
namespace {

namespace fs = std::filesystem;

// True if every element of `root` is the matching leading element of `path`. Comparing whole
// elements (not string prefixes) keeps "/srv/keys-old" from counting as under "/srv/keys".
bool IsWithin(const fs::path& root, const fs::path& path) {
  auto [root_end, path_end] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

// weakly_canonical resolves symlinks only in the part of the path that exists and then removes
// ".." lexically, so "root/missing/../link" comes back as "root/link" with the symlink "link"
// unresolved. The first pass leaves no "." or ".." behind, so a second pass resolves every
// existing part and its result contains no symlink at all.
fs::path ResolveFully(const fs::path& path, std::error_code& error) {
  fs::path once = fs::weakly_canonical(path, error);
  if (error) return {};
  return fs::weakly_canonical(once, error);
}

}  // namespace

Result<fs::path> ResolveUnder(const fs::path& root, const fs::path& candidate) {
  const std::string& text = candidate.native();
  if (text.empty() || text.find('\0') != std::string::npos) {
    return Error(ErrorKind::kInvalidArgument, "invalid_path", "empty path or NUL byte in path");
  }

  std::error_code error;
  const fs::path resolved_root = fs::canonical(root, error);
  if (error) {
    return Error(ErrorKind::kFailedPrecondition, "path_root_unresolvable",
                 root.string() + ": " + error.message());
  }

  // operator/ keeps an absolute candidate as it is and puts a relative one under the root.
  const fs::path resolved = ResolveFully(resolved_root / candidate, error);
  if (error) {
    return Error(ErrorKind::kInvalidArgument, "invalid_path",
                 candidate.string() + ": " + error.message());
  }
  if (!IsWithin(resolved_root, resolved)) {
    return Error(ErrorKind::kInvalidArgument, "path_outside_root",
                 candidate.string() + " resolves to " + resolved.string() + ", outside " +
                     resolved_root.string());
  }
  return resolved;
}

}  // namespace weftkit

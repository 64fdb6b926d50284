// An audit archive file: a range [first_index, end_index) of the audit log moved out of the live
// database, with the signed checkpoints that cover it and what a verifier needs to carry on
// from its end without the earlier files (docs/audit.md, "Archive file format").
//
// File layout (all integers unsigned big-endian unless noted):
//
//   offset  size  field
//   0       8     magic "WKAUDARC"
//   8       2     format version, 1
//   10      1     compression: 1 = zlib (RFC 1950 stream, deflate)
//   11      1     reserved, 0
//   12      8     first_index: the first entry's index
//   20      8     end_index: one past the last entry's index (> first_index)
//   28      8     created_ms: when the archive was written, Unix ms, signed
//   36      8     payload length before compression (at most kMaxArchivePayloadBytes)
//   44      8     N: payload length after compression
//   52      N     the compressed payload
//   52+N    32    SHA-256 of bytes [0, 52+N): the file's digest
//
// Payload (uncompressed):
//
//   32          leaf hash of entry first_index-1 (32 zero bytes when first_index is 0)
//   4           F, then F hashes of 32 bytes: the Merkle compact range of entries [0, end_index)
//               (merkle_tree.h CompactRange), so the tree can be extended without older files
//   4           C, then C signed checkpoints, each:
//                 8 tree_size, 32 root hash, 8 time_ms (signed), 2+k kid, 2+s signature
//   then end_index - first_index entries, each:
//                 4 L, L canonical bytes (canonical_entry.h), 32 leaf hash as it was stored
//
// The digest detects a damaged or truncated file and names it; it is not a signature. What
// proves the contents is the signed checkpoints: a verifier recomputes every leaf hash from the
// canonical bytes, follows the chain into the next file and the live log, and checks every
// checkpoint root (verifier.h, archive_verifier.h).
//
// Thread safety: pure functions and plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/merkle_tree.h"
#include "audit/sqlite_audit_store.h"
#include "common/error.h"

namespace weftkit::audit {

inline constexpr std::uint16_t kArchiveFormatVersion = 1;
inline constexpr std::size_t kArchiveHeaderBytes = 52;
inline constexpr std::size_t kArchiveDigestBytes = 32;
// Bounds what a reader will decompress, so that a hostile file cannot exhaust memory.
inline constexpr std::uint64_t kMaxArchivePayloadBytes = std::uint64_t{1} << 30;

struct ArchiveContents {
  std::uint64_t first_index = 0;
  std::uint64_t end_index = 0;
  std::int64_t created_ms = 0;
  Hash previous_leaf{};             // leaf hash of entry first_index - 1; zeros at 0
  std::vector<Hash> compact_range;  // of entries [0, end_index)
  std::vector<Checkpoint> checkpoints;
  std::vector<SealedEntry> entries;  // entry fields parsed from the canonical bytes
};

// The file's bytes. Fails with kInvalidArgument "audit_bad_archive" if the contents are
// inconsistent (no entries, indexes that do not run first..end-1, a payload over the bound).
Result<std::vector<std::uint8_t>> EncodeArchive(const ArchiveContents& contents);

// Parses and checks a whole file: magic, version, compression, lengths, digest, then every
// payload field. Entry indexes must run from first_index without a gap, each stored leaf hash
// must be the hash of its canonical bytes and each entry's previous hash the leaf hash before
// it. Fails with kDataLoss "audit_archive_corrupt" (the detail says what), never anything else.
Result<ArchiveContents> DecodeArchive(std::span<const std::uint8_t> file);

// The SHA-256 digest stored at the end of an encoded archive (bytes not checked).
Result<Hash> ArchiveDigest(std::span<const std::uint8_t> file);

// "audit-<first, 20 digits>-<end, 20 digits>.wkar": names sort in log order.
std::string ArchiveFileName(std::uint64_t first_index, std::uint64_t end_index);

// The range a file name states, or nothing if `name` is not an archive's name.
struct ArchiveRange {
  std::uint64_t first_index = 0;
  std::uint64_t end_index = 0;
};
std::optional<ArchiveRange> ParseArchiveFileName(std::string_view name);

// Reads a file whole. kNotFound "audit_archive_unreadable" if it cannot be read.
Result<std::vector<std::uint8_t>> ReadArchiveBytes(const std::filesystem::path& path);

}  // namespace weftkit::audit

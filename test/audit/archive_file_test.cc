// The archive file format (audit/archive_file.h) and the canonical-bytes parser it relies on:
// what is encoded decodes to the same contents, and every damage a disk or an editor can do (a
// flipped bit anywhere, a truncation at any length, bytes appended) is refused as
// "audit_archive_corrupt", never accepted and never a crash.
#include "audit/archive_file.h"

#include <gtest/gtest.h>

#include <bit>
#include <vector>

#include "audit/canonical_entry.h"
#include "test/audit/audit_test_entries.h"

namespace weftkit::audit {
namespace {

using test_entries::SampleEntry;

// Entries first..end-1 chained as the log would chain them, from `previous`.
std::vector<SealedEntry> Chain(std::uint64_t first, std::uint64_t end, Hash previous) {
  std::vector<SealedEntry> out;
  for (std::uint64_t i = first; i < end; ++i) {
    AuditEntry entry = SampleEntry(static_cast<int>(i));
    entry.index = i;
    entry.previous_hash = i == 0 ? "" : HashToHex(previous);
    std::vector<std::uint8_t> canonical = CanonicalBytes(entry).value();
    previous = LeafHash(canonical);
    out.push_back({entry, canonical, previous});
  }
  return out;
}

ArchiveContents Sample(std::uint64_t first = 3, std::uint64_t end = 9) {
  std::vector<SealedEntry> all = Chain(0, end, Hash{});
  std::vector<Hash> leaves;
  for (const SealedEntry& s : all) leaves.push_back(s.leaf_hash);
  ArchiveContents contents;
  contents.first_index = first;
  contents.end_index = end;
  contents.created_ms = 1'780'000'000'123;
  if (first > 0) contents.previous_leaf = leaves[first - 1];
  contents.compact_range = CompactRange(leaves);
  Checkpoint checkpoint;
  checkpoint.tree_size = end;
  checkpoint.root = RootHash(leaves);
  checkpoint.time_ms = 1'780'000'000'100;
  checkpoint.kid = "kid-of-the-checkpoint-key";
  checkpoint.signature.assign(64, 0x5a);
  contents.checkpoints = {checkpoint};
  contents.entries.assign(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
  return contents;
}

TEST(CanonicalEntryParseTest, ParseCanonicalBytes_ReturnsTheEntry_ForEveryKindOfEntry) {
  for (const SealedEntry& sealed : Chain(0, 12, Hash{})) {
    Result<AuditEntry> parsed = ParseCanonicalBytes(sealed.canonical);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(CanonicalBytes(*parsed).value(), sealed.canonical);
    EXPECT_EQ(parsed->principal, sealed.entry.principal);
    EXPECT_EQ(parsed->key_version, sealed.entry.key_version);
    EXPECT_EQ(parsed->policy_version, sealed.entry.policy_version);
    EXPECT_EQ(parsed->previous_hash, sealed.entry.previous_hash);
  }
}

TEST(CanonicalEntryParseTest, ParseCanonicalBytes_Fails_OnEveryTruncationAndOnTrailingBytes) {
  std::vector<std::uint8_t> bytes = Chain(0, 6, Hash{}).back().canonical;
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    Result<AuditEntry> parsed =
        ParseCanonicalBytes(std::span<const std::uint8_t>(bytes).first(length));
    ASSERT_FALSE(parsed.ok()) << length;
    EXPECT_EQ(parsed.error().code(), "audit_bad_canonical_entry");
  }
  bytes.push_back(0);
  EXPECT_FALSE(ParseCanonicalBytes(bytes).ok());
}

TEST(ArchiveFileTest, DecodeArchive_ReturnsWhatWasEncoded) {
  ArchiveContents contents = Sample();
  std::vector<std::uint8_t> file = EncodeArchive(contents).value();
  Result<ArchiveContents> decoded = DecodeArchive(file);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->first_index, 3u);
  EXPECT_EQ(decoded->end_index, 9u);
  EXPECT_EQ(decoded->created_ms, contents.created_ms);
  EXPECT_EQ(decoded->previous_leaf, contents.previous_leaf);
  EXPECT_EQ(decoded->compact_range, contents.compact_range);
  ASSERT_EQ(decoded->checkpoints.size(), 1u);
  EXPECT_EQ(decoded->checkpoints[0].kid, contents.checkpoints[0].kid);
  EXPECT_EQ(decoded->checkpoints[0].signature, contents.checkpoints[0].signature);
  EXPECT_EQ(decoded->checkpoints[0].root, contents.checkpoints[0].root);
  ASSERT_EQ(decoded->entries.size(), 6u);
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(decoded->entries[i].canonical, contents.entries[i].canonical);
    EXPECT_EQ(decoded->entries[i].leaf_hash, contents.entries[i].leaf_hash);
    EXPECT_EQ(decoded->entries[i].entry.request_id, contents.entries[i].entry.request_id);
  }
  EXPECT_EQ(RootFromCompactRange(decoded->compact_range), contents.checkpoints[0].root);
}

TEST(ArchiveFileTest, DecodeArchive_AcceptsAFileWrittenFromTheDocumentedLayoutAlone) {
  // Written by fuzz/make_audit_archive_corpus.py from docs/audit.md, not by EncodeArchive.
  Result<std::vector<std::uint8_t>> file =
      ReadArchiveBytes(WEFTKIT_ARCHIVE_CORPUS "/valid_from_zero.wkar");
  ASSERT_TRUE(file.ok()) << file.error().ToString();
  Result<ArchiveContents> decoded = DecodeArchive(*file);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(decoded->entries.size(), 3u);
  EXPECT_EQ(decoded->entries[2].entry.policy_version, 7u);
  EXPECT_EQ(decoded->entries[1].entry.key_version, 2u);
  ASSERT_EQ(decoded->checkpoints.size(), 1u);
  std::vector<Hash> leaves;
  for (const SealedEntry& sealed : decoded->entries) leaves.push_back(sealed.leaf_hash);
  EXPECT_EQ(decoded->checkpoints[0].root, RootHash(leaves));
  EXPECT_EQ(decoded->compact_range, CompactRange(leaves));
  // The reader's own encoding of the same contents is byte for byte the same file.
  EXPECT_EQ(EncodeArchive(*decoded).value(), *file);
}

TEST(ArchiveFileTest, DecodeArchive_Fails_WhenAnyBitIsFlipped) {
  std::vector<std::uint8_t> file = EncodeArchive(Sample()).value();
  for (std::size_t byte = 0; byte < file.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<std::uint8_t> damaged = file;
      damaged[byte] ^= static_cast<std::uint8_t>(1 << bit);
      Result<ArchiveContents> decoded = DecodeArchive(damaged);
      ASSERT_FALSE(decoded.ok()) << "byte " << byte << " bit " << bit;
      ASSERT_EQ(decoded.error().code(), "audit_archive_corrupt");
    }
  }
}

TEST(ArchiveFileTest, DecodeArchive_Fails_OnEveryTruncationAndOnAppendedBytes) {
  std::vector<std::uint8_t> file = EncodeArchive(Sample()).value();
  for (std::size_t length = 0; length < file.size(); ++length) {
    Result<ArchiveContents> decoded =
        DecodeArchive(std::span<const std::uint8_t>(file).first(length));
    ASSERT_FALSE(decoded.ok()) << length;
    ASSERT_EQ(decoded.error().code(), "audit_archive_corrupt");
  }
  file.push_back(0);
  EXPECT_FALSE(DecodeArchive(file).ok());
}

TEST(ArchiveFileTest, DecodeArchive_Fails_WhenEntriesDoNotLink_EvenWithAFreshDigest) {
  // An editor who changes an entry and recomputes only its own hash and the digest.
  ArchiveContents contents = Sample();
  SealedEntry& changed = contents.entries[2];
  changed.entry.principal = "someone-else";
  changed.canonical = CanonicalBytes(changed.entry).value();
  changed.leaf_hash = LeafHash(changed.canonical);
  Result<ArchiveContents> decoded = DecodeArchive(EncodeArchive(contents).value());
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().code(), "audit_archive_corrupt");
  EXPECT_NE(decoded.error().detail().find("entry 6"), std::string::npos)
      << decoded.error().detail();
}

TEST(ArchiveFileTest, EncodeArchive_Fails_ForAnEmptyOrGappedRange) {
  ArchiveContents contents = Sample();
  contents.entries.erase(contents.entries.begin() + 1);
  EXPECT_EQ(EncodeArchive(contents).error().code(), "audit_bad_archive");
  ArchiveContents empty = Sample();
  empty.end_index = empty.first_index;
  empty.entries.clear();
  EXPECT_EQ(EncodeArchive(empty).error().code(), "audit_bad_archive");
}

TEST(ArchiveFileTest, ArchiveFileName_SortsInLogOrder_AndParsesBack) {
  EXPECT_EQ(ArchiveFileName(0, 1000), "audit-00000000000000000000-00000000000000001000.wkar");
  EXPECT_LT(ArchiveFileName(999, 1000), ArchiveFileName(1000, 2000));
  std::optional<ArchiveRange> range = ParseArchiveFileName(ArchiveFileName(42, 4242));
  ASSERT_TRUE(range.has_value());
  EXPECT_EQ(range->first_index, 42u);
  EXPECT_EQ(range->end_index, 4242u);
  for (const char* bad : {"audit-1-2.wkar", "audit-00000000000000000000-0000000000000000100x.wkar",
                          "audit-00000000000000000000_00000000000000001000.wkar",
                          "audit-00000000000000000000-00000000000000001000.wkar.tmp", ""}) {
    EXPECT_FALSE(ParseArchiveFileName(bad).has_value()) << bad;
  }
}

TEST(CompactRangeTest, RootFromCompactRange_IsTheTreeRoot_ForEverySize) {
  std::vector<Hash> leaves;
  for (int n = 0; n <= 33; ++n) {
    EXPECT_EQ(RootFromCompactRange(CompactRange(leaves)), RootHash(leaves)) << n;
    EXPECT_EQ(CompactRange(leaves).size(),
              static_cast<std::size_t>(std::popcount(static_cast<unsigned>(n))));
    leaves.push_back(LeafHash(std::to_string(n)));
  }
}

}  // namespace
}  // namespace weftkit::audit

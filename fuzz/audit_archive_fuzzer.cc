// Fuzzes the audit archive reader (audit/archive_file.h), which a verifier runs on files it does
// not trust, and the canonical-entry parser inside it (audit/canonical_entry.h).
//
// Properties checked, all promised by those headers:
//   - DecodeArchive never crashes and refuses only with kDataLoss "audit_archive_corrupt";
//   - an accepted archive has entries first_index..end_index-1 in order, each stored leaf hash
//     the hash of its canonical bytes and each linked to the one before it, and it encodes again
//     to a file that decodes to the same entries (zlib streams of other compression levels are
//     valid input, so the bytes themselves may differ);
//   - ParseCanonicalBytes refuses only with "audit_bad_canonical_entry", and what it accepts
//     encodes back to the same bytes.
// A digest over arbitrary bytes is never right by chance, so an input whose last 32 bytes are
// all zero gets them replaced by the SHA-256 of the rest: mutations of such corpus files then
// reach the decompression and the payload parser.
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "audit/archive_file.h"
#include "audit/canonical_entry.h"
#include "fuzz/fuzz_check.h"

namespace weftkit::audit {
namespace {

void CheckCanonical(std::span<const std::uint8_t> bytes) {
  Result<AuditEntry> entry = ParseCanonicalBytes(bytes);
  if (!entry.ok()) {
    FUZZ_CHECK(entry.error().code() == "audit_bad_canonical_entry");
    return;
  }
  Result<std::vector<std::uint8_t>> again = CanonicalBytes(*entry);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(std::equal(again->begin(), again->end(), bytes.begin(), bytes.end()));
}

void CheckAccepted(const ArchiveContents& contents) {
  FUZZ_CHECK(contents.end_index > contents.first_index);
  FUZZ_CHECK(contents.entries.size() == contents.end_index - contents.first_index);
  Hash previous = contents.previous_leaf;
  for (std::size_t i = 0; i < contents.entries.size(); ++i) {
    const SealedEntry& sealed = contents.entries[i];
    FUZZ_CHECK(sealed.entry.index == contents.first_index + i);
    FUZZ_CHECK(LeafHash(sealed.canonical) == sealed.leaf_hash);
    if (sealed.entry.index > 0) FUZZ_CHECK(sealed.entry.previous_hash == HashToHex(previous));
    previous = sealed.leaf_hash;
  }
  // zlib may compress the same payload differently at another level; this one is ours.
  Result<std::vector<std::uint8_t>> encoded = EncodeArchive(contents);
  FUZZ_CHECK(encoded.ok());
  Result<ArchiveContents> again = DecodeArchive(*encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->entries.size() == contents.entries.size());
}

bool ZeroDigest(std::span<const std::uint8_t> input) {
  return input.size() > kArchiveDigestBytes &&
         std::all_of(input.end() - kArchiveDigestBytes, input.end(),
                     [](std::uint8_t b) { return b == 0; });
}

}  // namespace
}  // namespace weftkit::audit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weftkit::audit;
  std::vector<std::uint8_t> input(data, data + size);
  CheckCanonical(input);

  if (ZeroDigest(input)) {
    std::size_t covered = input.size() - kArchiveDigestBytes;
    EVP_Digest(input.data(), covered, input.data() + covered, nullptr, EVP_sha256(), nullptr);
  }
  weftkit::Result<ArchiveContents> contents = DecodeArchive(input);
  if (!contents.ok()) {
    FUZZ_CHECK(contents.error().kind() == weftkit::ErrorKind::kDataLoss);
    FUZZ_CHECK(contents.error().code() == "audit_archive_corrupt");
    return 0;
  }
  CheckAccepted(*contents);
  return 0;
}

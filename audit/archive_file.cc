#include "audit/archive_file.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <limits>

#include "audit/byte_reader.h"
#include "audit/canonical_entry.h"
#include "common/base64.h"

namespace weftkit::audit {
namespace {

constexpr std::array<std::uint8_t, 8> kMagic = {'W', 'K', 'A', 'U', 'D', 'A', 'R', 'C'};
constexpr std::uint8_t kCompressionZlib = 1;
constexpr std::size_t kMaxCanonicalBytes = 1 << 20;
constexpr std::uint64_t kMaxDeflateRatio = 1100;
constexpr std::string_view kNamePrefix = "audit-";
constexpr std::string_view kNameSuffix = ".wkar";
constexpr std::size_t kNameDigits = 20;

Error Corrupt(const std::string& detail) {
  return Error(ErrorKind::kDataLoss, "audit_archive_corrupt", detail);
}

Error BadArchive(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "audit_bad_archive", detail);
}

Hash Sha256(std::span<const std::uint8_t> bytes) {
  Hash out;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), nullptr, EVP_sha256(), nullptr);
  return out;
}

void PutUint(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

void PutBytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Bytes with a 2-byte length; kid and signature are far below 64 KiB.
Status PutShortBytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
  if (bytes.size() > std::numeric_limits<std::uint16_t>::max()) {
    return BadArchive("a checkpoint field is over 65535 bytes");
  }
  PutUint(out, bytes.size(), 2);
  PutBytes(out, bytes);
  return OkStatus();
}

Status PutCheckpoint(std::vector<std::uint8_t>& out, const Checkpoint& checkpoint) {
  PutUint(out, checkpoint.tree_size, 8);
  PutBytes(out, checkpoint.root);
  PutUint(out, static_cast<std::uint64_t>(checkpoint.time_ms), 8);
  WK_RETURN_IF_ERROR(PutShortBytes(out, AsBytes(checkpoint.kid)));
  return PutShortBytes(out, checkpoint.signature);
}

Result<std::vector<std::uint8_t>> Payload(const ArchiveContents& contents) {
  std::vector<std::uint8_t> out;
  PutBytes(out, contents.previous_leaf);
  PutUint(out, contents.compact_range.size(), 4);
  for (const Hash& hash : contents.compact_range) PutBytes(out, hash);
  PutUint(out, contents.checkpoints.size(), 4);
  for (const Checkpoint& checkpoint : contents.checkpoints) {
    WK_RETURN_IF_ERROR(PutCheckpoint(out, checkpoint));
  }
  for (const SealedEntry& sealed : contents.entries) {
    PutUint(out, sealed.canonical.size(), 4);
    PutBytes(out, sealed.canonical);
    PutBytes(out, sealed.leaf_hash);
  }
  if (out.size() > kMaxArchivePayloadBytes) return BadArchive("the payload is over 1 GiB");
  return out;
}

Result<std::vector<std::uint8_t>> Compress(std::span<const std::uint8_t> payload) {
  uLongf length = compressBound(static_cast<uLong>(payload.size()));
  std::vector<std::uint8_t> out(length);
  if (compress2(out.data(), &length, payload.data(), static_cast<uLong>(payload.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    return Error(ErrorKind::kInternal, "audit_archive_compression", "zlib compress2 failed");
  }
  out.resize(length);
  return out;
}

// Reads the fixed-size fields of the payload and the file front to back.
class ArchiveReader : public ByteReader {
 public:
  using ByteReader::ByteReader;

  bool Hash32(Hash& out) {
    std::span<const std::uint8_t> bytes;
    if (!Take(out.size(), bytes)) return false;
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
  }

  bool ShortBytes(std::vector<std::uint8_t>& out) {
    std::uint64_t length = 0;
    std::span<const std::uint8_t> bytes;
    if (!Uint(2, length) || !Take(static_cast<std::size_t>(length), bytes)) return false;
    out.assign(bytes.begin(), bytes.end());
    return true;
  }
};

struct Header {
  std::uint64_t first_index = 0;
  std::uint64_t end_index = 0;
  std::int64_t created_ms = 0;
  std::uint64_t payload_bytes = 0;
  std::span<const std::uint8_t> compressed;
};

Result<Header> ReadHeader(std::span<const std::uint8_t> file) {
  if (file.size() < kArchiveHeaderBytes + kArchiveDigestBytes) {
    return Corrupt("the file is shorter than a header and a digest");
  }
  if (!std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    return Corrupt("not an audit archive (bad magic)");
  }
  ArchiveReader in(file.subspan(kMagic.size()));
  std::uint64_t version = 0, compression = 0, reserved = 0, created = 0, compressed = 0;
  Header header;
  in.Uint(2, version);
  in.Uint(1, compression);
  in.Uint(1, reserved);
  in.Uint(8, header.first_index);
  in.Uint(8, header.end_index);
  in.Uint(8, created);
  in.Uint(8, header.payload_bytes);
  in.Uint(8, compressed);
  header.created_ms = static_cast<std::int64_t>(created);
  if (version != kArchiveFormatVersion) {
    return Corrupt("unknown format version " + std::to_string(version));
  }
  if (compression != kCompressionZlib || reserved != 0) return Corrupt("unknown compression");
  if (header.end_index <= header.first_index) return Corrupt("the range is empty");
  if (header.payload_bytes > kMaxArchivePayloadBytes) return Corrupt("the payload is over 1 GiB");
  if (compressed != file.size() - kArchiveHeaderBytes - kArchiveDigestBytes) {
    return Corrupt("the file is " + std::to_string(file.size()) +
                   " bytes, not what its header states (truncated or extended)");
  }
  // Deflate expands at most about 1032:1; a larger stated length is a lie that would only make
  // the reader allocate.
  if (header.payload_bytes > (compressed + 1) * kMaxDeflateRatio) {
    return Corrupt("the stated payload length is beyond what the compressed bytes can hold");
  }
  header.compressed = file.subspan(kArchiveHeaderBytes, static_cast<std::size_t>(compressed));
  return header;
}

Result<std::vector<std::uint8_t>> Decompress(const Header& header) {
  std::vector<std::uint8_t> out(static_cast<std::size_t>(header.payload_bytes));
  uLongf length = static_cast<uLongf>(out.size());
  int status = uncompress(out.data(), &length, header.compressed.data(),
                          static_cast<uLong>(header.compressed.size()));
  if (status != Z_OK || length != out.size()) {
    return Corrupt("the payload does not decompress to its stated length");
  }
  return out;
}

Result<Checkpoint> ReadCheckpoint(ArchiveReader& in) {
  Checkpoint checkpoint;
  std::uint64_t time = 0;
  std::vector<std::uint8_t> kid;
  if (!in.Uint(8, checkpoint.tree_size) || !in.Hash32(checkpoint.root) || !in.Uint(8, time) ||
      !in.ShortBytes(kid) || !in.ShortBytes(checkpoint.signature)) {
    return Corrupt("a checkpoint is truncated");
  }
  checkpoint.time_ms = static_cast<std::int64_t>(time);
  checkpoint.kid.assign(kid.begin(), kid.end());
  return checkpoint;
}

// One entry, checked against its stored leaf hash and the chain link from `previous`.
Result<SealedEntry> ReadEntry(ArchiveReader& in, std::uint64_t index, const Hash& previous) {
  std::uint64_t length = 0;
  std::span<const std::uint8_t> canonical;
  SealedEntry sealed;
  if (!in.Uint(4, length) || length > kMaxCanonicalBytes ||
      !in.Take(static_cast<std::size_t>(length), canonical) || !in.Hash32(sealed.leaf_hash)) {
    return Corrupt("entry " + std::to_string(index) + " is truncated");
  }
  sealed.canonical.assign(canonical.begin(), canonical.end());
  Result<AuditEntry> entry = ParseCanonicalBytes(canonical);
  if (!entry.ok()) return Corrupt("entry " + std::to_string(index) + ": " + entry.error().detail());
  if (entry->index != index) {
    return Corrupt("entry " + std::to_string(index) + " holds index " +
                   std::to_string(entry->index));
  }
  if (LeafHash(canonical) != sealed.leaf_hash) {
    return Corrupt("entry " + std::to_string(index) + "'s stored leaf hash is not its hash");
  }
  if (index > 0 && entry->previous_hash != HashToHex(previous)) {
    return Corrupt("entry " + std::to_string(index) + " does not link to the entry before it");
  }
  sealed.entry = std::move(entry).value();
  return sealed;
}

Result<ArchiveContents> ReadPayload(const Header& header, std::span<const std::uint8_t> payload) {
  ArchiveContents contents;
  contents.first_index = header.first_index;
  contents.end_index = header.end_index;
  contents.created_ms = header.created_ms;
  ArchiveReader in(payload);
  std::uint64_t count = 0;
  if (!in.Hash32(contents.previous_leaf) || !in.Uint(4, count) || count > 64) {
    return Corrupt("the compact range is malformed");
  }
  contents.compact_range.resize(static_cast<std::size_t>(count));
  for (Hash& hash : contents.compact_range) {
    if (!in.Hash32(hash)) return Corrupt("the compact range is truncated");
  }
  // Each checkpoint takes at least 60 bytes: a count above what is left is a lie.
  if (!in.Uint(4, count) || count > in.left() / 60) return Corrupt("the checkpoint count is bad");
  for (std::uint64_t i = 0; i < count; ++i) {
    WK_ASSIGN_OR_RETURN(Checkpoint checkpoint, ReadCheckpoint(in));
    contents.checkpoints.push_back(std::move(checkpoint));
  }
  Hash previous = contents.previous_leaf;
  for (std::uint64_t index = header.first_index; index < header.end_index; ++index) {
    WK_ASSIGN_OR_RETURN(SealedEntry sealed, ReadEntry(in, index, previous));
    previous = sealed.leaf_hash;
    contents.entries.push_back(std::move(sealed));
  }
  if (in.left() != 0) return Corrupt("bytes follow the last entry");
  return contents;
}

bool AllDigits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<std::vector<std::uint8_t>> EncodeArchive(const ArchiveContents& contents) {
  if (contents.end_index <= contents.first_index ||
      contents.entries.size() != contents.end_index - contents.first_index) {
    return BadArchive("an archive holds entries first_index..end_index-1, at least one");
  }
  for (std::size_t i = 0; i < contents.entries.size(); ++i) {
    if (contents.entries[i].entry.index != contents.first_index + i) {
      return BadArchive("the entries' indexes do not run without a gap");
    }
  }
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload, Payload(contents));
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> compressed, Compress(payload));

  std::vector<std::uint8_t> file(kMagic.begin(), kMagic.end());
  PutUint(file, kArchiveFormatVersion, 2);
  file.push_back(kCompressionZlib);
  file.push_back(0);
  PutUint(file, contents.first_index, 8);
  PutUint(file, contents.end_index, 8);
  PutUint(file, static_cast<std::uint64_t>(contents.created_ms), 8);
  PutUint(file, payload.size(), 8);
  PutUint(file, compressed.size(), 8);
  PutBytes(file, compressed);
  Hash digest = Sha256(file);
  PutBytes(file, digest);
  return file;
}

Result<ArchiveContents> DecodeArchive(std::span<const std::uint8_t> file) {
  WK_ASSIGN_OR_RETURN(Header header, ReadHeader(file));
  std::span<const std::uint8_t> covered = file.first(file.size() - kArchiveDigestBytes);
  std::span<const std::uint8_t> stored = file.last(kArchiveDigestBytes);
  Hash digest = Sha256(covered);
  if (!std::equal(digest.begin(), digest.end(), stored.begin())) {
    return Corrupt("the digest does not match the file's bytes");
  }
  WK_ASSIGN_OR_RETURN(std::vector<std::uint8_t> payload, Decompress(header));
  return ReadPayload(header, payload);
}

Result<Hash> ArchiveDigest(std::span<const std::uint8_t> file) {
  if (file.size() < kArchiveHeaderBytes + kArchiveDigestBytes) {
    return Corrupt("the file is shorter than a header and a digest");
  }
  Hash digest;
  std::span<const std::uint8_t> stored = file.last(kArchiveDigestBytes);
  std::copy(stored.begin(), stored.end(), digest.begin());
  return digest;
}

std::string ArchiveFileName(std::uint64_t first_index, std::uint64_t end_index) {
  char name[64];
  std::snprintf(name, sizeof name, "audit-%020llu-%020llu.wkar",
                static_cast<unsigned long long>(first_index),
                static_cast<unsigned long long>(end_index));
  return name;
}

std::optional<ArchiveRange> ParseArchiveFileName(std::string_view name) {
  constexpr std::size_t kLength =
      kNamePrefix.size() + kNameDigits + 1 + kNameDigits + kNameSuffix.size();
  if (name.size() != kLength || !name.starts_with(kNamePrefix) || !name.ends_with(kNameSuffix) ||
      name[kNamePrefix.size() + kNameDigits] != '-') {
    return std::nullopt;
  }
  std::string_view first = name.substr(kNamePrefix.size(), kNameDigits);
  std::string_view end = name.substr(kNamePrefix.size() + kNameDigits + 1, kNameDigits);
  ArchiveRange range;
  if (!AllDigits(first) || !AllDigits(end) ||
      std::from_chars(first.data(), first.data() + first.size(), range.first_index).ec !=
          std::errc() ||
      std::from_chars(end.data(), end.data() + end.size(), range.end_index).ec != std::errc()) {
    return std::nullopt;
  }
  return range;
}

Result<std::vector<std::uint8_t>> ReadArchiveBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorKind::kNotFound, "audit_archive_unreadable", "cannot read " + path.string());
  }
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) {
    return Error(ErrorKind::kNotFound, "audit_archive_unreadable", "cannot read " + path.string());
  }
  return bytes;
}

}  // namespace weftkit::audit

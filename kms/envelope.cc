#include "kms/envelope.h"

#include <algorithm>

namespace weftkit::kms {
namespace {

constexpr std::uint8_t kMagic[] = {0x57, 0x4B};  // "WK"
constexpr std::string_view kAadLabel = "weftkit-kms/dek/v1";

Error Malformed(const char* code, const char* detail) {
  return Error(ErrorKind::kInvalidArgument, code, detail);
}

Error Truncated() { return Malformed("envelope_truncated", "envelope ends inside a field"); }

// Field rules shared by ValidateEnvelope and DecodeEnvelope, so both report the same code.

// Plain ASCII ranges: std::isalnum would depend on the locale.
bool IsLetterOrDigit(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool IsNameCharacter(char c) { return IsLetterOrDigit(c) || c == '.' || c == '_' || c == '-'; }

bool IsValidKeyName(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyNameSize) return false;
  return IsLetterOrDigit(name[0]) && std::all_of(name.begin(), name.end(), IsNameCharacter);
}

Status CheckFormatVersion(std::uint8_t version) {
  if (version == kEnvelopeFormatV1) return OkStatus();
  return Malformed("envelope_unknown_version", "unknown envelope format version");
}

Status CheckAlgorithm(std::uint8_t algorithm) {
  if (algorithm == static_cast<std::uint8_t>(Algorithm::kAes256Gcm)) return OkStatus();
  return Malformed("envelope_unknown_algorithm", "unknown envelope algorithm");
}

Status CheckKeyVersion(std::uint32_t version) {
  if (version >= 1) return OkStatus();
  return Malformed("envelope_bad_key_version", "key version 0 is never valid");
}

Status CheckKeyName(std::string_view name) {
  if (IsValidKeyName(name)) return OkStatus();
  return Malformed("envelope_bad_key_name", "key name has a bad length or character");
}

Status CheckCiphertextLength(std::size_t length) {
  if (length >= kMinCiphertextSize && length <= kMaxCiphertextSize) return OkStatus();
  return Malformed("envelope_bad_length", "ciphertext length outside 16..64");
}

// Reads big-endian fields from the front of a byte span; callers check Has() first.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

  bool Has(std::size_t count) const { return bytes_.size() - position_ >= count; }
  std::size_t remaining() const { return bytes_.size() - position_; }

  std::span<const std::uint8_t> Take(std::size_t count) {
    auto taken = bytes_.subspan(position_, count);
    position_ += count;
    return taken;
  }
  std::uint8_t U8() { return Take(1)[0]; }
  std::uint16_t U16() {
    auto b = Take(2);
    return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
  }
  std::uint32_t U32() {
    auto b = Take(4);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
           std::uint32_t{b[3]};
  }

 private:
  std::span<const std::uint8_t> bytes_;
  std::size_t position_ = 0;
};

// Magic, format version and algorithm: offsets 0..3.
Status ReadPreamble(Reader& reader, Envelope& envelope) {
  if (!reader.Has(2)) return Truncated();
  auto magic = reader.Take(2);
  if (!std::equal(magic.begin(), magic.end(), std::begin(kMagic))) {
    return Malformed("envelope_bad_magic", "envelope does not start with \"WK\"");
  }

  if (!reader.Has(1)) return Truncated();
  envelope.format_version = reader.U8();
  WK_RETURN_IF_ERROR(CheckFormatVersion(envelope.format_version));

  if (!reader.Has(1)) return Truncated();
  const std::uint8_t algorithm = reader.U8();
  WK_RETURN_IF_ERROR(CheckAlgorithm(algorithm));
  envelope.algorithm = static_cast<Algorithm>(algorithm);
  return OkStatus();
}

// Key version and key name: offsets 4..8+N.
Status ReadKeyIdentity(Reader& reader, Envelope& envelope) {
  if (!reader.Has(4)) return Truncated();
  envelope.key_version = reader.U32();
  WK_RETURN_IF_ERROR(CheckKeyVersion(envelope.key_version));

  if (!reader.Has(1)) return Truncated();
  const std::size_t name_length = reader.U8();
  if (name_length == 0 || name_length > kMaxKeyNameSize) return CheckKeyName("");
  if (!reader.Has(name_length)) return Truncated();
  auto name = reader.Take(name_length);
  envelope.key_name.assign(name.begin(), name.end());
  return CheckKeyName(envelope.key_name);
}

// IV, ciphertext length, ciphertext and tag: offsets 9+N to the end.
Status ReadSealedKey(Reader& reader, Envelope& envelope) {
  if (!reader.Has(kIvSize)) return Truncated();
  auto iv = reader.Take(kIvSize);
  std::copy(iv.begin(), iv.end(), envelope.iv.begin());

  if (!reader.Has(2)) return Truncated();
  const std::size_t length = reader.U16();
  WK_RETURN_IF_ERROR(CheckCiphertextLength(length));

  if (!reader.Has(length + kTagSize)) return Truncated();
  auto ciphertext = reader.Take(length);
  envelope.ciphertext.assign(ciphertext.begin(), ciphertext.end());
  auto tag = reader.Take(kTagSize);
  std::copy(tag.begin(), tag.end(), envelope.tag.begin());
  return OkStatus();
}

void AppendU16(std::vector<std::uint8_t>& out, std::size_t value) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

void AppendU32(std::vector<std::uint8_t>& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::uint8_t>(value >> shift));
  }
}

// Offsets 0 through the end of the IV: the part of the envelope that BuildAad authenticates.
void AppendHeader(std::vector<std::uint8_t>& out, const Envelope& envelope) {
  out.insert(out.end(), std::begin(kMagic), std::end(kMagic));
  out.push_back(envelope.format_version);
  out.push_back(static_cast<std::uint8_t>(envelope.algorithm));
  AppendU32(out, envelope.key_version);
  out.push_back(static_cast<std::uint8_t>(envelope.key_name.size()));
  out.insert(out.end(), envelope.key_name.begin(), envelope.key_name.end());
  out.insert(out.end(), envelope.iv.begin(), envelope.iv.end());
}

}  // namespace

Status ValidateEnvelope(const Envelope& envelope) {
  WK_RETURN_IF_ERROR(CheckFormatVersion(envelope.format_version));
  WK_RETURN_IF_ERROR(CheckAlgorithm(static_cast<std::uint8_t>(envelope.algorithm)));
  WK_RETURN_IF_ERROR(CheckKeyVersion(envelope.key_version));
  WK_RETURN_IF_ERROR(CheckKeyName(envelope.key_name));
  return CheckCiphertextLength(envelope.ciphertext.size());
}

std::vector<std::uint8_t> EncodeEnvelope(const Envelope& envelope) {
  if (!ValidateEnvelope(envelope).ok()) return {};

  std::vector<std::uint8_t> out;
  out.reserve(39 + envelope.key_name.size() + envelope.ciphertext.size());
  AppendHeader(out, envelope);
  AppendU16(out, envelope.ciphertext.size());
  out.insert(out.end(), envelope.ciphertext.begin(), envelope.ciphertext.end());
  out.insert(out.end(), envelope.tag.begin(), envelope.tag.end());
  return out;
}

Result<Envelope> DecodeEnvelope(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxEnvelopeSize) {
    return Malformed("envelope_oversized", "envelope longer than 167 bytes");
  }

  Reader reader(bytes);
  Envelope envelope;
  WK_RETURN_IF_ERROR(ReadPreamble(reader, envelope));
  WK_RETURN_IF_ERROR(ReadKeyIdentity(reader, envelope));
  WK_RETURN_IF_ERROR(ReadSealedKey(reader, envelope));
  if (reader.remaining() != 0) {
    return Malformed("envelope_oversized", "bytes after the end of the envelope");
  }
  return envelope;
}

std::vector<std::uint8_t> BuildAad(const Envelope& header_fields,
                                   const EncryptionContext& context) {
  std::vector<std::uint8_t> aad(kAadLabel.begin(), kAadLabel.end());
  AppendHeader(aad, header_fields);
  std::vector<std::uint8_t> encoded_context = context.Encode();
  aad.insert(aad.end(), encoded_context.begin(), encoded_context.end());
  return aad;
}

Result<std::string> ValidateKeyName(std::string_view name) {
  if (!IsValidKeyName(name)) {
    return Error(ErrorKind::kInvalidArgument, "invalid_key_name",
                 "key names are 1..64 characters of [A-Za-z0-9._-], starting with a letter or "
                 "digit");
  }
  return std::string(name);
}

}  // namespace weftkit::kms

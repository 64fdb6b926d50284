// The envelope is parsed from untrusted input on every unwrap, so DecodeEnvelope must accept
// exactly the documented layout: these tests pin the golden vector of docs/envelope.md (and
// check it really decrypts under the documented AAD), try every truncation and every single-bit
// flip, and hit each error code with a crafted input. fuzz/envelope_fuzzer.cc explores the rest.
#include "kms/envelope.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

namespace weftkit::kms {
namespace {

using namespace std::string_literals;

std::vector<std::uint8_t> FromHex(std::string_view hex) {
  std::vector<std::uint8_t> bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(
        static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

std::vector<std::uint8_t> Sequence(std::uint8_t first, std::size_t count) {
  std::vector<std::uint8_t> bytes(count);
  for (std::size_t i = 0; i < count; ++i) bytes[i] = static_cast<std::uint8_t>(first + i);
  return bytes;
}

// The worked example of docs/envelope.md. Master key 00 01 .. 1f, DEK a0 a1 .. bf, AES-256-GCM.
constexpr std::string_view kGoldenEnvelopeHex =
    "574b0101000000030d656e67696e652d6f7264657273101112131415161718191a1b0020"
    "dd5f3ab5ed6c9c1462dca2b6a3d4c7fc67e1fcbdaf77e1065f4058dce2e9ea64"
    "e45e49be3cdd28838e9ef9eddfcf5332";
constexpr std::string_view kGoldenAadHex =
    "776566746b69742d6b6d732f64656b2f7631"
    "574b0101000000030d656e67696e652d6f7264657273101112131415161718191a1b"
    "00020006656e67696e65000a72656c6174696f6e616c00057461626c6500087061796d656e7473";

class EnvelopeTest : public ::testing::Test {
 protected:
  static Envelope GoldenEnvelope() {
    Envelope envelope;
    envelope.key_name = "engine-orders";
    envelope.key_version = 3;
    auto iv = Sequence(0x10, kIvSize);
    std::copy(iv.begin(), iv.end(), envelope.iv.begin());
    envelope.ciphertext =
        FromHex("dd5f3ab5ed6c9c1462dca2b6a3d4c7fc67e1fcbdaf77e1065f4058dce2e9ea64");
    auto tag = FromHex("e45e49be3cdd28838e9ef9eddfcf5332");
    std::copy(tag.begin(), tag.end(), envelope.tag.begin());
    return envelope;
  }

  static EncryptionContext GoldenContext() {
    return EncryptionContext::Create({{"table", "payments"}, {"engine", "relational"}}).value();
  }

  static void ExpectDecodeError(const std::vector<std::uint8_t>& bytes, const char* code) {
    auto decoded = DecodeEnvelope(bytes);
    ASSERT_FALSE(decoded.ok()) << code;
    EXPECT_EQ(decoded.error().code(), code);
    EXPECT_EQ(decoded.error().kind(), ErrorKind::kInvalidArgument);
  }

  // AES-256-GCM decryption in software, standing in for the HSM's C_Decrypt.
  static std::vector<std::uint8_t> DecryptGcm(const std::vector<std::uint8_t>& key,
                                              const Envelope& envelope,
                                              const std::vector<std::uint8_t>& aad) {
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        EVP_CIPHER_CTX_free);
    std::vector<std::uint8_t> plain(envelope.ciphertext.size());
    int length = 0;
    std::array<std::uint8_t, kTagSize> tag = envelope.tag;
    bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(),
                                 envelope.iv.data()) == 1 &&
              EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_DecryptUpdate(ctx.get(), plain.data(), &length, envelope.ciphertext.data(),
                                static_cast<int>(envelope.ciphertext.size())) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
              EVP_DecryptFinal_ex(ctx.get(), plain.data() + length, &length) == 1;
    return ok ? plain : std::vector<std::uint8_t>();
  }
};

TEST_F(EnvelopeTest, Encode_MatchesGoldenVector) {
  EXPECT_EQ(EncodeEnvelope(GoldenEnvelope()), FromHex(kGoldenEnvelopeHex));
}

TEST_F(EnvelopeTest, Decode_ReadsGoldenVector) {
  auto decoded = DecodeEnvelope(FromHex(kGoldenEnvelopeHex));
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, GoldenEnvelope());
  EXPECT_EQ(decoded->format_version, 0x01);
  EXPECT_EQ(decoded->algorithm, Algorithm::kAes256Gcm);
}

TEST_F(EnvelopeTest, BuildAad_MatchesGoldenVector) {
  EXPECT_EQ(BuildAad(GoldenEnvelope(), GoldenContext()), FromHex(kGoldenAadHex));
}

// The documented example is a real AES-256-GCM encryption: the DEK comes back under the
// documented AAD, and not under an AAD with a different context.
TEST_F(EnvelopeTest, GoldenVector_DecryptsUnderDocumentedAadOnly) {
  const auto master_key = Sequence(0x00, 32);
  const Envelope envelope = GoldenEnvelope();

  EXPECT_EQ(DecryptGcm(master_key, envelope, BuildAad(envelope, GoldenContext())),
            Sequence(0xa0, 32));
  EXPECT_TRUE(DecryptGcm(master_key, envelope, BuildAad(envelope, EncryptionContext())).empty());
}

TEST_F(EnvelopeTest, EncodeDecode_RoundTrips_AtSmallestAndLargestSizes) {
  Envelope smallest = GoldenEnvelope();
  smallest.key_name = "k";
  smallest.key_version = 1;
  smallest.ciphertext = Sequence(0x40, kMinCiphertextSize);

  Envelope largest = GoldenEnvelope();
  largest.key_name = std::string(kMaxKeyNameSize, 'a');
  largest.key_version = 0xFFFFFFFF;
  largest.ciphertext = Sequence(0x40, kMaxCiphertextSize);

  for (const Envelope& envelope : {smallest, largest}) {
    std::vector<std::uint8_t> bytes = EncodeEnvelope(envelope);
    EXPECT_EQ(bytes.size(), 39 + envelope.key_name.size() + envelope.ciphertext.size());
    auto decoded = DecodeEnvelope(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(*decoded, envelope);
  }
  EXPECT_EQ(EncodeEnvelope(largest).size(), kMaxEnvelopeSize);
}

TEST_F(EnvelopeTest, Decode_FailsTruncated_OnEveryProperPrefix) {
  const std::vector<std::uint8_t> bytes = FromHex(kGoldenEnvelopeHex);
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    auto decoded = DecodeEnvelope(std::span(bytes.data(), length));
    ASSERT_FALSE(decoded.ok()) << "length " << length;
    EXPECT_EQ(decoded.error().code(), "envelope_truncated") << "length " << length;
  }
}

TEST_F(EnvelopeTest, Decode_FailsOversized_OnAppendedByte) {
  std::vector<std::uint8_t> bytes = FromHex(kGoldenEnvelopeHex);
  bytes.push_back(0x00);
  ExpectDecodeError(bytes, "envelope_oversized");
}

TEST_F(EnvelopeTest, Decode_FailsOversized_OverMaximumSize) {
  Envelope largest = GoldenEnvelope();
  largest.key_name = std::string(kMaxKeyNameSize, 'a');
  largest.ciphertext = Sequence(0, kMaxCiphertextSize);
  std::vector<std::uint8_t> bytes = EncodeEnvelope(largest);
  bytes.push_back(0x00);
  ExpectDecodeError(bytes, "envelope_oversized");
  ExpectDecodeError(std::vector<std::uint8_t>(4096, 0x57), "envelope_oversized");
}

// A flipped bit must never go unnoticed: either the decoder rejects the bytes, or it yields a
// different envelope, whose header (through the AAD) or ciphertext and tag then fail the GCM
// check at unwrap.
TEST_F(EnvelopeTest, Decode_RejectsOrChanges_EverySingleBitFlip) {
  const std::vector<std::uint8_t> original = FromHex(kGoldenEnvelopeHex);
  const Envelope expected = GoldenEnvelope();
  for (std::size_t bit = 0; bit < original.size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = original;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto decoded = DecodeEnvelope(flipped);
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.error().code().rfind("envelope_", 0), 0u) << "bit " << bit;
      continue;
    }
    EXPECT_NE(*decoded, expected) << "bit " << bit;
    const bool header_changed =
        BuildAad(*decoded, GoldenContext()) != BuildAad(expected, GoldenContext());
    const bool sealed_changed =
        decoded->ciphertext != expected.ciphertext || decoded->tag != expected.tag;
    EXPECT_TRUE(header_changed || sealed_changed) << "bit " << bit;
  }
}

TEST_F(EnvelopeTest, Decode_ReportsSpecificCode_ForEachMalformedField) {
  const std::vector<std::uint8_t> good = FromHex(kGoldenEnvelopeHex);
  const std::size_t name_length_offset = 8;
  const std::size_t length_offset = 9 + 13 + kIvSize;

  struct Case {
    std::size_t offset;
    std::uint8_t value;
    const char* code;
  };
  const Case cases[] = {
      {0, 0x58, "envelope_bad_magic"},
      {1, 0x4A, "envelope_bad_magic"},
      {2, 0x02, "envelope_unknown_version"},
      {2, 0x00, "envelope_unknown_version"},
      {3, 0x02, "envelope_unknown_algorithm"},
      {3, 0x00, "envelope_unknown_algorithm"},
      {name_length_offset, 0x00, "envelope_bad_key_name"},
      {name_length_offset, 65, "envelope_bad_key_name"},
      {9, '-', "envelope_bad_key_name"},       // first character not a letter or digit
      {9 + 6, '/', "envelope_bad_key_name"},   // character outside the alphabet
      {9 + 6, 0xC3, "envelope_bad_key_name"},  // non-ASCII
      {length_offset + 1, 15, "envelope_bad_length"},
      {length_offset + 1, 65, "envelope_bad_length"},
      {length_offset, 0x01, "envelope_bad_length"},
  };
  for (const Case& c : cases) {
    std::vector<std::uint8_t> bytes = good;
    bytes[c.offset] = c.value;
    SCOPED_TRACE(::testing::Message() << "offset " << c.offset << " value " << int{c.value});
    ExpectDecodeError(bytes, c.code);
  }

  std::vector<std::uint8_t> zero_version = good;
  std::fill(zero_version.begin() + 4, zero_version.begin() + 8, 0x00);
  ExpectDecodeError(zero_version, "envelope_bad_key_version");
}

TEST_F(EnvelopeTest, Decode_ReportsBadFieldBeforeTruncation_OnShortGarbage) {
  ExpectDecodeError({'X', 'K'}, "envelope_bad_magic");
  ExpectDecodeError({'W', 'K', 0x09}, "envelope_unknown_version");
  ExpectDecodeError({'W', 'K', 0x01, 0x01, 0, 0, 0, 0}, "envelope_bad_key_version");
  ExpectDecodeError({}, "envelope_truncated");
}

TEST_F(EnvelopeTest, ValidateEnvelope_RejectsEachBadField_AndEncodeReturnsEmpty) {
  struct Case {
    void (*spoil)(Envelope&);
    const char* code;
  };
  const Case cases[] = {
      {[](Envelope& e) { e.format_version = 2; }, "envelope_unknown_version"},
      {[](Envelope& e) { e.algorithm = static_cast<Algorithm>(7); }, "envelope_unknown_algorithm"},
      {[](Envelope& e) { e.key_version = 0; }, "envelope_bad_key_version"},
      {[](Envelope& e) { e.key_name.clear(); }, "envelope_bad_key_name"},
      {[](Envelope& e) { e.key_name = std::string(65, 'a'); }, "envelope_bad_key_name"},
      {[](Envelope& e) { e.key_name = std::string(300, 'a'); }, "envelope_bad_key_name"},
      {[](Envelope& e) { e.ciphertext.resize(15); }, "envelope_bad_length"},
      {[](Envelope& e) { e.ciphertext.resize(65); }, "envelope_bad_length"},
  };
  for (const Case& c : cases) {
    Envelope envelope = GoldenEnvelope();
    c.spoil(envelope);
    Status valid = ValidateEnvelope(envelope);
    ASSERT_FALSE(valid.ok()) << c.code;
    EXPECT_EQ(valid.error().code(), c.code);
    EXPECT_TRUE(EncodeEnvelope(envelope).empty()) << c.code;
  }
  EXPECT_TRUE(ValidateEnvelope(GoldenEnvelope()).ok());
}

TEST_F(EnvelopeTest, BuildAad_StartsWithLabelAndHeader_AndIgnoresCiphertextAndTag) {
  const Envelope envelope = GoldenEnvelope();
  const std::vector<std::uint8_t> aad = BuildAad(envelope, EncryptionContext());
  const std::string label = "weftkit-kms/dek/v1";
  const std::vector<std::uint8_t> encoded = EncodeEnvelope(envelope);
  const std::size_t header_size = 21 + envelope.key_name.size();

  ASSERT_EQ(aad.size(), label.size() + header_size + 2);
  EXPECT_TRUE(std::equal(label.begin(), label.end(), aad.begin()));
  EXPECT_TRUE(
      std::equal(encoded.begin(), encoded.begin() + header_size, aad.begin() + label.size()));
  EXPECT_EQ(aad[aad.size() - 2], 0x00);
  EXPECT_EQ(aad[aad.size() - 1], 0x00);

  Envelope other_sealed = envelope;
  other_sealed.ciphertext.assign(16, 0xEE);
  other_sealed.tag.fill(0xEE);
  EXPECT_EQ(BuildAad(other_sealed, EncryptionContext()), aad);
}

TEST_F(EnvelopeTest, BuildAad_Differs_WhenAnyBoundFieldDiffers) {
  const Envelope base = GoldenEnvelope();
  const std::vector<std::uint8_t> aad = BuildAad(base, GoldenContext());

  Envelope other_version = base;
  other_version.key_version = 4;
  Envelope other_name = base;
  other_name.key_name = "engine-orderz";
  Envelope other_iv = base;
  other_iv.iv[11] ^= 0x01;
  auto other_context = EncryptionContext::Create({{"table", "payment"}, {"engine", "relational"}});
  ASSERT_TRUE(other_context.ok());

  EXPECT_NE(BuildAad(other_version, GoldenContext()), aad);
  EXPECT_NE(BuildAad(other_name, GoldenContext()), aad);
  EXPECT_NE(BuildAad(other_iv, GoldenContext()), aad);
  EXPECT_NE(BuildAad(base, *other_context), aad);
  EXPECT_NE(BuildAad(base, EncryptionContext()), aad);
}

// Length prefixes keep the key name and the context from trading bytes with each other.
TEST_F(EnvelopeTest, BuildAad_Differs_WhenBytesMoveBetweenNameAndContext) {
  Envelope short_name = GoldenEnvelope();
  short_name.key_name = "ab";
  Envelope long_name = GoldenEnvelope();
  long_name.key_name = "abc";
  auto context_a = EncryptionContext::Create({{"c", "x"}});
  auto context_b = EncryptionContext::Create({{"x", ""}});
  ASSERT_TRUE(context_a.ok() && context_b.ok());
  EXPECT_NE(BuildAad(short_name, *context_a), BuildAad(long_name, *context_b));
}

TEST_F(EnvelopeTest, ValidateKeyName_AcceptsAllowedNames_AndRejectsOthers) {
  for (const char* name : {"a", "Z", "0", "engine-orders", "a.b_c-d", "9lives"}) {
    auto valid = ValidateKeyName(name);
    ASSERT_TRUE(valid.ok()) << name;
    EXPECT_EQ(*valid, name);
  }
  EXPECT_TRUE(ValidateKeyName(std::string(64, 'k')).ok());

  const std::string rejected[] = {
      "",     std::string(65, 'k'), "-lead", ".hidden", "_x", "a b", "a/b",
      "a\\b", "caf\xC3\xA9",        "a\0b"s, "..",      "a:b"};
  for (const std::string& name : rejected) {
    auto valid = ValidateKeyName(name);
    ASSERT_FALSE(valid.ok()) << name;
    EXPECT_EQ(valid.error().code(), "invalid_key_name");
    EXPECT_EQ(valid.error().kind(), ErrorKind::kInvalidArgument);
  }
}

}  // namespace
}  // namespace weftkit::kms

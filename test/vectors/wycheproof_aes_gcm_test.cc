// Wycheproof's AES-GCM vectors (wycheproof/aes_gcm_test.json) through the code that wraps every
// DEK: pkcs11::Hsm::EncryptGcm and DecryptGcm, i.e. CKM_AES_GCM in a real SoftHSM token. README.md
// in this folder says which vectors run through the HSM and which our API refuses up front.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "pkcs11/hsm.h"
#include "test/support/softhsm_token.h"

namespace weftkit::test {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Vector {
  int id = 0;
  Bytes key, iv, aad, msg, ct, tag;
  std::size_t tag_bits = 0;
  std::string result;
  std::string label() const { return "wycheproof/aes-gcm/" + std::to_string(id); }
  // What EncryptGcm and DecryptGcm accept: a 96-bit IV, a 128-bit tag and non-empty AAD.
  bool runs_in_hsm() const { return iv.size() == 12 && tag_bits == 128 && !aad.empty(); }
};

Bytes Unhex(const std::string& hex) {
  Bytes bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

std::vector<Vector> LoadVectors() {
  std::ifstream in(std::string(WEFTKIT_VECTORS_DIR) + "/wycheproof/aes_gcm_test.json");
  nlohmann::json file = nlohmann::json::parse(in, nullptr, false);
  std::vector<Vector> vectors;
  if (!file.is_object()) return vectors;
  for (const auto& group : file["testGroups"]) {
    for (const auto& test : group["tests"]) {
      vectors.push_back({test["tcId"].get<int>(), Unhex(test["key"]), Unhex(test["iv"]),
                         Unhex(test["aad"]), Unhex(test["msg"]), Unhex(test["ct"]),
                         Unhex(test["tag"]), group["tagSize"].get<std::size_t>(),
                         test["result"].get<std::string>()});
    }
  }
  return vectors;
}

Bytes Concat(const Bytes& a, const Bytes& b) {
  Bytes joined = a;
  joined.insert(joined.end(), b.begin(), b.end());
  return joined;
}

class WycheproofAesGcmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    vectors_ = new std::vector<Vector>(LoadVectors());
    token_ = SoftHsmToken::Create("wycheproof").release();
    if (token_ == nullptr) return;
    // The server cannot import keys, by design; pkcs11-tool writes each vector key into this
    // test's own token, before the project's Hsm opens it.
    for (const Vector& vector : *vectors_) {
      if (vector.runs_in_hsm() && !ImportKey(vector)) {
        ADD_FAILURE() << "cannot import the key of vector " << vector.id;
      }
    }
  }
  static void TearDownTestSuite() {
    delete token_;
    delete vectors_;
  }

  static bool ImportKey(const Vector& vector) {
    std::filesystem::path file = token_->dir() / "key.bin";
    std::ofstream(file, std::ios::binary)
        .write(reinterpret_cast<const char*>(vector.key.data()),
               static_cast<std::streamsize>(vector.key.size()));
    std::string command = "pkcs11-tool --module " + token_->module_path() + " --token-label " +
                          token_->label() + " --login --pin " + token_->pin() + " --write-object " +
                          file.string() +
                          " --type secrkey --key-type AES:" + std::to_string(vector.key.size()) +
                          " --label " + vector.label() + " --usage-decrypt > /dev/null 2>&1";
    bool imported = std::system(command.c_str()) == 0;
    std::filesystem::remove(file);
    return imported;
  }

  void SetUp() override {
    ASSERT_NE(token_, nullptr);
    ASSERT_EQ(vectors_->size(), 316u) << "the vector file is missing or changed";
    auto hsm = token_->OpenHsm(1);
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
  }

  static std::vector<Vector>* vectors_;
  static SoftHsmToken* token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
};

std::vector<Vector>* WycheproofAesGcmTest::vectors_ = nullptr;
SoftHsmToken* WycheproofAesGcmTest::token_ = nullptr;

TEST_F(WycheproofAesGcmTest, DecryptGcm_RecoversMessage_ForEveryVectorItAccepts) {
  int ran = 0;
  for (const Vector& v : *vectors_) {
    if (!v.runs_in_hsm()) continue;
    ++ran;
    Result<SecretBytes> plain = hsm_->DecryptGcm(v.label(), v.iv, v.aad, Concat(v.ct, v.tag));
    ASSERT_TRUE(plain.ok()) << "tcId " << v.id << ": " << plain.error().ToString();
    EXPECT_EQ(Bytes(plain->expose().begin(), plain->expose().end()), v.msg) << "tcId " << v.id;
    EXPECT_EQ(v.result, "valid") << "tcId " << v.id;
  }
  EXPECT_EQ(ran, 52);
}

TEST_F(WycheproofAesGcmTest, EncryptGcm_WithTheVectorsIv_GivesCiphertextAndTag) {
  for (const Vector& v : *vectors_) {
    if (!v.runs_in_hsm()) continue;
    Result<Bytes> sealed = hsm_->EncryptGcm(v.label(), v.iv, v.aad, v.msg);
    ASSERT_TRUE(sealed.ok()) << "tcId " << v.id << ": " << sealed.error().ToString();
    EXPECT_EQ(*sealed, Concat(v.ct, v.tag)) << "tcId " << v.id;
  }
}

TEST_F(WycheproofAesGcmTest, DecryptGcm_RefusesEveryBitFlipOfTheTag) {
  for (const Vector& v : *vectors_) {
    if (!v.runs_in_hsm()) continue;
    for (std::size_t bit = 0; bit < v.tag.size() * 8; ++bit) {
      Bytes sealed = Concat(v.ct, v.tag);
      sealed[v.ct.size() + bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      Result<SecretBytes> plain = hsm_->DecryptGcm(v.label(), v.iv, v.aad, sealed);
      ASSERT_FALSE(plain.ok()) << "tcId " << v.id << " bit " << bit;
      EXPECT_EQ(plain.error().code(), "decrypt_failed") << "tcId " << v.id << " bit " << bit;
    }
  }
}

// Every other vector (other IV or tag sizes, empty AAD, and with them all of Wycheproof's
// "invalid" ones) is refused by our API before the module sees it.
TEST_F(WycheproofAesGcmTest, OtherVectors_AreRefusedBeforeTheModule) {
  int refused = 0;
  for (const Vector& v : *vectors_) {
    if (v.runs_in_hsm()) continue;
    ++refused;
    Result<SecretBytes> plain = hsm_->DecryptGcm("no-such-key", v.iv, v.aad, Concat(v.ct, v.tag));
    ASSERT_FALSE(plain.ok()) << "tcId " << v.id;
    EXPECT_EQ(plain.error().code(), "invalid_gcm_input") << "tcId " << v.id;
    Result<Bytes> sealed = hsm_->EncryptGcm("no-such-key", v.iv, v.aad, v.msg);
    ASSERT_FALSE(sealed.ok()) << "tcId " << v.id;
    EXPECT_EQ(sealed.error().code(), "invalid_gcm_input") << "tcId " << v.id;
  }
  EXPECT_EQ(refused, 316 - 52);
}

}  // namespace
}  // namespace weftkit::test

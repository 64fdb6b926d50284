// Hsm against a real SoftHSM token: master keys are created with the DESIGN.md template and
// stay inside, AES-GCM round-trips and rejects every kind of tampering, and the session pool
// and handle cache hold up under load.
#include "pkcs11/hsm.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>

#include "pkcs11/return_codes.h"
#include "test/pkcs11/hsm_fixture.h"
#include "test/pkcs11/raw_token.h"

namespace weftkit::pkcs11 {
namespace {

class HsmTest : public HsmFixture {
 protected:
  std::vector<std::uint8_t> Encrypt(const std::string& label, std::string_view plaintext) {
    auto ciphertext = hsm_->EncryptGcm(label, iv_, aad_, Bytes(plaintext));
    EXPECT_TRUE(ciphertext.ok()) << ciphertext.error().ToString();
    return ciphertext.ok() ? *ciphertext : std::vector<std::uint8_t>{};
  }
};

TEST_F(HsmTest, CreateAesKey_ReadsBackTheDesignTemplate) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  auto attributes = hsm_->ReadAesKeyAttributes("orders-v1");
  ASSERT_TRUE(attributes.ok()) << attributes.error().ToString();
  EXPECT_TRUE(attributes->sensitive);
  EXPECT_FALSE(attributes->extractable);
  EXPECT_TRUE(attributes->always_sensitive);
  EXPECT_TRUE(attributes->never_extractable);
  EXPECT_FALSE(attributes->modifiable);
  EXPECT_TRUE(attributes->private_);
  EXPECT_TRUE(attributes->token);
  EXPECT_TRUE(attributes->encrypt);
  EXPECT_TRUE(attributes->decrypt);
  EXPECT_FALSE(attributes->wrap);
  EXPECT_FALSE(attributes->unwrap);
  EXPECT_FALSE(attributes->sign);
  EXPECT_FALSE(attributes->verify);
  EXPECT_FALSE(attributes->derive);
  EXPECT_EQ(attributes->value_len, 32u);
}

TEST_F(HsmTest, CreateAesKey_KeyValueCannotBeReadThroughTheRawApi) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  auto raw = RawToken::Open(token_->module_path(), token_->label(), token_->pin());
  ASSERT_NE(raw, nullptr);
  auto keys = raw->Find("orders-v1", CKO_SECRET_KEY);
  ASSERT_EQ(keys.size(), 1u);

  std::array<std::uint8_t, 32> value{};
  CK_ATTRIBUTE attribute{CKA_VALUE, value.data(), value.size()};
  CK_RV rv = raw->functions()->C_GetAttributeValue(raw->session(), keys[0], &attribute, 1);
  EXPECT_EQ(rv, CKR_ATTRIBUTE_SENSITIVE) << ReturnCodeName(rv);
  EXPECT_EQ(attribute.ulValueLen, CK_UNAVAILABLE_INFORMATION);
}

TEST_F(HsmTest, CreateAesKey_PkcsToolSeesSensitiveNeverExtractable) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::string command = "pkcs11-tool --module " + token_->module_path() + " --token-label " +
                        token_->label() + " --login --pin " + token_->pin() +
                        " --list-objects --type secrkey 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 512> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  ASSERT_EQ(pclose(pipe), 0) << output;

  EXPECT_NE(output.find("orders-v1"), std::string::npos) << output;
  EXPECT_NE(output.find("Access:     sensitive, always sensitive, never extractable"),
            std::string::npos)
      << output;
}

TEST_F(HsmTest, CreateAesKey_FailsAlreadyExistsForATakenLabel) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  EXPECT_TRUE(hsm_->ObjectExists("orders-v1"));
  Status again = hsm_->CreateAesKey("orders-v1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(again.error().code(), "hsm_label_exists");
}

TEST_F(HsmTest, EncryptGcm_RoundTripsThroughDecryptGcm) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "a data encryption key!");
  EXPECT_EQ(ciphertext.size(), 22u + 16u);
  EXPECT_NE(std::vector<std::uint8_t>(ciphertext.begin(), ciphertext.begin() + 22),
            Bytes("a data encryption key!"));

  auto plaintext = hsm_->DecryptGcm("orders-v1", iv_, aad_, ciphertext);
  ASSERT_TRUE(plaintext.ok()) << plaintext.error().ToString();
  EXPECT_EQ(plaintext->expose_chars(), "a data encryption key!");
}

TEST_F(HsmTest, EncryptGcm_RoundTripsAnEmptyPlaintextAndLeavesSessionsUsable) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "");
  EXPECT_EQ(ciphertext.size(), 16u);
  auto plaintext = hsm_->DecryptGcm("orders-v1", iv_, aad_, ciphertext);
  ASSERT_TRUE(plaintext.ok()) << plaintext.error().ToString();
  EXPECT_TRUE(plaintext->empty());
  // Every pooled session still accepts a new operation.
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(Encrypt("orders-v1", "dek").empty());
}

TEST_F(HsmTest, DecryptGcm_FailsDataLossForWrongAadOrIv) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "dek");

  auto wrong_aad = hsm_->DecryptGcm("orders-v1", iv_, Bytes("key=orders;version=2"), ciphertext);
  ASSERT_FALSE(wrong_aad.ok());
  EXPECT_EQ(wrong_aad.error().kind(), ErrorKind::kDataLoss);
  EXPECT_EQ(wrong_aad.error().code(), "decrypt_failed");

  auto wrong_iv = hsm_->DecryptGcm("orders-v1", Bytes("0123456789ac"), aad_, ciphertext);
  ASSERT_FALSE(wrong_iv.ok());
  EXPECT_EQ(wrong_iv.error().code(), "decrypt_failed");
}

TEST_F(HsmTest, DecryptGcm_FailsDataLossForEveryFlippedBit) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  const std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "dek-bytes");
  for (std::size_t bit = 0; bit < ciphertext.size() * 8; ++bit) {
    std::vector<std::uint8_t> tampered = ciphertext;
    tampered[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    auto result = hsm_->DecryptGcm("orders-v1", iv_, aad_, tampered);
    ASSERT_FALSE(result.ok()) << "bit " << bit;
    ASSERT_EQ(result.error().code(), "decrypt_failed") << "bit " << bit;
  }
}

TEST_F(HsmTest, DecryptGcm_FailsDataLossForTruncatedInput) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  const std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "dek-bytes");
  for (std::size_t size = 0; size < ciphertext.size(); ++size) {
    std::vector<std::uint8_t> truncated(ciphertext.begin(), ciphertext.begin() + size);
    auto result = hsm_->DecryptGcm("orders-v1", iv_, aad_, truncated);
    ASSERT_FALSE(result.ok()) << "size " << size;
    ASSERT_EQ(result.error().code(), "decrypt_failed") << "size " << size;
  }
}

TEST_F(HsmTest, EncryptGcm_RefusesEmptyAadAndShortIvBeforeCallingTheModule) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  auto empty_aad = hsm_->EncryptGcm("orders-v1", iv_, {}, Bytes("dek"));
  ASSERT_FALSE(empty_aad.ok());
  EXPECT_EQ(empty_aad.error().kind(), ErrorKind::kInternal);
  EXPECT_EQ(empty_aad.error().code(), "invalid_gcm_input");

  auto decrypt_empty_aad = hsm_->DecryptGcm("orders-v1", iv_, {}, Encrypt("orders-v1", "dek"));
  ASSERT_FALSE(decrypt_empty_aad.ok());
  EXPECT_EQ(decrypt_empty_aad.error().code(), "invalid_gcm_input");

  auto short_iv = hsm_->EncryptGcm("orders-v1", Bytes("short"), aad_, Bytes("dek"));
  ASSERT_FALSE(short_iv.ok());
  EXPECT_EQ(short_iv.error().code(), "invalid_gcm_input");
}

TEST_F(HsmTest, EncryptGcm_FailsNotFoundForUnknownLabel) {
  auto result = hsm_->EncryptGcm("no-such-key", iv_, aad_, Bytes("dek"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::kNotFound);
}

TEST_F(HsmTest, DestroyObjects_MakesLaterDecryptFailNotFound) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "dek");  // caches the handle
  ASSERT_TRUE(hsm_->DestroyObjects("orders-v1").ok());
  EXPECT_FALSE(hsm_->ObjectExists("orders-v1"));

  auto result = hsm_->DecryptGcm("orders-v1", iv_, aad_, ciphertext);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(result.error().code(), "hsm_key_not_found");

  Status again = hsm_->DestroyObjects("orders-v1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::kNotFound);
}

TEST_F(HsmTest, DecryptGcm_RecoversFromAHandleDestroyedBehindItsBack) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  std::vector<std::uint8_t> ciphertext = Encrypt("orders-v1", "dek");  // caches the handle
  auto raw = RawToken::Open(token_->module_path(), token_->label(), token_->pin());
  ASSERT_NE(raw, nullptr);
  auto keys = raw->Find("orders-v1", CKO_SECRET_KEY);
  ASSERT_EQ(keys.size(), 1u);
  ASSERT_EQ(raw->functions()->C_DestroyObject(raw->session(), keys[0]), CKR_OK);

  // The cached handle is stale; the look-up that follows finds nothing.
  auto result = hsm_->DecryptGcm("orders-v1", iv_, aad_, ciphertext);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "hsm_key_not_found");

  // A new key under the same label is found afresh, and the old ciphertext does not open.
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  auto with_new_key = hsm_->DecryptGcm("orders-v1", iv_, aad_, ciphertext);
  ASSERT_FALSE(with_new_key.ok());
  EXPECT_EQ(with_new_key.error().code(), "decrypt_failed");
}

TEST_F(HsmTest, EncryptGcm_StaysCorrectWithManyObjectsOnTheToken) {
  // Hundreds of other objects make every C_FindObjects in SoftHSM slow; the handle cache must
  // still hand each label its own key.
  auto raw = RawToken::Open(token_->module_path(), token_->label(), token_->pin());
  ASSERT_NE(raw, nullptr);
  for (int i = 0; i < 290; ++i) {
    std::string label = "filler-" + std::to_string(i);
    CK_OBJECT_CLASS data_class = CKO_DATA;
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE filler[] = {{CKA_CLASS, &data_class, sizeof(data_class)},
                             {CKA_TOKEN, &yes, sizeof(yes)},
                             {CKA_PRIVATE, &no, sizeof(no)},
                             {CKA_LABEL, label.data(), label.size()}};
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
    ASSERT_EQ(raw->functions()->C_CreateObject(raw->session(), filler, 4, &handle), CKR_OK);
  }
  constexpr int kKeys = 10;
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(hsm_->CreateAesKey("key-" + std::to_string(i)).ok()) << i;
  }

  // A ciphertext opens under its own key only, round after round.
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      std::string label = "key-" + std::to_string(i);
      std::string other = "key-" + std::to_string((i + 1) % kKeys);
      std::vector<std::uint8_t> ciphertext = Encrypt(label, label);
      auto plaintext = hsm_->DecryptGcm(label, iv_, aad_, ciphertext);
      ASSERT_TRUE(plaintext.ok()) << label;
      EXPECT_EQ(plaintext->expose_chars(), label);
      EXPECT_FALSE(hsm_->DecryptGcm(other, iv_, aad_, ciphertext).ok()) << label;
    }
  }
}

TEST_F(HsmTest, EncryptGcm_ConcurrentCallersShareASmallPool) {
  ASSERT_TRUE(hsm_->CreateAesKey("orders-v1").ok());
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::string message = "thread " + std::to_string(t) + " round " + std::to_string(round);
        auto ciphertext = hsm_->EncryptGcm("orders-v1", iv_, aad_, Bytes(message));
        if (!ciphertext.ok()) {
          ++failures;
          continue;
        }
        auto plaintext = hsm_->DecryptGcm("orders-v1", iv_, aad_, *ciphertext);
        if (!plaintext.ok() || plaintext->expose_chars() != message) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(HsmTest, Open_FindsTheTokenByUri) {
  hsm_.reset();  // one Hsm per process
  HsmConfig config = Config();
  config.token_label.clear();
  config.token_uri = "pkcs11:model=SoftHSM%20v2;token=" + token_->label();
  auto hsm = Hsm::Open(std::move(config));
  ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
  EXPECT_NE((*hsm)->token_description().find("token=" + token_->label()), std::string::npos);
}

TEST_F(HsmTest, Open_FindsTheTokenBySerialFromItsDescription) {
  std::string description = hsm_->token_description();
  std::string serial = description.substr(description.find("serial=") + 7);
  ASSERT_FALSE(serial.empty());
  hsm_.reset();

  HsmConfig config = Config();
  config.token_label.clear();
  config.token_uri = "pkcs11:serial=" + serial;
  EXPECT_TRUE(Hsm::Open(std::move(config)).ok());
}

TEST_F(HsmTest, Open_FailsNotFoundForAnotherTokenLabel) {
  hsm_.reset();
  HsmConfig config = Config();
  config.token_label = "not-" + token_->label();
  auto hsm = Hsm::Open(std::move(config));
  ASSERT_FALSE(hsm.ok());
  EXPECT_EQ(hsm.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(hsm.error().code(), "hsm_token_not_found");
}

TEST_F(HsmTest, Open_FailsLoginWithoutRevealingThePin) {
  hsm_.reset();
  HsmConfig config = Config();
  std::string wrong_pin = "wrong-" + token_->pin();
  config.pin = SecretBytes::CopyOf(wrong_pin);
  auto hsm = Hsm::Open(std::move(config));
  ASSERT_FALSE(hsm.ok());
  EXPECT_EQ(hsm.error().code(), "hsm_login_failed");
  EXPECT_NE(hsm.error().detail().find("CKR_PIN_INCORRECT"), std::string::npos);
  EXPECT_EQ(hsm.error().ToString().find(wrong_pin), std::string::npos);
  EXPECT_EQ(hsm.error().ToString().find(token_->pin()), std::string::npos);
}

TEST_F(HsmTest, Open_FailsForAMissingModule) {
  hsm_.reset();
  HsmConfig config = Config();
  config.module_path = token_->dir() / "no-such-module.so";
  auto hsm = Hsm::Open(std::move(config));
  ASSERT_FALSE(hsm.ok());
  EXPECT_EQ(hsm.error().code(), "hsm_module_load_failed");
}

TEST_F(HsmTest, GenerateRandom_ReturnsFreshBytes) {
  auto first = hsm_->GenerateRandom(32);
  auto second = hsm_->GenerateRandom(32);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->size(), 32u);
  EXPECT_FALSE(first->ConstantTimeEquals(*second));
}

TEST_F(HsmTest, Probe_SucceedsOnAHealthyToken) {
  EXPECT_TRUE(hsm_->Probe().ok());
  EXPECT_TRUE(hsm_->ready());
}

}  // namespace
}  // namespace weftkit::pkcs11

// KeyService against a fresh SoftHSM token and a real SQLite file: the lifecycle rules of
// docs/key-lifecycle.md and the DEK operations, including every bit flip and truncation of a
// real envelope. A fake clock drives rotation periods and destruction waits.
#include "kms/key_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "kms/envelope.h"
#include "kms/sqlite_key_store.h"
#include "pkcs11/hsm.h"
#include "store/database.h"
#include "test/support/softhsm_token.h"

namespace weftkit::kms {
namespace {

class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_ = test::SoftHsmToken::Create();
    ASSERT_NE(token_, nullptr);
    auto hsm = token_->OpenHsm();
    ASSERT_TRUE(hsm.ok()) << hsm.error().ToString();
    hsm_ = std::move(hsm).value();
    db_path_ = token_->dir() / "kms.db";
    OpenService();
  }

  void OpenService(std::uint64_t max_encryptions = 1ull << 30, std::uint64_t block = 1ull << 16) {
    service_.reset();
    store_.reset();
    auto database = store::Database::Open(db_path_);
    ASSERT_TRUE(database.ok()) << database.error().ToString();
    auto store = SqliteKeyStore::Open(std::move(database).value());
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(store).value();
    KeyServiceOptions options;
    options.max_encryptions_per_version = max_encryptions;
    options.reservation_block = block;
    options.min_destruction_wait_s = 10;
    options.now = [this] { return now_.load(); };
    auto service = KeyService::Create(*hsm_, *store_, options);
    ASSERT_TRUE(service.ok()) << service.error().ToString();
    service_ = std::move(service).value();
  }

  EncryptionContext Context(std::map<std::string, std::string> entries) {
    return EncryptionContext::Create(std::move(entries)).value();
  }

  SecretBytes Dek(char fill) { return SecretBytes::CopyOf(std::string(32, fill)); }

  KeyReport MustCreate(const std::string& name) {
    auto created = service_->CreateKey(name, "test key", std::nullopt);
    EXPECT_TRUE(created.ok()) << created.error().ToString();
    return created.ok() ? std::move(created).value() : KeyReport{};
  }

  std::unique_ptr<test::SoftHsmToken> token_;
  std::unique_ptr<pkcs11::Hsm> hsm_;
  std::filesystem::path db_path_;
  std::unique_ptr<SqliteKeyStore> store_;
  std::unique_ptr<KeyService> service_;
  std::atomic<std::int64_t> now_{1'800'000'000};
};

TEST_F(KeyServiceTest, CreateKey_MakesSensitiveNonExtractableHsmObject) {
  KeyReport report = MustCreate("orders");
  ASSERT_EQ(report.key.versions.size(), 1u);
  auto attributes = hsm_->ReadAesKeyAttributes(report.key.versions[0].hsm_label);
  ASSERT_TRUE(attributes.ok()) << attributes.error().ToString();
  EXPECT_TRUE(attributes->sensitive);
  EXPECT_FALSE(attributes->extractable);
  EXPECT_TRUE(attributes->never_extractable);
  EXPECT_FALSE(attributes->modifiable);
  EXPECT_EQ(report.key.primary_version, 1u);
}

TEST_F(KeyServiceTest, CreateKey_Fails_WhenNameExistsOrIsInvalid) {
  MustCreate("orders");
  EXPECT_EQ(service_->CreateKey("orders", "", std::nullopt).error().code(), "key_exists");
  EXPECT_EQ(service_->CreateKey("../etc", "", std::nullopt).error().code(), "invalid_key_name");
  EXPECT_EQ(service_->CreateKey("", "", std::nullopt).error().code(), "invalid_key_name");
}

TEST_F(KeyServiceTest, GenerateThenUnwrap_ReturnsSamePlaintext) {
  MustCreate("orders");
  auto generated = service_->GenerateDataKey("orders", 32, Context({{"table", "t1"}}));
  ASSERT_TRUE(generated.ok()) << generated.error().ToString();
  auto unwrapped = service_->Unwrap(generated->wrapped.envelope, Context({{"table", "t1"}}),
                                    std::string("orders"));
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.error().ToString();
  EXPECT_TRUE(unwrapped->plaintext.ConstantTimeEquals(generated->plaintext));
  EXPECT_EQ(unwrapped->key_version, 1u);
}

TEST_F(KeyServiceTest, Unwrap_Fails_WithDifferentContext) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('a'), Context({{"table", "t1"}}));
  ASSERT_TRUE(wrapped.ok());
  for (const auto& other :
       {Context({{"table", "t2"}}), Context({}), Context({{"table", "t1"}, {"x", ""}})}) {
    auto result = service_->Unwrap(wrapped->envelope, other, std::nullopt);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), "envelope_authentication_failed");
  }
}

TEST_F(KeyServiceTest, Unwrap_Fails_WhenEnvelopeNamesAnotherKey) {
  MustCreate("orders");
  MustCreate("payments");
  auto wrapped = service_->Wrap("orders", Dek('a'), Context({}));
  ASSERT_TRUE(wrapped.ok());
  auto result = service_->Unwrap(wrapped->envelope, Context({}), std::string("payments"));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), "envelope_wrong_key");
}

TEST_F(KeyServiceTest, Unwrap_NeverSucceeds_ForAnyBitFlipOrTruncation) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('k'), Context({{"db", "main"}}));
  ASSERT_TRUE(wrapped.ok());
  const std::vector<std::uint8_t>& good = wrapped->envelope;
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = good;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(service_->Unwrap(flipped, Context({{"db", "main"}}), std::nullopt).ok())
        << "bit " << bit;
  }
  for (std::size_t length = 0; length < good.size(); ++length) {
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + length);
    auto result = service_->Unwrap(cut, Context({{"db", "main"}}), std::nullopt);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code(), "envelope_truncated") << "length " << length;
  }
  EXPECT_TRUE(service_->Unwrap(good, Context({{"db", "main"}}), std::nullopt).ok());
}

TEST_F(KeyServiceTest, Rotate_KeepsOldVersionsUnwrapping) {
  MustCreate("orders");
  auto old_wrap = service_->Wrap("orders", Dek('o'), Context({}));
  ASSERT_TRUE(old_wrap.ok());
  auto rotated = service_->Rotate("orders");
  ASSERT_TRUE(rotated.ok()) << rotated.error().ToString();
  EXPECT_EQ(rotated->key.primary_version, 2u);

  auto new_wrap = service_->Wrap("orders", Dek('n'), Context({}));
  ASSERT_TRUE(new_wrap.ok());
  EXPECT_EQ(new_wrap->key_version, 2u);
  auto old_plain = service_->Unwrap(old_wrap->envelope, Context({}), std::nullopt);
  ASSERT_TRUE(old_plain.ok());
  EXPECT_EQ(old_plain->key_version, 1u);
  EXPECT_TRUE(old_plain->plaintext.ConstantTimeEquals(Dek('o')));
}

TEST_F(KeyServiceTest, Rewrap_MovesToPrimaryAndKeepsContext) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('r'), Context({{"page", "7"}}));
  ASSERT_TRUE(wrapped.ok());
  ASSERT_TRUE(service_->Rotate("orders").ok());
  auto rewrapped = service_->Rewrap(wrapped->envelope, Context({{"page", "7"}}), std::nullopt);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.error().ToString();
  EXPECT_EQ(rewrapped->key_version, 2u);
  EXPECT_FALSE(service_->Unwrap(rewrapped->envelope, Context({}), std::nullopt).ok());
  auto plain = service_->Unwrap(rewrapped->envelope, Context({{"page", "7"}}), std::nullopt);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->plaintext.ConstantTimeEquals(Dek('r')));
  // Rewrapping a current envelope returns it unchanged.
  auto again = service_->Rewrap(rewrapped->envelope, Context({{"page", "7"}}), std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->envelope, rewrapped->envelope);
  // Rewrapping with the wrong context fails like unwrap does.
  EXPECT_EQ(service_->Rewrap(wrapped->envelope, Context({}), std::nullopt).error().code(),
            "envelope_authentication_failed");
}

TEST_F(KeyServiceTest, DisableVersion_RefusesUnwrapUntilEnabled) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('d'), Context({}));
  ASSERT_TRUE(service_->Rotate("orders").ok());
  EXPECT_EQ(service_->DisableVersion("orders", 2).error().code(), "key_version_is_primary");
  ASSERT_TRUE(service_->DisableVersion("orders", 1).ok());
  EXPECT_EQ(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).error().code(),
            "key_version_disabled");
  ASSERT_TRUE(service_->EnableVersion("orders", 1).ok());
  EXPECT_TRUE(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).ok());
}

TEST_F(KeyServiceTest, ScheduledDestruction_CanBeCancelled) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('c'), Context({}));
  ASSERT_TRUE(service_->Rotate("orders").ok());
  EXPECT_EQ(service_->ScheduleDestruction("orders", 1, 5).error().code(),
            "destruction_wait_too_short");
  ASSERT_TRUE(service_->ScheduleDestruction("orders", 1, 100).ok());
  EXPECT_EQ(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).error().code(),
            "key_version_scheduled_for_destruction");
  auto cancelled = service_->CancelDestruction("orders", 1);
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->key.FindVersion(1)->state, VersionState::kDisabled);
  now_ += 1000;
  ASSERT_TRUE(service_->RunMaintenance().ok());
  ASSERT_TRUE(service_->EnableVersion("orders", 1).ok());
  EXPECT_TRUE(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).ok());
}

TEST_F(KeyServiceTest, Maintenance_DestroysHsmObjectAfterWait) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('x'), Context({}));
  KeyReport rotated = service_->Rotate("orders").value();
  std::string label = rotated.key.FindVersion(1)->hsm_label;
  ASSERT_TRUE(service_->ScheduleDestruction("orders", 1, 100).ok());

  now_ += 99;
  EXPECT_EQ(service_->RunMaintenance().value(), 0);
  EXPECT_TRUE(hsm_->ObjectExists(label));

  now_ += 1;
  EXPECT_EQ(service_->RunMaintenance().value(), 1);
  EXPECT_FALSE(hsm_->ObjectExists(label));
  KeyReport after = service_->GetKey("orders").value();
  EXPECT_EQ(after.key.FindVersion(1)->state, VersionState::kDestroyed);
  EXPECT_EQ(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).error().code(),
            "key_version_destroyed");
  EXPECT_EQ(service_->EnableVersion("orders", 1).error().code(), "key_version_state");
}

TEST_F(KeyServiceTest, MinDecryptVersion_RefusesOlderVersions) {
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('m'), Context({}));
  EXPECT_EQ(service_->SetMinDecryptVersion("orders", 2).error().code(),
            "invalid_min_decrypt_version");
  ASSERT_TRUE(service_->Rotate("orders").ok());
  ASSERT_TRUE(service_->SetMinDecryptVersion("orders", 2).ok());
  EXPECT_EQ(service_->Unwrap(wrapped->envelope, Context({}), std::nullopt).error().code(),
            "key_version_below_minimum");
}

TEST_F(KeyServiceTest, RotationPeriod_RotatesWhenElapsed) {
  MustCreate("orders");
  ASSERT_TRUE(service_->SetRotationPeriod("orders", 3600).ok());
  now_ += 3599;
  EXPECT_EQ(service_->RunMaintenance().value(), 0);
  now_ += 1;
  EXPECT_EQ(service_->RunMaintenance().value(), 1);
  EXPECT_EQ(service_->GetKey("orders")->key.primary_version, 2u);
  EXPECT_EQ(service_->RunMaintenance().value(), 0);
}

TEST_F(KeyServiceTest, Maintenance_ReportsEachChangeAsItHappens_AndStopsWhenReportingFails) {
  MustCreate("orders");
  MustCreate("billing");
  ASSERT_TRUE(service_->Rotate("orders").ok());
  ASSERT_TRUE(service_->ScheduleDestruction("orders", 1, 100).ok());
  ASSERT_TRUE(service_->SetRotationPeriod("billing", 60).ok());
  ASSERT_TRUE(service_->SetRotationPeriod("orders", 60).ok());
  now_ += 100;

  // Recording the first change fails: nothing else may change unrecorded.
  std::vector<std::string> seen;
  auto describe = [&seen](const MaintenanceChange& change) {
    seen.push_back(
        std::string(change.kind == MaintenanceChange::Kind::kRotated ? "rotated " : "destroyed ") +
        change.key_name + " v" + std::to_string(change.version) + " " + change.reason);
  };
  auto failing = service_->RunMaintenance([&](const MaintenanceChange& change) -> Status {
    describe(change);
    return Error(ErrorKind::kUnavailable, "audit_unavailable", "test");
  });
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code(), "audit_unavailable");
  EXPECT_EQ(seen, std::vector<std::string>{"destroyed orders v1 destruction_due"});
  EXPECT_EQ(service_->GetKey("billing")->key.primary_version, 1u);

  seen.clear();
  auto changes = service_->RunMaintenance([&](const MaintenanceChange& change) -> Status {
    describe(change);
    return OkStatus();
  });
  ASSERT_TRUE(changes.ok()) << changes.error().ToString();
  EXPECT_EQ(*changes, 2);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"rotated billing v2 rotation_period",
                                            "rotated orders v3 rotation_period"}));
}

TEST_F(KeyServiceTest, EncryptionLimit_ForcesRotationBeforeItIsExceeded) {
  OpenService(/*max_encryptions=*/5, /*block=*/2);
  MustCreate("orders");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(service_->Wrap("orders", Dek('l'), Context({}))->key_version, 1u);
  }
  // The sixth wrap would exceed the limit under v1: the key rotates and v2 takes it.
  auto sixth = service_->Wrap("orders", Dek('l'), Context({}));
  ASSERT_TRUE(sixth.ok()) << sixth.error().ToString();
  EXPECT_EQ(sixth->key_version, 2u);
  KeyReport report = service_->GetKey("orders").value();
  EXPECT_EQ(report.encryptions.at(1), 6u);  // the refused attempt is counted too
  EXPECT_EQ(report.encryptions.at(2), 1u);
}

TEST_F(KeyServiceTest, Maintenance_RotatesNearTheEncryptionLimit) {
  OpenService(/*max_encryptions=*/10, /*block=*/4);
  MustCreate("orders");
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(service_->Wrap("orders", Dek('z'), Context({})).ok());
  EXPECT_EQ(service_->RunMaintenance().value(), 1);
  EXPECT_EQ(service_->GetKey("orders")->key.primary_version, 2u);
}

TEST_F(KeyServiceTest, Restart_KeepsKeysAndNeverUnderCountsEncryptions) {
  OpenService(1ull << 30, /*block=*/100);
  MustCreate("orders");
  auto wrapped = service_->Wrap("orders", Dek('p'), Context({}));
  ASSERT_TRUE(service_->Rotate("orders").ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(service_->Wrap("orders", Dek('q'), Context({})).ok());

  OpenService(1ull << 30, 100);
  KeyReport report = service_->GetKey("orders").value();
  EXPECT_EQ(report.key.primary_version, 2u);
  EXPECT_GE(report.encryptions.at(1), 1u);
  EXPECT_GE(report.encryptions.at(2), 3u);
  auto plain = service_->Unwrap(wrapped->envelope, Context({}), std::nullopt);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->plaintext.ConstantTimeEquals(Dek('p')));
}

TEST_F(KeyServiceTest, Wrap_Fails_ForBadDekLengthOrUnknownKey) {
  MustCreate("orders");
  EXPECT_EQ(service_->Wrap("orders", SecretBytes(15), Context({})).error().code(),
            "invalid_dek_length");
  EXPECT_EQ(service_->Wrap("orders", SecretBytes(65), Context({})).error().code(),
            "invalid_dek_length");
  EXPECT_EQ(service_->Wrap("nope", Dek('a'), Context({})).error().code(), "key_not_found");
  EXPECT_EQ(service_->GenerateDataKey("orders", 8, Context({})).error().code(),
            "invalid_dek_length");
}

TEST_F(KeyServiceTest, ConcurrentWrapsAndRotations_AllUnwrap) {
  MustCreate("orders");
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::vector<std::vector<std::uint8_t>> envelopes;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto wrapped = service_->Wrap("orders", Dek('c'), Context({}));
        if (!wrapped.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        envelopes.push_back(wrapped->envelope);
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 5; ++i) {
      if (!service_->Rotate("orders").ok()) ++failures;
    }
  });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(service_->GetKey("orders")->key.primary_version, 6u);
  for (const auto& envelope : envelopes) {
    EXPECT_TRUE(service_->Unwrap(envelope, Context({}), std::nullopt).ok());
  }
}

}  // namespace
}  // namespace weftkit::kms

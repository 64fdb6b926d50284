// The key lifecycle through the real kmsd: create, list, rotate, version states, destruction by
// the maintenance pass, settings, authorization, and persistence across a restart.
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using KeyApiTest = KmsdTest;

std::string RunCommand(const std::string& command) {
  std::string output;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return output;
  std::array<char, 4096> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe.get()) != nullptr) output += buffer.data();
  return output;
}

TEST_F(KeyApiTest, CreateShowList_ReportVersionsAndState) {
  HttpResponse created =
      Call(*officer_, "POST", "/v1/keys",
           {{"name", "orders"}, {"description", "orders DB"}, {"rotation_period_s", 86400}});
  ASSERT_EQ(created.status, 201) << created.body;
  nlohmann::json key = Json(created);
  EXPECT_EQ(key["primary_version"], 1);
  EXPECT_EQ(key["versions"][0]["state"], "enabled");
  EXPECT_EQ(key["versions"][0]["encryptions"], 0);
  EXPECT_EQ(key["rotation_period_s"], 86400);
  EXPECT_FALSE(key["next_rotation_at"].is_null());

  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys", {{"name", "orders"}}).status, 409);
  HttpResponse shown = Call(*engine_, "GET", "/v1/keys/orders");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(Json(shown)["name"], "orders");

  CreateKey("payments");
  // The orders engine sees only its own key; the officer sees both.
  EXPECT_EQ(Json(Call(*engine_, "GET", "/v1/keys"))["keys"].size(), 1u);
  EXPECT_EQ(Json(Call(*officer_, "GET", "/v1/keys"))["keys"].size(), 2u);
  EXPECT_EQ(Call(*engine_, "GET", "/v1/keys/payments").status, 403);
  EXPECT_EQ(Call(*officer_, "GET", "/v1/keys/nope").status, 404);
}

TEST_F(KeyApiTest, MasterKeyObject_IsSensitiveAndNeverExtractableInTheHsm) {
  CreateKey("orders");
  std::string listing = RunCommand("pkcs11-tool --module " + kmsd_->token().module_path() +
                                   " --token-label " + kmsd_->token().label() + " --login --pin " +
                                   kmsd_->token().pin() + " --list-objects --type secrkey 2>&1");
  EXPECT_NE(listing.find("wk-mk/orders/v1/"), std::string::npos) << listing;
  EXPECT_NE(listing.find("sensitive"), std::string::npos) << listing;
  EXPECT_NE(listing.find("never extractable"), std::string::npos) << listing;
}

TEST_F(KeyApiTest, Engine_CannotManageKeys) {
  CreateKey("orders");
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys", {{"name", "orders.extra"}}).status, 403);
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/orders/rotate").status, 403);
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/orders/versions/1/disable").status, 403);
  HttpResponse denied = Call(*engine_, "PATCH", "/v1/keys/orders", {{"min_decrypt_version", 1}});
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Code(denied), "forbidden");
}

TEST_F(KeyApiTest, Rotate_ThenVersionStates_FollowTheLifecycle) {
  CreateKey("orders");
  HttpResponse rotated = Call(*officer_, "POST", "/v1/keys/orders/rotate");
  ASSERT_EQ(rotated.status, 200);
  EXPECT_EQ(Json(rotated)["primary_version"], 2);

  EXPECT_EQ(Code(Call(*officer_, "POST", "/v1/keys/orders/versions/2/disable")),
            "key_version_is_primary");
  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/1/disable").status, 200);
  nlohmann::json key = Json(Call(*officer_, "GET", "/v1/keys/orders"));
  EXPECT_EQ(key["versions"][0]["state"], "disabled");
  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/1/enable").status, 200);

  HttpResponse scheduled = Call(
      *officer_, "POST", "/v1/keys/orders/versions/1/schedule-destruction", {{"wait_s", 3600}});
  ASSERT_EQ(scheduled.status, 200);
  EXPECT_EQ(Json(scheduled)["versions"][0]["state"], "scheduled_for_destruction");
  EXPECT_FALSE(Json(scheduled)["versions"][0]["destroy_after"].is_null());
  HttpResponse cancelled = Call(*officer_, "POST", "/v1/keys/orders/versions/1/cancel-destruction");
  EXPECT_EQ(Json(cancelled)["versions"][0]["state"], "disabled");
  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/9/enable").status, 404);
  EXPECT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/x/enable").status, 400);
}

TEST_F(KeyApiTest, ScheduledVersion_IsDestroyedInTheHsmAfterItsWait) {
  CreateKey("orders");
  nlohmann::json wrapped =
      Json(Call(*engine_, "POST", "/v1/keys/orders/generate-data-key-without-plaintext"));
  ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/rotate").status, 200);
  ASSERT_EQ(
      Call(*officer_, "POST", "/v1/keys/orders/versions/1/schedule-destruction", {{"wait_s", 1}})
          .status,
      200);
  std::string state;
  for (int attempt = 0; attempt < 60 && state != "destroyed"; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = Json(Call(*officer_, "GET", "/v1/keys/orders"))["versions"][0]["state"];
  }
  ASSERT_EQ(state, "destroyed");
  HttpResponse unwrap =
      Call(*engine_, "POST", "/v1/keys/orders/unwrap", {{"wrapped", wrapped["wrapped"]}});
  EXPECT_EQ(unwrap.status, 422);
  EXPECT_EQ(Code(unwrap), "key_version_destroyed");
  std::string listing = RunCommand("pkcs11-tool --module " + kmsd_->token().module_path() +
                                   " --token-label " + kmsd_->token().label() + " --login --pin " +
                                   kmsd_->token().pin() + " --list-objects --type secrkey 2>&1");
  EXPECT_EQ(listing.find("wk-mk/orders/v1/"), std::string::npos) << listing;
  EXPECT_NE(listing.find("wk-mk/orders/v2/"), std::string::npos) << listing;

  // The destruction has its own audit entry, by kmsd, which the change history attributes to it.
  // The entry is written just after the store changes: wait for it.
  std::string destroyed_by;
  nlohmann::json history;
  for (int attempt = 0; attempt < 30 && destroyed_by.empty(); ++attempt) {
    history = Json(Call(*officer_, "GET", "/v1/audit/compliance/change-history"));
    for (const auto& event : history["events"]) {
      if (event["event"] == "version_destroyed" && event["version"] == 1) {
        destroyed_by =
            event["principal"].get<std::string>() + " from " + event["source"].get<std::string>();
      }
    }
    if (destroyed_by != "kmsd from key_store+audit_log") {
      destroyed_by.clear();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_EQ(destroyed_by, "kmsd from key_store+audit_log") << history.dump();
}

TEST_F(KeyApiTest, Settings_MinDecryptVersionAndRotationPeriod) {
  CreateKey("orders");
  nlohmann::json wrapped =
      Json(Call(*engine_, "POST", "/v1/keys/orders/generate-data-key-without-plaintext"));
  Call(*officer_, "POST", "/v1/keys/orders/rotate");
  HttpResponse updated = Call(*officer_, "PATCH", "/v1/keys/orders",
                              {{"min_decrypt_version", 2}, {"rotation_period_s", 3600}});
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(Json(updated)["min_decrypt_version"], 2);
  EXPECT_EQ(Json(updated)["rotation_period_s"], 3600);
  EXPECT_EQ(
      Code(Call(*engine_, "POST", "/v1/keys/orders/unwrap", {{"wrapped", wrapped["wrapped"]}})),
      "key_version_below_minimum");
  EXPECT_EQ(Code(Call(*officer_, "PATCH", "/v1/keys/orders", {{"min_decrypt_version", 3}})),
            "invalid_min_decrypt_version");
  EXPECT_EQ(Code(Call(*officer_, "PATCH", "/v1/keys/orders", {{"rotation_period_s", 5}})),
            "invalid_field");
  HttpResponse off = Call(*officer_, "PATCH", "/v1/keys/orders", {{"rotation_period_s", nullptr}});
  EXPECT_TRUE(Json(off)["rotation_period_s"].is_null());
}

TEST_F(KeyApiTest, Restart_KeepsKeysVersionsAndOldEnvelopes) {
  CreateKey("orders");
  nlohmann::json generated = Json(
      Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", {{"context", {{"table", "t"}}}}));
  ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/rotate").status, 200);

  kmsd_->Restart();
  auto engine = kmsd_->Client("engine");
  ASSERT_NE(engine, nullptr);
  nlohmann::json key = Json(Call(*engine, "GET", "/v1/keys/orders"));
  EXPECT_EQ(key["primary_version"], 2);
  EXPECT_GE(key["versions"][0]["encryptions"].get<int>(), 1);
  HttpResponse unwrapped = Call(*engine, "POST", "/v1/keys/orders/unwrap",
                                {{"wrapped", generated["wrapped"]}, {"context", {{"table", "t"}}}});
  ASSERT_EQ(unwrapped.status, 200);
  EXPECT_EQ(Json(unwrapped)["plaintext"], generated["plaintext"]);
}

}  // namespace
}  // namespace weftkit::test

// DEK operations through the real kmsd: round trips, contexts, rotation and rewrap, batches,
// every kind of bad input, authorization, and what must never reach the log or a client.
#include <set>

#include "common/base64.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

class DekApiTest : public KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
  }

  nlohmann::json Generate(const nlohmann::json& context = nlohmann::json::object()) {
    HttpResponse response =
        Call(*engine_, "POST", "/v1/keys/orders/generate-data-key", {{"context", context}});
    EXPECT_EQ(response.status, 200) << response.body;
    return Json(response);
  }

  HttpResponse Unwrap(const std::string& wrapped,
                      const nlohmann::json& context = nlohmann::json::object()) {
    return Call(*engine_, "POST", "/v1/keys/orders/unwrap",
                {{"wrapped", wrapped}, {"context", context}});
  }
};

TEST_F(DekApiTest, GenerateThenUnwrap_ReturnsTheSameDek) {
  nlohmann::json generated = Generate({{"table", "orders"}});
  EXPECT_EQ(generated["key"], "orders");
  EXPECT_EQ(generated["key_version"], 1);
  EXPECT_EQ(Base64Decode(generated["plaintext"].get<std::string>())->size(), 32u);
  HttpResponse unwrapped = Unwrap(generated["wrapped"], {{"table", "orders"}});
  ASSERT_EQ(unwrapped.status, 200) << unwrapped.body;
  EXPECT_EQ(Json(unwrapped)["plaintext"], generated["plaintext"]);
  EXPECT_FALSE(Json(unwrapped).contains("wrapped"));
}

TEST_F(DekApiTest, GenerateWithoutPlaintext_ReturnsOnlyTheWrappedForm) {
  HttpResponse response = Call(
      *engine_, "POST", "/v1/keys/orders/generate-data-key-without-plaintext", {{"bytes", 16}});
  ASSERT_EQ(response.status, 200);
  nlohmann::json body = Json(response);
  EXPECT_FALSE(body.contains("plaintext"));
  HttpResponse unwrapped = Unwrap(body["wrapped"]);
  ASSERT_EQ(unwrapped.status, 200);
  EXPECT_EQ(Base64Decode(Json(unwrapped)["plaintext"].get<std::string>())->size(), 16u);
}

TEST_F(DekApiTest, WrapSuppliedDek_UnwrapsToIt) {
  std::string dek = Base64Encode(AsBytes("0123456789abcdef0123456789abcdef"));
  HttpResponse wrapped = Call(*engine_, "POST", "/v1/keys/orders/wrap",
                              {{"plaintext", dek}, {"context", {{"page", "1"}}}});
  ASSERT_EQ(wrapped.status, 200) << wrapped.body;
  EXPECT_FALSE(Json(wrapped).contains("plaintext"));
  EXPECT_EQ(Json(Unwrap(Json(wrapped)["wrapped"], {{"page", "1"}}))["plaintext"], dek);
}

TEST_F(DekApiTest, Unwrap_Fails_WithAnotherContext) {
  nlohmann::json generated = Generate({{"table", "a"}});
  for (const nlohmann::json& other : {nlohmann::json{{"table", "b"}}, nlohmann::json::object(),
                                      nlohmann::json{{"table", "a"}, {"extra", "1"}}}) {
    HttpResponse response = Unwrap(generated["wrapped"], other);
    EXPECT_EQ(response.status, 422);
    EXPECT_EQ(Code(response), "envelope_authentication_failed");
  }
}

TEST_F(DekApiTest, Rotation_OldDeksStillUnwrapAndRewrapMovesThem) {
  nlohmann::json old = Generate({{"t", "1"}});
  ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/rotate").status, 200);
  EXPECT_EQ(Generate()["key_version"], 2);
  EXPECT_EQ(Json(Unwrap(old["wrapped"], {{"t", "1"}}))["plaintext"], old["plaintext"]);

  HttpResponse rewrapped = Call(*engine_, "POST", "/v1/keys/orders/rewrap",
                                {{"wrapped", old["wrapped"]}, {"context", {{"t", "1"}}}});
  ASSERT_EQ(rewrapped.status, 200) << rewrapped.body;
  nlohmann::json body = Json(rewrapped);
  EXPECT_EQ(body["key_version"], 2);
  EXPECT_FALSE(body.contains("plaintext"));
  EXPECT_EQ(rewrapped.body.find(old["plaintext"].get<std::string>()), std::string::npos);
  EXPECT_EQ(Json(Unwrap(body["wrapped"], {{"t", "1"}}))["plaintext"], old["plaintext"]);
  EXPECT_EQ(Code(Unwrap(body["wrapped"])), "envelope_authentication_failed");
}

TEST_F(DekApiTest, DisabledVersion_RefusesUnwrap) {
  nlohmann::json old = Generate();
  Call(*officer_, "POST", "/v1/keys/orders/rotate");
  ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/1/disable").status, 200);
  EXPECT_EQ(Code(Unwrap(old["wrapped"])), "key_version_disabled");
  ASSERT_EQ(Call(*officer_, "POST", "/v1/keys/orders/versions/1/enable").status, 200);
  EXPECT_EQ(Unwrap(old["wrapped"]).status, 200);
}

TEST_F(DekApiTest, Batch_OneBadItemFailsAlone) {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) items.push_back({{"context", {{"page", std::to_string(i)}}}});
  HttpResponse generated =
      Call(*engine_, "POST", "/v1/keys/orders/batch/generate-data-key", {{"items", items}});
  ASSERT_EQ(generated.status, 200);
  nlohmann::json results = Json(generated)["results"];
  ASSERT_EQ(results.size(), 1000u);

  nlohmann::json unwrap_items = nlohmann::json::array();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(results[i]["ok"].get<bool>());
    unwrap_items.push_back(
        {{"wrapped", results[i]["wrapped"]}, {"context", {{"page", std::to_string(i)}}}});
  }
  unwrap_items[500]["context"]["page"] = "wrong";
  unwrap_items[501]["wrapped"] = "not base64!";
  unwrap_items[502] = {{"wrapped", results[502]["wrapped"]}, {"contxt", {}}};
  HttpResponse unwrapped =
      Call(*engine_, "POST", "/v1/keys/orders/batch/unwrap", {{"items", unwrap_items}});
  ASSERT_EQ(unwrapped.status, 200);
  nlohmann::json out = Json(unwrapped)["results"];
  ASSERT_EQ(out.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    if (i >= 500 && i <= 502) continue;
    ASSERT_TRUE(out[i]["ok"].get<bool>()) << i;
    EXPECT_EQ(out[i]["plaintext"], results[i]["plaintext"]) << i;
  }
  EXPECT_EQ(out[500]["error"]["code"], "envelope_authentication_failed");
  EXPECT_EQ(out[501]["error"]["code"], "invalid_field");
  EXPECT_EQ(out[502]["error"]["code"], "unknown_field");
}

TEST_F(DekApiTest, Batch_OverTheLimitIsRefusedWhole) {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 1001; ++i) items.push_back(nlohmann::json::object());
  HttpResponse response =
      Call(*engine_, "POST", "/v1/keys/orders/batch/generate-data-key", {{"items", items}});
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(Code(response), "batch_too_large");
}

TEST_F(DekApiTest, EveryTruncationAndBitFlip_IsRefused) {
  nlohmann::json generated = Generate({{"t", "x"}});
  std::vector<std::uint8_t> good = *Base64Decode(generated["wrapped"].get<std::string>());
  for (std::size_t length = 0; length < good.size(); ++length) {
    std::vector<std::uint8_t> cut(good.begin(), good.begin() + length);
    HttpResponse response = Unwrap(Base64Encode(cut), {{"t", "x"}});
    EXPECT_EQ(response.status, 400) << length;
    EXPECT_EQ(Code(response), "envelope_truncated") << length;
  }
  std::vector<std::uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_EQ(Code(Unwrap(Base64Encode(longer), {{"t", "x"}})), "envelope_oversized");

  std::set<std::string> codes;
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    std::vector<std::uint8_t> flipped = good;
    flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
    HttpResponse response = Unwrap(Base64Encode(flipped), {{"t", "x"}});
    ASSERT_NE(response.status, 200) << "bit " << bit;
    EXPECT_FALSE(Json(response).contains("plaintext"));
    codes.insert(Code(response));
  }
  // Header flips are caught by the decoder or the key lookup, the rest by the GCM tag.
  EXPECT_TRUE(codes.count("envelope_authentication_failed"));
  EXPECT_TRUE(codes.count("envelope_bad_magic"));
  EXPECT_TRUE(codes.count("envelope_unknown_version"));
}

TEST_F(DekApiTest, BadInput_GetsAClearErrorAndIsNotEchoed) {
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {"/v1/keys/orders/unwrap", "{not json", 400, "malformed_json"},
      {"/v1/keys/orders/unwrap", "[1,2]", 400, "malformed_json"},
      {"/v1/keys/orders/unwrap", R"({"wrapped":"@@@@"})", 400, "invalid_field"},
      {"/v1/keys/orders/unwrap", R"({"wrapped":12})", 400, "invalid_field"},
      {"/v1/keys/orders/unwrap", R"({"wrapped":"AAAA","secret_probe_field":1})", 400,
       "unknown_field"},
      {"/v1/keys/orders/wrap", R"({"plaintext":"c2hvcnQ="})", 400, "invalid_dek_length"},
      {"/v1/keys/orders/wrap", R"({"plaintext":"c2hvcnQ"})", 400, "invalid_field"},
      {"/v1/keys/orders/generate-data-key", R"({"bytes":8})", 400, "invalid_field"},
      {"/v1/keys/orders/generate-data-key", R"({"context":{"k":1}})", 400, "invalid_field"},
      {"/v1/keys/orders/generate-data-key", R"({"context":"x"})", 400, "invalid_field"},
      {"/v1/keys/orders.missing/generate-data-key", "{}", 404, "key_not_found"},
  };
  for (const Case& test : cases) {
    auto response =
        engine_->Send("POST", test.path, test.body, {{"content-type", "application/json"}});
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->status, test.status) << test.body;
    EXPECT_EQ(Code(*response), test.code) << test.body;
    EXPECT_EQ(response->Header("content-type"), "application/problem+json");
    EXPECT_EQ(response->body.find("secret_probe_field"), std::string::npos);
    EXPECT_EQ(response->body.find("@@@@"), std::string::npos);
  }
}

TEST_F(DekApiTest, EnvelopeOfAnotherKey_IsRefusedOnThisKeysRoute) {
  CreateKey("orders.archive");
  HttpResponse other = Call(*engine_, "POST", "/v1/keys/orders.archive/generate-data-key");
  ASSERT_EQ(other.status, 200);
  HttpResponse response = Unwrap(Json(other)["wrapped"]);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Code(response), "envelope_wrong_key");
}

TEST_F(DekApiTest, Authorization_EnginesOwnKeysOnlyAndOfficersNeverUnwrap) {
  CreateKey("payments");
  EXPECT_EQ(Call(*engine_, "POST", "/v1/keys/payments/generate-data-key").status, 403);
  nlohmann::json generated = Generate();
  HttpResponse officer_unwrap =
      Call(*officer_, "POST", "/v1/keys/orders/unwrap", {{"wrapped", generated["wrapped"]}});
  EXPECT_EQ(officer_unwrap.status, 403);
  auto admin = kmsd_->Client("admin");
  ASSERT_NE(admin, nullptr);
  EXPECT_EQ(
      Call(*admin, "POST", "/v1/keys/orders/unwrap", {{"wrapped", generated["wrapped"]}}).status,
      403);
}

TEST_F(DekApiTest, Log_NeverContainsPinsOrPlaintexts) {
  std::vector<std::string> secrets = {kmsd_->token().pin()};
  for (int i = 0; i < 5; ++i) {
    nlohmann::json generated = Generate({{"i", std::to_string(i)}});
    secrets.push_back(generated["plaintext"]);
    Unwrap(generated["wrapped"], {{"i", "wrong"}});  // a failure is logged with its detail
  }
  std::string supplied = Base64Encode(AsBytes("supplied-dek-0123456789abcdefghij"));
  Call(*engine_, "POST", "/v1/keys/orders/wrap", {{"plaintext", supplied}});
  secrets.push_back(supplied);
  kmsd_->Stop();
  std::string log = kmsd_->Log();
  ASSERT_NE(log.find("request_failed"), std::string::npos);
  for (const std::string& secret : secrets) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "a secret reached the log";
  }
}

}  // namespace
}  // namespace weftkit::test

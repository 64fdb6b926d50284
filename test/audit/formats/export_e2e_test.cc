// The audit export, stream and compliance routes through the real kmsd: real SoftHSM token,
// real SQLite audit log, real TLS 1.3. The forwarder test follows the stream while an engine's
// requests produce entries, drops its connection now and then (discarding the response it was
// reading), reconnects and resumes from its stored cursor; it must see every index exactly once,
// each line identical to the export of the same range.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "siem_line_parser.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

std::vector<std::string> Lines(const std::string& body) {
  std::vector<std::string> lines;
  std::istringstream stream(body);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

std::uint64_t IndexOf(const std::string& json_line) {
  return nlohmann::json::parse(json_line).at("index").get<std::uint64_t>();
}

class AuditExportE2eTest : public KmsdTest {
 protected:
  HttpResponse Get(HttpsClient& client, const std::string& target) {
    auto response = client.Send("GET", target);
    EXPECT_TRUE(response.ok()) << target << ": " << response.error().ToString();
    return response.ok() ? std::move(response).value() : HttpResponse{};
  }

  // Every line of the log's [0, to) as JSON lines, following Link.
  std::vector<std::string> ExportAll(std::uint64_t to) {
    std::vector<std::string> lines;
    std::string target = "/v1/audit/export?format=jsonl&from=0&to=" + std::to_string(to);
    while (!target.empty()) {
      HttpResponse page = Get(*officer_, target);
      EXPECT_EQ(page.status, 200) << page.body;
      if (page.status != 200) break;
      for (std::string& line : Lines(page.body)) lines.push_back(std::move(line));
      std::string link = page.Header("link");
      target = link.empty() ? "" : link.substr(1, link.find('>') - 1);
    }
    return lines;
  }
};

TEST_F(AuditExportE2eTest, Stream_ForwarderSeesEveryIndexOnce_AcrossDisconnects) {
  CreateKey("orders");
  std::atomic<bool> producing{true};
  std::thread producer([this, &producing] {
    auto engine = kmsd_->Client("engine");
    ASSERT_NE(engine, nullptr);
    for (int i = 0; i < 40; ++i) {
      auto response = engine->Send("POST", "/v1/keys/orders/generate-data-key", "{}",
                                   {{"content-type", "application/json"}});
      ASSERT_TRUE(response.ok());
      if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
    producing = false;
  });

  std::mt19937 random(3);
  auto forwarder = kmsd_->Client("officer");
  ASSERT_NE(forwarder, nullptr);
  std::optional<std::uint64_t> cursor;
  std::map<std::uint64_t, int> seen;
  std::map<std::uint64_t, std::string> lines;
  std::optional<std::uint64_t> stop_after;
  int disconnects = 0;
  for (int request = 0; request < 400; ++request) {
    std::string target =
        "/v1/audit/stream?format=jsonl&wait=2&limit=" + std::to_string(1 + random() % 7);
    if (cursor) target += "&after=" + std::to_string(*cursor);
    HttpResponse page = Get(*forwarder, target);
    ASSERT_EQ(page.status, 200) << page.body;
    if (random() % 5 == 0) {
      // The connection drops before the page is processed: reconnect and ask again.
      ++disconnects;
      forwarder = kmsd_->Client("officer");
      ASSERT_NE(forwarder, nullptr);
      continue;
    }
    for (const std::string& line : Lines(page.body)) {
      std::uint64_t index = IndexOf(line);
      ++seen[index];
      lines[index] = line;
    }
    std::string next = page.Header("audit-cursor");
    if (!next.empty()) cursor = std::stoull(next);
    // The forwarder's own reads are audited too, so the log never stops growing: stop once
    // everything written by the time the producer finished has been seen.
    if (!producing && !stop_after) stop_after = std::stoull(page.Header("audit-size")) - 1;
    if (stop_after && cursor && *cursor >= *stop_after) break;
  }
  producer.join();
  ASSERT_TRUE(stop_after.has_value());
  ASSERT_TRUE(cursor.has_value());
  EXPECT_GT(disconnects, 0);

  std::vector<std::string> exported = ExportAll(*cursor + 1);
  ASSERT_EQ(exported.size(), *cursor + 1);
  for (std::uint64_t index = 0; index <= *cursor; ++index) {
    EXPECT_EQ(seen[index], 1) << "index " << index;
    EXPECT_EQ(lines[index], exported[index]) << "index " << index;
  }
}

TEST_F(AuditExportE2eTest, Stream_AnswersWhenEntryArrives_WhileWaiting) {
  HttpResponse now = Get(*officer_, "/v1/audit/stream?wait=0&limit=1000");
  ASSERT_EQ(now.status, 200);
  std::uint64_t size = std::stoull(now.Header("audit-size"));
  // The wait below returns at once with the stream request's own entry, so ask after it.
  std::thread producer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto engine = kmsd_->Client("engine");
    ASSERT_NE(engine, nullptr);
    ASSERT_TRUE(engine->Send("GET", "/v1/keys/orders").ok());
  });
  auto started = std::chrono::steady_clock::now();
  HttpResponse page = Get(*officer_, "/v1/audit/stream?wait=10&after=" + std::to_string(size));
  auto waited = std::chrono::steady_clock::now() - started;
  producer.join();
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_FALSE(page.body.empty());
  EXPECT_LT(waited, std::chrono::seconds(8));
}

TEST_F(AuditExportE2eTest, Export_WritesParsableCefAndLeef) {
  CreateKey("orders");
  for (const char* format : {"cef", "leef"}) {
    HttpResponse page = Get(*officer_, std::string("/v1/audit/export?format=") + format);
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.Header("content-type"), "text/plain; charset=utf-8");
    std::vector<std::string> lines = Lines(page.body);
    ASSERT_FALSE(lines.empty());
    for (const std::string& line : lines) {
      auto parsed = std::string(format) == "cef" ? audit::testing::ParseCef(line)
                                                 : audit::testing::ParseLeef(line);
      EXPECT_TRUE(parsed.has_value()) << line;
    }
  }
}

TEST_F(AuditExportE2eTest, ExportAndCompliance_FailForbidden_Engine) {
  for (const char* target :
       {"/v1/audit/export", "/v1/audit/stream?wait=0", "/v1/audit/compliance/access-review",
        "/v1/audit/compliance/change-history", "/v1/audit/compliance/report"}) {
    HttpResponse response = Get(*engine_, target);
    EXPECT_EQ(response.status, 403) << target;
    EXPECT_EQ(Code(response), "forbidden") << target;
  }
}

TEST_F(AuditExportE2eTest, Export_FailsInvalidQuery_BadParameters) {
  HttpResponse response = Get(*officer_, "/v1/audit/export?from=1&from=2");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Code(response), "invalid_query");
}

TEST_F(AuditExportE2eTest, AccessReview_ShowsEngineLimitedToItsKey) {
  CreateKey("orders");
  CreateKey("billing");
  HttpResponse review = Get(*officer_, "/v1/audit/compliance/access-review");
  ASSERT_EQ(review.status, 200) << review.body;
  nlohmann::json engine;
  const nlohmann::json body = Json(review);
  for (const auto& principal : body["principals"]) {
    if (principal["id"] == kEngine) engine = principal;
  }
  ASSERT_TRUE(engine.is_object()) << review.body;
  ASSERT_EQ(engine["keys"].size(), 1u);
  EXPECT_EQ(engine["keys"][0]["resource"], "key/orders");

  HttpResponse csv = Get(*officer_, "/v1/audit/compliance/access-review?format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.Header("content-type"), "text/csv; charset=utf-8; header=present");
  EXPECT_NE(csv.body.find(std::string(kEngine) + ",service,false,false,engine,engine,key/orders,"),
            std::string::npos)
      << csv.body;
}

TEST_F(AuditExportE2eTest, ChangeHistoryAndReport_NameWhoRotated) {
  CreateKey("orders");
  HttpResponse rotated = Call(*officer_, "POST", "/v1/keys/orders/rotate");
  ASSERT_EQ(rotated.status, 200) << rotated.body;

  HttpResponse history = Get(*officer_, "/v1/audit/compliance/change-history");
  ASSERT_EQ(history.status, 200) << history.body;
  std::vector<std::string> events;
  const nlohmann::json body = Json(history);
  for (const auto& event : body["events"]) {
    events.push_back(event["event"].get<std::string>() + " v" +
                     (event["version"].is_null() ? "-" : event["version"].dump()) + " by " +
                     event["principal"].get<std::string>());
  }
  EXPECT_EQ(events, (std::vector<std::string>{std::string("key_created v1 by ") + kOfficer,
                                              std::string("key_rotated v2 by ") + kOfficer}))
      << history.body;

  HttpResponse report = Get(*officer_, "/v1/audit/compliance/report");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(Json(report)["counts"]["rotations"], 1) << report.body;
  EXPECT_GE(Json(report)["counts"]["denied_operations"], 0);
}

}  // namespace
}  // namespace weftkit::test

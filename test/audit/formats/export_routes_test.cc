// The export and stream routes over an in-memory log: paging with Link and Audit-Next, strict
// query checking, authorization, and a forwarder that follows the stream while entries are
// produced, loses responses, resumes from its cursor and must see every index exactly once.
// (test/audit/formats/export_e2e_test.cc does the same through the real kmsd.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "api/audit_export_routes.h"
#include "audit_entry_samples.h"
#include "memory_audit_reader.h"
#include "siem_line_parser.h"

namespace weftkit::api {
namespace {

using audit::testing::MemoryAuditReader;
using audit::testing::OrdinaryEntry;
using server::Request;
using server::Response;

class AuditExportRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { Register({}); }

  void Register(AuditExportOptions options) {
    router_ = server::Router();
    options.max_page_entries = 10;
    if (options.max_wait == std::chrono::seconds(25)) options.max_wait = std::chrono::seconds(2);
    options.product.version = "0.1.0";
    RegisterAuditExportRoutes(
        router_, reader_,
        [this](const SecurityContext& context, std::string_view action,
               std::string_view resource) -> Status {
          if (context.principal() == "auditor" && action == "audit.read" && resource == "audit") {
            return OkStatus();
          }
          ++denials_;
          return Error(ErrorKind::kPermissionDenied, "forbidden", "test authorizer");
        },
        options);
  }

  void Produce(int count) {
    for (int i = 0; i < count; ++i) reader_.Append(OrdinaryEntry());
  }

  Response Get(const std::string& path, const std::string& query,
               const std::string& principal = "auditor") {
    auto match = router_.Find("GET", path);
    EXPECT_EQ(match.outcome, server::Router::MatchOutcome::kMatched) << path;
    Request request;
    request.method = "GET";
    request.path = path;
    request.query = query;
    SecurityContext context({principal, AuthMethod::kMtls, {}, "req-test", "127.0.0.1:1", 0});
    return match.route->handler(request, context);
  }

  static std::string Header(const Response& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "";
  }

  // The audit indexes of a JSON lines body.
  static std::vector<std::uint64_t> Indexes(const Response& response) {
    std::vector<std::uint64_t> indexes;
    std::istringstream lines(response.body);
    for (std::string line; std::getline(lines, line);) {
      indexes.push_back(nlohmann::json::parse(line).at("index").get<std::uint64_t>());
    }
    return indexes;
  }

  static std::string ProblemCode(const Response& response) {
    return nlohmann::json::parse(response.body).value("code", "");
  }

  MemoryAuditReader reader_;
  server::Router router_;
  int denials_ = 0;
};

TEST_F(AuditExportRoutesTest, Export_ReturnsWholeRangeInPages_FollowingLink) {
  Produce(25);
  std::vector<std::uint64_t> seen;
  std::string query = "format=jsonl&from=3&to=24";
  for (int page = 0; page < 10 && !query.empty(); ++page) {
    Response response = Get("/v1/audit/export", query);
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(response.content_type, "application/jsonl; charset=utf-8");
    EXPECT_EQ(Header(response, "Audit-Size"), "25");
    auto indexes = Indexes(response);
    seen.insert(seen.end(), indexes.begin(), indexes.end());
    EXPECT_EQ(Header(response, "Audit-Next"), std::to_string(3 + seen.size()));
    std::string link = Header(response, "Link");
    query.clear();
    if (!link.empty()) {
      std::size_t start = link.find('?') + 1;
      query = link.substr(start, link.find('>') - start);
    }
  }
  std::vector<std::uint64_t> expected;
  for (std::uint64_t i = 3; i < 24; ++i) expected.push_back(i);
  EXPECT_EQ(seen, expected);
}

TEST_F(AuditExportRoutesTest, Export_DefaultsToWholeLog_NoRange) {
  Produce(4);
  Response response = Get("/v1/audit/export", "");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Indexes(response), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(Header(response, "Link"), "");
}

TEST_F(AuditExportRoutesTest, Export_ClampsToToLogSize_RangePastEnd) {
  Produce(3);
  Response response = Get("/v1/audit/export", "from=1&to=100");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Indexes(response), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(Header(response, "Audit-Next"), "3");
}

TEST_F(AuditExportRoutesTest, Export_WritesCefAndLeefLines) {
  Produce(2);
  Response cef = Get("/v1/audit/export", "format=cef");
  ASSERT_EQ(cef.status, 200);
  EXPECT_EQ(cef.content_type, "text/plain; charset=utf-8");
  std::istringstream cef_lines(cef.body);
  for (std::string line; std::getline(cef_lines, line);) {
    EXPECT_TRUE(audit::testing::ParseCef(line).has_value()) << line;
  }
  Response leef = Get("/v1/audit/export", "format=leef&from=1");
  ASSERT_EQ(leef.status, 200);
  auto parsed = audit::testing::ParseLeef(leef.body.substr(0, leef.body.size() - 1));
  ASSERT_TRUE(parsed.has_value()) << leef.body;
  EXPECT_EQ(parsed->fields.at("auditIndex"), "1");
}

TEST_F(AuditExportRoutesTest, Export_FailsInvalidQuery_MalformedParameters) {
  Produce(3);
  for (const char* query :
       {"format=xml", "format=JSONL", "from=-1", "from=1x", "from=", "from=%31",
        "from=99999999999999999999", "from=123456789012345678901", "limit=0", "limit=11",
        "from=2&to=1", "from=1&from=2", "after=1", "wait=1", "bogus=1", "from"}) {
    Response response = Get("/v1/audit/export", query);
    EXPECT_EQ(response.status, 400) << query;
    EXPECT_EQ(ProblemCode(response), "invalid_query") << query;
  }
}

TEST_F(AuditExportRoutesTest, ExportAndStream_FailForbidden_WithoutAuditRead) {
  Produce(1);
  EXPECT_EQ(Get("/v1/audit/export", "", "engine").status, 403);
  EXPECT_EQ(Get("/v1/audit/stream", "wait=0", "engine").status, 403);
  EXPECT_EQ(denials_, 2);
}

TEST_F(AuditExportRoutesTest, Export_FailsUnavailable_StoreDown) {
  reader_.FailWith(Error(ErrorKind::kUnavailable, "audit_unavailable", "test"));
  Response response = Get("/v1/audit/export", "");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(ProblemCode(response), "audit_unavailable");
}

TEST_F(AuditExportRoutesTest, Stream_ReturnsEntriesAfterCursor) {
  Produce(5);
  Response first = Get("/v1/audit/stream", "wait=0&limit=2");
  EXPECT_EQ(Indexes(first), (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(Header(first, "Audit-Cursor"), "1");
  Response next = Get("/v1/audit/stream", "wait=0&after=1");
  EXPECT_EQ(Indexes(next), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(Header(next, "Audit-Cursor"), "4");
  EXPECT_EQ(Header(next, "Audit-Next"), "5");
}

TEST_F(AuditExportRoutesTest, Stream_ReturnsEmptyWithSameCursor_NothingNewAndNoWait) {
  Produce(2);
  Response response = Get("/v1/audit/stream", "wait=0&after=1");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "");
  EXPECT_EQ(Header(response, "Audit-Cursor"), "1");
}

TEST_F(AuditExportRoutesTest, Stream_ReturnsEntryAsItArrives_WhileWaiting) {
  Produce(1);
  std::thread producer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    reader_.Append(OrdinaryEntry());
  });
  auto started = std::chrono::steady_clock::now();
  Response response = Get("/v1/audit/stream", "after=0&wait=2");
  auto waited = std::chrono::steady_clock::now() - started;
  producer.join();
  EXPECT_EQ(Indexes(response), (std::vector<std::uint64_t>{1}));
  EXPECT_LT(waited, std::chrono::milliseconds(1500));
}

TEST_F(AuditExportRoutesTest, Stream_FailsInvalidQuery_WaitOverMaximumOrAfterAtEnd) {
  for (const char* query : {"wait=3", "after=18446744073709551615", "from=1", "to=2"}) {
    Response response = Get("/v1/audit/stream", query);
    EXPECT_EQ(response.status, 400) << query;
  }
}

TEST_F(AuditExportRoutesTest, Stream_FailsCursorAhead_AfterPastEndOfLog) {
  Produce(3);
  EXPECT_EQ(Get("/v1/audit/stream", "wait=0&after=2").status, 200);
  Response response = Get("/v1/audit/stream", "wait=1&after=3");
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(ProblemCode(response), "audit_cursor_ahead");
}

TEST_F(AuditExportRoutesTest, Stream_FailsStreamBusy_NoWaitingSlotLeft) {
  AuditExportOptions options;
  options.max_waiting_streams = 0;
  Register(options);
  Response response = Get("/v1/audit/stream", "wait=1");
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(ProblemCode(response), "stream_busy");
}

// A forwarder follows the stream while a producer appends entries. Now and then a response is
// "lost" (the connection dropped before the forwarder processed it): the forwarder discards it
// and asks again from the cursor it last stored. It must see every index exactly once.
TEST_F(AuditExportRoutesTest, Stream_ForwarderSeesEveryIndexOnce_WithLostResponses) {
  constexpr int kEntries = 300;
  std::thread producer([this] {
    std::mt19937 random(5);
    for (int i = 0; i < kEntries; ++i) {
      reader_.Append(OrdinaryEntry());
      if (random() % 8 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });

  std::mt19937 random(7);
  std::optional<std::string> cursor;
  std::vector<int> seen(kEntries, 0);
  int lost = 0;
  for (int request = 0; request < 2000; ++request) {
    std::string query = "wait=1&limit=" + std::to_string(1 + random() % 10);
    if (cursor) query += "&after=" + *cursor;
    Response response = Get("/v1/audit/stream", query);
    ASSERT_EQ(response.status, 200) << response.body;
    if (random() % 5 == 0) {
      ++lost;
      continue;
    }
    for (std::uint64_t index : Indexes(response)) ++seen.at(index);
    std::string next_cursor = Header(response, "Audit-Cursor");
    if (!next_cursor.empty()) cursor = next_cursor;
    if (cursor == std::to_string(kEntries - 1)) break;
  }
  producer.join();
  EXPECT_GT(lost, 0);
  for (int i = 0; i < kEntries; ++i) EXPECT_EQ(seen[i], 1) << "index " << i;
}

}  // namespace
}  // namespace weftkit::api

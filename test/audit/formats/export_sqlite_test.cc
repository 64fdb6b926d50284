// The export and stream routes over the real audit log (AuditLog on a SQLite file, with its
// group-commit writer): several threads record entries with hostile values while a forwarder
// follows the stream, loses responses and resumes from its cursor. It must receive every index
// exactly once, each line equal to the stored entry.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "api/audit_export_routes.h"
#include "audit/audit_log.h"
#include "audit/formats/json_lines_encoder.h"
#include "audit_entry_samples.h"
#include "siem_line_parser.h"
#include "test/support/temp_dir.h"

namespace weftkit::api {
namespace {

class AuditExportSqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = audit::SqliteAuditStore::Open(dir_.path() / "audit.db");
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    auto log = audit::AuditLog::Open(std::move(store).value());
    ASSERT_TRUE(log.ok()) << log.error().ToString();
    log_ = std::move(log).value();
    AuditExportOptions options;
    options.max_page_entries = 50;
    options.max_wait = std::chrono::seconds(2);
    RegisterAuditExportRoutes(
        router_, *log_,
        [](const SecurityContext&, std::string_view, std::string_view) { return OkStatus(); },
        options);
  }

  server::Response Get(const std::string& path, const std::string& query) {
    auto match = router_.Find("GET", path);
    server::Request request;
    request.query = query;
    SecurityContext context({"auditor", AuthMethod::kMtls, {}, "req-test", "127.0.0.1:1", 0});
    return match.route->handler(request, context);
  }

  static std::string Header(const server::Response& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
      if (key == name) return value;
    }
    return "";
  }

  weftkit::testing::TempDir dir_;
  std::unique_ptr<audit::AuditLog> log_;
  server::Router router_;
};

TEST_F(AuditExportSqliteTest, Stream_ForwarderSeesEveryStoredEntryOnce_WhileWritersRecord) {
  constexpr int kWriters = 4;
  constexpr int kPerWriter = 60;
  constexpr int kTotal = kWriters * kPerWriter;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([this, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        audit::AuditEntry entry = audit::testing::HostileEntry();
        entry.request_id = "writer-" + std::to_string(w) + "-" + std::to_string(i);
        ASSERT_TRUE(log_->Record(entry).ok());
      }
    });
  }

  std::mt19937 random(11);
  std::optional<std::string> cursor;
  std::vector<int> seen(kTotal, 0);
  std::vector<std::string> lines(kTotal);
  for (int request = 0; request < 5000 && cursor != std::to_string(kTotal - 1); ++request) {
    std::string query = "format=jsonl&wait=1&limit=" + std::to_string(1 + random() % 20);
    if (cursor) query += "&after=" + *cursor;
    server::Response response = Get("/v1/audit/stream", query);
    ASSERT_EQ(response.status, 200) << response.body;
    if (random() % 4 == 0) continue;  // the connection dropped before processing
    std::istringstream body(response.body);
    for (std::string line; std::getline(body, line);) {
      auto index = nlohmann::json::parse(line).at("index").get<std::size_t>();
      ++seen.at(index);
      lines.at(index) = line;
    }
    std::string next = Header(response, "Audit-Cursor");
    if (!next.empty()) cursor = next;
  }
  for (auto& writer : writers) writer.join();

  auto stored = log_->Read(0, kTotal + 1);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), static_cast<std::size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i) {
    EXPECT_EQ(seen[i], 1) << "index " << i;
    EXPECT_EQ(lines[i], audit::formats::EncodeJsonLine((*stored)[i])) << "index " << i;
  }
}

TEST_F(AuditExportSqliteTest, Export_CefPagesCoverStoredLog) {
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(log_->Record(audit::testing::HostileEntry()).ok());
  std::uint64_t from = 0;
  std::vector<std::uint64_t> indexes;
  while (true) {
    server::Response response = Get("/v1/audit/export", "format=cef&from=" + std::to_string(from));
    ASSERT_EQ(response.status, 200);
    std::istringstream body(response.body);
    for (std::string line; std::getline(body, line);) {
      auto parsed = audit::testing::ParseCef(line);
      ASSERT_TRUE(parsed.has_value()) << line;
      indexes.push_back(std::stoull(parsed->fields.at("cn1")));
    }
    from = std::stoull(Header(response, "Audit-Next"));
    if (Header(response, "Link").empty()) break;
  }
  ASSERT_EQ(indexes.size(), 120u);
  for (std::uint64_t i = 0; i < indexes.size(); ++i) EXPECT_EQ(indexes[i], i);
}

}  // namespace
}  // namespace weftkit::api

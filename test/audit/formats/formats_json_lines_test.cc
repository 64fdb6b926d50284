// JSON lines encoding: the documented members in their order, nulls for absent numbers, one line
// per entry whatever the values hold, and exact values after parsing back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/formats/export_format.h"
#include "audit/formats/json_lines_encoder.h"
#include "audit_entry_samples.h"

namespace weftkit::audit::formats {
namespace {

using testing::HostileEntry;
using testing::OrdinaryEntry;

TEST(JsonLinesEncoderTest, EncodeJsonLine_ListsDocumentedMembersInOrder) {
  auto object = nlohmann::ordered_json::parse(EncodeJsonLine(OrdinaryEntry()));
  std::vector<std::string> keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"index", "time", "time_ms", "request_id", "principal",
                                            "auth_method", "peer", "action", "resource", "key_name",
                                            "key_version", "policy_version", "decision", "rule",
                                            "outcome", "status", "error_code", "previous_hash"}));
  EXPECT_EQ(object["time"], "2026-12-03T18:32:23.123Z");
  EXPECT_EQ(object["key_version"], 3);
  EXPECT_TRUE(object["policy_version"].is_null());
}

TEST(JsonLinesEncoderTest, EncodeJsonLine_KeepsEveryValueExactly_HostileEntry) {
  AuditEntry entry = HostileEntry();
  std::string line = EncodeJsonLine(entry);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  auto object = nlohmann::json::parse(line);
  EXPECT_EQ(object["principal"], entry.principal);
  EXPECT_EQ(object["action"], entry.action);
  EXPECT_EQ(object["resource"], entry.resource);
  EXPECT_EQ(object["error_code"], entry.error_code);
}

TEST(JsonLinesEncoderTest, EncodeJsonLine_ReplacesInvalidUtf8) {
  AuditEntry entry = OrdinaryEntry();
  entry.principal =
      "a\xFF"
      "b";
  auto object = nlohmann::json::parse(EncodeJsonLine(entry));
  EXPECT_EQ(object["principal"],
            "a\xEF\xBF\xBD"
            "b");
}

TEST(ExportFormatTest, ParseExportFormat_AcceptsTheThreeNames) {
  for (auto [name, format] :
       {std::pair{"jsonl", ExportFormat::kJsonLines}, std::pair{"cef", ExportFormat::kCef},
        std::pair{"leef", ExportFormat::kLeef}}) {
    auto parsed = ParseExportFormat(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, format);
    EXPECT_EQ(ExportFormatName(format), name);
  }
}

TEST(ExportFormatTest, ParseExportFormat_FailsInvalidFormat_UnknownOrCaseChanged) {
  for (const char* name : {"", "JSONL", "json", "cef ", "syslog"}) {
    auto parsed = ParseExportFormat(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.error().code(), "invalid_format");
  }
}

TEST(ExportFormatTest, EncodeEntryLine_EndsWithOneNewline_EveryFormat) {
  for (auto format : {ExportFormat::kJsonLines, ExportFormat::kCef, ExportFormat::kLeef}) {
    std::string line = EncodeEntryLine(format, HostileEntry(), SiemProduct{});
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1) << ExportFormatName(format);
  }
}

}  // namespace
}  // namespace weftkit::audit::formats

namespace weftkit::audit::formats {
namespace {

TEST(SiemProductTest, KmsdSiemProduct_NamesWeftKitKmsAndAVersion) {
  SiemProduct product = KmsdSiemProduct();
  EXPECT_EQ(product.vendor, "WeftKit");
  EXPECT_EQ(product.product, "KMS");
  EXPECT_FALSE(product.version.empty());
}

}  // namespace
}  // namespace weftkit::audit::formats

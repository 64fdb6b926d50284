// CSV for auditors: RFC 4180 quoting checked by a strict parser, and neutralised formula cells.
#include <gtest/gtest.h>

#include <optional>

#include "audit/compliance/csv_writer.h"

namespace weftkit::audit::compliance {
namespace {

// A strict RFC 4180 parser: records end with CRLF; quoted fields double their quotes; nothing
// follows a closing quote but a comma or the end of the record.
std::optional<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) return std::nullopt;
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            ++i;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(text[i]);
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r') {
        if (text[i] == '"' || text[i] == '\n') return std::nullopt;
        field.push_back(text[i++]);
      }
    }
    record.push_back(std::move(field));
    field.clear();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (text.substr(i, 2) != "\r\n") return std::nullopt;
    i += 2;
    records.push_back(std::move(record));
    record.clear();
  }
  return records;
}

TEST(CsvWriterTest, CsvField_LeavesPlainTextAlone) {
  EXPECT_EQ(CsvField("key/orders"), "key/orders");
}

TEST(CsvWriterTest, CsvField_QuotesCommaQuoteAndLineBreaks) {
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("a\nb"), "\"a\nb\"");
  EXPECT_EQ(CsvField("a\rb"), "\"a\rb\"");
}

TEST(CsvWriterTest, CsvField_NeutralisesFormulaStarters) {
  EXPECT_EQ(CsvField("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvField("+1"), "'+1");
  EXPECT_EQ(CsvField("-2+3"), "'-2+3");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\tx"), "'\tx");
  EXPECT_EQ(CsvField("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField(""), "");
}

TEST(CsvWriterTest, Row_RoundTripsThroughStrictParser_HostileFields) {
  std::vector<std::string> hostile{"plain", "a,b", "q\"uote", "line\r\nbreak",    "",
                                   "=cmd",  "-1",  "@x",      "unicode \xC3\xA9", ","};
  CsvWriter csv;
  csv.Row({"h1", "h2"});
  csv.Row(hostile);
  auto parsed = ParseCsv(csv.text());
  ASSERT_TRUE(parsed.has_value()) << csv.text();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], (std::vector<std::string>{"h1", "h2"}));
  std::vector<std::string> expected = hostile;
  for (std::string& field : expected) {
    if (!field.empty() && std::string_view("=+-@\t\r").find(field[0]) != std::string::npos) {
      field.insert(0, "'");
    }
  }
  EXPECT_EQ((*parsed)[1], expected);
}

}  // namespace
}  // namespace weftkit::audit::compliance

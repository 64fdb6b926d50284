// The INI dialect is the operator's interface: these tests pin what it accepts and that every
// refusal points at the offending line.
#include "server/ini_file.h"

#include <gtest/gtest.h>

namespace weftkit::server {
namespace {

// Parses `text` expecting success.
IniDocument MustParse(std::string_view text) {
  Result<IniDocument> document = ParseIni(text, "test.conf");
  EXPECT_TRUE(document.ok()) << document.error().ToString();
  return document.ok() ? std::move(document).value() : IniDocument{};
}

// Expects `text` to be refused with `code`, at `line` of "test.conf".
void ExpectRefused(std::string_view text, std::string_view code, int line) {
  Result<IniDocument> document = ParseIni(text, "test.conf");
  ASSERT_FALSE(document.ok()) << text;
  EXPECT_EQ(document.error().code(), code);
  EXPECT_EQ(document.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(document.error().detail().find("test.conf:" + std::to_string(line) + ": "),
            std::string::npos)
      << document.error().detail();
}

TEST(IniFileTest, ParseIni_ReadsSectionsKeysAndLines) {
  IniDocument document =
      MustParse("# comment\n[server]\nlisten = 127.0.0.1:1\n\n[log]\nlevel=debug\n");
  ASSERT_EQ(document.sections.size(), 2u);
  const IniSection& server = document.sections.at("server");
  EXPECT_EQ(server.line, 2);
  EXPECT_EQ(server.entries.at("listen").value, "127.0.0.1:1");
  EXPECT_EQ(server.entries.at("listen").line, 3);
  EXPECT_EQ(document.sections.at("log").entries.at("level").value, "debug");
  EXPECT_EQ(document.sections.at("log").entries.at("level").line, 6);
}

TEST(IniFileTest, ParseIni_SkipsBothCommentStyles) {
  IniDocument document = MustParse("; semicolon\n  # indented hash\n[a]\n; x = 1\n# y = 2\n");
  EXPECT_TRUE(document.sections.at("a").entries.empty());
}

TEST(IniFileTest, ParseIni_StripsInlineComment_AfterWhitespace) {
  IniDocument document = MustParse("[a]\nx = 5   # five\ny = 6\t; six\n");
  EXPECT_EQ(document.sections.at("a").entries.at("x").value, "5");
  EXPECT_EQ(document.sections.at("a").entries.at("y").value, "6");
}

TEST(IniFileTest, ParseIni_KeepsSemicolonAndHash_InsideABareValue) {
  // PKCS#11 URIs separate attributes with ';' and must survive unquoted.
  IniDocument document = MustParse("[a]\nuri = pkcs11:token=t;object=k#1\n");
  EXPECT_EQ(document.sections.at("a").entries.at("uri").value, "pkcs11:token=t;object=k#1");
}

TEST(IniFileTest, ParseIni_KeepsSpacesAndCommentCharacters_InsideQuotes) {
  IniDocument document = MustParse("[a]\nlabel = \"  my # token ; x \"  # comment\n");
  EXPECT_EQ(document.sections.at("a").entries.at("label").value, "  my # token ; x ");
}

TEST(IniFileTest, ParseIni_UnescapesQuoteAndBackslash_InQuotedValue) {
  IniDocument document = MustParse("[a]\nv = \"say \\\"hi\\\" \\\\ ok\"\n");
  EXPECT_EQ(document.sections.at("a").entries.at("v").value, "say \"hi\" \\ ok");
}

TEST(IniFileTest, ParseIni_AcceptsWindowsLineEndings) {
  IniDocument document = MustParse("[a]\r\nx = 1\r\n");
  EXPECT_EQ(document.sections.at("a").entries.at("x").value, "1");
}

TEST(IniFileTest, ParseIni_AcceptsEmptyQuotedValueAsEmpty) {
  IniDocument document = MustParse("[a]\nx = \"\"\n");
  EXPECT_EQ(document.sections.at("a").entries.at("x").value, "");
}

TEST(IniFileTest, ParseIni_Fails_DuplicateKeyNamesBothLines) {
  Result<IniDocument> document = ParseIni("[a]\nx = 1\n\nx = 2\n", "test.conf");
  ASSERT_FALSE(document.ok());
  EXPECT_EQ(document.error().code(), "config_duplicate_setting");
  EXPECT_NE(document.error().detail().find("test.conf:4: a.x is set twice (first on line 2)"),
            std::string::npos)
      << document.error().detail();
}

TEST(IniFileTest, ParseIni_Fails_DuplicateSection) {
  ExpectRefused("[a]\nx = 1\n[b]\n[a]\ny = 2\n", "config_duplicate_setting", 4);
}

TEST(IniFileTest, ParseIni_Fails_SettingBeforeAnySection) {
  ExpectRefused("# header\nx = 1\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_LineWithoutEquals) {
  ExpectRefused("[a]\nx = 1\nworkers 4\n", "config_syntax", 3);
}

TEST(IniFileTest, ParseIni_Fails_EmptyValue) {
  ExpectRefused("[a]\nx =\n", "config_syntax", 2);
  ExpectRefused("[a]\nx =   # nothing\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_UnterminatedQuote) {
  ExpectRefused("[a]\n\nx = \"abc\n", "config_syntax", 3);
}

TEST(IniFileTest, ParseIni_Fails_TextAfterClosingQuote) {
  ExpectRefused("[a]\nx = \"abc\" def\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_UnknownEscape) {
  ExpectRefused("[a]\nx = \"a\\nb\"\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_QuoteInsideBareValue) {
  ExpectRefused("[a]\nx = ab\"c\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_UpperCaseOrPunctuatedNames) {
  ExpectRefused("[Server]\n", "config_syntax", 1);
  ExpectRefused("[a]\nWorkers = 1\n", "config_syntax", 2);
  ExpectRefused("[a]\ntls.enabled = 1\n", "config_syntax", 2);
  ExpectRefused("[a]\n = 1\n", "config_syntax", 2);
}

TEST(IniFileTest, ParseIni_Fails_MalformedSectionHeader) {
  ExpectRefused("[a\n", "config_syntax", 1);
  ExpectRefused("[a] x = 1\n", "config_syntax", 1);
  ExpectRefused("[]\n", "config_syntax", 1);
}

TEST(IniFileTest, ParseIni_Fails_ControlCharacter) {
  ExpectRefused(std::string_view("[a]\nx = 1\0002\n", 12), "config_syntax", 2);
  ExpectRefused("[a]\nx = 1\x1b[0m\n", "config_syntax", 2);
}

}  // namespace
}  // namespace weftkit::server

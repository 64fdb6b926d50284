// Fuzzes what the audit export takes from outside and what it writes for SIEMs:
//   - ParseAuditQuery (api/audit_export_routes.h): any query string is parsed or refused with
//     kInvalidArgument "invalid_query", never anything else;
//   - the CEF, LEEF and JSON lines encoders (audit/formats/): for any field values, a line holds
//     no CR or LF, is well-formed UTF-8, and parses back with a strict parser; a value that is
//     well-formed UTF-8 without control characters comes back unchanged.
// Input: the query, then '\n', then the values of principal, resource and error code separated
// by '\n'.
#include <nlohmann/json.hpp>
#include <string>

#include "api/audit_export_routes.h"
#include "audit/formats/cef_encoder.h"
#include "audit/formats/json_lines_encoder.h"
#include "audit/formats/leef_encoder.h"
#include "audit/formats/siem_text.h"
#include "fuzz/fuzz_check.h"
#include "test/audit/formats/siem_line_parser.h"

namespace weftkit {
namespace {

bool IsCleanText(std::string_view text) {
  while (!text.empty()) {
    std::size_t length = audit::formats::Utf8CharacterLength(text);
    if (length == 0 || audit::formats::IsControlCharacter(text.substr(0, length))) return false;
    text.remove_prefix(length);
  }
  return true;
}

void CheckLine(const std::string& line) {
  FUZZ_CHECK(line.find_first_of("\r\n") == std::string::npos);
  std::string_view rest = line;
  while (!rest.empty()) {
    std::size_t length = audit::formats::Utf8CharacterLength(rest);
    FUZZ_CHECK(length > 0);
    rest.remove_prefix(length);
  }
}

void CheckQuery(std::string_view query) {
  static constexpr std::array<std::string_view, 6> kAll{"format", "from",  "to",
                                                        "after",  "limit", "wait"};
  auto parsed = api::ParseAuditQuery(query, kAll);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().kind() == ErrorKind::kInvalidArgument);
    FUZZ_CHECK(parsed.error().code() == "invalid_query");
  }
}

void CheckEncoders(std::string_view values) {
  audit::AuditEntry entry;
  auto [principal, rest] = fuzz::SplitOnce(values, '\n');
  auto [resource, error_code] = fuzz::SplitOnce(rest, '\n');
  entry.principal = principal;
  entry.resource = resource;
  entry.error_code = error_code;
  entry.action = std::string(principal.substr(0, 8));
  entry.peer = std::string(resource);
  const audit::formats::SiemProduct product{"WeftKit", "KMS", std::string(error_code)};

  std::string cef = audit::formats::EncodeCef(entry, product);
  CheckLine(cef);
  auto cef_fields = audit::testing::ParseCef(cef);
  FUZZ_CHECK(cef_fields.has_value());
  for (auto delimiter :
       {audit::formats::LeefDelimiter::kTab, audit::formats::LeefDelimiter::kCaret}) {
    std::string leef = audit::formats::EncodeLeef(entry, product, {delimiter});
    CheckLine(leef);
    auto leef_fields = audit::testing::ParseLeef(leef);
    FUZZ_CHECK(leef_fields.has_value());
    if (IsCleanText(principal) && !principal.empty()) {
      FUZZ_CHECK(leef_fields->fields.at("usrName") == principal);
    }
  }
  if (IsCleanText(principal) && !principal.empty()) {
    FUZZ_CHECK(cef_fields->fields.at("suser") == principal);
  }

  std::string json = audit::formats::EncodeJsonLine(entry);
  CheckLine(json);
  auto object = nlohmann::json::parse(json);
  if (IsCleanText(principal)) FUZZ_CHECK(object.at("principal") == principal);
}

}  // namespace
}  // namespace weftkit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto [query, values] = weftkit::fuzz::SplitOnce(weftkit::fuzz::AsText(data, size), '\n');
  weftkit::CheckQuery(query);
  weftkit::CheckEncoders(values);
  return 0;
}

#include "audit/compliance/csv_writer.h"

namespace weftkit::audit::compliance {
namespace {

constexpr std::string_view kFormulaStarters = "=+-@\t\r";
constexpr std::string_view kNeedsQuotes = ",\"\r\n";

}  // namespace

std::string CsvField(std::string_view field) {
  std::string text;
  if (!field.empty() && kFormulaStarters.find(field.front()) != std::string_view::npos) {
    text.push_back('\'');
  }
  text.append(field);
  if (text.find_first_of(kNeedsQuotes) == std::string::npos) return text;

  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted.push_back('"');
    quoted.push_back(c);
  }
  quoted.push_back('"');
  return quoted;
}

void CsvWriter::Row(const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) text_.push_back(',');
    text_.append(CsvField(fields[i]));
  }
  text_.append("\r\n");
}

}  // namespace weftkit::audit::compliance

#include "tools/kmsctl/output.h"

#include <algorithm>

namespace weftkit::kmsctl {

using nlohmann::json;

std::string CellText(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() &&
      std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
    std::string joined;
    for (const json& item : value) joined += (joined.empty() ? "" : ",") + item.get<std::string>();
    return joined.empty() ? "-" : joined;
  }
  return value.dump();
}

void Output::Table(const nlohmann::json& document, const std::string& rows_field,
                   const std::vector<Column>& columns) {
  if (json_) {
    out_ << document.dump(2) << "\n";
    return;
  }
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> widths;
  for (const Column& column : columns) widths.push_back(column.header.size());
  static const nlohmann::json kNoRows = nlohmann::json::array();
  const nlohmann::json& rows = document.contains(rows_field) ? document[rows_field] : kNoRows;
  for (const json& row : rows) {
    std::vector<std::string> line;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      line.push_back(
          CellText(row.contains(columns[c].field) ? row[columns[c].field] : nlohmann::json()));
      widths[c] = std::max(widths[c], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto print_line = [&](const std::vector<std::string>& line) {
    for (std::size_t c = 0; c < line.size(); ++c) {
      out_ << line[c];
      if (c + 1 < line.size()) out_ << std::string(widths[c] - line[c].size() + 2, ' ');
    }
    out_ << "\n";
  };
  std::vector<std::string> headers;
  for (const Column& column : columns) headers.push_back(column.header);
  print_line(headers);
  for (const auto& line : cells) print_line(line);
}

void Output::Object(const nlohmann::json& document) {
  if (json_ || !document.is_object()) {
    out_ << document.dump(json_ ? 2 : -1) << "\n";
    return;
  }
  std::size_t width = 0;
  for (const auto& [name, value] : document.items()) width = std::max(width, name.size());
  for (const auto& [name, value] : document.items()) {
    out_ << name << ":" << std::string(width - name.size() + 1, ' ') << CellText(value) << "\n";
  }
}

void Output::Message(const nlohmann::json& document, const std::string& message) {
  if (json_) {
    out_ << document.dump(2) << "\n";
  } else {
    out_ << message << "\n";
  }
}

}  // namespace weftkit::kmsctl

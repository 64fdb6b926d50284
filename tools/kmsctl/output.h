// Output: how kmsctl prints answers. With --json, the server's JSON as it came (indented), one
// document per command, for scripts and jq. Otherwise a table or "field: value" lines for people.
//
// Thread safety: single-threaded use.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace weftkit::kmsctl {

// A table column: its header and the field of each row it shows.
struct Column {
  std::string header;
  std::string field;
};

class Output {
 public:
  Output(bool json, std::ostream& out) : json_(json), out_(out) {}

  bool is_json() const { return json_; }

  // `document` as JSON; in text mode, the array `document[rows_field]` as a table.
  void Table(const nlohmann::json& document, const std::string& rows_field,
             const std::vector<Column>& columns);
  // `document` as JSON; in text mode, one "field: value" line per member (nested objects and
  // arrays printed compactly).
  void Object(const nlohmann::json& document);
  // `document` as JSON; in text mode, `message`.
  void Message(const nlohmann::json& document, const std::string& message);

 private:
  bool json_;
  std::ostream& out_;
};

// A cell's text: strings as they are, null as "-", arrays of strings comma-joined, anything else
// as compact JSON.
std::string CellText(const nlohmann::json& value);

}  // namespace weftkit::kmsctl

// CsvWriter: builds RFC 4180 CSV text that is also safe to open in a spreadsheet.
//
// RFC 4180: records end with CRLF; a field holding a comma, a double quote, CR or LF is enclosed
// in double quotes, and a double quote inside it is written twice.
//
// Spreadsheet formula injection (CWE-1236): a cell whose text starts with '=', '+', '-', '@',
// tab or CR may be run as a formula by Excel, LibreOffice or Google Sheets. Such a field gets
// a leading apostrophe ("'=cmd") before quoting, so it is shown as text. The exports write
// numbers that are never negative, so no number is changed by this.
//
// Thread safety: one writer per thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace weftkit::audit::compliance {

// `field` neutralised and quoted as described above.
std::string CsvField(std::string_view field);

class CsvWriter {
 public:
  // Appends one record.
  void Row(const std::vector<std::string>& fields);
  // The text written so far.
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace weftkit::audit::compliance

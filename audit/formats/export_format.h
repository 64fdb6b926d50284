// The formats the audit log can be exported and streamed in, chosen by name in the API's
// `format` query parameter, and one entry point that encodes an entry in any of them.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "audit/audit_entry.h"
#include "audit/formats/siem_product.h"
#include "common/error.h"

namespace weftkit::audit::formats {

enum class ExportFormat { kJsonLines, kCef, kLeef };

// "jsonl", "cef" or "leef". kInvalidArgument "invalid_format" for anything else.
Result<ExportFormat> ParseExportFormat(std::string_view name);
std::string_view ExportFormatName(ExportFormat format);

// The media type of a body of lines in `format`.
std::string_view ExportContentType(ExportFormat format);

// `entry` as one line of `format` followed by "\n" (LEEF with the tab delimiter).
std::string EncodeEntryLine(ExportFormat format, const AuditEntry& entry,
                            const SiemProduct& product);

}  // namespace weftkit::audit::formats

#include "audit/formats/export_format.h"

#include <array>

#include "audit/formats/cef_encoder.h"
#include "audit/formats/json_lines_encoder.h"
#include "audit/formats/leef_encoder.h"

namespace weftkit::audit::formats {
namespace {

struct FormatSpec {
  ExportFormat format;
  std::string_view name;
  std::string_view content_type;
  std::string (*encode)(const AuditEntry&, const SiemProduct&);
};

constexpr std::array<FormatSpec, 3> kFormats{{
    {ExportFormat::kJsonLines, "jsonl", "application/jsonl; charset=utf-8",
     [](const AuditEntry& entry, const SiemProduct&) { return EncodeJsonLine(entry); }},
    {ExportFormat::kCef, "cef", "text/plain; charset=utf-8", EncodeCef},
    {ExportFormat::kLeef, "leef", "text/plain; charset=utf-8",
     [](const AuditEntry& entry, const SiemProduct& product) {
       return EncodeLeef(entry, product);
     }},
}};

const FormatSpec& SpecOf(ExportFormat format) {
  for (const FormatSpec& spec : kFormats) {
    if (spec.format == format) return spec;
  }
  return kFormats[0];
}

}  // namespace

SiemProduct KmsdSiemProduct() { return SiemProduct{"WeftKit", "KMS", WEFTKIT_VERSION}; }

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  for (const FormatSpec& spec : kFormats) {
    if (spec.name == name) return spec.format;
  }
  return Error(ErrorKind::kInvalidArgument, "invalid_format",
               "format must be one of jsonl, cef, leef");
}

std::string_view ExportFormatName(ExportFormat format) { return SpecOf(format).name; }

std::string_view ExportContentType(ExportFormat format) { return SpecOf(format).content_type; }

std::string EncodeEntryLine(ExportFormat format, const AuditEntry& entry,
                            const SiemProduct& product) {
  std::string line = SpecOf(format).encode(entry, product);
  line.push_back('\n');
  return line;
}

}  // namespace weftkit::audit::formats

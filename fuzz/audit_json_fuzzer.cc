// Fuzzes the JSON parsers of the audit log that read what a server or an export file supplies
// to the verifier: audit::EntryFromJson (audit/entry_json.h), audit::CheckpointFromJson and
// audit::CheckpointKeysFromJwkSet (audit/checkpoint.h).
//
// The first byte picks the parser (0: entry, 1: checkpoint, 2: JWK set, modulo 3); the rest is
// the JSON text. Properties checked, all promised by those headers:
//   - refusals have kind invalid_argument and the parser's documented code;
//   - an accepted entry or checkpoint is a fixed point: serialising and parsing it again gives
//     the same JSON text;
//   - an accepted JWK set maps each kid to a key whose thumbprint is that kid.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "audit/checkpoint.h"
#include "audit/entry_json.h"
#include "fuzz/fuzz_check.h"

namespace weftkit {
namespace {

void CheckRefusal(const Error& error, const char* code) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code() == code);
}

void FuzzEntry(const nlohmann::json& json) {
  Result<audit::AuditEntry> entry = audit::EntryFromJson(json);
  if (!entry.ok()) return CheckRefusal(entry.error(), "audit_bad_entry_json");
  std::string text = audit::EntryToJson(*entry).dump();
  Result<audit::AuditEntry> again = audit::EntryFromJson(nlohmann::json::parse(text));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(audit::EntryToJson(*again).dump() == text);
}

void FuzzCheckpoint(const nlohmann::json& json) {
  Result<audit::Checkpoint> checkpoint = audit::CheckpointFromJson(json);
  if (!checkpoint.ok()) return CheckRefusal(checkpoint.error(), "audit_bad_checkpoint");
  FUZZ_CHECK(checkpoint->signature.size() == auth::kEs256SignatureBytes);
  std::string text = audit::CheckpointToJson(*checkpoint).dump();
  Result<audit::Checkpoint> again = audit::CheckpointFromJson(nlohmann::json::parse(text));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(audit::CheckpointToJson(*again).dump() == text);
}

void FuzzJwkSet(const nlohmann::json& json) {
  Result<audit::CheckpointKeys> keys = audit::CheckpointKeysFromJwkSet(json);
  if (!keys.ok()) return CheckRefusal(keys.error(), "audit_bad_jwk_set");
  for (const auto& [kid, key] : *keys) FUZZ_CHECK(key->Thumbprint() == kid);
}

}  // namespace
}  // namespace weftkit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  nlohmann::json json = nlohmann::json::parse(data + 1, data + size, nullptr,
                                              /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  switch (data[0] % 3) {
    case 0:
      weftkit::FuzzEntry(json);
      break;
    case 1:
      weftkit::FuzzCheckpoint(json);
      break;
    default:
      weftkit::FuzzJwkSet(json);
      break;
  }
  return 0;
}

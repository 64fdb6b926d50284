// Fuzzes the wrapped-DEK envelope decoder (kms/envelope.h) with arbitrary bytes.
//
// Properties checked, all promised by envelope.h:
//   - DecodeEnvelope never crashes, and refuses with kInvalidArgument and an "envelope_*" code;
//   - whatever it accepts passes ValidateEnvelope and encodes back to exactly the same bytes
//     (one accepted encoding per envelope, so a re-encoded envelope authenticates the same);
//   - every strict prefix of an accepted envelope is refused as "envelope_truncated";
//   - the AAD built from an accepted envelope is never empty (SoftHSM crashes on empty GCM AAD).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

#include "fuzz/fuzz_check.h"
#include "kms/encryption_context.h"
#include "kms/envelope.h"

namespace weftkit::kms {
namespace {

void CheckRefusal(const Error& error) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code().rfind("envelope_", 0) == 0);
}

void CheckAccepted(std::span<const std::uint8_t> bytes, const Envelope& envelope) {
  FUZZ_CHECK(ValidateEnvelope(envelope).ok());
  const std::vector<std::uint8_t> encoded = EncodeEnvelope(envelope);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), bytes.begin(), bytes.end()));
  FUZZ_CHECK(!BuildAad(envelope, EncryptionContext()).empty());

  for (std::size_t length = 0; length < bytes.size(); ++length) {
    Result<Envelope> prefix = DecodeEnvelope(bytes.first(length));
    FUZZ_CHECK(!prefix.ok());
    FUZZ_CHECK(prefix.error().code() == "envelope_truncated");
  }
}

}  // namespace
}  // namespace weftkit::kms

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  weftkit::Result<weftkit::kms::Envelope> decoded = weftkit::kms::DecodeEnvelope(bytes);
  if (decoded.ok()) {
    weftkit::kms::CheckAccepted(bytes, *decoded);
  } else {
    weftkit::kms::CheckRefusal(decoded.error());
  }
  return 0;
}

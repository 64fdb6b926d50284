// Fuzzes the strict base64 and base64url codecs (common/base64.h).
//
// Properties checked, all promised by base64.h:
//   - every byte string has exactly one accepted encoding: whatever Base64Decode or
//     Base64UrlDecode accepts re-encodes to the same text, and refusals are "invalid_base64";
//   - Base64DecodeSecret accepts exactly what Base64Decode accepts, with the same bytes;
//   - encoding the raw input and decoding it again gives the input back, for both alphabets.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/base64.h"
#include "fuzz/fuzz_check.h"

namespace weftkit {
namespace {

void CheckRefusal(const Error& error) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code() == "invalid_base64");
}

void CheckStandard(std::string_view text) {
  auto decoded = Base64Decode(text);
  auto secret = Base64DecodeSecret(text);
  FUZZ_CHECK(decoded.ok() == secret.ok());
  if (!decoded.ok()) {
    CheckRefusal(decoded.error());
    CheckRefusal(secret.error());
    return;
  }
  FUZZ_CHECK(Base64Encode(*decoded) == text);
  const std::span<const std::uint8_t> exposed = secret->expose();
  FUZZ_CHECK(std::equal(exposed.begin(), exposed.end(), decoded->begin(), decoded->end()));
}

void CheckUrl(std::string_view text) {
  auto decoded = Base64UrlDecode(text);
  if (!decoded.ok()) {
    CheckRefusal(decoded.error());
    return;
  }
  FUZZ_CHECK(Base64UrlEncode(*decoded) == text);
}

void CheckEncodeDecode(std::span<const std::uint8_t> bytes) {
  auto standard = Base64Decode(Base64Encode(bytes));
  FUZZ_CHECK(standard.ok());
  FUZZ_CHECK(std::equal(standard->begin(), standard->end(), bytes.begin(), bytes.end()));
  auto url = Base64UrlDecode(Base64UrlEncode(bytes));
  FUZZ_CHECK(url.ok());
  FUZZ_CHECK(std::equal(url->begin(), url->end(), bytes.begin(), bytes.end()));
}

}  // namespace
}  // namespace weftkit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = weftkit::fuzz::AsText(data, size);
  weftkit::CheckStandard(text);
  weftkit::CheckUrl(text);
  weftkit::CheckEncodeDecode({data, size});
  return 0;
}

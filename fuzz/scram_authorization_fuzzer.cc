// Fuzzes the RFC 7804 Authorization header parser of the SCRAM login route
// (api::ParseScramAuthorization in api/scram_routes.h), and the SCRAM parser its data feeds.
//
// Properties checked, all promised by scram_routes.h:
//   - a header whose scheme is not a SCRAM mechanism gives nullopt, never an error;
//   - refusals are kInvalidArgument "scram_bad_authorization";
//   - an accepted sid is 1..64 base64url characters, and the decoded data re-encodes (canonical
//     base64) to text that occurs in the header.
// The decoded message then goes to ParseClientFirst or ParseClientFinal (step 1 or step 2, as
// the route decides by the presence of a sid), which must refuse cleanly or accept.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/scram_routes.h"
#include "auth/scram_messages.h"
#include "common/base64.h"
#include "fuzz/fuzz_check.h"

namespace weftkit::api {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

void CheckAccepted(std::string_view header, const ScramAuthorization& parsed) {
  if (parsed.sid.has_value()) {
    FUZZ_CHECK(!parsed.sid->empty() && parsed.sid->size() <= 64);
    FUZZ_CHECK(std::all_of(parsed.sid->begin(), parsed.sid->end(), IsBase64UrlChar));
  }
  FUZZ_CHECK(header.find(Base64Encode(AsBytes(parsed.message))) != std::string_view::npos);

  // What the login route does next with the message.
  if (parsed.sid.has_value()) {
    (void)auth::ParseClientFinal(parsed.message);
  } else {
    (void)auth::ParseClientFirst(parsed.message);
  }
}

}  // namespace
}  // namespace weftkit::api

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view header = weftkit::fuzz::AsText(data, size);
  auto parsed = weftkit::api::ParseScramAuthorization(header);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().kind() == weftkit::ErrorKind::kInvalidArgument);
    FUZZ_CHECK(parsed.error().code() == "scram_bad_authorization");
    return 0;
  }
  if (parsed->has_value()) weftkit::api::CheckAccepted(header, **parsed);
  return 0;
}

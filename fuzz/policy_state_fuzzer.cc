// Fuzzes the parser of the policy state file (client/policy_state_file.h), which an engine reads
// at start-up from its own disk: a damaged or planted file must be refused, never trusted in part.
//
// Properties checked:
//   - ParsePolicyState refuses with policy_state_invalid, or returns a state with a non-empty
//     scope, a version from 1 to 999999999 and a 64-digit lower-case hex content hash;
//   - what it accepts survives a round trip through PolicyStateText unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/policy_state_file.h"
#include "fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weftkit::client;
  auto state = ParsePolicyState(weftkit::fuzz::AsText(data, size));
  if (!state.ok()) {
    FUZZ_CHECK(state.error().code() == "policy_state_invalid");
    return 0;
  }
  FUZZ_CHECK(!state->scope.empty());
  FUZZ_CHECK(state->version >= 1 && state->version <= 999999999);
  FUZZ_CHECK(state->content_hash.size() == 64);
  FUZZ_CHECK(state->content_hash.find_first_not_of("0123456789abcdef") == std::string::npos);

  auto again = ParsePolicyState(PolicyStateText(*state));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->scope == state->scope && again->version == state->version &&
             again->content_hash == state->content_hash);
  return 0;
}

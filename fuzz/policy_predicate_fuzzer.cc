// Fuzzes the row-security predicate parser and printer (policy_store/language/predicate.h).
//
// Properties checked, all promised by predicate.h:
//   - refusals are kInvalidArgument with one of the four documented codes, and their detail
//     starts with "at offset <n>: " where n is at most the input's length;
//   - an accepted predicate prints to canonical text that parses again (given room for its
//     length) to the same tree and prints identically (a fixed point);
//   - parsing is deterministic.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "policy_store/language/predicate.h"

namespace weftkit::policy {
namespace {

void CheckRefusal(const Error& error, std::size_t size) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code() == "predicate_syntax" || error.code() == "predicate_too_long" ||
             error.code() == "predicate_too_deep" || error.code() == "predicate_type");
  const std::string& detail = error.detail();
  FUZZ_CHECK(detail.rfind("at offset ", 0) == 0);
  const std::size_t colon = detail.find(": ");
  FUZZ_CHECK(colon != std::string::npos);
  const std::string number = detail.substr(10, colon - 10);
  FUZZ_CHECK(!number.empty() && number.size() < 12);
  FUZZ_CHECK(std::stoull(number) <= size);
}

}  // namespace
}  // namespace weftkit::policy

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weftkit::policy;
  const std::string_view text = weftkit::fuzz::AsText(data, size);
  const weftkit::Result<Predicate> parsed = ParsePredicate(text);
  const weftkit::Result<Predicate> again = ParsePredicate(text);
  FUZZ_CHECK(parsed.ok() == again.ok());
  if (!parsed.ok()) {
    CheckRefusal(parsed.error(), size);
    FUZZ_CHECK(parsed.error().detail() == again.error().detail());
    return 0;
  }
  FUZZ_CHECK(SamePredicate(**parsed, **again));

  // The canonical text may be longer than the input (parentheses): parse it with room for that.
  const std::string printed = PrintPredicate(**parsed);
  const weftkit::Result<Predicate> reparsed =
      ParsePredicate(printed, std::max(printed.size(), kMaxPredicateLength));
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(SamePredicate(**parsed, **reparsed));
  FUZZ_CHECK(PrintPredicate(**reparsed) == printed);
  return 0;
}

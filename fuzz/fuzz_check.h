// Helpers shared by the fuzz targets: viewing the input as text, splitting it into fields, and a
// check that stops the process loudly when a property of the code under test does not hold.
//
// A failed FUZZ_CHECK prints the condition and its location, then executes __builtin_trap(), so
// libFuzzer records a crash (and saves the input) and a replay run exits abnormally. Only
// properties the code's header comments promise are checked; plain refusals are not failures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>
#include <utility>

// Variadic so that conditions with unparenthesised commas (template arguments) need no extra
// parentheses.
#define FUZZ_CHECK(...)                                                                           \
  do {                                                                                            \
    if (!(__VA_ARGS__)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s at %s:%d\n", #__VA_ARGS__, __FILE__, __LINE__); \
      __builtin_trap();                                                                           \
    }                                                                                             \
  } while (false)

namespace weftkit::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits `text` at the first `separator`: the part before it and the part after it. Without a
// separator, the whole text comes first and the second part is empty.
inline std::pair<std::string_view, std::string_view> SplitOnce(std::string_view text,
                                                               char separator) {
  const std::size_t at = text.find(separator);
  if (at == std::string_view::npos) return {text, {}};
  return {text.substr(0, at), text.substr(at + 1)};
}

}  // namespace weftkit::fuzz

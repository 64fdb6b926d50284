// Fuzzes the RFC 7512 PKCS#11 URI parser that selects the HSM token (pkcs11/token_selector.h),
// which reads hsm.token_uri from the configuration file.
//
// Properties checked, as token_selector.h promises:
//   - a refusal is kInvalidArgument "invalid_token_uri", and its detail is one of the parser's
//     fixed sentences or names an attribute of the path: it never repeats the query part, where
//     a PIN could be;
//   - a query attribute named pin-value is always refused;
//   - an accepted selector survives a round trip: every value percent-encoded byte by byte and
//     parsed again gives the same selector; MakeTokenSelector with no label agrees with it;
//   - Matches() accepts a CK_TOKEN_INFO whose blank-padded fields hold the selector's values (and
//     its slot), and refuses the same token in another slot when the selector names one.
#include <p11-kit/pkcs11.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "pkcs11/token_selector.h"

namespace weftkit::pkcs11 {
namespace {

constexpr std::array<std::string_view, 5> kFixedDetails = {
    "URI does not start with pkcs11:",
    "malformed percent escape in pkcs11 URI",
    "pkcs11 URI attribute without '='",
    "slot-id in pkcs11 URI is not a number",
    "pkcs11 URI carries pin-value; configure the PIN file instead",
};

// Whether `query` ("a=1&pin-value=2") has an attribute named pin-value.
bool QueryNamesPinValue(std::string_view query) {
  while (true) {
    const std::size_t end = query.find('&');
    const std::string_view part = query.substr(0, end);
    if (part.substr(0, part.find('=')) == "pin-value") return true;
    if (end == std::string_view::npos) return false;
    query.remove_prefix(end + 1);
  }
}

void CheckRefusal(const Error& error, std::string_view path) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code() == "invalid_token_uri");
  const std::string& detail = error.detail();
  for (std::string_view fixed : kFixedDetails) {
    if (detail == fixed) return;
  }
  constexpr std::string_view kPrefix = "unknown attribute '";
  constexpr std::string_view kSuffix = "' in pkcs11 URI";
  FUZZ_CHECK(detail.size() >= kPrefix.size() + kSuffix.size());
  FUZZ_CHECK(std::string_view(detail).substr(0, kPrefix.size()) == kPrefix);
  FUZZ_CHECK(std::string_view(detail).substr(detail.size() - kSuffix.size()) == kSuffix);
  const std::string name =
      detail.substr(kPrefix.size(), detail.size() - kPrefix.size() - kSuffix.size());
  FUZZ_CHECK(path.find(name + "=") != std::string_view::npos);
}

std::string PercentEncodeAll(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    char escape[4];
    std::snprintf(escape, sizeof(escape), "%%%02X", c);
    out += escape;
  }
  return out;
}

std::string CanonicalUri(const TokenSelector& selector) {
  std::string uri = "pkcs11:";
  auto add = [&uri](std::string_view name, const std::string& value) {
    if (uri.back() != ':') uri += ';';
    uri += std::string(name) + '=' + value;
  };
  if (selector.label) add("token", PercentEncodeAll(*selector.label));
  if (selector.serial) add("serial", PercentEncodeAll(*selector.serial));
  if (selector.manufacturer) add("manufacturer", PercentEncodeAll(*selector.manufacturer));
  if (selector.model) add("model", PercentEncodeAll(*selector.model));
  if (selector.slot_id) add("slot-id", std::to_string(*selector.slot_id));
  return uri;
}

bool SameSelector(const TokenSelector& a, const TokenSelector& b) {
  return a.label == b.label && a.serial == b.serial && a.manufacturer == b.manufacturer &&
         a.model == b.model && a.slot_id == b.slot_id;
}

// Writes `value` blank-padded into a CK_TOKEN_INFO field; false if it cannot be represented
// there (too long, or ending in a blank that TrimPadded would take for padding).
template <std::size_t N>
bool Fill(unsigned char (&field)[N], const std::optional<std::string>& value) {
  std::memset(field, ' ', N);
  if (!value) return true;
  if (value->size() > N || (!value->empty() && value->back() == ' ')) return false;
  std::memcpy(field, value->data(), value->size());
  return true;
}

void CheckMatches(const TokenSelector& selector) {
  CK_TOKEN_INFO info{};
  if (!Fill(info.label, selector.label) || !Fill(info.serialNumber, selector.serial) ||
      !Fill(info.manufacturerID, selector.manufacturer) || !Fill(info.model, selector.model)) {
    return;
  }
  const CK_SLOT_ID slot = selector.slot_id.value_or(3);
  FUZZ_CHECK(selector.Matches(slot, info));
  if (selector.slot_id) FUZZ_CHECK(!selector.Matches(slot + 1, info));
}

void CheckAccepted(const TokenSelector& selector, std::string_view uri) {
  auto again = ParseTokenUri(CanonicalUri(selector));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameSelector(*again, selector));

  auto made = MakeTokenSelector("", std::string(uri));
  FUZZ_CHECK(made.ok() != selector.empty());
  if (made.ok()) FUZZ_CHECK(SameSelector(*made, selector));
  FUZZ_CHECK(selector.Describe().empty() == selector.empty());
  CheckMatches(selector);
}

}  // namespace
}  // namespace weftkit::pkcs11

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weftkit::pkcs11;
  const std::string_view uri = weftkit::fuzz::AsText(data, size);
  const auto [path, query] = weftkit::fuzz::SplitOnce(uri, '?');
  const bool has_query = path.size() < uri.size();

  auto selector = ParseTokenUri(uri);
  if (!selector.ok()) {
    CheckRefusal(selector.error(), path);
    return 0;
  }
  FUZZ_CHECK(uri.substr(0, 7) == "pkcs11:");
  FUZZ_CHECK(!has_query || !QueryNamesPinValue(query));
  CheckAccepted(*selector, uri);
  return 0;
}

// TokenSelector: which token of a PKCS#11 module the server uses, by label or by RFC 7512 URI.
//
// A selector names any of the token attributes an RFC 7512 URI can carry (token, serial,
// manufacturer, model, slot-id); a token matches when every named attribute equals its
// CK_TOKEN_INFO field (blank padding ignored). Thread-safe: values only.
#pragma once

#include <p11-kit/pkcs11.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace weftkit::pkcs11 {

struct TokenSelector {
  std::optional<std::string> label;
  std::optional<std::string> serial;
  std::optional<std::string> manufacturer;
  std::optional<std::string> model;
  std::optional<CK_SLOT_ID> slot_id;

  // True when no attribute is named; such a selector is refused rather than matching anything.
  bool empty() const;
  bool Matches(CK_SLOT_ID slot, const CK_TOKEN_INFO& info) const;
  // "token=...;serial=..." for logs (no PIN can be part of a selector).
  std::string Describe() const;
};

// Parses the path of a "pkcs11:" URI, percent-decoding each value. Object attributes (object,
// type, id) and library attributes are accepted and ignored; unknown attributes, malformed
// escapes and a "pin-value" query attribute (PINs belong in the PIN file) fail with
// kInvalidArgument "invalid_token_uri". The detail never repeats the URI's query part.
Result<TokenSelector> ParseTokenUri(std::string_view uri);

// Combines a configured label and URI; either may be empty, not both. When both are given the
// label must agree with the URI's token attribute.
Result<TokenSelector> MakeTokenSelector(const std::string& label, const std::string& uri);

// The first slot with a present token that `selector` matches. Fails with kNotFound
// "hsm_token_not_found" when none does, or with the C_GetSlotList/C_GetTokenInfo error.
Result<CK_SLOT_ID> FindSlot(CK_FUNCTION_LIST_PTR functions, const TokenSelector& selector);

// A CK_TOKEN_INFO text field without its blank padding.
std::string TrimPadded(const unsigned char* field, std::size_t size);

}  // namespace weftkit::pkcs11

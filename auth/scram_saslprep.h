// The subset of SASLprep (RFC 4013) that WeftKit applies to SCRAM user names and passwords.
//
// SCRAM hashes the SASLprep'd form of the password, so client and server must agree on it. Full
// SASLprep maps some characters (non-ASCII spaces to ' ', soft hyphens and zero-width characters
// to nothing), normalizes with NFKC and applies the bidirectional rule; that needs Unicode tables
// this project does not carry. Instead, every string is checked and either accepted unchanged or
// refused:
//   - it must be valid, shortest-form UTF-8 with no surrogates;
//   - it must not contain a character RFC 4013 prohibits (tables C.2.1 and C.2.2 control
//     characters, C.3 private use, C.4 non-characters, C.6, C.7, C.8 and C.9);
//   - it must not contain a character SASLprep would map (C.1.2 non-ASCII spaces, B.1 characters
//     mapped to nothing), because a conforming client would hash something else.
// For printable ASCII, which needs neither mapping nor normalization, this agrees with RFC 4013
// exactly.
//
// TODO(#3): NFKC normalization and the bidirectional check are not done. A non-ASCII password
// that NFKC changes (e.g. full-width letters, composed vs decomposed accents) is stored as typed
// and will not match a client that normalizes it; such passwords should be refused or normalized.
//
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace weftkit::auth {

// True when `text` is non-empty and passes the checks above.
bool IsAcceptedBySaslPrepSubset(std::string_view text);

// The number of Unicode code points in `text`, or 0 if it is not valid UTF-8. For password length
// policies, which count characters rather than bytes.
std::size_t CountCodePoints(std::string_view text);

}  // namespace weftkit::auth

// SASLprep (RFC 4013) for SCRAM user names and passwords.
//
// SCRAM hashes the SASLprep'd form of the password, so client and server must agree on it. This
// server never stores a transformed string: a name or password is accepted only when SASLprep
// would leave it unchanged, and refused otherwise, so what the user typed is what every
// conforming client hashes. Concretely the text must
//   - be valid, shortest-form UTF-8 with no surrogates;
//   - contain no character RFC 4013 prohibits (tables C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6,
//     C.7, C.8, C.9) or maps (C.1.2 non-ASCII spaces, B.1 characters mapped to nothing);
//   - be unchanged by NFKC and satisfy the bidirectional rule of RFC 3454 §6, both checked with
//     ICU's SASLprep profile (unassigned code points are refused, as for stored strings).
// Printable ASCII passes the ICU step unchanged, so ASCII is checked without calling ICU.
//
// Thread-safe: pure functions (ICU's profile is opened once and is read-only).
#pragma once

#include <cstddef>
#include <string_view>

namespace weftkit::auth {

// True when `text` is non-empty and SASLprep leaves it unchanged (see above).
bool IsSaslPrepared(std::string_view text);

// The number of Unicode code points in `text`, or 0 if it is not valid UTF-8. For password length
// policies, which count characters rather than bytes.
std::size_t CountCodePoints(std::string_view text);

}  // namespace weftkit::auth

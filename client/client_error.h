// Typed errors for engines and tools that call kmsd.
//
// The library reports every failure as a weftkit::Error (common/error.h). For a server refusal
// the Error's code() is the RFC 9457 problem `code` exactly as kmsd sent it (for example
// "envelope_authentication_failed") and its kind() follows the HTTP status; for a failure on
// this side of the wire the code is one of the "client_*" codes below. ServerErrorOf() turns the
// code into an enum, so callers can switch on it; a code this library does not know yet maps to
// kOther, and the caller then decides by kind() (the status class), as docs/api.md advises.
//
// Thread safety: pure functions.
#pragma once

#include <string_view>

#include "common/error.h"

namespace weftkit::client {

// Codes the library itself produces (Error::code()).
inline constexpr std::string_view kConnectFailed = "client_connect_failed";    // TCP or TLS
inline constexpr std::string_view kConnectionLost = "client_connection_lost";  // mid-request
inline constexpr std::string_view kTimeout = "client_timeout";                 // socket timeout
inline constexpr std::string_view kBadResponse = "client_bad_response";        // not HTTP/JSON
inline constexpr std::string_view kPinMismatch = "client_pin_mismatch";        // SPKI pin
inline constexpr std::string_view kScramServerSignature = "client_scram_server_signature";
inline constexpr std::string_view kInvalidOption = "client_invalid_option";

// The problem codes an engine or tool is expected to act on, and a few groups of them.
enum class ServerError {
  kNone,  // not an error from the server (a client_* code)
  kCredentialsRequired,
  kForbidden,
  kKeyNotFound,
  kKeyExists,
  kKeyVersionNotFound,
  kEnvelopeAuthenticationFailed,  // tampered envelope or wrong encryption context
  kEnvelopeMalformed,             // any envelope_* format code (400)
  kKeyVersionUnusable,            // disabled, scheduled, below minimum
  kKeyVersionDestroyed,           // the DEK is lost for good
  kInvalidRequest,                // invalid_field, unknown_field, malformed_json, ...
  kTokenRejected,                 // token_* codes
  kScramFailed,                   // scram_* codes
  kThrottled,                     // auth_throttled, account_locked, 429s
  kUnavailable,                   // every 503 (overloaded, hsm_unavailable, store_busy, ...)
  kInternal,                      // every 500
  kOther,                         // a code this library does not know; use the Error's kind
};

// Classifies `error` by its code (and, for unknown codes, by its kind).
ServerError ServerErrorOf(const Error& error);

// The ErrorKind for an HTTP status, as kmsd chooses statuses (400 -> kInvalidArgument, ...).
ErrorKind KindForStatus(int status);

// True for failures where repeating the same request may succeed: connection failures and
// timeouts on our side, and kUnavailable answers (503) from the server.
bool IsTransient(const Error& error);

}  // namespace weftkit::client

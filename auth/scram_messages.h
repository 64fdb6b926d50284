// SCRAM messages (RFC 5802 §7 with SHA-256, RFC 7677): strict parsers for what a client sends,
// canonical formatters for what the server sends, and the parsers a client needs for tests.
//
// The accepted grammar is the part of RFC 5802 §7 a conforming client uses, and nothing else:
//
//   client-first-message  = gs2-header client-first-bare
//   gs2-header            = gs2-cbind-flag "," [ "a=" saslname ] ","
//   gs2-cbind-flag        = "n" / "y" / "p=tls-exporter"
//   client-first-bare     = "n=" saslname ",r=" client-nonce
//   server-first-message  = "r=" client-nonce server-nonce ",s=" base64(salt) ",i=" count
//   client-final-message  = "c=" base64(gs2-header || cbind-data) ",r=" nonce ",p=" base64(proof)
//   server-final-message  = "v=" base64(ServerSignature) / "e=" server-error-value
//
//   saslname: 1 to kMaxUserNameBytes bytes of UTF-8 once decoded, accepted by the SASLprep subset
//             (scram_saslprep.h); ',' travels as "=2C" and '=' as "=3D" (upper case, RFC 5802
//             §5.1); any other '=' is refused.
//   nonce:    printable ASCII except ',' (%x21-2B / %x2D-7E); a client nonce has between
//             kMinClientNonce and kMaxClientNonce characters.
//   base64:   canonical padded base64 (common/base64.h); proofs and signatures are 32 bytes.
//
// Attributes must come in exactly this order. The reserved "m=" attribute and every extension
// are refused with "scram_extensions_not_supported". Messages above kMaxScramMessageBytes are
// refused before parsing.
//
// Every refusal is an Error with its own stable code (listed at each parser) and a detail that
// never repeats message content. ServerErrorValueFor maps the codes to RFC 5802 server-error
// values for the "e=" of a server-final-message.
//
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::auth {

inline constexpr std::size_t kMaxScramMessageBytes = 2048;
inline constexpr std::size_t kMaxUserNameBytes = 255;
inline constexpr std::size_t kMinClientNonce = 8;
inline constexpr std::size_t kMaxClientNonce = 255;

// The channel-binding choice of the gs2 header (RFC 5802 §6).
enum class ChannelBindingFlag {
  kNone,           // "n": the client does not support channel binding
  kClientCanBind,  // "y": the client supports it but believes the server does not
  kTlsExporter,    // "p=tls-exporter": binding to the TLS connection (RFC 9266)
};

struct ClientFirstMessage {
  ChannelBindingFlag binding = ChannelBindingFlag::kNone;
  std::string gs2_header;  // exactly as received, e.g. "p=tls-exporter,,"
  std::string authzid;     // decoded; empty when absent
  std::string username;    // decoded ("=2C" -> ',')
  std::string client_nonce;
  std::string bare;  // client-first-message-bare as received, for the AuthMessage
};

// Parses a client-first-message. Fails with kInvalidArgument and one of:
//   scram_message_too_large, scram_malformed_message (missing, misplaced or empty attribute),
//   scram_invalid_gs2_header, scram_unsupported_channel_binding_type (a cb-name other than
//   tls-exporter), scram_invalid_username_encoding (a bad '=' escape),
//   scram_invalid_username (empty, too long, or refused by the SASLprep subset; also for the
//   authzid), scram_invalid_nonce, scram_extensions_not_supported.
Result<ClientFirstMessage> ParseClientFirst(std::string_view message);

struct ClientFinalMessage {
  std::vector<std::uint8_t> channel_binding;  // decoded "c=": gs2 header plus cbind data
  std::string nonce;                          // the full nonce, client's and server's
  std::vector<std::uint8_t> proof;            // 32 bytes
  std::string without_proof;                  // client-final-message-without-proof, as received
};

// Parses a client-final-message. Fails with kInvalidArgument and one of:
//   scram_message_too_large, scram_malformed_message, scram_invalid_base64 (c= or p=),
//   scram_invalid_nonce, scram_invalid_proof_encoding (p= not 32 bytes),
//   scram_extensions_not_supported.
Result<ClientFinalMessage> ParseClientFinal(std::string_view message);

// "r=<nonce>,s=<base64 salt>,i=<iterations>".
std::string FormatServerFirst(std::string_view nonce, std::span<const std::uint8_t> salt,
                              std::uint32_t iterations);
// "v=<base64 server signature>".
std::string FormatServerFinal(std::span<const std::uint8_t> server_signature);
// "e=<value>".
std::string FormatServerError(std::string_view server_error_value);

// The RFC 5802 server-error-value ("invalid-proof", "channel-bindings-dont-match", ...) that
// reports the failure with stable code `code` in a server-final-message, or nullopt for codes
// that are not SCRAM failures (a store outage, throttling).
std::optional<std::string_view> ServerErrorValueFor(std::string_view code);

// RFC 5802 §5.1 saslname escaping: ',' -> "=2C", '=' -> "=3D".
std::string EncodeSaslName(std::string_view name);
// The reverse; kInvalidArgument "scram_invalid_username_encoding" on any other '=' sequence.
Result<std::string> DecodeSaslName(std::string_view encoded);

// Client-side parsers, used by tests and tools that play the client.
struct ServerFirstMessage {
  std::string nonce;
  std::vector<std::uint8_t> salt;
  std::uint32_t iterations = 0;
};
// kInvalidArgument "scram_malformed_message", "scram_invalid_nonce" or "scram_invalid_base64".
Result<ServerFirstMessage> ParseServerFirst(std::string_view message);

struct ServerFinalMessage {
  std::vector<std::uint8_t> verifier;  // set on success
  std::string error;                   // the server-error-value, set on failure
};
// kInvalidArgument "scram_malformed_message" or "scram_invalid_base64".
Result<ServerFinalMessage> ParseServerFinal(std::string_view message);

}  // namespace weftkit::auth

// Fuzzes the SCRAM-SHA-256 message parsers (auth/scram_messages.h) with arbitrary text.
//
// Each input goes through every parser: the server-side ParseClientFirst and ParseClientFinal
// that face untrusted clients, the client-side ParseServerFirst and ParseServerFinal, and the
// saslname codec. Properties checked, all promised by scram_messages.h:
//   - refusals are kInvalidArgument with a "scram_*" code;
//   - an accepted client-first-message is gs2_header followed by its bare part, and the bare
//     part is exactly "n=" EncodeSaslName(username) ",r=" nonce (one encoding per name), with a
//     nonce of kMinClientNonce..kMaxClientNonce characters;
//   - an accepted client-final-message is without_proof ",p=" base64(proof), the proof 32 bytes;
//   - DecodeSaslName(EncodeSaslName(x)) == x for any x, and an accepted saslname re-encodes to
//     the same text when it holds no raw ','.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/scram_messages.h"
#include "common/base64.h"
#include "fuzz/fuzz_check.h"

namespace weftkit::auth {
namespace {

void CheckRefusal(const Error& error) {
  FUZZ_CHECK(error.kind() == ErrorKind::kInvalidArgument);
  FUZZ_CHECK(error.code().rfind("scram_", 0) == 0);
}

void CheckClientFirst(std::string_view message) {
  auto parsed = ParseClientFirst(message);
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  FUZZ_CHECK(message.size() <= kMaxScramMessageBytes);
  FUZZ_CHECK(parsed->gs2_header + parsed->bare == message);
  FUZZ_CHECK(!parsed->username.empty() && parsed->username.size() <= kMaxUserNameBytes);
  FUZZ_CHECK(parsed->client_nonce.size() >= kMinClientNonce &&
             parsed->client_nonce.size() <= kMaxClientNonce);
  FUZZ_CHECK(parsed->bare ==
             "n=" + EncodeSaslName(parsed->username) + ",r=" + parsed->client_nonce);
}

void CheckClientFinal(std::string_view message) {
  auto parsed = ParseClientFinal(message);
  if (!parsed.ok()) return CheckRefusal(parsed.error());
  FUZZ_CHECK(parsed->proof.size() == 32);
  FUZZ_CHECK(parsed->without_proof + ",p=" + Base64Encode(parsed->proof) == message);
}

void CheckServerMessages(std::string_view message) {
  auto first = ParseServerFirst(message);
  if (!first.ok()) CheckRefusal(first.error());
  auto final_message = ParseServerFinal(message);
  if (!final_message.ok()) CheckRefusal(final_message.error());
}

void CheckSaslName(std::string_view text) {
  auto round_trip = DecodeSaslName(EncodeSaslName(text));
  FUZZ_CHECK(round_trip.ok() && *round_trip == text);
  auto decoded = DecodeSaslName(text);
  if (!decoded.ok()) return CheckRefusal(decoded.error());
  if (text.find(',') == std::string_view::npos) FUZZ_CHECK(EncodeSaslName(*decoded) == text);
}

}  // namespace
}  // namespace weftkit::auth

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message = weftkit::fuzz::AsText(data, size);
  weftkit::auth::CheckClientFirst(message);
  weftkit::auth::CheckClientFinal(message);
  weftkit::auth::CheckServerMessages(message);
  weftkit::auth::CheckSaslName(message);
  return 0;
}

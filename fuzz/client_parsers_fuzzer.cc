// Fuzzes what the engine client library and kmsctl parse from a server or a file they do not
// control: HTTP response heads (client/http_message.h), the SCRAM server-first and server-final
// messages (client/scram_client.h) and the key name read out of a stored envelope
// (tools/kmsctl/bulk_rewrap.h).
//
// The server-first message is built as "r=" <our nonce> <input>, so the fuzzer gets past the
// nonce check (the nonce is random per exchange) into the salt and iteration-count parsing.
// Properties checked, as the headers promise:
//   - a response head is refused with client_bad_response, or has a status in 100..599 and
//     only non-empty, lower-case header names;
//   - ClientFinal either refuses with client_scram or returns "c=<base64>,r=<nonce>,p=<base64>"
//     whose nonce extends ours;
//   - VerifyServerFinal never accepts a message the fuzzer made up before a proof was computed;
//   - KeyNameInEnvelope returns "" or exactly the N bytes at offset 9 of the decoded envelope.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "client/http_message.h"
#include "client/scram_client.h"
#include "common/base64.h"
#include "fuzz/fuzz_check.h"
#include "tools/kmsctl/bulk_rewrap.h"

namespace weftkit {
namespace {

void CheckResponseHead(std::string_view input) {
  client::HttpResponse response;
  Status parsed = client::ParseResponseHead(input, response);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().code() == "client_bad_response");
    return;
  }
  FUZZ_CHECK(response.status >= 100 && response.status <= 599);
  for (const auto& [name, value] : response.headers) {
    FUZZ_CHECK(!name.empty());
    for (char c : name) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
  }
}

void CheckScram(std::string_view input) {
  auto scram = client::ScramClient::Start("alice", SecretBytes::CopyOf(std::string("password")),
                                          SecretBytes());
  FUZZ_CHECK(scram.ok());
  FUZZ_CHECK(!scram->VerifyServerFinal(input).ok());  // no proof computed yet

  std::string first = scram->ClientFirst();
  std::string nonce = first.substr(first.find(",r=") + 3);
  std::string server_first = "r=" + nonce + std::string(input);
  auto final_message = scram->ClientFinal(server_first);
  if (!final_message.ok()) {
    FUZZ_CHECK(final_message.error().code() == "client_scram");
    return;
  }
  FUZZ_CHECK(final_message->rfind("c=biws,r=" + nonce, 0) == 0);
  FUZZ_CHECK(final_message->find(",p=") != std::string::npos);
}

void CheckEnvelopeKeyName(std::string_view input) {
  std::string wrapped = Base64Encode(AsBytes(input));
  std::string name = kmsctl::KeyNameInEnvelope(wrapped);
  if (name.empty()) return;
  FUZZ_CHECK(input.size() >= 9 + name.size());
  FUZZ_CHECK(input.substr(0, 2) == "WK");
  FUZZ_CHECK(static_cast<std::uint8_t>(input[8]) == name.size());
  FUZZ_CHECK(input.substr(9, name.size()) == name);
}

}  // namespace
}  // namespace weftkit

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = weftkit::fuzz::AsText(data, size);
  weftkit::CheckResponseHead(input);
  weftkit::CheckScram(input);
  weftkit::CheckEnvelopeKeyName(input);
  return 0;
}

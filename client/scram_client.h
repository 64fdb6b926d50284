// ScramClient: the client side of one SCRAM-SHA-256(-PLUS) exchange (RFC 5802, RFC 7677), with
// tls-exporter channel binding (RFC 9266) when given the connection's exporter. It computes the
// messages; KmsClient::LoginWithPassword carries them over HTTP as docs/scram.md describes.
//
// The password, the salted password and the derived keys stay in SecretBytes and are wiped when
// the object goes away. The server's iteration count is accepted from 4096 to 10 000 000, so a
// hostile server cannot make the client spin for hours.
//
// Thread safety: one exchange, one thread.
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::client {

class ScramClient {
 public:
  // `channel_binding` empty: "n,," (no binding); otherwise the 32-byte tls-exporter, sent with
  // "p=tls-exporter,,". Fails (client_scram) if the random nonce cannot be drawn or the user
  // name has a character SCRAM cannot carry.
  static Result<ScramClient> Start(std::string user, SecretBytes password,
                                   SecretBytes channel_binding);

  // "SCRAM-SHA-256-PLUS" or "SCRAM-SHA-256".
  std::string_view mechanism() const;

  // gs2 header + client-first-message-bare.
  std::string ClientFirst() const;

  // The client-final-message answering `server_first`. Fails (client_scram) if the server's
  // nonce does not extend ours, or the salt or iteration count is unacceptable.
  Result<std::string> ClientFinal(std::string_view server_first);

  // Checks the server-final-message ("v=<signature>"); fails with client_scram_server_signature
  // when the server could not prove that it knows the password's ServerKey.
  Status VerifyServerFinal(std::string_view server_final) const;

 private:
  ScramClient() = default;

  std::string user_;
  SecretBytes password_;
  SecretBytes channel_binding_;
  std::string client_nonce_;
  SecretBytes expected_server_signature_;
};

}  // namespace weftkit::client

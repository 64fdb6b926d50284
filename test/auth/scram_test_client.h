// ScramTestClient: a minimal SCRAM-SHA-256 client for tests, built from the same primitives as
// the server but following RFC 5802 §3 from the client's side. The independent client is
// Perl's Authen::SCRAM (scram_interop_test.cc); this one exists so tests can also exercise
// channel binding and craft wrong messages.
//
// Thread safety: not thread-safe; one per test.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::auth::scram_test {

class ScramTestClient {
 public:
  // `gs2_header` is sent as given ("n,,", "y,,", "p=tls-exporter,,"); `cbind_data` follows it
  // in the c= attribute (the TLS exporter for "p=").
  ScramTestClient(std::string user, std::string password, std::string client_nonce,
                  std::string gs2_header = "n,,", std::string cbind_data = "");

  // gs2 header, "n=<escaped user>,r=<client nonce>".
  std::string ClientFirst() const;

  // The client-final-message answering `server_first`; fails if the server's nonce does not
  // extend the client's or the message does not parse.
  Result<std::string> ClientFinal(std::string_view server_first);

  // True when `server_final` is "v=" with the signature this client expects.
  bool VerifyServerFinal(std::string_view server_final) const;

 private:
  std::string user_;
  std::string password_;
  std::string client_nonce_;
  std::string gs2_header_;
  std::string cbind_data_;
  std::vector<std::uint8_t> expected_server_signature_;
};

}  // namespace weftkit::auth::scram_test

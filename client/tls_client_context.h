// TlsClientContext: the one OpenSSL SSL_CTX a KmsClient shares across its connections: TLS 1.3
// only, the configured CA as the only trust anchor, an optional client certificate, and the
// optional SPKI pins that CheckPeer enforces after each handshake.
//
// Thread safety: immutable after Create; SSL objects made from it may live on any thread.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <vector>

#include "client/client_options.h"
#include "common/error.h"

namespace weftkit::client {

class TlsClientContext {
 public:
  // Fails with kInvalidArgument (code client_invalid_option) when a CA, certificate, key or pin
  // cannot be loaded or does not match; the detail names the option.
  static Result<std::unique_ptr<TlsClientContext>> Create(const KmsClientOptions& options);

  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;
  ~TlsClientContext();

  SSL_CTX* get() const { return ctx_; }

  // Checks the verified peer of `ssl` against the pins (no pins: always OK). Fails with code
  // client_pin_mismatch.
  Status CheckPeer(SSL* ssl) const;

 private:
  TlsClientContext(SSL_CTX* ctx, std::vector<std::vector<std::uint8_t>> pins)
      : ctx_(ctx), pins_(std::move(pins)) {}

  SSL_CTX* ctx_;
  std::vector<std::vector<std::uint8_t>> pins_;  // SHA-256 of DER SubjectPublicKeyInfo
};

}  // namespace weftkit::client

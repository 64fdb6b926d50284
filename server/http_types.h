// The server's view of one HTTP exchange, free of Beast types so that api/ handlers and their
// tests do not compile Beast.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weftkit::server {

// What the TLS layer verified about the client's certificate. Empty when none was presented.
struct PeerCertificate {
  bool present = false;
  std::string subject;                // RFC 2253 form, e.g. "CN=orders-engine,O=WeftKit"
  std::vector<std::string> uri_sans;  // e.g. "spiffe://weftkit.dev/engine/orders"
  std::vector<std::string> dns_sans;
  std::string spki_sha256_hex;  // SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex
};

struct Request {
  std::string method;                                        // "GET", "POST", ...
  std::string path;                                          // without the query string
  std::string query;                                         // without the leading '?'
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string request_id;  // assigned by the server, echoed in X-Request-Id
  std::string peer;        // "ip:port"
  PeerCertificate peer_certificate;
  // The connection's TLS exporter value for channel binding (RFC 9266): 32 bytes of
  // SSL_export_keying_material with label "EXPORTER-Channel-Binding" and no context.
  std::string tls_exporter;
  std::map<std::string, std::string> path_params;  // from "{name}" segments of the route

  // The first value of header `lower_case_name`, if present.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const;
  // The value of path parameter `name`; the router guarantees that declared ones exist.
  const std::string& PathParam(const std::string& name) const { return path_params.at(name); }
};

class ChangeNotifier;
struct WaitForChange;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The body holds secret material (a plaintext DEK): the server wipes it once it is sent.
  bool wipe_after_send = false;
  // Set by a handler that asks to answer later (long polling): the rest of this response is
  // ignored and the request is parked until `wait` resolves (parking_lot.h). Empty normally.
  std::shared_ptr<const WaitForChange> wait;
};

// Where a long-polling request waits, and how its answer is built when the wait ends.
struct WaitForChange {
  ChangeNotifier* notifier = nullptr;  // must outlive the server
  std::string topic;
  // The topic's generation the handler read *before* it looked at the state it answers from.
  std::uint64_t seen = 0;
  std::chrono::milliseconds timeout{0};
  // Builds the answer: changed is true when the topic changed, false on timeout or shutdown.
  // Runs on an I/O thread, so it must not block (read memory, not the HSM or the store); its
  // own `wait` is ignored. A throw becomes a 500 like a handler's.
  std::function<Response(bool changed)> resume;
};

}  // namespace weftkit::server

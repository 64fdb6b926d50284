// The server's view of one HTTP exchange, free of Beast types so that api/ handlers and their
// tests do not compile Beast.
#pragma once

#include <cstdint>
#include <map>
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

// What a handler tells the audit log about the operation it performed (docs/audit.md). Every
// field is optional: the dispatcher fills empty ones from the route, the request and the
// authorization decisions noted while the handler ran (server/request_audit.h). Names and
// versions only; never key material, plaintext, tokens or passwords.
struct AuditDetails {
  std::string action;    // e.g. "key.rotate"; default "<METHOD> <route pattern>"
  std::string resource;  // e.g. "key/orders"; default the authorized resource, else the path
  std::string key_name;
  std::optional<std::uint32_t> key_version;
  std::optional<std::uint64_t> policy_version;
  std::string decision;  // "allow" or "deny"; default from the authorization decisions
  std::string rule;      // what decided
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The body holds secret material (a plaintext DEK): the server wipes it once it is sent.
  bool wipe_after_send = false;
  // Recorded in the audit entry of this request; never sent.
  AuditDetails audit;
};

}  // namespace weftkit::server

// The HTTP/1.1 request and response a KmsClient exchanges with kmsd, as plain data.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace weftkit::client {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form path and query, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // Host and Content-Length are added
  std::string body;
};

struct HttpResponse {
  int status = 0;
  // Header names in lower case. A repeated header keeps every value, joined by ", " in the
  // order received (RFC 9110 §5.3), except that WWW-Authenticate keeps only the first.
  std::map<std::string, std::string> headers;
  std::string body;
  bool keep_alive = true;  // false when the server said "Connection: close"

  // The header's value, or "" when absent.
  std::string Header(const std::string& lower_case_name) const {
    auto it = headers.find(lower_case_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Parses a response head (status line and header lines, without the final empty line) into
// `response`: status, lower-cased header names, keep_alive. Fails with client_bad_response for
// anything but "HTTP/1.x NNN ..." with NNN in 100..599 and "name: value" lines.
Status ParseResponseHead(std::string_view head, HttpResponse& response);

}  // namespace weftkit::client

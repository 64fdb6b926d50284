// Fuzzes the router's path matcher (server/router.h, Router::Find) over the real route table of
// the API (the patterns registered under api/), with an input of "<method> <path>".
//
// Properties checked, promised by router.h:
//   - a match names a route of exactly that method whose pattern has as many segments as the
//     path, each literal segment equal and each "{x}" bound to one non-empty segment without '/';
//   - kMethodNotAllowed only when some route's pattern matches the path under another method;
//   - Find is deterministic (a second call gives the same route and parameters).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "server/router.h"

namespace weftkit::server {
namespace {

// The method and pattern of every route kmsd registers (api/*.cc). Handlers are never called.
const std::vector<std::pair<const char*, const char*>> kRoutes = {
    {"GET", "/healthz"},
    {"GET", "/readyz"},
    {"GET", "/metrics"},
    {"GET", "/.well-known/jwks.json"},
    {"POST", "/v1/auth/scram"},
    {"POST", "/v1/auth/tokens"},
    {"POST", "/v1/auth/tokens/revoke"},
    {"POST", "/v1/auth/signing-keys/rotate"},
    {"POST", "/v1/keys"},
    {"GET", "/v1/keys"},
    {"GET", "/v1/keys/{name}"},
    {"PATCH", "/v1/keys/{name}"},
    {"POST", "/v1/keys/{name}/rotate"},
    {"POST", "/v1/keys/{name}/versions/{version}/disable"},
    {"POST", "/v1/keys/{name}/versions/{version}/enable"},
    {"POST", "/v1/keys/{name}/versions/{version}/schedule-destruction"},
    {"POST", "/v1/keys/{name}/versions/{version}/cancel-destruction"},
    {"POST", "/v1/keys/{name}/generate-data-key"},
    {"POST", "/v1/keys/{name}/generate-data-key-without-plaintext"},
    {"POST", "/v1/keys/{name}/wrap"},
    {"POST", "/v1/keys/{name}/unwrap"},
    {"POST", "/v1/keys/{name}/rewrap"},
    {"POST", "/v1/keys/{name}/batch/generate-data-key"},
    {"POST", "/v1/keys/{name}/batch/generate-data-key-without-plaintext"},
    {"POST", "/v1/keys/{name}/batch/wrap"},
    {"POST", "/v1/keys/{name}/batch/unwrap"},
    {"POST", "/v1/keys/{name}/batch/rewrap"},
    {"PUT", "/v1/principals/{name}/password"},
    {"GET", "/v1/principals"},
    {"POST", "/v1/principals"},
    {"GET", "/v1/principals/{id}"},
    {"PATCH", "/v1/principals/{id}"},
    {"DELETE", "/v1/principals/{id}"},
    {"GET", "/v1/principals/{id}/permissions"},
    {"GET", "/v1/roles"},
    {"POST", "/v1/roles"},
    {"GET", "/v1/roles/{name}"},
    {"PUT", "/v1/roles/{name}"},
    {"DELETE", "/v1/roles/{name}"},
    {"GET", "/v1/bindings"},
    {"POST", "/v1/bindings"},
    {"DELETE", "/v1/bindings"},
    {"GET", "/v1/separation-of-duty"},
    {"POST", "/v1/separation-of-duty"},
    {"DELETE", "/v1/separation-of-duty/{name}"},
    {"GET", "/v1/audit/export"},
    {"GET", "/v1/audit/stream"},
    {"GET", "/v1/audit/compliance/access-review"},
    {"GET", "/v1/audit/compliance/change-history"},
    {"GET", "/v1/audit/compliance/report"},
};

const Router& TheRouter() {
  static const Router router = [] {
    Router built;
    for (const auto& [method, pattern] : kRoutes) {
      built.Add({method, pattern, RunOn::kWorker, false, nullptr});
    }
    return built;
  }();
  return router;
}

// The non-empty segments between slashes, as the router splits them.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    auto [segment, rest] = fuzz::SplitOnce(path, '/');
    if (!segment.empty()) segments.push_back(segment);
    path = rest;
  }
  return segments;
}

// An independent matcher, to check each route the router reports against.
bool PatternMatches(std::string_view pattern, std::string_view path) {
  const std::vector<std::string_view> want = Segments(pattern);
  const std::vector<std::string_view> have = Segments(path);
  if (want.size() != have.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (want[i].front() != '{' && want[i] != have[i]) return false;
  }
  return true;
}

void CheckMatch(std::string_view method, std::string_view path, const Router::Match& match) {
  FUZZ_CHECK(match.route != nullptr);
  FUZZ_CHECK(match.route->method == method);
  FUZZ_CHECK(PatternMatches(match.route->pattern, path));
  for (const auto& [name, value] : match.params) {
    FUZZ_CHECK(!value.empty() && value.find('/') == std::string::npos);
    FUZZ_CHECK(match.route->pattern.find("{" + name + "}") != std::string::npos);
  }
}

}  // namespace
}  // namespace weftkit::server

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using weftkit::server::Router;
  const auto request = weftkit::fuzz::SplitOnce(weftkit::fuzz::AsText(data, size), ' ');
  const std::string_view method = request.first;
  const std::string_view path = request.second;
  const Router::Match match = weftkit::server::TheRouter().Find(method, path);
  if (match.outcome == Router::MatchOutcome::kMatched) {
    weftkit::server::CheckMatch(method, path, match);
  } else {
    FUZZ_CHECK(match.route == nullptr);
  }
  const bool any_pattern = std::any_of(
      weftkit::server::kRoutes.begin(), weftkit::server::kRoutes.end(),
      [&](const auto& route) { return weftkit::server::PatternMatches(route.second, path); });
  FUZZ_CHECK((match.outcome == Router::MatchOutcome::kNotFound) == !any_pattern);

  const Router::Match again = weftkit::server::TheRouter().Find(method, path);
  FUZZ_CHECK(again.outcome == match.outcome && again.route == match.route &&
             again.params == match.params);
  return 0;
}

// Router: the table of routes the HTTPS server dispatches to.
//
// A route names a method, a path pattern whose "{name}" segments bind path parameters, where its
// handler runs, and whether it is public. Handlers of kWorker routes run on the bounded worker
// pool (they may call the HSM or the store); kInline handlers run on the I/O thread and must not
// block. Public routes (health, readiness, public keys, the SCRAM login) skip authentication;
// every other route requires an authenticated SecurityContext.
//
// Thread safety: build the router before the server starts; afterwards it is read-only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/security_context.h"
#include "server/http_types.h"

namespace weftkit::server {

enum class RunOn { kInline, kWorker };

using Handler = std::function<Response(const Request&, const SecurityContext&)>;

struct Route {
  std::string method;
  std::string pattern;  // e.g. "/v1/keys/{name}/rotate"
  RunOn run_on = RunOn::kWorker;
  bool is_public = false;
  Handler handler;
  // A route where callers obtain credentials (SCRAM login, token issuance): every request is
  // rate-limited as an authentication attempt (server/rate_limits.h).
  bool is_login = false;
};

class Router {
 public:
  void Add(Route route);

  enum class MatchOutcome { kMatched, kNotFound, kMethodNotAllowed };
  struct Match {
    MatchOutcome outcome = MatchOutcome::kNotFound;
    const Route* route = nullptr;  // set when matched
    std::map<std::string, std::string> params;
  };

  // Finds the route for `method` and `path`. Path segments are compared literally; "{x}"
  // matches one non-empty segment.
  Match Find(std::string_view method, std::string_view path) const;

 private:
  std::vector<Route> routes_;
  // routes_[i].pattern split at '/', once, when the route is added: Find runs for every request
  // and splitting each pattern there was 10% of a 304 bundle poll's CPU (docs/performance.md).
  std::vector<std::vector<std::string>> pattern_segments_;
};

}  // namespace weftkit::server

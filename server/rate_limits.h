// RateLimits: the server's rate limits on authentication and on unwrapping DEKs, per source
// address and per principal, each a TokenBucketLimiter (server/rate_limiter.h).
//
//   authentication, per source   every request to a login route (SCRAM, token issuance) takes
//                                a token, and so does every failed authentication on any other
//                                route; a source with an empty bucket is refused every
//                                non-public route and every login route until it refills
//   authentication, per principal  every successful authentication on a login route that
//                                names its principal up front (token issuance) takes a token.
//                                SCRAM users are also locked out per user after
//                                auth.lockout_failures bad passwords (auth/scram_server.h)
//   unwrap, per source and per principal  each unwrapped DEK takes a token: a batch of 500
//                                costs 500
//
// A refusal carries the seconds after which the same request would be admitted; it is answered
// with 429, problem code "rate_limited" and Retry-After (RateLimitedResponse), and counted in
// kms_rate_limited_total{limit} with limit one of auth_source, auth_principal, unwrap_source,
// unwrap_principal. The per-source limits key a client by SourceKey(peer): an IPv4 address
// by itself, an IPv6 address by its /64 network, because one IPv6 host usually holds a whole /64
// and could otherwise spread its attempts over as many addresses as it likes.
//
// Thread safety: every method is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/rate_limit_settings.h"
#include "server/rate_limiter.h"

namespace weftkit::server {

// Why a request was refused and when to come back.
struct RateRefusal {
  const char* limit;           // "auth_source", ...
  std::int64_t retry_after_s;  // at least 1
};

class RateLimits {
 public:
  // Registers kms_rate_limited_total in `metrics`, which must outlive the result. `clock` is
  // for tests (default: steady_clock). Fails only if the metric name is taken by another shape.
  static Result<std::unique_ptr<RateLimits>> Create(const RateLimitSettings& settings,
                                                    Metrics& metrics,
                                                    TokenBucketLimiter::Clock clock = {});

  // A request to a login route from `peer` ("ip:port"): takes one authentication token.
  std::optional<RateRefusal> AdmitLogin(std::string_view peer);
  // A login route's request authenticated as `principal`: takes one token of that principal.
  std::optional<RateRefusal> AdmitLoginPrincipal(std::string_view principal);
  // Any other non-public request from `peer`: refused while the source's authentication bucket
  // is empty; takes nothing.
  std::optional<RateRefusal> CheckSource(std::string_view peer);
  // A request from `peer` whose credentials were refused: takes one authentication token.
  void RecordFailedAuthentication(std::string_view peer);
  // `count` DEKs to unwrap for `principal` from `peer`: takes `count` tokens from both buckets,
  // or from neither.
  std::optional<RateRefusal> AdmitUnwrap(std::string_view peer, std::string_view principal,
                                         std::size_t count);

 private:
  RateLimits(const RateLimitSettings& settings, CounterFamily* refused,
             const TokenBucketLimiter::Clock& clock);
  std::optional<RateRefusal> Refused(const char* limit, std::int64_t retry_after_s);

  TokenBucketLimiter auth_source_;
  TokenBucketLimiter auth_principal_;
  TokenBucketLimiter unwrap_source_;
  TokenBucketLimiter unwrap_principal_;
  CounterFamily* const refused_;
};

// The IP address of a peer written "ip:port" or "[ipv6]:port".
std::string_view SourceAddress(std::string_view peer);

// The key of a peer ("ip:port" or "[ipv6]:port") in the per-source buckets: an IPv4 address as
// written ("192.0.2.7"); an IPv6 address as its /64 network in RFC 5952 form ("2001:db8:1:2::/64"),
// with its zone kept ("fe80::/64%eth0"); an IPv4-mapped IPv6 address (::ffff:192.0.2.7) as the
// IPv4 address, so a dual-stack listener keys IPv4 clients as an IPv4 one does. Text that is not
// an IP address (e.g. "unknown") is its own key.
std::string SourceKey(std::string_view peer);

// 429 with problem code "rate_limited" and "Retry-After: <seconds>".
Response RateLimitedResponse(const RateRefusal& refusal, const std::string& request_id);

}  // namespace weftkit::server

#include "server/rate_limits.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "server/problem.h"

namespace weftkit::server {
namespace {

TokenBucketSettings BucketFor(const RateLimit& limit, std::size_t tracked_clients) {
  return {.rate_per_second = static_cast<double>(limit.per_second),
          .burst = static_cast<double>(limit.burst),
          .max_keys = tracked_clients};
}

// `address` ("2001:db8::7", no zone) with its last 64 bits cleared, written "<network>/64";
// an IPv4-mapped address as its IPv4 text; nullopt if `address` is not IPv6.
std::optional<std::string> Ipv6NetworkKey(const std::string& address) {
  std::array<unsigned char, 16> bytes{};
  if (inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) return std::nullopt;

  std::array<char, INET6_ADDRSTRLEN> text{};
  constexpr std::array<unsigned char, 12> kV4MappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin())) {
    if (inet_ntop(AF_INET, bytes.data() + 12, text.data(), text.size()) == nullptr) {
      return std::nullopt;
    }
    return std::string(text.data());
  }
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  if (inet_ntop(AF_INET6, bytes.data(), text.data(), text.size()) == nullptr) return std::nullopt;
  return std::string(text.data()) + "/64";
}

}  // namespace

std::string_view SourceAddress(std::string_view peer) {
  if (!peer.empty() && peer.front() == '[') {
    std::size_t close = peer.find(']');
    return close == std::string_view::npos ? peer : peer.substr(1, close - 1);
  }
  return peer.substr(0, peer.rfind(':'));
}

std::string SourceKey(std::string_view peer) {
  std::string_view address = SourceAddress(peer);
  std::size_t percent = address.find('%');
  std::string_view zone =
      percent == std::string_view::npos ? std::string_view() : address.substr(percent);
  std::optional<std::string> network = Ipv6NetworkKey(std::string(address.substr(0, percent)));
  if (!network) return std::string(address);
  return *network + std::string(zone);
}

Result<std::unique_ptr<RateLimits>> RateLimits::Create(const RateLimitSettings& settings,
                                                       Metrics& metrics,
                                                       TokenBucketLimiter::Clock clock) {
  WK_ASSIGN_OR_RETURN(CounterFamily * refused,
                      metrics.AddCounter("kms_rate_limited_total",
                                         "Requests refused with 429 by a rate limit", {"limit"}));
  return std::unique_ptr<RateLimits>(new RateLimits(settings, refused, clock));
}

RateLimits::RateLimits(const RateLimitSettings& settings, CounterFamily* refused,
                       const TokenBucketLimiter::Clock& clock)
    : auth_source_(BucketFor(settings.auth_per_source, settings.tracked_clients), clock),
      auth_principal_(BucketFor(settings.auth_per_principal, settings.tracked_clients), clock),
      unwrap_source_(BucketFor(settings.unwrap_per_source, settings.tracked_clients), clock),
      unwrap_principal_(BucketFor(settings.unwrap_per_principal, settings.tracked_clients), clock),
      refused_(refused) {}

std::optional<RateRefusal> RateLimits::Refused(const char* limit, std::int64_t retry_after_s) {
  if (retry_after_s == 0) return std::nullopt;
  refused_->WithLabels({limit}).Increment();
  return RateRefusal{limit, retry_after_s};
}

std::optional<RateRefusal> RateLimits::AdmitLogin(std::string_view peer) {
  return Refused("auth_source", auth_source_.Take(SourceKey(peer), 1));
}

std::optional<RateRefusal> RateLimits::AdmitLoginPrincipal(std::string_view principal) {
  return Refused("auth_principal", auth_principal_.Take(principal, 1));
}

std::optional<RateRefusal> RateLimits::CheckSource(std::string_view peer) {
  return Refused("auth_source", auth_source_.WaitFor(SourceKey(peer)));
}

void RateLimits::RecordFailedAuthentication(std::string_view peer) {
  auth_source_.Charge(SourceKey(peer), 1);
}

std::optional<RateRefusal> RateLimits::AdmitUnwrap(std::string_view peer,
                                                   std::string_view principal, std::size_t count) {
  const double cost = static_cast<double>(count);
  if (count == 0) return std::nullopt;
  if (std::int64_t wait = unwrap_principal_.Take(principal, cost); wait > 0) {
    return Refused("unwrap_principal", wait);
  }
  const std::string source = SourceKey(peer);
  if (std::int64_t wait = unwrap_source_.Take(source, cost); wait > 0) {
    unwrap_principal_.Refund(principal, cost);  // neither bucket pays for a refused request
    return Refused("unwrap_source", wait);
  }
  return std::nullopt;
}

Response RateLimitedResponse(const RateRefusal& refusal, const std::string& request_id) {
  Response response = ProblemResponse(
      Error(ErrorKind::kResourceExhausted, "rate_limited", refusal.limit), request_id);
  response.headers.emplace_back("Retry-After", std::to_string(refusal.retry_after_s));
  return response;
}

}  // namespace weftkit::server

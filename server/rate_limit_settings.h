// The settings of the server's rate limits ([limits] in kmsd.conf), apart from the limiter so
// that the configuration loader needs nothing else. server/rate_limits.h says what each limit
// counts; docs/configuration.md documents the settings.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weftkit::server {

// One limit: the sustained rate and the burst. per_second 0 turns the limit off.
struct RateLimit {
  std::uint32_t per_second = 0;
  std::uint32_t burst = 1;
};

// Defaults generous enough that no legitimate client (and no test) meets them, while a password
// guesser or a stolen certificate draining DEKs does.
struct RateLimitSettings {
  RateLimit auth_per_source{20, 200};
  RateLimit auth_per_principal{10, 100};
  RateLimit unwrap_per_source{5000, 50000};
  RateLimit unwrap_per_principal{2000, 20000};
  std::size_t tracked_clients = 50000;  // buckets kept per limit (the memory bound)
};

}  // namespace weftkit::server

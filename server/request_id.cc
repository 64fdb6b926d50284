#include "server/request_id.h"

#include <openssl/rand.h>

#include <array>
#include <cstdint>

#include "server/hex.h"

namespace weftkit::server {

Result<std::string> NewRequestId() {
  std::array<std::uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return Error(ErrorKind::kUnavailable, "random_unavailable", "RAND_bytes failed");
  }
  return LowerHex(bytes);
}

}  // namespace weftkit::server

#include "common/process_hardening.h"

#include <openssl/crypto.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <fstream>
#include <string>

namespace weftkit {
namespace {

std::uint64_t SoftLimit(int resource) {
  rlimit limit{};
  if (getrlimit(resource, &limit) != 0) return 0;
  return limit.rlim_cur == RLIM_INFINITY ? ProcessHardening::kUnlimited : limit.rlim_cur;
}

// "VmLck:      4100 kB" in /proc/self/status, in bytes.
std::uint64_t LockedBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmLck:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

ProcessHardening DescribeProcessHardening() {
  ProcessHardening state;
  state.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0;
  state.core_limit = SoftLimit(RLIMIT_CORE);
  state.memlock_limit = SoftLimit(RLIMIT_MEMLOCK);
  state.secure_heap = CRYPTO_secure_malloc_initialized() == 1;
  state.secure_heap_used = CRYPTO_secure_used();
  state.locked_bytes = LockedBytes();
  return state;
}

std::string LimitText(std::uint64_t limit) {
  return limit == ProcessHardening::kUnlimited ? "unlimited" : std::to_string(limit);
}

}  // namespace weftkit

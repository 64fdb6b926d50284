// ProcessHardening: what the OS says about this process's protection of its secrets, read back
// after InitSecureMemory (common/secret_bytes.h) so that kmsd can log it at start-up and an
// operator can see that core dumps are off and key memory is locked.
//
// Thread-safe: reads process state only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

namespace weftkit {

struct ProcessHardening {
  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

  bool dumpable = true;                   // prctl(PR_GET_DUMPABLE)
  std::uint64_t core_limit = kUnlimited;  // RLIMIT_CORE (soft), bytes
  std::uint64_t memlock_limit = 0;        // RLIMIT_MEMLOCK (soft), bytes
  bool secure_heap = false;               // OpenSSL's locked, non-dumpable heap is set up
  std::size_t secure_heap_used = 0;       // bytes of it in use now
  std::uint64_t locked_bytes = 0;         // VmLck of /proc/self/status; 0 if unreadable
};

// Reads the values above.
ProcessHardening DescribeProcessHardening();

// A limit as text: "unlimited" or the number.
std::string LimitText(std::uint64_t limit);

}  // namespace weftkit

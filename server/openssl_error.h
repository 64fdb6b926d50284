// Reads OpenSSL's thread-local error queue into text for an Error's (internal) detail.
// Thread-safe: the queue is per thread.
#pragma once

#include <string>

namespace weftkit::server {

// The queued OpenSSL errors joined by "; " (or "no OpenSSL error queued"), emptying the queue
// so that the next failure on this thread starts clean.
std::string DrainOpensslErrors();

}  // namespace weftkit::server

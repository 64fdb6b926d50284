// Terminal helpers for kmsctl: reading a password without echo, and a progress line with rate
// and time left for long operations.
//
// Thread safety: single-threaded use.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::kmsctl {

// Prints `prompt` on /dev/tty and reads one line from it with echo off (termios), restoring
// the terminal afterwards, also when reading fails. Fails (usage) when there is no terminal.
Result<SecretBytes> ReadPasswordFromTerminal(const std::string& prompt);

// The first line of `path` (without its newline), as a secret. Fails (usage) if unreadable or
// empty.
Result<SecretBytes> ReadPasswordFile(const std::string& path);

// A one-line progress display on a terminal: "[#####-----]  52%  10400 items  2210/s  ETA 0:04".
// Does nothing when `stream` is not a terminal, so scripts' stderr stays clean.
class ProgressBar {
 public:
  explicit ProgressBar(std::FILE* stream);

  // `done` items so far; `fraction` of the whole work in [0, 1], or negative when unknown.
  // Redraws at most ten times a second.
  void Update(std::uint64_t done, double fraction);
  // Draws the final state and ends the line.
  void Finish(std::uint64_t done);

 private:
  void Draw(std::uint64_t done, double fraction);

  std::FILE* stream_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace weftkit::kmsctl

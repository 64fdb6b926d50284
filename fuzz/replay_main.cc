// A stand-in for libFuzzer's driver: feeds every file named on the command line (directories are
// walked recursively, in sorted order) to LLVMFuzzerTestOneInput once.
//
// CTest runs each fuzz target this way over its committed corpus in every build, with any
// compiler, so an input that once crashed a parser keeps being replayed as a regression test.
// Exits 0 after replaying at least one input; 1 if no input was found or one could not be read
// (so a misnamed corpus folder fails rather than passing vacuously). A failing check inside a
// target aborts the process, which CTest reports as a failure naming the input (printed first).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional, as in libFuzzer: targets that need one-time set-up (an HSM token) define it.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

std::vector<std::filesystem::path> InputsUnder(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> inputs;
  if (std::filesystem::is_regular_file(root)) {
    inputs.push_back(root);
  } else if (std::filesystem::is_directory(root)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) inputs.push_back(entry.path());
    }
  }
  std::sort(inputs.begin(), inputs.end());
  return inputs;
}

bool Replay(const std::filesystem::path& input) {
  std::ifstream file(input, std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "replay: cannot read %s\n", input.c_str());
    return false;
  }
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Printed before the call, so that the input is named if the target aborts.
  std::fprintf(stderr, "replay: %s (%zu bytes)\n", input.c_str(), bytes.size());
  // A fresh heap copy of exactly the input's size, so that AddressSanitizer (when enabled)
  // catches reads past its end just as under libFuzzer.
  std::vector<std::uint8_t> exact(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(exact.data(), exact.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const std::filesystem::path& input : InputsUnder(argv[i])) {
      if (!Replay(input)) return 1;
      ++replayed;
    }
  }
  std::fprintf(stderr, "replay: %zu inputs, no failure\n", replayed);
  return replayed > 0 ? 0 : 1;
}

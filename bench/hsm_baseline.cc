// weftkit-bench-hsm: the raw rate of the HSM operations behind wrap and unwrap, measured
// in-process through the project's own PKCS#11 layer (pkcs11::Hsm), with no HTTP and no TLS.
// It is the baseline that tools/bench/run.sh divides kmsd's DEK throughput by.
//
// Usage: weftkit-bench-hsm --module PATH --token-label LABEL --pin-file FILE
//                          [--seconds S (default 3)] [--threads 1,2]
//
// It creates one AES-256 master-key-like object (label "wk-bench/raw/<pid>") in the token,
// then for each thread count runs EncryptGcm (32-byte DEK, 12-byte IV, a 40-byte AAD, as a
// wrap does) and DecryptGcm (as an unwrap does) for S seconds on that many threads, each
// thread on its own borrowed session, and destroys the object at the end. One line per
// measurement on stdout, as space-separated key=value pairs:
//   hsm op=decrypt threads=2 ops=51234 seconds=3.00 ops_per_s=17078 p50_us=11 p99_us=24
//       cpu_us_per_op=38.5
// where cpu_us_per_op is the process's CPU time (all threads, user and system) per operation:
// unlike ops_per_s it hardly moves when other work shares the machine.
// Exit status 0 on success, 1 with a message on stderr otherwise.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/secret_bytes.h"
#include "pkcs11/hsm.h"

namespace weftkit::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

struct Options {
  std::string module;
  std::string token_label;
  std::string pin_file;
  double seconds = 3.0;
  std::vector<std::size_t> thread_counts{1, 2};
};

// Per-thread outcome of one timed loop.
struct Sample {
  std::vector<std::uint32_t> latencies_us;
  bool failed = false;
  std::string failure;
};

Result<Options> ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--module") {
      options.module = value;
    } else if (flag == "--token-label") {
      options.token_label = value;
    } else if (flag == "--pin-file") {
      options.pin_file = value;
    } else if (flag == "--seconds") {
      options.seconds = std::stod(value);
    } else if (flag == "--threads") {
      options.thread_counts.clear();
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');) {
        options.thread_counts.push_back(std::stoul(item));
      }
    } else {
      return Error(ErrorKind::kInvalidArgument, "unknown_flag", flag);
    }
  }
  if (argc % 2 == 0 || options.module.empty() || options.token_label.empty() ||
      options.pin_file.empty()) {
    return Error(ErrorKind::kInvalidArgument, "usage",
                 "--module PATH --token-label LABEL --pin-file FILE "
                 "[--seconds S] [--threads 1,2]");
  }
  return options;
}

template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.ok() ? OkStatus() : Status(result.error());
}

Result<SecretBytes> ReadPin(const std::string& path) {
  std::ifstream in(path);
  std::string pin((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return Error(ErrorKind::kNotFound, "pin_file_unreadable", path);
  }
  if (!pin.empty() && pin.back() == '\n') {
    pin.pop_back();
  }
  SecretBytes secret = SecretBytes::CopyOf(pin);
  std::fill(pin.begin(), pin.end(), '\0');
  return secret;
}

// Runs `operation` in a loop on `threads` threads until `seconds` pass; latencies in µs.
template <typename Operation>
std::vector<Sample> RunTimed(std::size_t threads, double seconds, const Operation& operation) {
  std::vector<Sample> samples(threads);
  const auto stop_at = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      Sample& sample = samples[t];
      while (Clock::now() < stop_at) {
        const auto start = Clock::now();
        Status status = operation();
        if (!status.ok()) {
          sample.failed = true;
          sample.failure = status.error().code();
          return;
        }
        const auto took =
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
        sample.latencies_us.push_back(static_cast<std::uint32_t>(took.count()));
      }
    });
  }
  for (auto& thread : pool) {
    thread.join();
  }
  return samples;
}

// CPU time of the whole process so far, all threads, in microseconds.
double ProcessCpuMicros() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return double(now.tv_sec) * 1e6 + double(now.tv_nsec) / 1e3;
}

// Prints one result line; false if any thread failed.
bool Report(const std::string& op, std::size_t threads, double seconds, double cpu_us,
            const std::vector<Sample>& samples) {
  std::vector<std::uint32_t> all;
  for (const Sample& sample : samples) {
    if (sample.failed) {
      std::cerr << "weftkit-bench-hsm: " << op << " failed: " << sample.failure << "\n";
      return false;
    }
    all.insert(all.end(), sample.latencies_us.begin(), sample.latencies_us.end());
  }
  std::sort(all.begin(), all.end());
  const auto percentile = [&all](double p) {
    return all.empty() ? 0u : all[std::min(all.size() - 1, std::size_t(p * all.size()))];
  };
  std::printf(
      "hsm op=%s threads=%zu ops=%zu seconds=%.2f ops_per_s=%.0f p50_us=%u p99_us=%u "
      "cpu_us_per_op=%.1f\n",
      op.c_str(), threads, all.size(), seconds, double(all.size()) / seconds, percentile(0.50),
      percentile(0.99), all.empty() ? 0.0 : cpu_us / double(all.size()));
  std::fflush(stdout);
  return true;
}

// Runs `operation` timed on `threads` threads and reports it with its CPU time per operation.
template <typename Operation>
bool Measure(const std::string& op, std::size_t threads, double seconds,
             const Operation& operation) {
  const double cpu_before = ProcessCpuMicros();
  std::vector<Sample> samples = RunTimed(threads, seconds, operation);
  return Report(op, threads, seconds, ProcessCpuMicros() - cpu_before, samples);
}

int Run(const Options& options) {
  auto pin = ReadPin(options.pin_file);
  if (!pin.ok()) {
    std::cerr << "weftkit-bench-hsm: " << pin.error().code() << "\n";
    return 1;
  }
  pkcs11::HsmConfig config;
  config.module_path = options.module;
  config.token_label = options.token_label;
  config.pin = std::move(*pin);
  config.sessions = *std::max_element(options.thread_counts.begin(), options.thread_counts.end());
  auto hsm = pkcs11::Hsm::Open(std::move(config));
  if (!hsm.ok()) {
    std::cerr << "weftkit-bench-hsm: " << hsm.error().code() << " " << hsm.error().detail() << "\n";
    return 1;
  }
  const std::string label = "wk-bench/raw/" + std::to_string(::getpid());
  if (Status created = (*hsm)->CreateAesKey(label); !created.ok()) {
    std::cerr << "weftkit-bench-hsm: " << created.error().code() << "\n";
    return 1;
  }

  // The shapes of a real wrap: a 32-byte DEK, a fresh IV per call (constant here: the HSM's
  // cost does not depend on it, and decrypt needs a matching one), an AAD the size of a key
  // name, version and short context.
  const Bytes iv(12, 0x5a);
  const Bytes aad(40, 0xa5);
  const Bytes dek(32, 0x11);
  auto wrapped = (*hsm)->EncryptGcm(label, iv, aad, dek);
  bool ok = wrapped.ok();
  for (std::size_t threads : options.thread_counts) {
    if (!ok) {
      break;
    }
    auto encrypt = [&]() { return StatusOf((*hsm)->EncryptGcm(label, iv, aad, dek)); };
    auto decrypt = [&]() { return StatusOf((*hsm)->DecryptGcm(label, iv, aad, *wrapped)); };
    ok = Measure("encrypt", threads, options.seconds, encrypt) &&
         Measure("decrypt", threads, options.seconds, decrypt);
  }
  (void)(*hsm)->DestroyObjects(label);
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace weftkit::bench

int main(int argc, char** argv) {
  auto options = weftkit::bench::ParseOptions(argc, argv);
  if (!options.ok()) {
    std::cerr << "weftkit-bench-hsm: " << options.error().code() << ": " << options.error().detail()
              << "\n";
    return 1;
  }
  return weftkit::bench::Run(*options);
}

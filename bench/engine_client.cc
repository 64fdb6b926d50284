// weftkit-bench-engine: the two client behaviours the benchmark needs that wrk cannot do,
// because they need a client certificate (mTLS, as engines connect) or many idle connections.
//
//   weftkit-bench-engine startup --port P --ca CA --cert C --key K --key-name NAME
//                                --connections N BODY_FILE...
//     An engine starting up: opens N mTLS connections in parallel and sends the batch-unwrap
//     bodies (one request per file, `{"items":[...]}`) spread round-robin over them, parses
//     every response and checks that every item came back ok. Prints
//       startup connections=N requests=R deks=D ms=T deks_per_s=X
//     where T runs from the first connect to the last DEK parsed.
//
//   weftkit-bench-engine idle --port P --ca CA --cert C --key K --connections N --hold-s S
//     Opens N mTLS connections one after another, sends GET /healthz on each (so each holds a
//     full HTTP session in the server), prints "idle open=N" and keeps them open for S seconds
//     without a byte, then closes them.
//
// Exit status 0 on success; 1 with a message on stderr if any connection, request or item
// failed. Built on test/support's HttpsClient (OpenSSL, TLS 1.3 only, certificate checked).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "test/support/https_client.h"

namespace weftkit::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string mode;
  std::map<std::string, std::string> flags;
  std::vector<std::string> files;

  std::string Flag(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
};

Options ParseOptions(int argc, char** argv) {
  Options options;
  options.mode = argc > 1 ? argv[1] : "";
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0 && i + 1 < argc) {
      options.flags[arg.substr(2)] = argv[++i];
    } else {
      options.files.push_back(arg);
    }
  }
  return options;
}

Result<std::unique_ptr<test::HttpsClient>> Connect(const Options& options) {
  test::ClientOptions client;
  client.ca_file = options.Flag("ca");
  client.cert_file = options.Flag("cert");
  client.key_file = options.Flag("key");
  client.timeout = std::chrono::milliseconds(60000);
  const auto port = static_cast<std::uint16_t>(std::stoul(options.Flag("port", "0")));
  return test::HttpsClient::Connect("127.0.0.1", port, client);
}

// Sends one batch body and counts the items that came back ok; fails on anything else.
Result<std::size_t> SendBatch(test::HttpsClient& client, const std::string& target,
                              const std::string& body) {
  WK_ASSIGN_OR_RETURN(auto response,
                      client.Send("POST", target, body, {{"Content-Type", "application/json"}}));
  if (response.status != 200) {
    return Error(ErrorKind::kInternal, "http_status", std::to_string(response.status));
  }
  const auto parsed = nlohmann::json::parse(response.body, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("results")) {
    return Error(ErrorKind::kInternal, "bad_response", "no results");
  }
  std::size_t ok = 0;
  for (const auto& result : parsed["results"]) {
    if (!result.value("ok", false) || !result.contains("plaintext")) {
      return Error(ErrorKind::kInternal, "item_failed", result.dump());
    }
    ++ok;
  }
  return ok;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(ErrorKind::kNotFound, "file_unreadable", path);
  }
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int Startup(const Options& options) {
  std::vector<std::string> bodies;
  for (const std::string& file : options.files) {
    auto body = ReadFile(file);
    if (!body.ok()) {
      std::cerr << "weftkit-bench-engine: " << body.error().ToString() << "\n";
      return 1;
    }
    bodies.push_back(std::move(*body));
  }
  const std::size_t connections = std::stoul(options.Flag("connections", "4"));
  const std::string target = "/v1/keys/" + options.Flag("key-name") + "/batch/unwrap";

  std::vector<std::size_t> deks(connections, 0);
  std::vector<std::string> failures(connections);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto client = Connect(options);
      if (!client.ok()) {
        failures[c] = client.error().ToString();
        return;
      }
      for (std::size_t i = c; i < bodies.size(); i += connections) {
        auto ok = SendBatch(**client, target, bodies[i]);
        if (!ok.ok()) {
          failures[c] = ok.error().ToString();
          return;
        }
        deks[c] += *ok;
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();

  std::size_t total = 0;
  for (std::size_t c = 0; c < connections; ++c) {
    if (!failures[c].empty()) {
      std::cerr << "weftkit-bench-engine: connection " << c << ": " << failures[c] << "\n";
      return 1;
    }
    total += deks[c];
  }
  std::printf("startup connections=%zu requests=%zu deks=%zu ms=%.1f deks_per_s=%.0f\n",
              connections, bodies.size(), total, ms, total / (ms / 1000.0));
  return 0;
}

int Idle(const Options& options) {
  const std::size_t count = std::stoul(options.Flag("connections", "1000"));
  std::vector<std::unique_ptr<test::HttpsClient>> open;
  for (std::size_t i = 0; i < count; ++i) {
    auto client = Connect(options);
    if (!client.ok()) {
      std::cerr << "weftkit-bench-engine: connection " << i << ": " << client.error().ToString()
                << "\n";
      return 1;
    }
    auto response = (*client)->Send("GET", "/healthz");
    if (!response.ok() || response->status != 200) {
      std::cerr << "weftkit-bench-engine: /healthz failed on connection " << i << "\n";
      return 1;
    }
    open.push_back(std::move(*client));
  }
  std::printf("idle open=%zu\n", open.size());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(std::stoul(options.Flag("hold-s", "10"))));
  return 0;
}

}  // namespace
}  // namespace weftkit::bench

int main(int argc, char** argv) {
  const auto options = weftkit::bench::ParseOptions(argc, argv);
  if (options.mode == "startup") {
    return weftkit::bench::Startup(options);
  }
  if (options.mode == "idle") {
    return weftkit::bench::Idle(options);
  }
  std::cerr << "usage: weftkit-bench-engine startup|idle --port P --ca CA --cert C --key K ...\n";
  return 1;
}

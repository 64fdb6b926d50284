#include "test/faults/wrap_load.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <optional>

#include "common/base64.h"

namespace weftkit::test {
namespace {

using Clock = std::chrono::steady_clock;

const HeaderList kJson = {{"content-type", "application/json"}};

std::string RandomDekBase64() {
  std::array<std::uint8_t, 32> dek{};
  RAND_bytes(dek.data(), dek.size());
  return Base64Encode(dek);
}

std::string CodeOf(const HttpResponse& response) {
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("code") || !body["code"].is_string()) return "";
  return body["code"].get<std::string>();
}

// Sends one request and times it; a null optional means the connection failed.
std::optional<HttpResponse> Timed(HttpsClient& client, const std::string& path,
                                  const std::string& body, Sample& sample) {
  sample.sent = Clock::now();
  Result<HttpResponse> response = client.Send("POST", path, body, kJson);
  sample.latency =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sample.sent);
  if (!response.ok()) return std::nullopt;
  sample.status = response->status;
  if (sample.status != 200) sample.code = CodeOf(*response);
  return std::move(response).value();
}

}  // namespace

std::unique_ptr<WrapLoad> WrapLoad::Start(const KmsdProcess& kmsd, WrapLoadOptions options) {
  std::unique_ptr<WrapLoad> load(new WrapLoad(kmsd, std::move(options)));
  for (int i = 0; i < load->options_.engine_threads; ++i) {
    load->threads_.emplace_back([raw = load.get(), i] { raw->RunEngine(i); });
  }
  if (load->options_.rotate_every.count() > 0) {
    load->threads_.emplace_back([raw = load.get()] { raw->RunOfficer(); });
  }
  return load;
}

WrapLoad::~WrapLoad() { Stop(); }

void WrapLoad::Stop() {
  stopping_ = true;
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void WrapLoad::Record(Sample sample) {
  std::lock_guard lock(mutex_);
  samples_.push_back(std::move(sample));
}

void WrapLoad::RunEngine(int thread_index) {
  const std::string base = "/v1/keys/" + options_.key + "/";
  std::unique_ptr<HttpsClient> client;
  for (std::uint64_t n = 0; !stopping_; ++n) {
    if (!client) client = kmsd_.Client("engine");
    if (!client) {
      // The server is down or refusing connections: that is a failed attempt, not a wrap.
      Record(Sample{Clock::now(), {}, 0, "connect_failed"});
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    nlohmann::json context = {{"thread", std::to_string(thread_index)}, {"n", std::to_string(n)}};
    bool generate = n % 2 == 0;
    std::string supplied = generate ? "" : RandomDekBase64();
    nlohmann::json request = {{"context", context}};
    if (!generate) request["plaintext"] = supplied;

    Sample sample;
    std::optional<HttpResponse> response =
        Timed(*client, base + (generate ? "generate-data-key" : "wrap"), request.dump(), sample);
    if (!response) client.reset();
    if (response && response->status == 200) {
      nlohmann::json body = nlohmann::json::parse(response->body);
      AcknowledgedWrap wrap{generate ? body["plaintext"].get<std::string>() : supplied,
                            body["wrapped"].get<std::string>(), context,
                            body["key_version"].get<std::uint32_t>()};
      std::lock_guard lock(mutex_);
      wraps_.push_back(std::move(wrap));
      request_ids_.push_back(response->Header("x-request-id"));
    }
    Record(std::move(sample));
    if (options_.pause.count() > 0) std::this_thread::sleep_for(options_.pause);
  }
}

void WrapLoad::RunOfficer() {
  const std::string path = "/v1/keys/" + options_.key + "/rotate";
  std::unique_ptr<HttpsClient> client;
  while (!stopping_) {
    std::this_thread::sleep_for(options_.rotate_every);
    if (!client) client = kmsd_.Client("officer");
    if (!client) continue;
    Sample sample;
    std::optional<HttpResponse> response = Timed(*client, path, "{}", sample);
    if (!response) client.reset();
    if (response && response->status == 200) {
      nlohmann::json body = nlohmann::json::parse(response->body);
      std::lock_guard lock(mutex_);
      rotations_.push_back(body["primary_version"].get<std::uint32_t>());
      request_ids_.push_back(response->Header("x-request-id"));
    }
    Record(std::move(sample));
  }
}

std::vector<Sample> WrapLoad::samples() const {
  std::lock_guard lock(mutex_);
  return samples_;
}

std::vector<AcknowledgedWrap> WrapLoad::acknowledged_wraps() const {
  std::lock_guard lock(mutex_);
  return wraps_;
}

std::vector<std::string> WrapLoad::acknowledged_request_ids() const {
  std::lock_guard lock(mutex_);
  return request_ids_;
}

std::vector<std::uint32_t> WrapLoad::acknowledged_rotations() const {
  std::lock_guard lock(mutex_);
  return rotations_;
}

std::size_t WrapLoad::CountStatus(int status) const {
  std::lock_guard lock(mutex_);
  return static_cast<std::size_t>(std::count_if(
      samples_.begin(), samples_.end(), [status](const Sample& s) { return s.status == status; }));
}

double PercentileMs(std::vector<std::chrono::microseconds> latencies, double percentile) {
  if (latencies.empty()) return 0;
  std::sort(latencies.begin(), latencies.end());
  // Nearest rank: the smallest value with at least `percentile` percent of values at or below.
  auto rank = static_cast<std::size_t>(
      std::ceil(percentile / 100.0 * static_cast<double>(latencies.size())));
  rank = std::clamp<std::size_t>(rank, 1, latencies.size());
  return static_cast<double>(latencies[rank - 1].count()) / 1000.0;
}

std::vector<std::string> UnwrapMismatches(HttpsClient& client, const std::string& key,
                                          const std::vector<AcknowledgedWrap>& wraps) {
  constexpr std::size_t kChunk = 100;
  std::vector<std::string> mismatches;
  for (std::size_t start = 0; start < wraps.size(); start += kChunk) {
    std::size_t end = std::min(start + kChunk, wraps.size());
    nlohmann::json items = nlohmann::json::array();
    for (std::size_t i = start; i < end; ++i) {
      items.push_back({{"wrapped", wraps[i].wrapped}, {"context", wraps[i].context}});
    }
    nlohmann::json request = {{"items", items}};
    Result<HttpResponse> response =
        client.Send("POST", "/v1/keys/" + key + "/batch/unwrap", request.dump(), kJson);
    if (!response.ok() || response->status != 200) {
      mismatches.push_back(
          "batch unwrap of wraps " + std::to_string(start) + ".." + std::to_string(end) +
          " failed: " + (response.ok() ? response->body : response.error().ToString()));
      continue;
    }
    nlohmann::json results = nlohmann::json::parse(response->body)["results"];
    for (std::size_t i = start; i < end; ++i) {
      const nlohmann::json& result = results.at(i - start);
      if (result.value("ok", false) && result.value("plaintext", "") == wraps[i].plaintext) {
        continue;
      }
      // Never the plaintexts themselves: only which wrap failed and how.
      std::string how = result.value("ok", false) ? "another plaintext" : result["error"].dump();
      mismatches.push_back("wrap " + std::to_string(i) + " (v" +
                           std::to_string(wraps[i].key_version) + "): " + how);
    }
  }
  return mismatches;
}

}  // namespace weftkit::test

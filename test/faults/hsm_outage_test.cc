// The HSM taken away while wraps are flowing, then given back.
//
// kmsd runs on weftkit_faulty_pkcs11, a PKCS#11 proxy in front of SoftHSM that answers
// CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT while a trigger file exists. While the HSM is away
// every DEK request must fail fast (a bounded latency: callers must not pile up behind a dead
// device) with 503, Retry-After and the stable code hsm_unavailable; /readyz must say 503; and
// once the device is back, service must resume without a restart or an operator. Nothing
// acknowledged before, during or after the outage may be lost.
#include <fstream>

#include "test/faults/fault_report.h"
#include "test/faults/wrap_load.h"
#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// Upper bound on a failed request's latency while the HSM is away. The server answers these in
// about a millisecond; the bound leaves room for a machine shared with other builds.
constexpr double kFailFastBoundMs = 1000;
// How long service may take to come back once the HSM is back.
constexpr milliseconds kRecoveryBound{5000};

class HsmOutageLoadTest : public KmsdTest {
 protected:
  KmsdOptions Options() override {
    trigger_ = std::filesystem::temp_directory_path() /
               ("weftkit-faults-hsm-" + std::to_string(::getpid()));
    std::filesystem::remove(trigger_);
    // kmsd inherits this: the proxy looks for the file on every PKCS#11 call.
    ::setenv("WEFTKIT_FAULTY_PKCS11_TRIGGER", trigger_.c_str(), 1);
    KmsdOptions options;
    options.module_path = WEFTKIT_FAULTY_MODULE;
    return options;
  }
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
  }
  void TearDown() override { std::filesystem::remove(trigger_); }

  int ReadyStatus(HttpsClient& client) {
    auto response = client.Send("GET", "/readyz");
    return response.ok() ? response->status : 0;
  }

  // One outage of `length` in the middle of the load; returns the acknowledged wraps.
  std::vector<AcknowledgedWrap> Outage(milliseconds length, const std::string& label) {
    auto load = WrapLoad::Start(*kmsd_, {.key = "orders", .engine_threads = 3});
    auto probe = kmsd_->Client("");
    EXPECT_NE(probe, nullptr);
    if (probe == nullptr) return {};
    EXPECT_TRUE(
        WaitFor([&] { return load->acknowledged_wraps().size() >= 20; }, milliseconds(20000)));

    const Clock::time_point away = Clock::now();
    std::ofstream(trigger_).put('x');
    auto not_ready = WaitFor([&] { return ReadyStatus(*probe) == 503; }, milliseconds(5000));
    EXPECT_TRUE(not_ready.has_value()) << "/readyz never turned 503";
    std::this_thread::sleep_for(length);

    const Clock::time_point back = Clock::now();
    std::filesystem::remove(trigger_);
    auto ready = WaitFor([&] { return ReadyStatus(*probe) == 200; }, kRecoveryBound);
    EXPECT_TRUE(ready.has_value())
        << "/readyz did not recover within " << kRecoveryBound.count() << " ms";
    // Keep the load going until it has been served again for a while.
    EXPECT_TRUE(WaitFor(
        [&] {
          auto samples = load->samples();
          return std::count_if(samples.begin(), samples.end(), [&](const Sample& s) {
                   return s.sent > back && s.status == 200;
                 }) >= 20;
        },
        kRecoveryBound + milliseconds(5000)));
    load->Stop();

    CheckSamples(load->samples(), away, back, label);
    if (not_ready) ReportMeasurement(label + "_readyz_503_after_ms", not_ready->count(), "ms");
    if (ready) ReportMeasurement(label + "_readyz_recovered_after_ms", ready->count(), "ms");
    return load->acknowledged_wraps();
  }

  // Every request sent while the HSM was certainly away failed fast with the stable code; none
  // broke its connection; service came back.
  void CheckSamples(const std::vector<Sample>& samples, Clock::time_point away,
                    Clock::time_point back, const std::string& label) {
    // A request already inside the HSM when the trigger appeared may still succeed.
    const Clock::time_point surely_away = away + milliseconds(100);
    std::vector<std::chrono::microseconds> failed;
    std::optional<Clock::time_point> first_success_after;
    std::size_t broken = 0;
    std::vector<std::string> wrong;  // answers during the outage other than 503 hsm_unavailable
    for (const Sample& sample : samples) {
      if (sample.status == 0) ++broken;
      if (sample.sent >= surely_away && sample.sent + sample.latency < back) {
        if (sample.status != 503 || sample.code != "hsm_unavailable") {
          wrong.push_back(std::to_string(sample.status) + " " + sample.code);
        }
        failed.push_back(sample.latency);
      }
      if (sample.sent > back && sample.status == 200 &&
          (!first_success_after || sample.sent < *first_success_after)) {
        first_success_after = sample.sent;
      }
    }
    EXPECT_EQ(broken, 0u) << "connections broke while the HSM was away";
    EXPECT_TRUE(wrong.empty()) << wrong.size()
                               << " answers were not 503 hsm_unavailable, first: " << wrong[0];
    ASSERT_FALSE(failed.empty()) << "no request was sent while the HSM was away";
    double p50 = PercentileMs(failed, 50);
    double p99 = PercentileMs(failed, 99);
    double max = PercentileMs(failed, 100);
    EXPECT_LT(p99, kFailFastBoundMs) << "requests did not fail fast while the HSM was away";
    ReportMeasurement(label + "_failed_requests", static_cast<double>(failed.size()), "requests");
    ReportMeasurement(label + "_fail_fast_p50_ms", p50, "ms");
    ReportMeasurement(label + "_fail_fast_p99_ms", p99, "ms");
    ReportMeasurement(label + "_fail_fast_max_ms", max, "ms");
    ASSERT_TRUE(first_success_after.has_value()) << "no wrap succeeded after the HSM came back";
    ReportMeasurement(
        label + "_first_wrap_after_return_ms",
        std::chrono::duration<double, std::milli>(*first_success_after - back).count(), "ms");
  }

  std::filesystem::path trigger_;
};

TEST_F(HsmOutageLoadTest, HsmAwayUnderLoad_FailsFast503ThenResumesLosingNothing) {
  std::vector<AcknowledgedWrap> wraps = Outage(milliseconds(1500), "hsm_away");
  ASSERT_FALSE(wraps.empty());
  // A fresh connection: the fixture's has been idle longer than the server's read timeout.
  auto engine = kmsd_->Client("engine");
  ASSERT_NE(engine, nullptr);
  std::vector<std::string> lost = UnwrapMismatches(*engine, "orders", wraps);
  EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged wraps lost, first: " << lost[0];
}

// tools/faults.sh: several outages of growing length against one server.
TEST_F(HsmOutageLoadTest, LongRepeatedOutages_EachFailsFastAndResumes) {
  std::vector<AcknowledgedWrap> wraps;
  for (int round = 1; round <= 4 && !HasFailure(); ++round) {
    SCOPED_TRACE("outage " + std::to_string(round));
    auto acknowledged = Outage(milliseconds(1000 * round), "hsm_away_" + std::to_string(round));
    wraps.insert(wraps.end(), acknowledged.begin(), acknowledged.end());
  }
  auto engine = kmsd_->Client("engine");
  ASSERT_NE(engine, nullptr);
  std::vector<std::string> lost = UnwrapMismatches(*engine, "orders", wraps);
  EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged wraps lost, first: " << lost[0];
}

// The token's files taken away underneath SoftHSM itself (the directory renamed, as when a
// volume is unmounted), with no proxy in between. SoftHSM keeps objects it has loaded in
// memory, so requests may keep succeeding for a while; what must hold is that none is answered
// with anything but success or a 503 with a stable hsm_ code, no connection breaks, and
// service is whole again once the files are back.
class TokenFilesGoneTest : public KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    if (HasFatalFailure()) return;
    CreateKey("orders");
  }
};

TEST_F(TokenFilesGoneTest, TokenDirectoryRenamedUnderLoad_503OrServedThenWhole) {
  auto load = WrapLoad::Start(*kmsd_, {.key = "orders", .engine_threads = 3});
  ASSERT_TRUE(
      WaitFor([&] { return load->acknowledged_wraps().size() >= 20; }, milliseconds(20000)));
  const std::filesystem::path tokens = kmsd_->token().token_dir();
  const std::filesystem::path away = tokens.string() + ".away";
  std::filesystem::rename(tokens, away);
  auto probe = kmsd_->Client("");
  ASSERT_NE(probe, nullptr);
  std::this_thread::sleep_for(milliseconds(1500));
  auto readyz_away = probe->Send("GET", "/readyz");
  std::filesystem::rename(away, tokens);
  const Clock::time_point back = Clock::now();

  auto ready = WaitFor(
      [&] {
        auto response = probe->Send("GET", "/readyz");
        return response.ok() && response->status == 200;
      },
      kRecoveryBound);
  EXPECT_TRUE(ready.has_value());
  std::this_thread::sleep_for(milliseconds(500));
  load->Stop();

  std::vector<std::chrono::microseconds> refused;
  std::size_t served_after = 0;
  std::vector<std::string> wrong;  // anything but 200, or 503 with an hsm_ code
  for (const Sample& sample : load->samples()) {
    if (sample.status == 503 && sample.code.rfind("hsm_", 0) == 0) {
      refused.push_back(sample.latency);
    } else if (sample.status != 200) {
      wrong.push_back(std::to_string(sample.status) + " " + sample.code);
    }
    if (sample.sent > back && sample.status == 200) ++served_after;
  }
  EXPECT_TRUE(wrong.empty()) << wrong.size()
                             << " answers were neither 200 nor 503 hsm_*, first: " << wrong[0];
  EXPECT_GT(served_after, 0u);
  EXPECT_LT(PercentileMs(refused, 99), kFailFastBoundMs);
  ReportMeasurement("token_dir_gone_refused", static_cast<double>(refused.size()), "requests");
  ReportMeasurement("token_dir_gone_fail_fast_p99_ms", PercentileMs(refused, 99), "ms");
  if (ready) ReportMeasurement("token_dir_gone_readyz_recovered_after_ms", ready->count(), "ms");
  if (readyz_away.ok()) {
    ReportMeasurement("token_dir_gone_readyz_status", readyz_away->status, "status");
  }
  auto engine = kmsd_->Client("engine");
  ASSERT_NE(engine, nullptr);
  std::vector<std::string> lost = UnwrapMismatches(*engine, "orders", load->acknowledged_wraps());
  EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged wraps lost, first: " << lost[0];
}

}  // namespace
}  // namespace weftkit::test

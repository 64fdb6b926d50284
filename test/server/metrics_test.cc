// The registry renders what Prometheus parses (exposition format 0.0.4) and refuses names that
// would break it.
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace weftkit::server {
namespace {

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(MetricsTest, Render_ShowsCounterWithHelpTypeAndLabels) {
  Metrics metrics;
  auto family = metrics.AddCounter("hsm_operations_total", "HSM calls.", {"op", "result"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"wrap", "ok"}).Increment(3);
  std::string text = metrics.Render();
  EXPECT_TRUE(Contains(text, "# HELP hsm_operations_total HSM calls.\n"));
  EXPECT_TRUE(Contains(text, "# TYPE hsm_operations_total counter\n"));
  EXPECT_TRUE(Contains(text, "hsm_operations_total{op=\"wrap\",result=\"ok\"} 3\n"));
}

TEST(MetricsTest, Render_ShowsCumulativeHistogramBuckets) {
  Metrics metrics;
  auto family = metrics.AddHistogram("latency_seconds", "Latency.", {"route"}, {0.1, 1});
  ASSERT_TRUE(family.ok());
  Histogram& series = (*family)->WithLabels({"/x"});
  series.Observe(0.05);
  series.Observe(0.5);
  series.Observe(7);
  std::string text = metrics.Render();
  EXPECT_TRUE(Contains(text, "latency_seconds_bucket{route=\"/x\",le=\"0.1\"} 1\n"));
  EXPECT_TRUE(Contains(text, "latency_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"));
  EXPECT_TRUE(Contains(text, "latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(Contains(text, "latency_seconds_sum{route=\"/x\"} 7.55\n"));
  EXPECT_TRUE(Contains(text, "latency_seconds_count{route=\"/x\"} 3\n"));
}

TEST(MetricsTest, Render_ShowsUnlabelledGauge) {
  Metrics metrics;
  auto family = metrics.AddGauge("queue_depth", "Depth.", {});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({}).Set(4);
  (*family)->WithLabels({}).Add(-1.5);
  EXPECT_TRUE(Contains(metrics.Render(), "# TYPE queue_depth gauge\nqueue_depth 2.5\n"));
}

TEST(MetricsTest, Render_EscapesLabelValues) {
  Metrics metrics;
  auto family = metrics.AddCounter("c_total", "C.", {"v"});
  ASSERT_TRUE(family.ok());
  (*family)->WithLabels({"a\"b\\c\nd"}).Increment();
  EXPECT_TRUE(Contains(metrics.Render(), "c_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, AddCounter_ReturnsSameFamily_WhenRegisteredTwiceWithSameShape) {
  Metrics metrics;
  auto first = metrics.AddCounter("c_total", "C.", {"a"});
  auto second = metrics.AddCounter("c_total", "C.", {"a"});
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
}

TEST(MetricsTest, Add_Fails_WhenNameTakenByOtherShape) {
  Metrics metrics;
  ASSERT_TRUE(metrics.AddCounter("x_total", "X.", {"a"}).ok());
  auto other_labels = metrics.AddCounter("x_total", "X.", {"b"});
  auto other_type = metrics.AddGauge("x_total", "X.", {"a"});
  ASSERT_FALSE(other_labels.ok());
  ASSERT_FALSE(other_type.ok());
  EXPECT_EQ(other_type.error().code(), "metric_name_taken");
}

TEST(MetricsTest, Add_Fails_WhenNameInvalid) {
  Metrics metrics;
  EXPECT_FALSE(metrics.AddCounter("1bad", "B.", {}).ok());
  EXPECT_FALSE(metrics.AddCounter("bad-name", "B.", {}).ok());
  EXPECT_FALSE(metrics.AddCounter("ok_total", "B.", {"le"}).ok());
  EXPECT_FALSE(metrics.AddHistogram("h", "B.", {"with space"}).ok());
}

TEST(MetricsTest, Counter_CountsEveryIncrement_WhenThreadsRace) {
  Metrics metrics;
  auto family = metrics.AddCounter("race_total", "R.", {"k"});
  ASSERT_TRUE(family.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) (*family)->WithLabels({"v"}).Increment();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ((*family)->WithLabels({"v"}).value(), 40000u);
}

}  // namespace
}  // namespace weftkit::server

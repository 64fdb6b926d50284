// The dispatcher's audit hook, with a sink the test controls: every request reaching a worker is
// recorded durably before its response; a failed write turns the response into 503
// audit_unavailable (wiping a secret body); an unhealthy sink stops handlers from running; and
// requests refused on the I/O thread are recorded without waiting.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <vector>

#include "audit/audit_sink.h"
#include "server/metrics.h"
#include "server/request_audit.h"
#include "server/request_dispatcher.h"
#include "server/server_metrics.h"

namespace weftkit::server {
namespace {

class FakeSink : public audit::AuditSink {
 public:
  Result<std::uint64_t> Record(audit::AuditEntry entry) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fail_writes) {
      healthy_ = false;
      return Error(ErrorKind::kUnavailable, "audit_unavailable", "test");
    }
    healthy_ = true;
    durable.push_back(std::move(entry));
    return durable.size() - 1;
  }
  void RecordDetached(audit::AuditEntry entry) override {
    std::lock_guard<std::mutex> lock(mutex_);
    detached.push_back(std::move(entry));
  }
  bool Healthy() const override { return healthy_.load(); }

  std::atomic<bool> fail_writes{false};
  std::atomic<bool> healthy_{true};
  std::vector<audit::AuditEntry> durable;
  std::vector<audit::AuditEntry> detached;

 private:
  std::mutex mutex_;
};

class RequestAuditHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add({"POST", "/v1/keys/{name}/unwrap", RunOn::kWorker, false,
                 [this](const Request&, const SecurityContext&) {
                   ++handler_runs_;
                   NoteAuthorization("dek.unwrap", "key/orders", true, "allow role=engine");
                   Response response;
                   response.body = R"({"plaintext":"c2VjcmV0"})";
                   response.wipe_after_send = true;
                   response.audit.key_version = 3;
                   return response;
                 }});
    router_.Add({"GET", "/healthz", RunOn::kInline, true,
                 [](const Request&, const SecurityContext&) { return Response(); }});
    workers_ = WorkerPool::Create(1, 8).value();
    auto metrics = ServerMetrics::Register(metrics_registry_);
    ASSERT_TRUE(metrics.ok());
    dispatcher_ = std::make_unique<RequestDispatcher>(
        router_,
        [](const Request& request) -> Result<SecurityContext> {
          return SecurityContext({.principal = "spiffe://weftkit.dev/engine/orders",
                                  .auth_method = AuthMethod::kMtls,
                                  .roles = {"engine"},
                                  .request_id = request.request_id,
                                  .peer = request.peer,
                                  .time = 0});
        },
        *workers_, *metrics, &sink_);
  }

  void TearDown() override { workers_->Stop(); }

  Response Send(const std::string& method, const std::string& path) {
    Request request;
    request.method = method;
    request.path = path;
    request.request_id = "req-" + std::to_string(++requests_);
    request.peer = "127.0.0.1:5000";
    request.peer_certificate.present = true;
    std::promise<Response> done;
    dispatcher_->Dispatch(std::move(request),
                          [&done](Response r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  Router router_;
  Metrics metrics_registry_;
  std::unique_ptr<WorkerPool> workers_;
  FakeSink sink_;
  std::unique_ptr<RequestDispatcher> dispatcher_;
  std::atomic<int> handler_runs_{0};
  int requests_ = 0;
};

TEST_F(RequestAuditHookTest, WorkerRequest_IsRecordedDurably_WithHandlerAndDecisionDetails) {
  Response response = Send("POST", "/v1/keys/orders/unwrap");
  EXPECT_EQ(response.status, 200);
  ASSERT_EQ(sink_.durable.size(), 1u);
  const audit::AuditEntry& entry = sink_.durable[0];
  EXPECT_EQ(entry.request_id, "req-1");
  EXPECT_EQ(entry.principal, "spiffe://weftkit.dev/engine/orders");
  EXPECT_EQ(entry.auth_method, "mtls");
  EXPECT_EQ(entry.peer, "127.0.0.1:5000");
  EXPECT_EQ(entry.action, "dek.unwrap");
  EXPECT_EQ(entry.resource, "key/orders");
  EXPECT_EQ(entry.key_name, "orders");
  EXPECT_EQ(entry.key_version, 3u);
  EXPECT_EQ(entry.decision, "allow");
  EXPECT_EQ(entry.rule, "allow role=engine");
  EXPECT_EQ(entry.outcome, "success");
  EXPECT_EQ(entry.status, 200);
  EXPECT_EQ(entry.error_code, "");
}

TEST_F(RequestAuditHookTest, FailedWrite_Answers503AuditUnavailable_WithoutTheSecretBody) {
  sink_.fail_writes = true;
  Response response = Send("POST", "/v1/keys/orders/unwrap");
  EXPECT_EQ(response.status, 503);
  EXPECT_NE(response.body.find("audit_unavailable"), std::string::npos);
  EXPECT_EQ(response.body.find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(handler_runs_, 1);
}

TEST_F(RequestAuditHookTest, UnhealthySink_StopsHandlersFromRunning_UntilAWriteSucceeds) {
  sink_.healthy_ = false;
  Response refused = Send("POST", "/v1/keys/orders/unwrap");
  EXPECT_EQ(refused.status, 503);
  EXPECT_NE(refused.body.find("audit_unavailable"), std::string::npos);
  EXPECT_EQ(handler_runs_, 0);
  // The refusal was recorded, and that successful write restored health.
  ASSERT_EQ(sink_.durable.size(), 1u);
  EXPECT_EQ(sink_.durable[0].error_code, "audit_unavailable");
  EXPECT_EQ(Send("POST", "/v1/keys/orders/unwrap").status, 200);
  EXPECT_EQ(handler_runs_, 1);
}

TEST_F(RequestAuditHookTest, IoThreadRefusals_AreRecordedWithoutWaiting_HealthChecksNotAtAll) {
  EXPECT_EQ(Send("GET", "/nowhere").status, 404);
  EXPECT_EQ(Send("GET", "/v1/keys/orders/unwrap").status, 405);
  EXPECT_EQ(Send("GET", "/healthz").status, 200);
  EXPECT_TRUE(sink_.durable.empty());
  ASSERT_EQ(sink_.detached.size(), 2u);
  EXPECT_EQ(sink_.detached[0].error_code, "route_not_found");
  EXPECT_EQ(sink_.detached[0].action, "GET unmatched");
  EXPECT_EQ(sink_.detached[0].resource, "/nowhere");
  EXPECT_EQ(sink_.detached[0].auth_method, "mtls");
  EXPECT_EQ(sink_.detached[1].error_code, "method_not_allowed");
}

}  // namespace
}  // namespace weftkit::server

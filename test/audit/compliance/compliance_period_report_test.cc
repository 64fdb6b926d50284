// Change history and the period report over an in-memory audit log and hand-built key
// metadata: attribution of key-store facts to the requests that caused them, period bounds,
// overdue rotations, failed authentications and denials.
#include <gtest/gtest.h>

#include "audit/compliance/period_report.h"
#include "memory_audit_reader.h"

namespace weftkit::audit::compliance {
namespace {

using audit::testing::MemoryAuditReader;

constexpr std::int64_t kDay = 86400;
constexpr std::int64_t kT0 = 1'790'000'000;  // Unix seconds

AuditEntry Entry(std::int64_t time_s, std::string principal, std::string action,
                 std::string key_name, std::optional<std::uint32_t> version,
                 std::string outcome = "success", std::string decision = "allow",
                 int status = 200) {
  AuditEntry entry;
  entry.time_ms = time_s * 1000 + 250;
  entry.request_id = "req-" + std::to_string(time_s);
  entry.principal = std::move(principal);
  entry.action = std::move(action);
  entry.key_name = key_name;
  entry.resource = key_name.empty() ? "" : "key/" + key_name;
  entry.key_version = version;
  entry.outcome = std::move(outcome);
  entry.decision = std::move(decision);
  entry.status = status;
  return entry;
}

kms::KeyVersion Version(std::uint32_t number, std::int64_t created_at,
                        std::optional<std::int64_t> destroyed_at = std::nullopt) {
  kms::KeyVersion version;
  version.version = number;
  version.created_at = created_at;
  version.destroyed_at = destroyed_at;
  if (destroyed_at) version.state = kms::VersionState::kDestroyed;
  return version;
}

class PeriodReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // orders: created at T0 by alice, rotated at T0+10d by alice, then automatically at T0+40d;
    // version 1 destroyed by maintenance at T0+50d after bob scheduled it at T0+20d.
    kms::MasterKey orders;
    orders.name = "orders";
    orders.created_at = kT0;
    orders.rotated_at = kT0 + 40 * kDay;
    orders.rotation_period = 30 * kDay;
    orders.versions = {Version(1, kT0, kT0 + 50 * kDay), Version(2, kT0 + 10 * kDay),
                       Version(3, kT0 + 40 * kDay)};
    // billing: created at T0+1d with a 7-day period, never rotated: overdue.
    kms::MasterKey billing;
    billing.name = "billing";
    billing.created_at = kT0 + kDay;
    billing.rotation_period = 7 * kDay;
    billing.versions = {Version(1, kT0 + kDay)};
    keys_ = {orders, billing};

    reader_.Append(Entry(kT0, "alice", "key.create", "orders", 1));
    // As kmsd records a creation: the key in the resource only, no key_name or version.
    AuditEntry create_billing = Entry(kT0 + kDay, "alice", "key.create", "billing", std::nullopt);
    create_billing.key_name.clear();
    reader_.Append(create_billing);
    reader_.Append(Entry(kT0 + 2 * kDay, "", "auth.scram", "", std::nullopt, "failure", "", 401));
    reader_.Append(
        Entry(kT0 + 3 * kDay, "eve", "key.rotate", "orders", std::nullopt, "failure", "deny", 403));
    reader_.Append(Entry(kT0 + 10 * kDay, "alice", "key.rotate", "orders", 2));
    reader_.Append(Entry(kT0 + 20 * kDay, "bob", "key.destroy", "orders", 1));
    reader_.Append(Entry(kT0 + 21 * kDay, "bob", "key.read", "orders", std::nullopt));
    // kmsd's maintenance task: the automatic rotation at T0+40d is recorded, the destruction at
    // T0+50d is not (as in a log written before maintenance entries existed).
    AuditEntry automatic = Entry(kT0 + 40 * kDay, "kmsd", "key.rotate", "orders", 3);
    automatic.rule = "maintenance:rotation_period";
    reader_.Append(automatic);
  }

  std::vector<kms::MasterKey> keys_;
  MemoryAuditReader reader_;
};

TEST_F(PeriodReportTest, BuildChangeHistory_AttributesKeyStoreFactsToRequests) {
  auto history = BuildChangeHistory(keys_, {}, reader_, 0, (kT0 + 100 * kDay) * 1000);
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  std::vector<std::string> lines;
  for (const ChangeEvent& event : *history) {
    lines.push_back(event.object + " " + event.event + " v" +
                    (event.version ? std::to_string(*event.version) : "-") + " by '" +
                    event.principal + "' from " + event.source);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "key/orders key_created v1 by 'alice' from key_store+audit_log",
                       "key/billing key_created v1 by 'alice' from key_store+audit_log",
                       "key/orders key_rotated v2 by 'alice' from key_store+audit_log",
                       "key/orders key.destroy v1 by 'bob' from audit_log",
                       "key/orders key_rotated v3 by 'kmsd' from key_store+audit_log",
                       "key/orders version_destroyed v1 by '' from key_store",
                   }));
}

TEST_F(PeriodReportTest, BuildChangeHistory_AttributesPolicyVersionsToTheirPublishes) {
  // cluster-a: v1 published by carol (audited), v2 by carol (its entry names another version,
  // so it must not be attributed), v3 a rollback to v1 by dan (audited).
  std::vector<PolicyChange> policies = {
      {"cluster-a", 1, (kT0 + 60 * kDay) * 1000, "carol", std::nullopt},
      {"cluster-a", 2, (kT0 + 61 * kDay) * 1000, "carol", std::nullopt},
      {"cluster-a", 3, (kT0 + 62 * kDay) * 1000, "dan", 1},
  };
  auto publish = [](std::int64_t time_s, std::string principal, std::uint64_t version) {
    AuditEntry entry = Entry(time_s, std::move(principal), "policy.publish", "", std::nullopt);
    entry.resource = "policy/cluster-a";
    entry.policy_version = version;
    return entry;
  };
  reader_.Append(publish(kT0 + 60 * kDay, "carol", 1));
  reader_.Append(publish(kT0 + 61 * kDay, "carol", 7));
  reader_.Append(publish(kT0 + 62 * kDay, "dan", 3));

  auto history =
      BuildChangeHistory({}, policies, reader_, (kT0 + 59 * kDay) * 1000, (kT0 + 70 * kDay) * 1000);
  ASSERT_TRUE(history.ok()) << history.error().ToString();
  std::vector<std::string> lines;
  for (const ChangeEvent& event : *history) {
    lines.push_back(event.object + " " + event.event + " v" + std::to_string(*event.version) +
                    " by '" + event.principal + "' from " + event.source +
                    (event.audit_index ? " #" + std::to_string(*event.audit_index) : ""));
  }
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "policy/cluster-a policy_published v1 by 'carol' from policy_store+audit_log #8",
                "policy/cluster-a policy_published v2 by 'carol' from policy_store",
                "policy/cluster-a policy.publish v7 by 'carol' from audit_log #9",
                "policy/cluster-a policy_rolled_back v3 by 'dan' from policy_store+audit_log #10",
            }));
}

TEST_F(PeriodReportTest, BuildChangeHistory_KeepsOnlyThePeriod) {
  auto history =
      BuildChangeHistory(keys_, {}, reader_, (kT0 + 5 * kDay) * 1000, (kT0 + 30 * kDay) * 1000);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].event, "key_rotated");
  EXPECT_EQ((*history)[0].audit_index, 4u);
  EXPECT_EQ((*history)[1].event, "key.destroy");
}

TEST_F(PeriodReportTest, BuildPeriodReport_CountsEveryCategory) {
  std::int64_t now_ms = (kT0 + 60 * kDay) * 1000;
  auto report = BuildPeriodReport(keys_, reader_, kT0 * 1000, now_ms, now_ms);
  ASSERT_TRUE(report.ok()) << report.error().ToString();
  EXPECT_EQ(report->rotations.size(), 2u);
  EXPECT_EQ(report->destroyed_versions.size(), 1u);
  ASSERT_EQ(report->failed_authentications.size(), 1u);
  EXPECT_EQ(report->failed_authentications[0].action, "auth.scram");
  ASSERT_EQ(report->denied_operations.size(), 1u);
  EXPECT_EQ(report->denied_operations[0].principal, "eve");
  ASSERT_EQ(report->overdue_rotations.size(), 1u);
  EXPECT_EQ(report->overdue_rotations[0].key, "billing");
  EXPECT_EQ(report->overdue_rotations[0].overdue_by_s, 60 * kDay - 8 * kDay);

  nlohmann::json json = PeriodReportToJson(*report);
  EXPECT_EQ(json["counts"]["rotations"], 2);
  EXPECT_EQ(json["counts"]["denied_operations"], 1);
  EXPECT_EQ(json["denied_operations"][0]["principal"], "eve");

  std::string csv = PeriodReportToCsv(*report);
  EXPECT_NE(csv.find("count,,failed_authentications,,,,,,,1\r\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("denied_operation,"), std::string::npos);
}

TEST_F(PeriodReportTest, BuildPeriodReport_MeasuresOverdueAtPeriodEnd_PastPeriod) {
  // At T0+9d billing (due T0+8d) is overdue and orders (due T0+30d) is not.
  std::int64_t to_ms = (kT0 + 9 * kDay) * 1000;
  auto report = BuildPeriodReport(keys_, reader_, kT0 * 1000, to_ms, to_ms + 100 * kDay * 1000);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->overdue_rotations.size(), 1u);
  EXPECT_EQ(report->overdue_rotations[0].overdue_by_s, kDay);
  EXPECT_TRUE(report->rotations.empty());
}

TEST_F(PeriodReportTest, BuildPeriodReport_FailsWithStoreError_ReaderDown) {
  reader_.FailWith(Error(ErrorKind::kUnavailable, "audit_unavailable", "test"));
  auto report = BuildPeriodReport(keys_, reader_, 0, 1, 1);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code(), "audit_unavailable");
}

TEST_F(PeriodReportTest, ScanPeriod_FailsTooLarge_OverLimit) {
  auto history =
      BuildChangeHistory(keys_, {}, reader_, 0, (kT0 + 100 * kDay) * 1000, ScanLimits{2, 3});
  ASSERT_FALSE(history.ok());
  EXPECT_EQ(history.error().code(), "audit_scan_too_large");
}

}  // namespace
}  // namespace weftkit::audit::compliance

// The canonical bytes are what the leaf hashes, the chain and every signed checkpoint rest on:
// they must follow the documented layout exactly and change with every field.
#include "audit/canonical_entry.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "test/audit/audit_test_entries.h"

namespace weftkit::audit {
namespace {

using test_entries::SampleEntry;

TEST(CanonicalEntryTest, CanonicalBytes_FollowTheDocumentedLayout) {
  AuditEntry entry;
  entry.index = 1;
  entry.time_ms = 2;
  entry.status = 200;
  entry.previous_hash = std::string(64, 'a');
  entry.action = "x";
  entry.key_version = 3;
  std::vector<std::uint8_t> bytes = CanonicalBytes(entry).value();

  std::vector<std::uint8_t> expected = {'W', 'K', 'A', '1', 0, 0, 0, 0, 0, 0, 0, 1,
                                        0,   0,   0,   0,   0, 0, 0, 2, 0, 0, 0, 200};
  expected.insert(expected.end(), 32, 0xaa);
  for (int field = 0; field < 11; ++field) {
    expected.insert(expected.end(), {0, 0, 0, static_cast<std::uint8_t>(field == 4 ? 1 : 0)});
    if (field == 4) expected.push_back('x');  // action is the fifth text field
  }
  expected.insert(expected.end(), {1, 0, 0, 0, 3, 0});
  EXPECT_EQ(bytes, expected);
}

TEST(CanonicalEntryTest, EntryLeafHash_ChangesWithEveryField) {
  AuditEntry base = SampleEntry(4);
  base.index = 9;
  base.previous_hash = std::string(64, '0');
  Hash original = EntryLeafHash(base).value();
  std::vector<std::function<void(AuditEntry&)>> edits = {
      [](AuditEntry& e) { e.index++; },
      [](AuditEntry& e) { e.time_ms++; },
      [](AuditEntry& e) { e.request_id += "x"; },
      [](AuditEntry& e) { e.principal += "x"; },
      [](AuditEntry& e) { e.auth_method = "jwt"; },
      [](AuditEntry& e) { e.peer += "x"; },
      [](AuditEntry& e) { e.action += "x"; },
      [](AuditEntry& e) { e.resource += "x"; },
      [](AuditEntry& e) { e.key_name += "x"; },
      [](AuditEntry& e) { e.key_version = std::nullopt; },
      [](AuditEntry& e) { e.key_version = 5; },
      [](AuditEntry& e) { e.policy_version = 0; },
      [](AuditEntry& e) { e.decision = "deny"; },
      [](AuditEntry& e) { e.rule += "x"; },
      [](AuditEntry& e) { e.outcome = "failure"; },
      [](AuditEntry& e) { e.status = 500; },
      [](AuditEntry& e) { e.error_code = "x"; },
      [](AuditEntry& e) { e.previous_hash[63] = '1'; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    AuditEntry edited = base;
    edits[i](edited);
    EXPECT_NE(EntryLeafHash(edited).value(), original) << "edit " << i;
  }
}

TEST(CanonicalEntryTest, CanonicalBytes_DoNotLetTextMoveBetweenFields) {
  AuditEntry a = SampleEntry(1);
  AuditEntry b = a;
  a.principal = "ab";
  a.auth_method = "c";
  b.principal = "a";
  b.auth_method = "bc";
  EXPECT_NE(CanonicalBytes(a).value(), CanonicalBytes(b).value());
}

TEST(CanonicalEntryTest, CanonicalBytes_FailWithBadEntry_OnInconsistentPreviousHash) {
  AuditEntry first = SampleEntry(0);
  first.previous_hash = std::string(64, '0');
  EXPECT_EQ(CanonicalBytes(first).error().code(), "audit_bad_entry");
  AuditEntry later = SampleEntry(1);
  later.index = 1;
  EXPECT_EQ(CanonicalBytes(later).error().code(), "audit_bad_entry");
  later.previous_hash = std::string(63, '0') + "g";
  EXPECT_EQ(CanonicalBytes(later).error().code(), "audit_bad_entry");
  later.previous_hash = std::string(64, '0');
  later.status = -1;
  EXPECT_EQ(CanonicalBytes(later).error().code(), "audit_bad_entry");
}

}  // namespace
}  // namespace weftkit::audit

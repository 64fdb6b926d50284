// ValidatePolicy: a valid document compiles; each kind of mistake is reported with its stable
// code at the exact JSON Pointer, all of them at once, in document order.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "policy_store/language/policy_language.h"
#include "policy_store/language/policy_limits.h"
#include "policy_store/language/predicate.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;

std::vector<std::pair<std::string, std::string>> Problems(const PolicyValidation& validation) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const PolicyProblem& problem : validation.problems) {
    EXPECT_FALSE(problem.message.empty()) << problem.pointer;
    out.emplace_back(problem.pointer, problem.code);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Problems(const std::string& text) {
  const PolicyValidation validation = ValidatePolicy(json::parse(text));
  EXPECT_EQ(validation.document == nullptr, !validation.problems.empty());
  return Problems(validation);
}

using ProblemList = std::vector<std::pair<std::string, std::string>>;

TEST(ValidatePolicyTest, ValidatePolicy_GivesDocument_ForCompleteValidDocument) {
  const PolicyValidation validation = ValidatePolicy(json::parse(R"json({
    "format": "weftkit.policy/v1",
    "description": "every section used once",
    "roles": [
      {"name": "reader", "grants": [
        {"database_type": "relational", "actions": ["select"], "resources": ["sales.*"]},
        {"database_type": "file", "actions": ["read", "list"], "resources": ["/exports/**"]}]},
      {"name": "writer", "inherits": ["reader"], "grants": [
        {"database_type": "document", "actions": ["*"], "resources": ["shop.*"]}],
       "denies": [{"database_type": "relational", "actions": ["delete"],
                   "resources": ["sales.ledger"]}]},
      {"name": "approver", "grants": [
        {"database_type": "key_value", "actions": ["get"], "resources": ["approvals:*"]},
        {"database_type": "graph", "actions": ["match"], "resources": ["Person"]}]}
    ],
    "bindings": [{"principal": "alice", "roles": ["writer"]},
                 {"principal": "bob", "roles": ["approver"]}],
    "row_security": [
      {"name": "tenant", "table": "sales.orders", "using": "tenant = session('tenant')"},
      {"name": "no_archived", "table": "sales.orders", "type": "restrictive",
       "command": "select", "roles": ["reader"], "using": "archived = FALSE"},
      {"name": "own_rows", "table": "sales.orders", "command": "insert",
       "with_check": "owner = current_principal()"}
    ],
    "separation_of_duty": [{"name": "four_eyes", "roles": ["writer", "approver"]}]
  })json"));
  EXPECT_TRUE(validation.problems.empty()) << validation.problems.front().message;
  EXPECT_NE(validation.document, nullptr);
}

TEST(ValidatePolicyTest, ValidatePolicy_AcceptsForwardReferences_ToLaterRoles) {
  const PolicyValidation validation = ValidatePolicy(json::parse(R"json({
    "format": "weftkit.policy/v1",
    "roles": [{"name": "child", "inherits": ["parent"]}, {"name": "parent"}],
    "bindings": [{"principal": "p", "roles": ["child"]}]})json"));
  EXPECT_TRUE(validation.problems.empty());
  EXPECT_NE(validation.document, nullptr);
}

TEST(ValidatePolicyTest, ValidatePolicy_ListsProblems_InNumericDocumentOrder) {
  json document = {{"format", "weftkit.policy/v1"}, {"roles", json::array()}};
  for (int i = 0; i < 12; ++i) document["roles"].push_back({{"name", "r" + std::to_string(i)}});
  document["roles"][10]["inherits"] = {"ghost"};
  document["roles"][2]["inherits"] = {"ghost"};
  EXPECT_EQ(Problems(ValidatePolicy(document)),
            (ProblemList{{"/roles/2/inherits/0", "undefined_role"},
                         {"/roles/10/inherits/0", "undefined_role"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_FailsWrongType_ForNonObject) {
  EXPECT_EQ(Problems("[]"), (ProblemList{{"", "wrong_type"}}));
  EXPECT_EQ(Problems("null"), (ProblemList{{"", "wrong_type"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsShapeProblems_AtTheirFields) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v2", "roles": [], "extra": 1,
                             "bindings": {}, "row_security": [7]})json"),
            (ProblemList{{"/bindings", "wrong_type"},
                         {"/extra", "unknown_field"},
                         {"/format", "unsupported_format"},
                         {"/row_security/0", "wrong_type"}}));
  EXPECT_EQ(Problems(R"json({"roles": [{"grants": [{"database_type": "file", "resource": []}]},
                                       {"name": 5, "a/b~": true}]})json"),
            (ProblemList{{"/format", "missing_field"},
                         {"/roles/0/grants/0/actions", "missing_field"},
                         {"/roles/0/grants/0/resource", "unknown_field"},
                         {"/roles/0/grants/0/resources", "missing_field"},
                         {"/roles/0/name", "missing_field"},
                         {"/roles/1/a~1b~0", "unknown_field"},
                         {"/roles/1/name", "wrong_type"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsRoleProblems_AtTheEntry) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v1", "roles": [
                {"name": "a", "inherits": ["b", "ghost"]},
                {"name": "b", "inherits": ["c", 3]},
                {"name": "c", "inherits": ["a"]},
                {"name": "a"},
                {"name": "9lives"},
                {"name": "self", "inherits": ["self", "b", "b"]}]})json"),
            (ProblemList{{"/roles/0/inherits/1", "undefined_role"},
                         {"/roles/1/inherits/1", "wrong_type"},
                         {"/roles/2/inherits/0", "role_cycle"},
                         {"/roles/3/name", "duplicate_role"},
                         {"/roles/4/name", "invalid_value"},
                         {"/roles/5/inherits/0", "role_cycle"},
                         {"/roles/5/inherits/2", "duplicate_value"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsCycleMessage_WithTheCycle) {
  const PolicyValidation validation = ValidatePolicy(json::parse(R"json({
      "format": "weftkit.policy/v1", "roles": [
        {"name": "x", "inherits": ["y"]}, {"name": "y", "inherits": ["z"]},
        {"name": "z", "inherits": ["x"]}]})json"));
  ASSERT_EQ(validation.problems.size(), 1u);
  EXPECT_EQ(validation.problems[0].pointer, "/roles/2/inherits/0");
  EXPECT_EQ(validation.problems[0].message, "roles inherit in a cycle: x -> y -> z -> x");
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsRuleProblems_AtTheEntry) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v1", "roles": [{"name": "r",
                "grants": [
                  {"database_type": "relational", "actions": ["select", "find"],
                   "resources": ["sales.*", "sales"]},
                  {"database_type": "columnar", "actions": ["scan"], "resources": ["x"]},
                  {"database_type": "graph", "actions": [], "resources": []}],
                "denies": [
                  {"database_type": "file", "actions": ["read"], "resources": ["relative/x"]},
                  {"database_type": "key_value", "actions": ["drop"], "resources": [1]}]}]})json"),
            (ProblemList{{"/roles/0/denies/0/resources/0", "invalid_pattern"},
                         {"/roles/0/denies/1/actions/0", "unknown_action"},
                         {"/roles/0/denies/1/resources/0", "wrong_type"},
                         {"/roles/0/grants/0/actions/1", "unknown_action"},
                         {"/roles/0/grants/0/resources/1", "invalid_pattern"},
                         {"/roles/0/grants/1/database_type", "unknown_database_type"},
                         {"/roles/0/grants/2/actions", "invalid_value"},
                         {"/roles/0/grants/2/resources", "invalid_value"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsBindingProblems_AtTheEntry) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v1", "roles": [{"name": "r"}],
                "bindings": [
                  {"principal": "alice", "roles": ["r", "nobody"]},
                  {"principal": "alice", "roles": ["r"]},
                  {"principal": "", "roles": ["r"]},
                  {"principal": "carol", "roles": []}]})json"),
            (ProblemList{{"/bindings/0/roles/1", "undefined_role"},
                         {"/bindings/1/principal", "duplicate_principal"},
                         {"/bindings/2/principal", "invalid_value"},
                         {"/bindings/3/roles", "invalid_value"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsRowSecurityProblems_AtTheEntry) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v1", "roles": [{"name": "r"}],
                "row_security": [
                  {"name": "p", "table": "sales.orders", "using": "a = "},
                  {"name": "p", "table": "sales.orders", "using": "a = 1"},
                  {"name": "q", "table": "sales.*", "using": "a = 1"},
                  {"name": "s", "table": "t.u", "command": "insert", "using": "a = 1"},
                  {"name": "t", "table": "t.u", "command": "select", "using": "a = 1",
                   "with_check": "a = 2"},
                  {"name": "u", "table": "t.u", "command": "merge", "type": "strict",
                   "using": "a = 1"},
                  {"name": "v", "table": "t.u", "roles": ["ghost"], "using": "a = 1"},
                  {"name": "w", "table": "t.u", "command": "update"}]})json"),
            (ProblemList{{"/row_security/0/using", "invalid_predicate"},
                         {"/row_security/1/name", "duplicate_policy_name"},
                         {"/row_security/2/table", "invalid_table"},
                         {"/row_security/3/using", "clause_not_allowed"},
                         {"/row_security/3/with_check", "missing_field"},
                         {"/row_security/4/with_check", "clause_not_allowed"},
                         {"/row_security/5/command", "invalid_value"},
                         {"/row_security/5/type", "invalid_value"},
                         {"/row_security/6/roles/0", "undefined_role"},
                         {"/row_security/7/using", "missing_field"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsPredicateOffset_InTheMessage) {
  const PolicyValidation validation = ValidatePolicy(json::parse(R"json({
      "format": "weftkit.policy/v1", "roles": [],
      "row_security": [{"name": "p", "table": "s.t", "using": "a = 1 AND b = NULL"}]})json"));
  ASSERT_EQ(validation.problems.size(), 1u);
  EXPECT_EQ(validation.problems[0].pointer, "/row_security/0/using");
  EXPECT_NE(validation.problems[0].message.find("at offset 12"), std::string::npos)
      << validation.problems[0].message;
}

TEST(ValidatePolicyTest, ValidatePolicy_FailsInvalidPredicate_DeeperThanPolicyLimit) {
  // Each "NOT" adds a level over the comparison's one.
  std::string predicate = "a = 1";
  for (std::size_t i = 1; i < kMaxPolicyPredicateDepth; ++i) predicate = "NOT " + predicate;
  json document = {{"format", "weftkit.policy/v1"},
                   {"roles", json::array()},
                   {"row_security", {{{"name", "p"}, {"table", "s.t"}, {"using", predicate}}}}};
  EXPECT_TRUE(ValidatePolicy(document).problems.empty());

  document["row_security"][0]["using"] = "NOT " + predicate;
  const PolicyValidation deeper = ValidatePolicy(document);
  ASSERT_EQ(Problems(deeper), (ProblemList{{"/row_security/0/using", "invalid_predicate"}}));
  EXPECT_EQ(deeper.problems[0].message.rfind("predicate_too_deep", 0), 0u);
}

TEST(ValidatePolicyTest, ValidatePolicy_ReportsSeparationOfDuty_ForRolesAndBindings) {
  EXPECT_EQ(Problems(R"json({"format": "weftkit.policy/v1", "roles": [
                  {"name": "payer"}, {"name": "approver"},
                  {"name": "finance_lead", "inherits": ["payer"]},
                  {"name": "superuser", "inherits": ["finance_lead", "approver"]},
                  {"name": "auditor"}],
                "bindings": [
                  {"principal": "ok", "roles": ["payer", "auditor"]},
                  {"principal": "dana", "roles": ["finance_lead", "approver"]},
                  {"principal": "root", "roles": ["superuser"]}],
                "separation_of_duty": [
                  {"name": "pay_or_approve", "roles": ["payer", "approver"]},
                  {"name": "lonely", "roles": ["auditor"]},
                  {"name": "pay_or_approve", "roles": ["payer", "ghost"]}]})json"),
            (ProblemList{{"/bindings/1/roles", "separation_of_duty_violation"},
                         {"/roles/3", "separation_of_duty_violation"},
                         {"/separation_of_duty/1/roles", "invalid_value"},
                         {"/separation_of_duty/2/name", "duplicate_constraint"},
                         {"/separation_of_duty/2/roles/1", "undefined_role"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_NamesTheRolePath_InSeparationOfDutyMessage) {
  const PolicyValidation validation = ValidatePolicy(json::parse(R"json({
      "format": "weftkit.policy/v1",
      "roles": [{"name": "payer"}, {"name": "approver"}, {"name": "lead", "inherits": ["payer"]}],
      "bindings": [{"principal": "dana", "roles": ["lead", "approver"]}],
      "separation_of_duty": [{"name": "split", "roles": ["payer", "approver"]}]})json"));
  ASSERT_EQ(validation.problems.size(), 1u);
  EXPECT_EQ(validation.problems[0].message,
            "principal 'dana' holds 'approver' and 'payer' (via lead -> payer), which constraint "
            "'split' (/separation_of_duty/0) forbids together");
}

TEST(ValidatePolicyTest, ValidatePolicy_FailsLimitExceeded_ForTooManyEntries) {
  json document = {{"format", "weftkit.policy/v1"}, {"roles", json::array()}};
  json role = {{"name", "r"}, {"inherits", json::array()}};
  for (std::size_t i = 0; i <= kMaxInheritsPerRole; ++i) role["inherits"].push_back("r");
  document["roles"].push_back(role);
  const PolicyValidation validation = ValidatePolicy(document);
  EXPECT_EQ(Problems(validation), (ProblemList{{"/roles/0/inherits", "limit_exceeded"}}));

  json description = {{"format", "weftkit.policy/v1"},
                      {"roles", json::array()},
                      {"description", std::string(kMaxDescriptionLength + 1, 'd')}};
  EXPECT_EQ(Problems(ValidatePolicy(description)),
            (ProblemList{{"/description", "limit_exceeded"}}));
}

TEST(ValidatePolicyTest, ValidatePolicy_AcceptsEmptyRoleList_AsDenyEverything) {
  const PolicyValidation validation =
      ValidatePolicy(json{{"format", "weftkit.policy/v1"}, {"roles", json::array()}});
  EXPECT_TRUE(validation.problems.empty());
  ASSERT_NE(validation.document, nullptr);
  const Decision decision =
      Decide(*validation.document, AccessRequest{"alice", "file", "read", "/x"});
  EXPECT_FALSE(decision.allowed);
}

}  // namespace
}  // namespace weftkit::policy

// Decide, ParseAccessRequest and DecisionToJson: the request's JSON form, the order in which
// rules are found, and the answer's JSON form. The conformance vectors cover the semantics.
#include <gtest/gtest.h>

#include <memory>

#include "policy_store/language/policy_language.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;

std::shared_ptr<const PolicyDocument> Compile(const json& document) {
  PolicyValidation validation = ValidatePolicy(document);
  EXPECT_TRUE(validation.problems.empty()) << validation.problems.front().message;
  return validation.document;
}

TEST(ParseAccessRequestTest, ParseAccessRequest_ReadsAllFields_ForCompleteRequest) {
  const Result<AccessRequest> request = ParseAccessRequest(json{
      {"principal", "alice"}, {"database_type", "file"}, {"action", "read"}, {"resource", "/x"}});
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->principal, "alice");
  EXPECT_EQ(request->database_type, "file");
  EXPECT_EQ(request->action, "read");
  EXPECT_EQ(request->resource, "/x");
}

TEST(ParseAccessRequestTest, ParseAccessRequest_FailsWithPointer_ForBadField) {
  const json complete = {
      {"principal", "a"}, {"database_type", "file"}, {"action", "read"}, {"resource", "/x"}};
  struct Case {
    json request;
    std::string detail_prefix;
  };
  json missing = complete;
  missing.erase("action");
  json wrong = complete;
  wrong["resource"] = 1;
  json extra = complete;
  extra["version"] = 3;
  for (const Case& c : {Case{missing, "/action"}, Case{wrong, "/resource"}, Case{extra, "/version"},
                        Case{json::array(), ""}}) {
    const Result<AccessRequest> request = ParseAccessRequest(c.request);
    ASSERT_FALSE(request.ok()) << c.request.dump();
    EXPECT_EQ(request.error().kind(), ErrorKind::kInvalidArgument);
    EXPECT_EQ(request.error().code(), "invalid_access_request");
    EXPECT_EQ(request.error().detail().rfind(c.detail_prefix + ":", 0), 0u)
        << request.error().detail();
  }
}

TEST(DecideTest, Decide_ReportsFirstMatchingRule_InRoleThenDocumentOrder) {
  const auto document = Compile(json::parse(R"json({
      "format": "weftkit.policy/v1",
      "roles": [
        {"name": "parent", "grants": [
          {"database_type": "graph", "actions": ["match"], "resources": ["*"]}]},
        {"name": "child", "inherits": ["parent"], "grants": [
          {"database_type": "graph", "actions": ["create"], "resources": ["*"]},
          {"database_type": "graph", "actions": ["*"], "resources": ["Person"]},
          {"database_type": "graph", "actions": ["match"], "resources": ["Per*"]}]}],
      "bindings": [{"principal": "u", "roles": ["child"]}]})json"));
  ASSERT_NE(document, nullptr);
  const Decision decision = Decide(*document, AccessRequest{"u", "graph", "match", "Person"});
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.rule, "/roles/1/grants/1");
  EXPECT_EQ(decision.role_path, (std::vector<std::string>{"child"}));

  const Decision inherited = Decide(*document, AccessRequest{"u", "graph", "match", "Movie"});
  EXPECT_EQ(inherited.rule, "/roles/0/grants/0");
  EXPECT_EQ(inherited.role_path, (std::vector<std::string>{"child", "parent"}));
}

TEST(DecideTest, Decide_GivesNoPredicates_ForNonRelationalTypes) {
  const auto document = Compile(json::parse(R"json({
      "format": "weftkit.policy/v1",
      "roles": [{"name": "r", "grants": [
        {"database_type": "document", "actions": ["find"], "resources": ["s.t"]}]}],
      "bindings": [{"principal": "u", "roles": ["r"]}],
      "row_security": [{"name": "p", "table": "s.t", "using": "a = 1"}]})json"));
  ASSERT_NE(document, nullptr);
  const Decision decision = Decide(*document, AccessRequest{"u", "document", "find", "s.t"});
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.row_filter, "");
  EXPECT_EQ(decision.row_check, "");
  EXPECT_EQ(decision.row_filter_tree, nullptr);
  EXPECT_EQ(decision.row_check_tree, nullptr);
}

TEST(DecideTest, Decide_GivesPredicateTrees_MatchingTheText) {
  const auto document = Compile(json::parse(R"json({
      "format": "weftkit.policy/v1",
      "roles": [{"name": "r", "grants": [
        {"database_type": "relational", "actions": ["update"], "resources": ["s.t"]}]}],
      "bindings": [{"principal": "u", "roles": ["r"]}],
      "row_security": [
        {"name": "p", "table": "s.t", "using": "a = 1", "with_check": "b = 2"},
        {"name": "q", "table": "s.t", "type": "restrictive", "using": "c IS NULL"}]})json"));
  ASSERT_NE(document, nullptr);
  const Decision decision = Decide(*document, AccessRequest{"u", "relational", "update", "s.t"});
  ASSERT_NE(decision.row_filter_tree, nullptr);
  ASSERT_NE(decision.row_check_tree, nullptr);
  EXPECT_EQ(decision.row_filter, "((a = 1) AND (c IS NULL))");
  EXPECT_EQ(decision.row_check, "((b = 2) AND (c IS NULL))");
  EXPECT_TRUE(SamePredicate(*decision.row_filter_tree, **ParsePredicate(decision.row_filter)));
  EXPECT_TRUE(SamePredicate(*decision.row_check_tree, **ParsePredicate(decision.row_check)));
}

TEST(DecisionToJsonTest, DecisionToJson_HasEveryField_AlwaysPresent) {
  Decision decision;
  decision.reason = "no_grant";
  EXPECT_EQ(DecisionToJson(decision), json::parse(R"json({"allowed": false, "reason": "no_grant",
      "rule": "", "role_path": [], "row_filter": "", "row_check": ""})json"));

  decision = Decision{true, "granted", "/roles/0/grants/0", {"a", "b"}, "(x = 1)", "FALSE"};
  EXPECT_EQ(DecisionToJson(decision), json::parse(R"json({"allowed": true, "reason": "granted",
      "rule": "/roles/0/grants/0", "role_path": ["a", "b"], "row_filter": "(x = 1)",
      "row_check": "FALSE"})json"));
}

}  // namespace
}  // namespace weftkit::policy

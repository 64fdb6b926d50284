// Fuzzes policy document validation and decisions (policy_store/language/policy_language.h).
//
// The input is a JSON text; inputs that are not JSON are skipped (nlohmann::json's parser is not
// ours to fuzz). Properties checked, all promised by policy_language.h:
//   - ValidatePolicy never throws, and gives a document if and only if it found no problem;
//   - every problem has a documented code, a message, and a pointer whose parent exists in the
//     input (the pointer itself may name a missing field); problems come in document order;
//   - validation is deterministic;
//   - for an accepted document, Decide on requests built from its own bindings and rules gives
//     consistent answers: allowed exactly when the reason is "granted"; an answer that names a
//     rule has a role path starting at a role bound to the principal; row predicates appear
//     only on allowed relational requests, their text is the canonical text of their tree, and
//     it parses back to that tree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "policy_store/language/json_pointer.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/language/predicate.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;

const std::set<std::string> kProblemCodes = {
    "wrong_type",           "unknown_field",
    "missing_field",        "invalid_value",
    "limit_exceeded",       "unsupported_format",
    "duplicate_role",       "duplicate_value",
    "duplicate_principal",  "duplicate_policy_name",
    "duplicate_constraint", "undefined_role",
    "role_cycle",           "unknown_database_type",
    "unknown_action",       "invalid_pattern",
    "invalid_table",        "invalid_predicate",
    "clause_not_allowed",   "separation_of_duty_violation"};

const std::set<std::string> kReasons = {
    "granted",        "explicitly_denied",     "no_grant",        "unbound_principal",
    "unknown_action", "unknown_database_type", "invalid_resource"};

void CheckProblems(const json& input, const PolicyValidation& validation) {
  FUZZ_CHECK((validation.document != nullptr) == validation.problems.empty());
  for (std::size_t i = 0; i < validation.problems.size(); ++i) {
    const PolicyProblem& problem = validation.problems[i];
    FUZZ_CHECK(kProblemCodes.count(problem.code) == 1);
    FUZZ_CHECK(!problem.message.empty());
    if (!problem.pointer.empty()) {
      const json::json_pointer pointer(problem.pointer);
      FUZZ_CHECK(input.contains(pointer.parent_pointer()));
    }
    if (i > 0) FUZZ_CHECK(!PointerLess(problem.pointer, validation.problems[i - 1].pointer));
  }
}

void CheckPredicate(const std::string& text, const Predicate& tree) {
  FUZZ_CHECK(text.empty() == (tree == nullptr));
  if (text.empty()) return;
  FUZZ_CHECK(PrintPredicate(*tree) == text);
  const Result<Predicate> parsed = ParsePredicate(text, std::max(text.size(), kMaxPredicateLength));
  FUZZ_CHECK(parsed.ok());
  FUZZ_CHECK(SamePredicate(**parsed, *tree));
}

void CheckDecision(const json& document, const AccessRequest& request, const Decision& decision) {
  FUZZ_CHECK(kReasons.count(decision.reason) == 1);
  FUZZ_CHECK(decision.allowed == (decision.reason == "granted"));
  FUZZ_CHECK(decision.rule.empty() == decision.role_path.empty());
  if (!decision.rule.empty()) {
    FUZZ_CHECK(document.contains(json::json_pointer(decision.rule)));
    const json& bindings = document.at("bindings");
    const auto binding = std::find_if(bindings.begin(), bindings.end(), [&](const json& b) {
      return b.at("principal") == request.principal;
    });
    FUZZ_CHECK(binding != bindings.end());
    const json& roles = binding->at("roles");
    FUZZ_CHECK(std::find(roles.begin(), roles.end(), decision.role_path.front()) != roles.end());
  }
  const bool relational = decision.allowed && request.database_type == "relational";
  FUZZ_CHECK(relational || (decision.row_filter.empty() && decision.row_check.empty()));
  CheckPredicate(decision.row_filter, decision.row_filter_tree);
  CheckPredicate(decision.row_check, decision.row_check_tree);
}

// Asks, for every principal bound, every action and resource pattern some rule names (the
// pattern text itself as a resource name, which often is one) and a name it does not.
void CheckDecisions(const json& document, const PolicyDocument& compiled) {
  if (!document.contains("bindings")) return;
  std::size_t budget = 2000;  // keeps each input fast
  for (const json& binding : document.at("bindings")) {
    for (const json& role : document.at("roles")) {
      for (const char* kind : {"grants", "denies"}) {
        if (!role.contains(kind)) continue;
        for (const json& rule : role.at(kind)) {
          for (const json& action : rule.at("actions")) {
            for (const json& resource : rule.at("resources")) {
              if (budget-- == 0) return;
              const AccessRequest request{binding.at("principal"), rule.at("database_type"),
                                          action == "*" ? "select" : action.get<std::string>(),
                                          resource};
              CheckDecision(document, request, Decide(compiled, request));
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace weftkit::policy

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace weftkit::policy;
  const json input = json::parse(weftkit::fuzz::AsText(data, size), nullptr, false);
  if (input.is_discarded()) return 0;

  const PolicyValidation validation = ValidatePolicy(input);
  CheckProblems(input, validation);
  const PolicyValidation again = ValidatePolicy(input);
  FUZZ_CHECK(again.problems.size() == validation.problems.size());
  for (std::size_t i = 0; i < again.problems.size(); ++i) {
    FUZZ_CHECK(again.problems[i].pointer == validation.problems[i].pointer);
    FUZZ_CHECK(again.problems[i].code == validation.problems[i].code);
  }
  if (validation.document != nullptr) CheckDecisions(input, *validation.document);
  return 0;
}

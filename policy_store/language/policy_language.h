// The RBAC policy language that engines enforce: documents, validation and decisions.
//
// This header is the contract between the policy language (this folder, library target
// `weftkit_policy`, which engines link and which depends only on weftkit_common and
// nlohmann_json) and the policy service that stores, signs and serves bundles
// (policy_store/, api/policy_routes.*). The document format is specified in
// docs/policy-language.md with its JSON Schema in docs/policy.schema.json.
//
// Thread safety: every function is pure; a PolicyDocument is immutable once built and may be
// shared between threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "policy_store/language/predicate.h"

namespace weftkit::policy {

// One reason a document was refused, pointing at the offending field.
struct PolicyProblem {
  std::string pointer;  // RFC 6901 JSON Pointer into the submitted document, e.g. "/roles/2/inherits/0"
  std::string code;     // stable snake_case, e.g. "role_cycle", "undefined_role", "unknown_action"
  std::string message;  // for people; names the values involved
};

// A document that passed validation. Opaque to the service; built only by ValidatePolicy.
class PolicyDocument;

struct PolicyValidation {
  std::shared_ptr<const PolicyDocument> document;  // set if and only if problems is empty
  std::vector<PolicyProblem> problems;             // every problem found, in document order
};

// Parses and validates a whole policy document. Never throws.
PolicyValidation ValidatePolicy(const nlohmann::json& document);

// The question an engine asks: may `principal` perform `action` on `resource`?
struct AccessRequest {
  std::string principal;      // as bound in the document's bindings
  std::string database_type;  // "relational", "document", "graph", "key_value", "file"
  std::string action;         // e.g. "select", "insert", "find", "get", "read"
  std::string resource;       // e.g. "sales.orders", "users", "Person", "session:*", "/exports/x"
};

// Reads an AccessRequest from its JSON form (docs/policy-language.md); kInvalidArgument with
// a pointer in the detail when a field is missing or of the wrong type.
Result<AccessRequest> ParseAccessRequest(const nlohmann::json& request);

// The answer, with why. For relational reads and writes that are allowed, the combined row
// predicates (PostgreSQL semantics: permissive policies OR-ed, restrictive ones AND-ed).
struct Decision {
  bool allowed = false;
  std::string reason;  // "granted", "explicitly_denied", "no_grant" (deny by default), ...
  std::string rule;    // the grant or deny that decided, e.g. "/roles/1/grants/0"
  std::vector<std::string> role_path;  // principal's role down to the role holding the rule
  std::string row_filter;              // USING predicate, canonical text; empty if none applies
  std::string row_check;               // WITH CHECK predicate; empty if none applies
  // The same two predicates as trees (null when the text is empty), for engines that link this
  // library and translate them into their query language without parsing the text again.
  Predicate row_filter_tree;
  Predicate row_check_tree;
};

// Decides a request against a validated document. Deny by default.
Decision Decide(const PolicyDocument& document, const AccessRequest& request);

// The JSON form of a decision, as served by the check endpoint and used in the vectors.
nlohmann::json DecisionToJson(const Decision& decision);

}  // namespace weftkit::policy

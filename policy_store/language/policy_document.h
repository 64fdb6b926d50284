// The compiled form of a validated policy document, as Decide reads it.
//
// Built only by ValidatePolicy (policy_validator.cc) from a document without problems, so every
// index below is in range, every role name is defined, the inheritance graph has no cycle and
// every predicate has parsed. Immutable once built; safe to share between threads.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy_store/language/database_types.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/language/predicate.h"
#include "policy_store/language/resource_pattern.h"

namespace weftkit::policy {

// A grant or a deny: some actions of one database type on the resources some patterns match.
struct CompiledRule {
  std::string pointer;  // where it is in the document, e.g. "/roles/1/grants/0"
  DatabaseType database_type = DatabaseType::kRelational;
  bool all_actions = false;  // the rule lists "*"
  std::vector<std::string> actions;
  std::vector<ResourcePattern> resources;

  bool Covers(DatabaseType type, const std::string& action,
              const std::vector<std::string>& resource) const;
};

struct CompiledRole {
  std::string name;
  std::vector<std::size_t> inherits;  // indexes into PolicyDocument::roles, in document order
  std::vector<CompiledRule> grants;
  std::vector<CompiledRule> denies;
};

// The commands a row-security policy applies to, as PostgreSQL names them.
enum class RowCommand { kAll, kSelect, kInsert, kUpdate, kDelete };

struct CompiledRowPolicy {
  std::string pointer;  // e.g. "/row_security/0"
  std::string name;
  RowCommand command = RowCommand::kAll;
  bool permissive = true;
  std::vector<std::size_t> roles;  // empty: every principal (PostgreSQL's PUBLIC)
  Predicate using_clause;          // null if absent
  Predicate with_check_clause;     // null if absent (then USING serves, as in PostgreSQL)
};

class PolicyDocument {
 public:
  std::vector<CompiledRole> roles;
  std::map<std::string, std::size_t> role_index;  // name -> index into roles
  // Principal -> its directly bound roles, in binding order.
  std::map<std::string, std::vector<std::size_t>> bindings;
  // Table ("schema.table") -> its row-security policies in document order. A table listed here
  // has row security enabled: without an applicable permissive policy it shows no rows.
  std::map<std::string, std::vector<CompiledRowPolicy>> row_policies;
};

// A role a principal holds, and how: `via` is the index (in the same HeldRoles result) of the
// role that inherits it, or kBound for a directly bound role. Paths are kept as links so that a
// long inheritance chain costs linear, not quadratic, memory.
struct HeldRole {
  static constexpr std::size_t kBound = static_cast<std::size_t>(-1);
  std::size_t role = 0;
  std::size_t via = kBound;
};

// Every role `direct` roles give, directly or by inheritance: breadth-first, bound roles in
// order, then each role's `inherits` in order; each role once, reached by a shortest path.
std::vector<HeldRole> HeldRoles(const PolicyDocument& document,
                                const std::vector<std::size_t>& direct);

// The role indexes from a directly bound role down to held[index].role, both included.
std::vector<std::size_t> RolePath(const std::vector<HeldRole>& held, std::size_t index);

}  // namespace weftkit::policy

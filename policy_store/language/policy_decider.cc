// Decide, and the JSON forms of its request and answer.
#include <algorithm>
#include <array>
#include <optional>
#include <utility>

#include "policy_store/language/policy_document.h"
#include "policy_store/language/policy_language.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 4> kRequestFields = {"principal", "database_type", "action",
                                                            "resource"};

Error BadRequest(std::string detail) {
  return Error(ErrorKind::kInvalidArgument, "invalid_access_request", std::move(detail));
}

std::vector<std::string> RoleNames(const PolicyDocument& document,
                                   const std::vector<std::size_t>& path) {
  std::vector<std::string> names;
  names.reserve(path.size());
  for (std::size_t role : path) names.push_back(document.roles[role].name);
  return names;
}

// The first rule (grants or denies, per `member`) of a held role that covers the request, in
// the order of `held` and then of the document.
struct Match {
  const CompiledRule* rule = nullptr;
  std::size_t held_index = 0;
};

std::optional<Match> FindRule(const PolicyDocument& document, const std::vector<HeldRole>& held,
                              std::vector<CompiledRule> CompiledRole::*member, DatabaseType type,
                              const std::string& action, const std::vector<std::string>& resource) {
  for (std::size_t h = 0; h < held.size(); ++h) {
    for (const CompiledRule& rule : document.roles[held[h].role].*member) {
      if (rule.Covers(type, action, resource)) return Match{&rule, h};
    }
  }
  return std::nullopt;
}

struct CommandUse {
  std::string_view action;
  RowCommand command;
  bool uses_filter;  // USING applies to existing rows
  bool uses_check;   // WITH CHECK applies to new rows
};

constexpr std::array<CommandUse, 4> kCommandUses = {{
    {"select", RowCommand::kSelect, true, false},
    {"insert", RowCommand::kInsert, false, true},
    {"update", RowCommand::kUpdate, true, true},
    {"delete", RowCommand::kDelete, true, false},
}};

bool Applies(const CompiledRowPolicy& policy, RowCommand command, const std::vector<bool>& holds) {
  if (policy.command != RowCommand::kAll && policy.command != command) return false;
  if (policy.roles.empty()) return true;
  return std::any_of(policy.roles.begin(), policy.roles.end(),
                     [&](std::size_t role) { return holds[role]; });
}

// PostgreSQL's combination: the OR of the permissive clauses, AND each restrictive clause; no
// permissive clause at all means no row qualifies.
Predicate Combine(const std::vector<const CompiledRowPolicy*>& policies, bool check) {
  Predicate permissive;
  std::vector<Predicate> restrictive;
  for (const CompiledRowPolicy* policy : policies) {
    const Predicate clause =
        check && policy->with_check_clause ? policy->with_check_clause : policy->using_clause;
    if (!clause) continue;
    if (!policy->permissive) {
      restrictive.push_back(clause);
    } else {
      permissive = permissive ? MakeOr(permissive, clause) : clause;
    }
  }
  if (!permissive) return MakeBoolean(false);
  Predicate combined = permissive;
  for (const Predicate& clause : restrictive) combined = MakeAnd(combined, clause);
  return combined;
}

void AddRowSecurity(const PolicyDocument& document, const std::vector<HeldRole>& held,
                    const AccessRequest& request, Decision& decision) {
  const auto use = std::find_if(kCommandUses.begin(), kCommandUses.end(),
                                [&](const CommandUse& u) { return u.action == request.action; });
  const auto table = document.row_policies.find(request.resource);
  if (use == kCommandUses.end() || table == document.row_policies.end()) return;

  std::vector<bool> holds(document.roles.size(), false);
  for (const HeldRole& h : held) holds[h.role] = true;
  std::vector<const CompiledRowPolicy*> applicable;
  for (const CompiledRowPolicy& policy : table->second) {
    if (Applies(policy, use->command, holds)) applicable.push_back(&policy);
  }
  if (use->uses_filter) {
    decision.row_filter_tree = Combine(applicable, false);
    decision.row_filter = PrintPredicate(*decision.row_filter_tree);
  }
  if (use->uses_check) {
    decision.row_check_tree = Combine(applicable, true);
    decision.row_check = PrintPredicate(*decision.row_check_tree);
  }
}

Decision Refuse(std::string reason) {
  Decision decision;
  decision.reason = std::move(reason);
  return decision;
}

}  // namespace

Result<AccessRequest> ParseAccessRequest(const nlohmann::json& request) {
  if (!request.is_object()) return BadRequest(": an access request is a JSON object");
  for (const auto& [name, value] : request.items()) {
    if (std::find(kRequestFields.begin(), kRequestFields.end(), name) == kRequestFields.end()) {
      return BadRequest("/" + name + ": unknown field");
    }
  }
  std::array<std::string, 4> values;
  for (std::size_t i = 0; i < kRequestFields.size(); ++i) {
    const std::string name(kRequestFields[i]);
    const auto it = request.find(name);
    if (it == request.end()) return BadRequest("/" + name + ": missing");
    if (!it->is_string()) return BadRequest("/" + name + ": must be a string");
    values[i] = it->get<std::string>();
  }
  return AccessRequest{values[0], values[1], values[2], values[3]};
}

Decision Decide(const PolicyDocument& document, const AccessRequest& request) {
  const std::optional<DatabaseTypeInfo> type = FindDatabaseType(request.database_type);
  if (!type) return Refuse("unknown_database_type");
  if (!IsActionOf(*type, request.action)) return Refuse("unknown_action");
  const Result<std::vector<std::string>> resource = SplitResourceName(*type, request.resource);
  if (!resource.ok()) return Refuse("invalid_resource");
  const auto binding = document.bindings.find(request.principal);
  if (binding == document.bindings.end()) return Refuse("unbound_principal");

  // TODO(#7): the held roles and the rules are searched per request, linear in the principal's
  // roles and their rules; an index by (database type, action) built at validation would make
  // decisions on large documents cheaper.
  const std::vector<HeldRole> held = HeldRoles(document, binding->second);
  Decision decision;
  std::optional<Match> match =
      FindRule(document, held, &CompiledRole::denies, type->type, request.action, *resource);
  if (match) {
    decision.reason = "explicitly_denied";
  } else {
    match = FindRule(document, held, &CompiledRole::grants, type->type, request.action, *resource);
    if (!match) return Refuse("no_grant");
    decision.allowed = true;
    decision.reason = "granted";
  }
  decision.rule = match->rule->pointer;
  decision.role_path = RoleNames(document, RolePath(held, match->held_index));
  if (decision.allowed && type->type == DatabaseType::kRelational) {
    AddRowSecurity(document, held, request, decision);
  }
  return decision;
}

nlohmann::json DecisionToJson(const Decision& decision) {
  return json{{"allowed", decision.allowed},
              {"reason", decision.reason},
              {"rule", decision.rule},
              {"role_path", decision.role_path},
              {"row_filter", decision.row_filter},
              {"row_check", decision.row_check}};
}

}  // namespace weftkit::policy

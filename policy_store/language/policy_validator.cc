// ValidatePolicy: checks a whole document, collecting every problem, and compiles it for Decide.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "policy_store/language/json_pointer.h"
#include "policy_store/language/policy_document.h"
#include "policy_store/language/policy_language.h"
#include "policy_store/language/policy_limits.h"

namespace weftkit::policy {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "weftkit.policy/v1";

enum class FieldType { kString, kArray, kObject };

struct FieldSpec {
  std::string_view name;
  FieldType type;
  bool required;
};

constexpr FieldSpec kDocumentFields[] = {
    {"format", FieldType::kString, true},       {"description", FieldType::kString, false},
    {"roles", FieldType::kArray, true},         {"bindings", FieldType::kArray, false},
    {"row_security", FieldType::kArray, false}, {"separation_of_duty", FieldType::kArray, false},
};
constexpr FieldSpec kRoleFields[] = {
    {"name", FieldType::kString, true},     {"description", FieldType::kString, false},
    {"inherits", FieldType::kArray, false}, {"grants", FieldType::kArray, false},
    {"denies", FieldType::kArray, false},
};
constexpr FieldSpec kRuleFields[] = {
    {"database_type", FieldType::kString, true},
    {"actions", FieldType::kArray, true},
    {"resources", FieldType::kArray, true},
    {"description", FieldType::kString, false},
};
constexpr FieldSpec kBindingFields[] = {
    {"principal", FieldType::kString, true},
    {"roles", FieldType::kArray, true},
    {"description", FieldType::kString, false},
};
constexpr FieldSpec kRowPolicyFields[] = {
    {"name", FieldType::kString, true},        {"table", FieldType::kString, true},
    {"command", FieldType::kString, false},    {"type", FieldType::kString, false},
    {"roles", FieldType::kArray, false},       {"using", FieldType::kString, false},
    {"with_check", FieldType::kString, false}, {"description", FieldType::kString, false},
};
constexpr FieldSpec kConstraintFields[] = {
    {"name", FieldType::kString, true},
    {"roles", FieldType::kArray, true},
    {"description", FieldType::kString, false},
};

struct RowCommandName {
  std::string_view name;
  RowCommand command;
  bool using_allowed;
  bool using_required;
  bool with_check_allowed;
  bool with_check_required;
};

// PostgreSQL's rules: INSERT policies have only WITH CHECK, SELECT and DELETE only USING, UPDATE
// and ALL both (WITH CHECK defaulting to USING). We also require USING where it is allowed.
constexpr RowCommandName kRowCommands[] = {
    {"all", RowCommand::kAll, true, true, true, false},
    {"select", RowCommand::kSelect, true, true, false, false},
    {"insert", RowCommand::kInsert, false, false, true, true},
    {"update", RowCommand::kUpdate, true, true, true, false},
    {"delete", RowCommand::kDelete, true, true, false, false},
};

const char* FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "a string";
    case FieldType::kArray:
      return "an array";
    case FieldType::kObject:
      break;
  }
  return "an object";
}

bool HasType(const json& value, FieldType type) {
  switch (type) {
    case FieldType::kString:
      return value.is_string();
    case FieldType::kArray:
      return value.is_array();
    case FieldType::kObject:
      break;
  }
  return value.is_object();
}

// Quotes a value for a problem message, cut to a readable length.
std::string Quote(std::string_view value) {
  constexpr std::size_t kShown = 64;
  if (value.size() <= kShown) return "'" + std::string(value) + "'";
  return "'" + std::string(value.substr(0, kShown)) + "...'";
}

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  if (!std::isalpha(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == ':';
  });
}

std::string JoinActions(const DatabaseTypeInfo& info) {
  std::string out;
  for (std::string_view action : info.actions) {
    if (!out.empty()) out += ", ";
    out += action;
  }
  return out;
}

class Validator {
 public:
  explicit Validator(const json& document) : document_(document) {}

  PolicyValidation Run() {
    if (!document_.is_object()) {
      Report("", "wrong_type", "a policy document is a JSON object");
      return Finish();
    }
    CheckFields(document_, "", kDocumentFields);
    if (const json* format = Field(document_, "format", FieldType::kString);
        format != nullptr && format->get_ref<const std::string&>() != kFormat) {
      Report("/format", "unsupported_format",
             "format must be \"weftkit.policy/v1\", not " + Quote(format->get<std::string>()));
    }
    CheckDescription(document_, "");
    const json* roles = Items(document_, "", "roles", kMaxRoles);
    if (roles != nullptr) CollectRoleNames(*roles);
    if (roles != nullptr) CheckRoles(*roles);
    FindCycles();
    if (const json* bindings = Items(document_, "", "bindings", kMaxBindings)) {
      CheckBindings(*bindings);
    }
    if (const json* policies = Items(document_, "", "row_security", kMaxRowPolicies)) {
      CheckRowPolicies(*policies);
    }
    if (const json* constraints = Items(document_, "", "separation_of_duty", kMaxConstraints)) {
      CheckConstraints(*constraints);
    }
    CheckSeparationOfDuty();
    return Finish();
  }

 private:
  struct Constraint {
    std::string pointer;
    std::string name;
    std::vector<std::size_t> roles;
  };

  struct Binding {
    std::string pointer;
    std::string principal;
    std::vector<std::size_t> roles;
  };

  void Report(std::string pointer, std::string code, std::string message) {
    problems_.push_back(PolicyProblem{std::move(pointer), std::move(code), std::move(message)});
  }

  // Reports unknown fields, missing required ones and known ones of the wrong type. False if
  // `value` is not an object at all.
  bool CheckFields(const json& value, const std::string& pointer,
                   std::span<const FieldSpec> fields) {
    if (!value.is_object()) {
      Report(pointer, "wrong_type", "expected an object");
      return false;
    }
    for (const auto& item : value.items()) {
      const std::string& name = item.key();
      const json& field = item.value();
      const auto spec = std::find_if(fields.begin(), fields.end(),
                                     [&](const FieldSpec& f) { return f.name == name; });
      const std::string at = pointer + "/" + EscapePointerToken(name);
      if (spec == fields.end()) {
        Report(at, "unknown_field", "unknown field " + Quote(name));
      } else if (!HasType(field, spec->type)) {
        Report(at, "wrong_type", std::string(name) + " must be " + FieldTypeName(spec->type));
      }
    }
    for (const FieldSpec& spec : fields) {
      if (spec.required && !value.contains(spec.name)) {
        Report(pointer + "/" + std::string(spec.name), "missing_field",
               "missing required field " + Quote(spec.name));
      }
    }
    return true;
  }

  // `object[name]` if it is there with the right type, else nullptr (CheckFields reported it).
  static const json* Field(const json& object, std::string_view name, FieldType type) {
    if (!object.is_object()) return nullptr;
    const auto it = object.find(name);
    if (it == object.end() || !HasType(*it, type)) return nullptr;
    return &*it;
  }

  // The array `object[name]`, if present; reports it when longer than `limit`.
  const json* Items(const json& object, const std::string& pointer, std::string_view name,
                    std::size_t limit) {
    const json* items = Field(object, name, FieldType::kArray);
    if (items != nullptr && items->size() > limit) {
      Report(pointer + "/" + std::string(name), "limit_exceeded",
             std::string(name) + " has " + std::to_string(items->size()) + " entries; at most " +
                 std::to_string(limit));
      return nullptr;
    }
    return items;
  }

  // A non-empty array of strings at object[name]; wrong entries are reported and skipped.
  std::vector<std::pair<std::string, std::string>> Strings(const json& object,
                                                           const std::string& pointer,
                                                           std::string_view name,
                                                           std::size_t limit) {
    std::vector<std::pair<std::string, std::string>> out;  // (value, pointer)
    const std::string at = pointer + "/" + std::string(name);
    const json* items = Items(object, pointer, name, limit);
    if (items == nullptr) return out;
    if (items->empty()) Report(at, "invalid_value", std::string(name) + " must not be empty");
    for (std::size_t i = 0; i < items->size(); ++i) {
      const std::string item_at = at + "/" + std::to_string(i);
      if (!(*items)[i].is_string()) {
        Report(item_at, "wrong_type", "expected a string");
        continue;
      }
      out.emplace_back((*items)[i].get<std::string>(), item_at);
    }
    return out;
  }

  void CheckDescription(const json& object, const std::string& pointer) {
    const json* description = Field(object, "description", FieldType::kString);
    if (description != nullptr &&
        description->get_ref<const std::string&>().size() > kMaxDescriptionLength) {
      Report(pointer + "/description", "limit_exceeded", "description longer than 4096 bytes");
    }
  }

  // A name field (role, policy, constraint); reports bad ones and returns nullopt for them.
  std::optional<std::string> Name(const json& object, const std::string& pointer) {
    const json* name = Field(object, "name", FieldType::kString);
    if (name == nullptr) return std::nullopt;
    const std::string& value = name->get_ref<const std::string&>();
    if (!IsValidName(value)) {
      Report(pointer + "/name", "invalid_value",
             "a name is 1..128 characters [A-Za-z0-9_.:-] starting with a letter, not " +
                 Quote(value));
      return std::nullopt;
    }
    return value;
  }

  // Resolves a role name used somewhere; reports it if no role has it.
  std::optional<std::size_t> RoleRef(const std::string& name, const std::string& pointer) {
    const auto it = compiled_.role_index.find(name);
    if (it == compiled_.role_index.end()) {
      Report(pointer, "undefined_role", "no role is named " + Quote(name));
      return std::nullopt;
    }
    return it->second;
  }

  // Role references, each resolved; duplicates reported.
  std::vector<std::size_t> RoleRefs(const json& object, const std::string& pointer,
                                    std::string_view name, std::size_t limit) {
    std::vector<std::size_t> out;
    for (const auto& [role_name, at] : Strings(object, pointer, name, limit)) {
      const std::optional<std::size_t> role = RoleRef(role_name, at);
      if (!role) continue;
      if (std::find(out.begin(), out.end(), *role) != out.end()) {
        Report(at, "duplicate_value", "role " + Quote(role_name) + " is listed twice");
        continue;
      }
      out.push_back(*role);
    }
    return out;
  }

  // Roles: names first, so that references may point forward.
  void CollectRoleNames(const json& roles) {
    compiled_.roles.resize(roles.size());
    for (std::size_t i = 0; i < roles.size(); ++i) {
      const std::string pointer = "/roles/" + std::to_string(i);
      if (!CheckFields(roles[i], pointer, kRoleFields)) continue;
      const std::optional<std::string> name = Name(roles[i], pointer);
      if (!name) continue;
      compiled_.roles[i].name = *name;
      if (!compiled_.role_index.emplace(*name, i).second) {
        Report(pointer + "/name", "duplicate_role",
               "role " + Quote(*name) + " is already defined at /roles/" +
                   std::to_string(compiled_.role_index[*name]));
      }
    }
  }

  void CheckRoles(const json& roles) {
    for (std::size_t i = 0; i < roles.size(); ++i) {
      if (!roles[i].is_object()) continue;
      const std::string pointer = "/roles/" + std::to_string(i);
      CheckDescription(roles[i], pointer);
      CompiledRole& role = compiled_.roles[i];
      if (roles[i].contains("inherits")) CheckInherits(roles[i], pointer, role);
      role.grants = Rules(roles[i], pointer, "grants");
      role.denies = Rules(roles[i], pointer, "denies");
    }
  }

  void CheckInherits(const json& role_json, const std::string& pointer, CompiledRole& role) {
    const json* inherits = Items(role_json, pointer, "inherits", kMaxInheritsPerRole);
    if (inherits == nullptr) return;
    for (std::size_t j = 0; j < inherits->size(); ++j) {
      const std::string at = pointer + "/inherits/" + std::to_string(j);
      if (!(*inherits)[j].is_string()) {
        Report(at, "wrong_type", "expected a role name");
        continue;
      }
      const std::optional<std::size_t> parent = RoleRef((*inherits)[j].get<std::string>(), at);
      if (!parent) continue;
      if (std::find(role.inherits.begin(), role.inherits.end(), *parent) != role.inherits.end()) {
        Report(at, "duplicate_value",
               "role " + Quote(compiled_.roles[*parent].name) + " is inherited twice");
        continue;
      }
      role.inherits.push_back(*parent);
      inherit_pointers_[{RoleIndexOf(role), *parent}] = at;
    }
  }

  std::size_t RoleIndexOf(const CompiledRole& role) const {
    return static_cast<std::size_t>(&role - compiled_.roles.data());
  }

  std::vector<CompiledRule> Rules(const json& role, const std::string& pointer,
                                  std::string_view name) {
    std::vector<CompiledRule> rules;
    const json* items = Items(role, pointer, name, kMaxRulesPerRole);
    if (items == nullptr) return rules;
    for (std::size_t k = 0; k < items->size(); ++k) {
      const std::string at = pointer + "/" + std::string(name) + "/" + std::to_string(k);
      if (std::optional<CompiledRule> rule = Rule((*items)[k], at)) rules.push_back(*rule);
    }
    return rules;
  }

  std::optional<CompiledRule> Rule(const json& rule_json, const std::string& pointer) {
    if (!CheckFields(rule_json, pointer, kRuleFields)) return std::nullopt;
    CheckDescription(rule_json, pointer);
    const json* type_name = Field(rule_json, "database_type", FieldType::kString);
    if (type_name == nullptr) return std::nullopt;
    const std::optional<DatabaseTypeInfo> type = FindDatabaseType(type_name->get<std::string>());
    if (!type) {
      Report(pointer + "/database_type", "unknown_database_type",
             "unknown database type " + Quote(type_name->get<std::string>()) +
                 "; known: relational, document, graph, key_value, file");
      return std::nullopt;
    }
    CompiledRule rule;
    rule.pointer = pointer;
    rule.database_type = type->type;
    for (const auto& [action, at] : Strings(rule_json, pointer, "actions", kMaxActionsPerRule)) {
      if (action == "*") {
        rule.all_actions = true;
      } else if (IsActionOf(*type, action)) {
        rule.actions.push_back(action);
      } else {
        Report(at, "unknown_action",
               Quote(action) + " is not a " + std::string(type->name) +
                   " action; known: " + JoinActions(*type) + ", *");
      }
    }
    for (const auto& [text, at] : Strings(rule_json, pointer, "resources", kMaxResourcesPerRule)) {
      Result<ResourcePattern> pattern = ResourcePattern::Parse(*type, text);
      if (!pattern.ok()) {
        Report(at, "invalid_pattern",
               "resource pattern " + Quote(text) + " " + pattern.error().detail());
        continue;
      }
      rule.resources.push_back(std::move(pattern).value());
    }
    return rule;
  }

  // Depth-first search in document order; an edge to a role still on the stack closes a cycle,
  // and that inherits entry is where the cycle is reported.
  void FindCycles() {
    enum class Mark { kNew, kOnStack, kDone };
    std::vector<Mark> marks(compiled_.roles.size(), Mark::kNew);
    std::vector<std::size_t> stack;
    auto visit = [&](auto&& self, std::size_t role) -> void {
      marks[role] = Mark::kOnStack;
      stack.push_back(role);
      for (std::size_t parent : compiled_.roles[role].inherits) {
        if (marks[parent] == Mark::kOnStack) {
          ReportCycle(stack, role, parent);
        } else if (marks[parent] == Mark::kNew) {
          self(self, parent);
        }
      }
      stack.pop_back();
      marks[role] = Mark::kDone;
    };
    for (std::size_t role = 0; role < compiled_.roles.size(); ++role) {
      if (marks[role] == Mark::kNew) visit(visit, role);
    }
  }

  void ReportCycle(const std::vector<std::size_t>& stack, std::size_t from, std::size_t to) {
    has_cycle_ = true;
    std::string path;
    const auto start = std::find(stack.begin(), stack.end(), to);
    for (auto it = start; it != stack.end(); ++it) path += compiled_.roles[*it].name + " -> ";
    path += compiled_.roles[to].name;
    Report(inherit_pointers_[{from, to}], "role_cycle", "roles inherit in a cycle: " + path);
  }

  void CheckBindings(const json& bindings) {
    for (std::size_t b = 0; b < bindings.size(); ++b) {
      const std::string pointer = "/bindings/" + std::to_string(b);
      if (!CheckFields(bindings[b], pointer, kBindingFields)) continue;
      CheckDescription(bindings[b], pointer);
      std::vector<std::size_t> roles = RoleRefs(bindings[b], pointer, "roles", kMaxRolesPerBinding);
      const json* principal = Field(bindings[b], "principal", FieldType::kString);
      if (principal == nullptr) continue;
      const std::string& name = principal->get_ref<const std::string&>();
      if (name.empty() || name.size() > kMaxPrincipalLength) {
        Report(pointer + "/principal", "invalid_value", "a principal is 1..512 bytes");
        continue;
      }
      if (!compiled_.bindings.emplace(name, roles).second) {
        Report(pointer + "/principal", "duplicate_principal",
               "principal " + Quote(name) + " is already bound; list all its roles in one binding");
        continue;
      }
      bindings_.push_back(Binding{pointer, name, std::move(roles)});
    }
  }

  void CheckRowPolicies(const json& policies) {
    std::set<std::pair<std::string, std::string>> seen;  // (table, name)
    for (std::size_t p = 0; p < policies.size(); ++p) {
      const std::string pointer = "/row_security/" + std::to_string(p);
      if (!CheckFields(policies[p], pointer, kRowPolicyFields)) continue;
      CheckDescription(policies[p], pointer);
      std::optional<CompiledRowPolicy> policy = RowPolicy(policies[p], pointer);
      const std::optional<std::string> table = Table(policies[p], pointer);
      if (!policy || !table) continue;
      if (!seen.emplace(*table, policy->name).second) {
        Report(pointer + "/name", "duplicate_policy_name",
               "table " + Quote(*table) + " already has a policy named " + Quote(policy->name));
        continue;
      }
      compiled_.row_policies[*table].push_back(std::move(*policy));
    }
  }

  std::optional<std::string> Table(const json& policy, const std::string& pointer) {
    const json* table = Field(policy, "table", FieldType::kString);
    if (table == nullptr) return std::nullopt;
    const std::string& name = table->get_ref<const std::string&>();
    const Result<std::vector<std::string>> split =
        SplitResourceName(DatabaseTypeOf(DatabaseType::kRelational), name);
    if (!split.ok() || name.find('*') != std::string::npos) {
      Report(pointer + "/table", "invalid_table",
             "a row-security policy names one table \"schema.table\" (identifiers, no "
             "patterns), not " +
                 Quote(name));
      return std::nullopt;
    }
    return name;
  }

  std::optional<CompiledRowPolicy> RowPolicy(const json& policy_json, const std::string& pointer) {
    CompiledRowPolicy policy;
    policy.pointer = pointer;
    const std::optional<std::string> name = Name(policy_json, pointer);
    const RowCommandName* command = Command(policy_json, pointer);
    const std::optional<bool> permissive = Permissive(policy_json, pointer);
    if (policy_json.contains("roles")) {
      const std::size_t before = problems_.size();
      policy.roles = RoleRefs(policy_json, pointer, "roles", kMaxRolesPerRowPolicy);
      if (problems_.size() != before) return std::nullopt;
    }
    if (command == nullptr) return std::nullopt;
    policy.using_clause = Clause(policy_json, pointer, "using", command->using_allowed,
                                 command->using_required, command->name);
    policy.with_check_clause =
        Clause(policy_json, pointer, "with_check", command->with_check_allowed,
               command->with_check_required, command->name);
    if (!name || !permissive) return std::nullopt;
    policy.name = *name;
    policy.command = command->command;
    policy.permissive = *permissive;
    return policy;
  }

  const RowCommandName* Command(const json& policy, const std::string& pointer) {
    const json* command = Field(policy, "command", FieldType::kString);
    if (command == nullptr) return policy.contains("command") ? nullptr : &kRowCommands[0];
    for (const RowCommandName& known : kRowCommands) {
      if (command->get_ref<const std::string&>() == known.name) return &known;
    }
    Report(pointer + "/command", "invalid_value",
           "command is all, select, insert, update or delete, not " +
               Quote(command->get<std::string>()));
    return nullptr;
  }

  std::optional<bool> Permissive(const json& policy, const std::string& pointer) {
    const json* type = Field(policy, "type", FieldType::kString);
    if (type == nullptr) {
      return policy.contains("type") ? std::nullopt : std::optional<bool>(true);
    }
    const std::string& value = type->get_ref<const std::string&>();
    if (value == "permissive") return true;
    if (value == "restrictive") return false;
    Report(pointer + "/type", "invalid_value",
           "type is permissive or restrictive, not " + Quote(type->get<std::string>()));
    return std::nullopt;
  }

  Predicate Clause(const json& policy, const std::string& pointer, std::string_view name,
                   bool allowed, bool required, std::string_view command) {
    const std::string at = pointer + "/" + std::string(name);
    const json* text = Field(policy, name, FieldType::kString);
    if (!policy.contains(name)) {
      if (required) {
        Report(at, "missing_field",
               "a " + std::string(command) + " policy needs a " + std::string(name) + " clause");
      }
      return nullptr;
    }
    if (!allowed) {
      Report(at, "clause_not_allowed",
             "a " + std::string(command) + " policy has no " + std::string(name) + " clause");
      return nullptr;
    }
    if (text == nullptr) return nullptr;
    Result<Predicate> predicate = ParsePredicate(text->get_ref<const std::string&>());
    if (!predicate.ok()) {
      Report(at, "invalid_predicate", predicate.error().code() + " " + predicate.error().detail());
      return nullptr;
    }
    if ((*predicate)->depth > kMaxPolicyPredicateDepth) {
      Report(at, "invalid_predicate",
             "predicate_too_deep at offset 0: operators nested over 62 deep in a policy (two "
             "levels are kept for combining policies)");
      return nullptr;
    }
    return *predicate;
  }

  void CheckConstraints(const json& constraints) {
    std::set<std::string> names;
    for (std::size_t c = 0; c < constraints.size(); ++c) {
      const std::string pointer = "/separation_of_duty/" + std::to_string(c);
      if (!CheckFields(constraints[c], pointer, kConstraintFields)) continue;
      CheckDescription(constraints[c], pointer);
      const std::optional<std::string> name = Name(constraints[c], pointer);
      if (name && !names.insert(*name).second) {
        Report(pointer + "/name", "duplicate_constraint",
               "another constraint is named " + Quote(*name));
      }
      const bool has_roles = Field(constraints[c], "roles", FieldType::kArray) != nullptr;
      std::vector<std::size_t> roles =
          RoleRefs(constraints[c], pointer, "roles", kMaxRolesPerConstraint);
      if (has_roles && constraints[c]["roles"].size() == 1) {
        Report(pointer + "/roles", "invalid_value",
               "a separation-of-duty constraint names at least two roles");
      }
      if (name) constraints_.push_back(Constraint{pointer, *name, std::move(roles)});
    }
  }

  // A role that holds two roles of one constraint makes every principal bound to it a
  // violation, so it is reported at the role; a binding is reported only when its roles
  // conflict with each other. A binding of one role holds what that role holds, so only
  // bindings of several roles need a look of their own.
  void CheckSeparationOfDuty() {
    if (constraints_.empty()) return;
    constraints_of_role_.assign(compiled_.roles.size(), {});
    for (std::size_t c = 0; c < constraints_.size(); ++c) {
      for (std::size_t role : constraints_[c].roles) constraints_of_role_[role].push_back(c);
    }
    std::vector<bool> role_conflicts(compiled_.roles.size(), false);
    for (std::size_t r = 0; r < compiled_.roles.size(); ++r) {
      if (compiled_.roles[r].name.empty()) continue;
      const std::string what = "role " + Quote(compiled_.roles[r].name);
      role_conflicts[r] = CheckHolder({r}, "/roles/" + std::to_string(r), what);
    }
    for (const Binding& binding : bindings_) {
      const bool explained = std::any_of(binding.roles.begin(), binding.roles.end(),
                                         [&](std::size_t r) { return role_conflicts[r]; });
      if (explained || binding.roles.size() < 2) continue;
      CheckHolder(binding.roles, binding.pointer + "/roles",
                  "principal " + Quote(binding.principal));
    }
  }

  // Reports every constraint of which the holder of `direct` holds two or more roles.
  // TODO(#7): a role's held set is recomputed for every role and binding; documents with
  // thousands of roles in deep hierarchies would validate faster with a memoised closure.
  bool CheckHolder(const std::vector<std::size_t>& direct, const std::string& pointer,
                   const std::string& holder) {
    const std::vector<HeldRole> held = HeldRoles(compiled_, direct);
    std::map<std::size_t, std::vector<std::size_t>> hits;  // constraint -> indexes into held
    for (std::size_t h = 0; h < held.size(); ++h) {
      for (std::size_t c : constraints_of_role_[held[h].role]) hits[c].push_back(h);
    }
    bool violated = false;
    for (const auto& [c, held_indexes] : hits) {
      if (held_indexes.size() < 2) continue;
      violated = true;
      const Constraint& constraint = constraints_[c];
      Report(pointer, "separation_of_duty_violation",
             holder + " holds " + PathText(held, held_indexes[0]) + " and " +
                 PathText(held, held_indexes[1]) + ", which constraint " + Quote(constraint.name) +
                 " (" + constraint.pointer + ") forbids together");
    }
    return violated;
  }

  std::string PathText(const std::vector<HeldRole>& held, std::size_t index) const {
    std::string out = Quote(compiled_.roles[held[index].role].name);
    const std::vector<std::size_t> path = RolePath(held, index);
    if (path.size() < 2) return out;
    out += " (via ";
    for (std::size_t i = 0; i < path.size(); ++i) {
      if (i > 0) out += " -> ";
      out += compiled_.roles[path[i]].name;
    }
    return out + ")";
  }

  PolicyValidation Finish() {
    PolicyValidation result;
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const PolicyProblem& a, const PolicyProblem& b) {
                       return PointerLess(a.pointer, b.pointer);
                     });
    result.problems = std::move(problems_);
    if (result.problems.empty() && !has_cycle_) {
      result.document = std::make_shared<const PolicyDocument>(std::move(compiled_));
    }
    return result;
  }

  const json& document_;
  PolicyDocument compiled_;
  std::map<std::pair<std::size_t, std::size_t>, std::string> inherit_pointers_;
  std::vector<Binding> bindings_;
  std::vector<Constraint> constraints_;
  std::vector<std::vector<std::size_t>> constraints_of_role_;  // role -> constraints naming it
  std::vector<PolicyProblem> problems_;
  bool has_cycle_ = false;
};

}  // namespace

PolicyValidation ValidatePolicy(const nlohmann::json& document) {
  try {
    return Validator(document).Run();
  } catch (const std::exception&) {
    // nlohmann::json throws only on misuse; a bug here must refuse the document, not crash.
    PolicyValidation refused;
    refused.problems.push_back(
        PolicyProblem{"", "internal_error", "the validator failed; please report this document"});
    return refused;
  }
}

}  // namespace weftkit::policy

#include "policy_store/language/policy_document.h"

#include <algorithm>

namespace weftkit::policy {

bool CompiledRule::Covers(DatabaseType type, const std::string& action,
                          const std::vector<std::string>& resource) const {
  if (type != database_type) return false;
  if (!all_actions && std::find(actions.begin(), actions.end(), action) == actions.end()) {
    return false;
  }
  return std::any_of(resources.begin(), resources.end(),
                     [&](const ResourcePattern& pattern) { return pattern.Matches(resource); });
}

std::vector<HeldRole> HeldRoles(const PolicyDocument& document,
                                const std::vector<std::size_t>& direct) {
  std::vector<HeldRole> held;
  std::vector<bool> seen(document.roles.size(), false);
  for (std::size_t role : direct) {
    if (role < seen.size() && !seen[role]) {
      seen[role] = true;
      held.push_back(HeldRole{role, HeldRole::kBound});
    }
  }
  // `held` is its own breadth-first queue: entries before `next` have been expanded.
  for (std::size_t next = 0; next < held.size(); ++next) {
    for (std::size_t parent : document.roles[held[next].role].inherits) {
      if (seen[parent]) continue;
      seen[parent] = true;
      held.push_back(HeldRole{parent, next});
    }
  }
  return held;
}

std::vector<std::size_t> RolePath(const std::vector<HeldRole>& held, std::size_t index) {
  std::vector<std::size_t> path;
  for (std::size_t at = index; at != HeldRole::kBound; at = held[at].via) {
    path.push_back(held[at].role);
  }
  std::reverse(path.begin(), path.end());
  return path;
}

}  // namespace weftkit::policy

// Policy documents the policy tests publish (docs/policy-language.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace weftkit::test {

// A valid document: role `reader` may select from the relational `resource`; alice holds it.
inline nlohmann::json ReaderPolicy(const std::string& resource) {
  return {{"format", "weftkit.policy/v1"},
          {"roles",
           {{{"name", "reader"},
             {"grants",
              {{{"database_type", "relational"},
                {"actions", {"select"}},
                {"resources", {resource}}}}}}}},
          {"bindings", {{{"principal", "alice"}, {"roles", {"reader"}}}}}};
}

}  // namespace weftkit::test

// The size limits of a policy document. ValidatePolicy refuses a document that exceeds one with
// the problem code "limit_exceeded" at the offending array or string; docs/policy-language.md
// lists them. They bound the work and memory of validation and of every decision.
#pragma once

#include <cstddef>

namespace weftkit::policy {

inline constexpr std::size_t kMaxRoles = 10000;
inline constexpr std::size_t kMaxInheritsPerRole = 64;
inline constexpr std::size_t kMaxRulesPerRole = 1000;  // grants, and denies, each
inline constexpr std::size_t kMaxActionsPerRule = 64;
inline constexpr std::size_t kMaxResourcesPerRule = 256;
inline constexpr std::size_t kMaxBindings = 100000;
inline constexpr std::size_t kMaxRolesPerBinding = 256;
inline constexpr std::size_t kMaxRowPolicies = 10000;
inline constexpr std::size_t kMaxRolesPerRowPolicy = 256;
inline constexpr std::size_t kMaxConstraints = 1000;
inline constexpr std::size_t kMaxRolesPerConstraint = 64;
inline constexpr std::size_t kMaxNameLength = 128;  // role, policy and constraint names
inline constexpr std::size_t kMaxPrincipalLength = 512;
inline constexpr std::size_t kMaxDescriptionLength = 4096;

}  // namespace weftkit::policy

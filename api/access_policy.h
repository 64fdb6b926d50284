// AccessPolicy: the deny-by-default decision for every route of the server's own API.
//
// An action on a key is allowed only if one of the caller's roles grants it:
//   admin        key lifecycle on every key, metrics
//   key-officer  key lifecycle on every key, metrics
//   auditor      reading key metadata, metrics
//   engine       DEK operations and reading metadata on its own keys only: the engine whose
//                principal ends in "/engine/orders" may use key "orders" and keys "orders.*"
// Nobody who manages keys may also unwrap DEKs (separation of duties), so no built-in role holds
// both. Anything not listed is denied.
//
// TODO(#3): roles, bindings and permissions move to the stored RBAC model (inheritance, explicit
// deny, resource patterns, managed through the API); this table is the fixed built-in set. The
// SPIFFE trust domain is not checked here: the configured client CAs are the only gate.
//
// Thread-safe: stateless.
#pragma once

#include <string>

#include "common/error.h"
#include "common/security_context.h"

namespace weftkit::api {

enum class Action {
  kKeyRead,
  kKeyCreate,
  kKeyRotate,
  kKeyManageVersions,  // disable, enable, schedule and cancel destruction, settings
  kDekGenerate,
  kDekWrap,
  kDekUnwrap,
  kDekRewrap,
  kMetricsRead,
};

const char* ActionName(Action action);

// Returns OkStatus() when `context` may perform `action` on key `key_name` (empty for actions
// that are not about one key), else kPermissionDenied with code "forbidden".
Status Authorize(const SecurityContext& context, Action action, const std::string& key_name);

// The roles implied by a SPIFFE principal's path: ".../admin/x" -> admin, ".../officer/x" ->
// key-officer, ".../auditor/x" -> auditor, ".../engine/x" -> engine.
std::vector<std::string> BuiltInRolesFor(const std::string& principal);

// The engine name of a principal ending in "/engine/<name>", or "" for other principals.
std::string EngineName(const std::string& principal);

}  // namespace weftkit::api

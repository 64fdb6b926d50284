// Authorizer: the question every non-public route asks before it acts.
//
// kmsd answers it with the RBAC service (auth/rbac_service.h): may this SecurityContext perform
// `action` on `resource`? OkStatus() when allowed, else kPermissionDenied "forbidden". Routes
// take it as a function so that they do not depend on how decisions are stored.
//
// Actions and resources are listed in docs/rbac.md; the routes use:
//   key.read, key.create, key.rotate, key.manage_versions, key.destroy    on key/<name>
//   dek.generate, dek.wrap, dek.unwrap, dek.rewrap                        on key/<name>
//   metrics.read                                                          on metrics
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/security_context.h"

namespace weftkit::api {

using Authorizer = std::function<Status(const SecurityContext& context, std::string_view action,
                                        std::string_view resource)>;

inline std::string KeyResource(std::string_view key_name) { return "key/" + std::string(key_name); }

}  // namespace weftkit::api

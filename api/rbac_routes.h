// Routes for managing the server's own access control: principals, roles, bindings and
// separation-of-duty constraints, and the access review of one principal.
//
//   GET    /v1/principals                    principal.read  (lists those the caller may read)
//   POST   /v1/principals                    principal.manage on principal/<id>
//   GET    /v1/principals/{id}               principal.read   on principal/<id>
//   PATCH  /v1/principals/{id}               principal.manage on principal/<id>
//   DELETE /v1/principals/{id}               principal.manage on principal/<id>
//   GET    /v1/principals/{id}/permissions   principal.read   on principal/<id>
//   GET    /v1/roles                         role.read       (lists those the caller may read)
//   POST   /v1/roles                         role.manage on role/<name>
//   GET    /v1/roles/{name}                  role.read   on role/<name>
//   PUT    /v1/roles/{name}                  role.manage on role/<name>
//   DELETE /v1/roles/{name}                  role.manage on role/<name>
//   GET    /v1/bindings[?principal=<id>]     principal.read on principal/<id> for each binding
//   POST   /v1/bindings                      principal.manage on principal/<id> AND
//   DELETE /v1/bindings                        role.manage on role/<role>
//   GET    /v1/separation-of-duty            role.read   on sod/<name> for each constraint
//   POST   /v1/separation-of-duty            role.manage on sod/<name>
//   DELETE /v1/separation-of-duty/{name}     role.manage on sod/<name>
//
// Principal ids (SPIFFE URIs, user names) travel percent-encoded in paths and queries:
// /v1/principals/spiffe%3A%2F%2Fweftkit.dev%2Fengine%2Forders. docs/rbac.md has the bodies.
#pragma once

#include "auth/rbac_service.h"
#include "server/router.h"

namespace weftkit::api {

// Adds the routes above to `router`; all run on the worker pool and require authentication.
// `rbac` must outlive the router.
void RegisterRbacRoutes(server::Router& router, auth::RbacService& rbac);

}  // namespace weftkit::api

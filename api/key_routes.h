// Routes for the master key lifecycle (see docs/api.md):
//   POST  /v1/keys                                              create
//   GET   /v1/keys, /v1/keys/{name}                             list, show
//   POST  /v1/keys/{name}/rotate                                rotate
//   PATCH /v1/keys/{name}                                       min_decrypt_version, rotation
//   POST  /v1/keys/{name}/versions/{version}/{disable|enable|schedule-destruction|
//                                             cancel-destruction}
#pragma once

#include "api/authorizer.h"
#include "kms/key_service.h"
#include "server/router.h"

namespace weftkit::api {

void RegisterKeyRoutes(server::Router& router, kms::KeyService& keys, Authorizer authorize);

}  // namespace weftkit::api

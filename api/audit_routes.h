// Routes of the tamper-evident audit log (docs/audit.md):
//   GET  /v1/audit/entries?start=N&limit=M                  entries from index N (audit.read)
//   GET  /v1/audit/checkpoints?before=N&limit=M             signed checkpoints, newest first
//   GET  /v1/audit/checkpoints/latest                       the newest signed checkpoint
//   POST /v1/audit/checkpoints                              signs the current tree head now
//                                                           (audit.checkpoint)
//   GET  /v1/audit/proofs/inclusion?index=I&tree_size=S     RFC 6962 audit path
//   GET  /v1/audit/proofs/consistency?first=A&second=B      RFC 6962 consistency proof
//   GET  /v1/audit/keys                                     public: the checkpoint keys' JWK set
// Every protected route asks the authorizer for its action on the resource "audit".
#pragma once

#include <cstddef>
#include <string_view>

#include "api/authorizer.h"
#include "audit/audit_log.h"
#include "audit/checkpoint_signer.h"
#include "audit/checkpointer.h"
#include "server/router.h"

namespace weftkit::api {

inline constexpr std::string_view kAuditReadAction = "audit.read";
inline constexpr std::string_view kAuditCheckpointAction = "audit.checkpoint";
inline constexpr std::string_view kAuditResource = "audit";

struct AuditRouteDependencies {
  audit::AuditLog& log;
  audit::Checkpointer& checkpointer;
  const audit::CheckpointSigner& signer;
  Authorizer authorize;
  std::size_t max_entries_per_page = 1000;  // the largest `limit` of GET entries
};

// Adds the routes above. Everything in `deps` must outlive the router. An empty `authorize`
// denies every protected route.
void RegisterAuditRoutes(server::Router& router, AuditRouteDependencies deps);

}  // namespace weftkit::api

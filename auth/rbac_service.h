// RbacService: the server's access-control decisions and the management of who holds what.
//
// It keeps an in-memory snapshot of the RBAC state (principals, roles, bindings, constraints)
// and of the RbacPolicy built from it. Decisions and RolesOf read the snapshot without touching
// the store, so they cost a few map look-ups per request. Every change goes through the store,
// which validates and commits it, and the committed state then replaces the snapshot before the
// change returns: a binding removed is gone for the very next request.
//
// Changes take the acting SecurityContext and are logged with its request id and principal.
// Changes made through the HTTP routes are also recorded in the audit log, durably before the
// response, by the server's dispatcher (docs/audit.md); kmsd records the one change made outside
// a request, the bootstrap administrator at start-up, itself.
//
// The snapshot reflects the changes made through this service. Changes made to the same
// database by another process (another node, a command-line tool) become visible on Reload().
//
// Thread safety: thread-safe. Reads never wait for a store write: they take the current
// snapshot (a shared_ptr replaced under a short lock) and work on it. Writers are serialised so
// snapshots are installed in commit order.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/rbac_model.h"
#include "auth/rbac_policy.h"
#include "auth/rbac_store.h"
#include "common/error.h"
#include "common/security_context.h"
#include "store/database.h"

namespace weftkit::auth {

// One consistent view of the RBAC state and its policy. Immutable once published.
struct RbacSnapshot {
  RbacState state;
  RbacPolicy policy;
  // Direct roles of every enabled principal. Disabled principals are absent: they hold nothing.
  std::unordered_map<std::string, std::vector<std::string>> roles_by_principal;
};

// The access review of one principal: what it holds directly, by inheritance, and every
// permission that follows.
struct AccessReport {
  Principal principal;
  std::vector<std::string> direct_roles;
  std::vector<ReachedRole> effective_roles;  // pointers into `snapshot`'s policy
  std::vector<EffectivePermission> permissions;
  std::string engine;  // what "${engine}" expands to for it; "" if not an engine
  std::shared_ptr<const RbacSnapshot> snapshot;  // keeps the pointers above valid
};

class RbacService {
 public:
  // Opens the SQLite RBAC store in `database` (migrating it and writing the built-in roles)
  // and loads the first snapshot. Fails with SqliteRbacStore::Open's errors or, if the stored
  // state does not validate, with BuildPolicy's.
  static Result<std::unique_ptr<RbacService>> Open(std::shared_ptr<store::Database> database);
  // The same over any store.
  static Result<std::unique_ptr<RbacService>> Create(std::unique_ptr<RbacStore> rbac_store);

  RbacService(const RbacService&) = delete;
  RbacService& operator=(const RbacService&) = delete;

  // The roles bound directly to `principal`, for the authenticator to put in the request's
  // SecurityContext. Empty for unknown and disabled principals. Reads memory only.
  std::vector<std::string> RolesOf(const std::string& principal) const;

  // Decides whether `context` may perform `action` on `resource`, taking context.roles() as
  // the direct roles (resolved when the request arrived) and adding what they inherit.
  // Unauthenticated contexts are always denied ("default deny").
  Decision Decide(const SecurityContext& context, std::string_view action,
                  std::string_view resource) const;
  // Decide, as a Status: OkStatus() if allowed, else kPermissionDenied "forbidden" whose detail
  // names the principal, action, resource and deciding rule.
  Status Authorize(const SecurityContext& context, std::string_view action,
                   std::string_view resource) const;

  // The current snapshot; never null.
  std::shared_ptr<const RbacSnapshot> Snapshot() const;

  // Reads. kNotFound "principal_not_found" / "role_not_found" for unknown names.
  Result<Principal> GetPrincipal(const std::string& id) const;
  Result<Role> GetRole(const std::string& name) const;
  // The bindings of `principal`, or all of them when it is empty.
  std::vector<Binding> ListBindings(const std::optional<std::string>& principal) const;
  Result<AccessReport> ReviewAccess(const std::string& principal) const;

  // Changes, with the errors listed in rbac_store.h. Each logs an event naming the actor.
  // CreatePrincipal sets created_at to now. Returns the stored object where there is one.
  Result<Principal> CreatePrincipal(const SecurityContext& actor, Principal principal);
  // Sets the description and the disabled flag; the other fields of `principal` are ignored.
  Result<Principal> UpdatePrincipal(const SecurityContext& actor, const Principal& principal);
  Status DeletePrincipal(const SecurityContext& actor, const std::string& id);
  Result<Role> CreateRole(const SecurityContext& actor, Role role);
  Result<Role> ReplaceRole(const SecurityContext& actor, Role role);
  Status DeleteRole(const SecurityContext& actor, const std::string& name);
  Status AddBinding(const SecurityContext& actor, const Binding& binding);
  Status RemoveBinding(const SecurityContext& actor, const Binding& binding);
  Result<SeparationOfDuty> AddSeparationOfDuty(const SecurityContext& actor,
                                               SeparationOfDuty constraint);
  Status RemoveSeparationOfDuty(const SecurityContext& actor, const std::string& name);

  // For the first start of an installation: if no enabled principal holds admin, creates
  // `principal` (a service if it is a SPIFFE URI, else a person) unless it exists, and binds
  // admin to it. Does nothing when an administrator exists. Returns whether it bound admin.
  // kFailedPrecondition "principal_disabled" if `principal` exists but is disabled.
  Result<bool> EnsureBootstrapAdmin(const std::string& principal);

  // Reads the whole state from the store again and publishes it, for changes made by other
  // processes. Fails, keeping the current snapshot, if the store fails or the state does not
  // validate.
  Status Reload();

 private:
  explicit RbacService(std::unique_ptr<RbacStore> rbac_store) : store_(std::move(rbac_store)) {}

  // Validates `state`, builds its snapshot and publishes it.
  Status Publish(RbacState state);
  // Runs one store mutation under the writer lock and publishes what it committed.
  Status Apply(const std::function<Result<RbacState>(RbacStore&)>& mutation);

  const std::unique_ptr<RbacStore> store_;
  std::mutex writer_mutex_;  // serialises mutations and publication
  // Held only to copy or replace the pointer, never during I/O, so readers wait for at most
  // one pointer swap. (std::atomic<std::shared_ptr> would do the same, but ThreadSanitizer
  // cannot see the ordering inside libstdc++ 12's implementation of it.)
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const RbacSnapshot> snapshot_;  // guarded by snapshot_mutex_
};

}  // namespace weftkit::auth

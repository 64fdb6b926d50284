// RequestAuditScope and NoteAuthorization: how the authorization decisions a handler asks for
// reach the audit entry of its request without every handler passing them along.
//
// The dispatcher opens a RequestAuditScope on the worker thread around the handler call; the
// Authorizer that kmsd gives the routes calls NoteAuthorization with each decision, which lands
// in that scope's AuditDetails. A request asking several questions (a batch over several keys)
// keeps the first denial, or else the last grant, with its action and resource.
//
// Thread safety: the scope is per thread; a scope must end on the thread that opened it.
// NoteAuthorization outside any scope does nothing.
#pragma once

#include <string_view>

#include "server/http_types.h"

namespace weftkit::server {

class RequestAuditScope {
 public:
  // Notes go to `details` until the scope ends. `details` must outlive the scope.
  explicit RequestAuditScope(AuditDetails& details);
  RequestAuditScope(const RequestAuditScope&) = delete;
  RequestAuditScope& operator=(const RequestAuditScope&) = delete;
  ~RequestAuditScope();

 private:
  AuditDetails* previous_;
};

void NoteAuthorization(std::string_view action, std::string_view resource, bool allowed,
                       std::string_view rule);

}  // namespace weftkit::server

#include "server/request_audit.h"

#include <string>

namespace weftkit::server {
namespace {

thread_local AuditDetails* current_details = nullptr;

}  // namespace

RequestAuditScope::RequestAuditScope(AuditDetails& details) : previous_(current_details) {
  current_details = &details;
}

RequestAuditScope::~RequestAuditScope() { current_details = previous_; }

void NoteAuthorization(std::string_view action, std::string_view resource, bool allowed,
                       std::string_view rule) {
  AuditDetails* details = current_details;
  if (details == nullptr || details->decision == "deny") return;
  details->action = std::string(action);
  details->resource = std::string(resource);
  details->decision = allowed ? "allow" : "deny";
  details->rule = std::string(rule);
}

}  // namespace weftkit::server

#include "pkcs11/session_guard.h"

#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {

Status OpenSessions::OpenOne(CK_SLOT_ID slot) {
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  // Read-write: creating and destroying token objects needs it.
  CK_RV rv = functions_->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                       &session);
  if (rv != CKR_OK) return ToError(rv, "C_OpenSession");
  sessions_.push_back(session);
  return OkStatus();
}

}  // namespace weftkit::pkcs11

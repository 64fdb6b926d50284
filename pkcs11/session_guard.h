// OpenSessions: sessions that close themselves unless handed on.
//
// Used while connecting, where any later step may fail: the sessions opened so far must not
// leak. Thread safety: not synchronised; owned by one thread at a time.
#pragma once

#include <p11-kit/pkcs11.h>

#include <utility>
#include <vector>

#include "common/error.h"

namespace weftkit::pkcs11 {

class OpenSessions {
 public:
  explicit OpenSessions(CK_FUNCTION_LIST_PTR functions) : functions_(functions) {}
  OpenSessions(const OpenSessions&) = delete;
  OpenSessions& operator=(const OpenSessions&) = delete;
  ~OpenSessions() {
    for (CK_SESSION_HANDLE session : sessions_) functions_->C_CloseSession(session);
  }

  // Opens one more read-write session on `slot`; fails with the C_OpenSession error.
  Status OpenOne(CK_SLOT_ID slot);

  CK_SESSION_HANDLE front() const { return sessions_.front(); }

  // Hands the sessions over; the caller closes them from now on.
  std::vector<CK_SESSION_HANDLE> Release() { return std::exchange(sessions_, {}); }

 private:
  CK_FUNCTION_LIST_PTR functions_;
  std::vector<CK_SESSION_HANDLE> sessions_;
};

}  // namespace weftkit::pkcs11

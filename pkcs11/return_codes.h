// PKCS#11 return codes: their names, and how each becomes the project's Error.
//
// Every CK_RV that this module receives is turned into an Error here, so that the mapping from
// return code to error kind lives in one table. Thread-safe: the tables are constant.
#pragma once

#include <p11-kit/pkcs11.h>

#include <string_view>

#include "common/error.h"

namespace weftkit::pkcs11 {

// The symbolic name of `rv`, e.g. "CKR_PIN_INCORRECT"; "CKR_0x..." (hex) for codes the table
// does not know, such as vendor-defined ones. The returned pointer is valid until the next call
// for an unknown code on the same thread, and forever for known codes.
const char* ReturnCodeName(CK_RV rv);

// True when `rv` means the session, the login, the token or the whole device is gone, so that
// reconnecting (C_Finalize, C_Initialize, log in again) may help.
bool IsConnectionLost(CK_RV rv);

// True when `rv` says an object handle no longer names an object, e.g. because another process
// destroyed it; a fresh look-up by label may find the current object.
bool IsStaleHandle(CK_RV rv);

// The Error for a failed `operation` (e.g. "C_Encrypt") that returned `rv` (not CKR_OK):
//   - connection lost (see IsConnectionLost): kUnavailable, code "hsm_unavailable";
//   - stale object handle: kInternal, code "hsm_stale_handle";
//   - PIN incorrect, locked, expired or out of range: kFailedPrecondition, "hsm_login_failed";
//   - anything else: kInternal, code "hsm_error".
// The detail reads "C_Encrypt failed: CKR_DEVICE_REMOVED" and never contains caller data.
Error ToError(CK_RV rv, std::string_view operation);

}  // namespace weftkit::pkcs11

// The return-code table decides which failures trigger a reconnect and what operators read.
#include "pkcs11/return_codes.h"

#include <gtest/gtest.h>

namespace weftkit::pkcs11 {
namespace {

TEST(ReturnCodesTest, ReturnCodeName_NamesKnownCodes) {
  EXPECT_STREQ(ReturnCodeName(CKR_OK), "CKR_OK");
  EXPECT_STREQ(ReturnCodeName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_STREQ(ReturnCodeName(CKR_DEVICE_REMOVED), "CKR_DEVICE_REMOVED");
  EXPECT_STREQ(ReturnCodeName(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
}

TEST(ReturnCodesTest, ReturnCodeName_PrintsHexForUnknownCodes) {
  EXPECT_STREQ(ReturnCodeName(CKR_VENDOR_DEFINED + 5), "CKR_0x80000005");
}

TEST(ReturnCodesTest, IsConnectionLost_TrueOnlyForGoneDeviceSessionOrLogin) {
  for (CK_RV rv : {CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
                   CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT,
                   CKR_TOKEN_NOT_RECOGNIZED, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_SLOT_ID_INVALID}) {
    EXPECT_TRUE(IsConnectionLost(rv)) << ReturnCodeName(rv);
  }
  for (CK_RV rv :
       {CKR_OK, CKR_GENERAL_ERROR, CKR_PIN_INCORRECT, CKR_KEY_HANDLE_INVALID, CKR_DEVICE_MEMORY}) {
    EXPECT_FALSE(IsConnectionLost(rv)) << ReturnCodeName(rv);
  }
}

TEST(ReturnCodesTest, ToError_ConnectionLostIsUnavailable) {
  Error error = ToError(CKR_DEVICE_REMOVED, "C_Encrypt");
  EXPECT_EQ(error.kind(), ErrorKind::kUnavailable);
  EXPECT_EQ(error.code(), "hsm_unavailable");
  EXPECT_EQ(error.detail(), "C_Encrypt failed: CKR_DEVICE_REMOVED");
}

TEST(ReturnCodesTest, ToError_PinProblemsAreLoginFailures) {
  Error error = ToError(CKR_PIN_INCORRECT, "C_Login");
  EXPECT_EQ(error.kind(), ErrorKind::kFailedPrecondition);
  EXPECT_EQ(error.code(), "hsm_login_failed");
  EXPECT_EQ(error.detail(), "C_Login failed: CKR_PIN_INCORRECT");
}

TEST(ReturnCodesTest, ToError_StaleHandleHasItsOwnCode) {
  EXPECT_EQ(ToError(CKR_KEY_HANDLE_INVALID, "C_EncryptInit").code(), "hsm_stale_handle");
  EXPECT_EQ(ToError(CKR_OBJECT_HANDLE_INVALID, "C_GetAttributeValue").code(), "hsm_stale_handle");
}

TEST(ReturnCodesTest, ToError_OtherCodesAreInternal) {
  Error error = ToError(CKR_MECHANISM_INVALID, "C_EncryptInit");
  EXPECT_EQ(error.kind(), ErrorKind::kInternal);
  EXPECT_EQ(error.code(), "hsm_error");
  EXPECT_EQ(error.detail(), "C_EncryptInit failed: CKR_MECHANISM_INVALID");
}

}  // namespace
}  // namespace weftkit::pkcs11

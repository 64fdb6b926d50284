// Problem codes and statuses become typed errors.
#include "client/client_error.h"

#include <gtest/gtest.h>

namespace weftkit::client {
namespace {

Error Server(int status, const std::string& code) {
  return Error(KindForStatus(status), code, "test");
}

TEST(ClientErrorTest, ServerErrorOf_MapsKnownCodes) {
  EXPECT_EQ(ServerErrorOf(Server(422, "envelope_authentication_failed")),
            ServerError::kEnvelopeAuthenticationFailed);
  EXPECT_EQ(ServerErrorOf(Server(400, "envelope_truncated")), ServerError::kEnvelopeMalformed);
  EXPECT_EQ(ServerErrorOf(Server(403, "forbidden")), ServerError::kForbidden);
  EXPECT_EQ(ServerErrorOf(Server(404, "key_not_found")), ServerError::kKeyNotFound);
  EXPECT_EQ(ServerErrorOf(Server(422, "key_version_destroyed")), ServerError::kKeyVersionDestroyed);
  EXPECT_EQ(ServerErrorOf(Server(401, "token_expired")), ServerError::kTokenRejected);
}

TEST(ClientErrorTest, ServerErrorOf_FallsBackToStatusClass_ForUnknownCodes) {
  EXPECT_EQ(ServerErrorOf(Server(503, "some_new_outage")), ServerError::kUnavailable);
  EXPECT_EQ(ServerErrorOf(Server(500, "some_new_bug")), ServerError::kInternal);
  EXPECT_EQ(ServerErrorOf(Server(400, "some_new_rule")), ServerError::kOther);
}

TEST(ClientErrorTest, IsTransient_OnlyForConnectionFailuresAnd503) {
  EXPECT_TRUE(IsTransient(Error(ErrorKind::kUnavailable, std::string(kConnectFailed), "")));
  EXPECT_TRUE(IsTransient(Error(ErrorKind::kUnavailable, std::string(kConnectionLost), "")));
  EXPECT_TRUE(IsTransient(Server(503, "overloaded")));
  EXPECT_FALSE(IsTransient(Server(500, "internal")));
  EXPECT_FALSE(IsTransient(Server(422, "key_version_disabled")));
  EXPECT_FALSE(IsTransient(Error(ErrorKind::kUnauthenticated, std::string(kPinMismatch), "")));
}

}  // namespace
}  // namespace weftkit::client

// Server URLs and path segments.
#include <gtest/gtest.h>

#include "client/kms_client.h"

namespace weftkit::client {
namespace {

TEST(ServerUrlTest, SetServerUrl_ParsesHostAndPort) {
  KmsClientOptions options;
  ASSERT_TRUE(SetServerUrl(options, "https://kms.example:9443").ok());
  EXPECT_EQ(options.host, "kms.example");
  EXPECT_EQ(options.port, 9443);
  ASSERT_TRUE(SetServerUrl(options, "https://127.0.0.1/").ok());
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 8443);
  ASSERT_TRUE(SetServerUrl(options, "https://[::1]:8444").ok());
  EXPECT_EQ(options.host, "::1");
  EXPECT_EQ(options.port, 8444);
}

TEST(ServerUrlTest, SetServerUrl_RefusesOtherSchemesAndBadPorts) {
  KmsClientOptions options;
  EXPECT_FALSE(SetServerUrl(options, "http://kms.example").ok());
  EXPECT_FALSE(SetServerUrl(options, "https://kms.example:0").ok());
  EXPECT_FALSE(SetServerUrl(options, "https://kms.example:70000").ok());
  EXPECT_FALSE(SetServerUrl(options, "https://kms.example:80/v1").ok());
  EXPECT_FALSE(SetServerUrl(options, "https://").ok());
}

TEST(ServerUrlTest, PercentEncode_EncodesSpiffeIds) {
  EXPECT_EQ(PercentEncode("spiffe://weftkit.dev/engine/orders"),
            "spiffe%3A%2F%2Fweftkit.dev%2Fengine%2Forders");
  EXPECT_EQ(PercentEncode("orders.archive"), "orders.archive");
}

}  // namespace
}  // namespace weftkit::client

// ProblemResponse is the only way errors reach clients: these tests pin the status table and
// prove that an error's internal detail never leaves the server.
#include "server/problem.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace weftkit::server {
namespace {

struct KindCase {
  ErrorKind kind;
  int status;
};

// Test names and failure messages show the kind, not the struct's bytes.
void PrintTo(const KindCase& c, std::ostream* out) {
  *out << ErrorKindName(c.kind) << " -> " << c.status;
}

class ProblemStatusTest : public ::testing::TestWithParam<KindCase> {};

TEST_P(ProblemStatusTest, ProblemResponse_UsesStatusOfKind) {
  Response response = ProblemResponse(Error(GetParam().kind, "some_code", "detail"), "rid");
  EXPECT_EQ(response.status, GetParam().status);
  EXPECT_EQ(HttpStatusFor(GetParam().kind), GetParam().status);
  EXPECT_EQ(nlohmann::json::parse(response.body)["status"], GetParam().status);
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, ProblemStatusTest,
    ::testing::Values(
        KindCase{ErrorKind::kInvalidArgument, 400}, KindCase{ErrorKind::kUnauthenticated, 401},
        KindCase{ErrorKind::kPermissionDenied, 403}, KindCase{ErrorKind::kNotFound, 404},
        KindCase{ErrorKind::kAlreadyExists, 409}, KindCase{ErrorKind::kConflict, 409},
        KindCase{ErrorKind::kFailedPrecondition, 422}, KindCase{ErrorKind::kPayloadTooLarge, 413},
        KindCase{ErrorKind::kResourceExhausted, 429}, KindCase{ErrorKind::kUnavailable, 503},
        KindCase{ErrorKind::kDeadlineExceeded, 504}, KindCase{ErrorKind::kDataLoss, 422},
        KindCase{ErrorKind::kInternal, 500}),
    [](const ::testing::TestParamInfo<KindCase>& param_info) {
      return std::string(ErrorKindName(param_info.param.kind));
    });

TEST(ProblemTest, ProblemResponse_HasRfc9457Fields) {
  Response response = ProblemResponse(Error(ErrorKind::kNotFound, "key_not_found", "x"), "abc123");
  EXPECT_EQ(response.content_type, "application/problem+json");
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["type"], "https://weftkit.dev/problems/key_not_found");
  EXPECT_EQ(body["title"], "Not found");
  EXPECT_EQ(body["code"], "key_not_found");
  EXPECT_EQ(body["request_id"], "abc123");
  EXPECT_EQ(body.size(), 5u);
}

TEST(ProblemTest, ProblemResponse_OmitsDetail) {
  Error error(ErrorKind::kInternal, "hsm_failed", "CKR_DEVICE_ERROR in slot 3 for key payroll");
  Response response = ProblemResponse(error, "rid");
  EXPECT_EQ(response.body.find("CKR_DEVICE_ERROR"), std::string::npos);
  EXPECT_EQ(response.body.find("payroll"), std::string::npos);
}

TEST(ProblemTest, ProblemResponse_AddsRetryAfter_WhenUnavailable) {
  Response response = ProblemResponse(Error(ErrorKind::kUnavailable, "overloaded", ""), "rid");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0], (std::pair<std::string, std::string>("Retry-After", "1")));
}

TEST(ProblemTest, ProblemResponse_OmitsRetryAfter_WhenNotUnavailable) {
  Response response = ProblemResponse(Error(ErrorKind::kNotFound, "x", ""), "rid");
  EXPECT_TRUE(response.headers.empty());
}

TEST(ProblemTest, ProblemResponse_UsesExplicitStatusAndTitle) {
  Response response = ProblemResponse(431, "headers_too_large", "rid");
  EXPECT_EQ(response.status, 431);
  nlohmann::json body = nlohmann::json::parse(response.body);
  EXPECT_EQ(body["title"], "Request header fields too large");
  EXPECT_EQ(body["code"], "headers_too_large");
}

}  // namespace
}  // namespace weftkit::server

// Credential derivation, the SASLprep subset, the password policy and the throttle schedule:
// the pure parts of SCRAM, pinned against RFC 7677's numbers and RFC 4013's tables.
#include "auth/scram_credentials.h"

#include <gtest/gtest.h>

#include "auth/scram_saslprep.h"
#include "auth/scram_throttle.h"
#include "common/base64.h"

namespace weftkit::auth {
namespace {

std::vector<std::uint8_t> Rfc7677Salt() { return Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==").value(); }

TEST(ScramCredentialsTest, DeriveScramCredentials_MatchesRfc7677Example) {
  // RFC 7677 §3 gives no keys, only messages; these keys reproduce its ServerSignature
  // (verified end to end in scram_server_test.cc) and were cross-checked with Python's
  // hashlib.pbkdf2_hmac and hmac modules.
  Result<ScramCredentials> credentials =
      DeriveScramCredentials(SecretBytes::CopyOf("pencil"), Rfc7677Salt(), 4096);
  ASSERT_TRUE(credentials.ok()) << credentials.error().ToString();
  EXPECT_EQ(Base64Encode(credentials->stored_key.expose()),
            "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=");
  EXPECT_EQ(Base64Encode(credentials->server_key.expose()),
            "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
  EXPECT_EQ(credentials->iterations, 4096u);
  EXPECT_EQ(credentials->salt, Rfc7677Salt());
}

TEST(ScramCredentialsTest, DeriveScramCredentials_Fails_BelowMinimumIterations) {
  Result<ScramCredentials> credentials =
      DeriveScramCredentials(SecretBytes::CopyOf("pencil"), Rfc7677Salt(), 4095);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code(), "invalid_iterations");
}

TEST(ScramCredentialsTest, DeriveScramCredentials_Fails_ForShortSalt) {
  std::vector<std::uint8_t> salt(kScramSaltSize - 1, 7);
  Result<ScramCredentials> credentials =
      DeriveScramCredentials(SecretBytes::CopyOf("pencil"), salt, 4096);
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.error().code(), "invalid_salt");
}

TEST(ScramCredentialsTest, NewScramCredentials_UsesFreshSalts) {
  SecretBytes password = SecretBytes::CopyOf("correct horse battery");
  Result<ScramCredentials> first = NewScramCredentials(password, 4096);
  Result<ScramCredentials> second = NewScramCredentials(password, 4096);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->salt.size(), kScramSaltSize);
  EXPECT_NE(first->salt, second->salt);
  EXPECT_FALSE(first->stored_key.ConstantTimeEquals(second->stored_key));
}

struct PasswordCase {
  const char* name;
  std::string password;
  const char* code;  // "" when accepted
};

std::ostream& operator<<(std::ostream& out, const PasswordCase& c) { return out << c.name; }

class ScramPasswordPolicyTest : public ::testing::TestWithParam<PasswordCase> {};

TEST_P(ScramPasswordPolicyTest, CheckPassword_GivesExpectedOutcome) {
  Status status = CheckPassword(SecretBytes::CopyOf(GetParam().password));
  if (std::string(GetParam().code).empty()) {
    EXPECT_TRUE(status.ok()) << status.error().ToString();
  } else {
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code(), GetParam().code);
  }
}

const PasswordCase kPasswords[] = {
    {"TwelveAscii", "abcdefghijkl", ""},
    {"ElevenAscii", "abcdefghijk", "password_too_short"},
    {"TwelveCodePointsUtf8",
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "abcdef",
     ""},
    {"ElevenCodePointsEighteenBytes",
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
     "abcd",
     "password_too_short"},
    {"SpacesInside", "correct horse battery staple", ""},
    {"TabInside", "correct\thorse battery", "password_not_allowed"},
    {"NulInside", std::string("correct\0horse battery", 21), "password_not_allowed"},
    {"C1Control", "correct horse\xc2\x85 battery", "password_not_allowed"},
    {"NoBreakSpace", "correct\xc2\xa0horse battery", "password_not_allowed"},
    {"SoftHyphen",
     "correct\xc2\xad"
     "horse battery",
     "password_not_allowed"},
    {"ZeroWidthSpace",
     "correct\xe2\x80\x8b"
     "horse battery",
     "password_not_allowed"},
    {"PrivateUse", "correct\xee\x80\x80horse battery", "password_not_allowed"},
    {"NonCharacter",
     "correct\xef\xbf\xbe"
     "horse battery",
     "password_not_allowed"},
    {"Surrogate", "correct\xed\xa0\x80horse battery", "password_not_allowed"},
    {"TagCharacter", "correct\xf3\xa0\x80\x81horse battery", "password_not_allowed"},
    {"TruncatedUtf8", "correct horse battery\xe2\x82", "password_not_allowed"},
    {"TooLong", std::string(kMaxPasswordBytes + 1, 'a'), "password_too_long"},
};

INSTANTIATE_TEST_SUITE_P(Policy, ScramPasswordPolicyTest, ::testing::ValuesIn(kPasswords),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(ScramSaslPrepTest, IsSaslPrepared_RefusesEmpty_AcceptsPlainAscii) {
  EXPECT_FALSE(IsSaslPrepared(""));
  EXPECT_TRUE(IsSaslPrepared("user"));
  EXPECT_TRUE(IsSaslPrepared("!~ printable ASCII ~!"));
}

TEST(ScramSaslPrepTest, IsSaslPrepared_AcceptsTextSaslPrepLeavesAlone) {
  EXPECT_TRUE(IsSaslPrepared("caf\xc3\xa9 cr\xc3\xa8me"));          // NFC accents: unchanged
  EXPECT_TRUE(IsSaslPrepared("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"));  // Hebrew, all RTL
}

TEST(ScramSaslPrepTest, IsSaslPrepared_Refuses_WhatNfkcOrTheBidiRuleWouldChangeOrRefuse) {
  EXPECT_FALSE(IsSaslPrepared("cafe\xcc\x81"));                // decomposed e + combining acute
  EXPECT_FALSE(IsSaslPrepared("\xef\xbd\x90\xef\xbd\x81ss"));  // full-width "pa" -> "pa"
  EXPECT_FALSE(IsSaslPrepared("\xe2\x85\xa8"));                // ROMAN NUMERAL NINE -> "IX"
  EXPECT_FALSE(
      IsSaslPrepared("\xd7\xa9"
                     "abc"));  // RTL mixed with LTR (bidi rule)
}

TEST(ScramSaslPrepTest, CountCodePoints_CountsCharactersNotBytes) {
  EXPECT_EQ(CountCodePoints("abc"), 3u);
  EXPECT_EQ(CountCodePoints("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), 3u);
  EXPECT_EQ(CountCodePoints("\xc3"), 0u);
}

ThrottlePolicy TestPolicy() {
  ThrottlePolicy policy;
  policy.max_failures = 3;
  policy.base_delay = std::chrono::seconds(1);
  policy.max_delay = std::chrono::seconds(4);
  policy.lock_period = std::chrono::minutes(15);
  policy.failure_window = std::chrono::minutes(10);
  return policy;
}

TEST(ScramThrottleTest, AfterFailure_DoublesDelay_ThenLocks) {
  const ThrottlePolicy policy = TestPolicy();
  FailureState state = AfterFailure({}, 1'000'000, policy);
  EXPECT_EQ(state.failures, 1);
  EXPECT_EQ(state.refused_until_ms, 1'001'000);
  state = AfterFailure(state, 1'002'000, policy);
  EXPECT_EQ(state.failures, 2);
  EXPECT_EQ(state.refused_until_ms, 1'004'000);
  state = AfterFailure(state, 1'005'000, policy);
  EXPECT_EQ(state.failures, 3);
  EXPECT_EQ(state.refused_until_ms, 1'005'000 + 15 * 60 * 1000);
}

TEST(ScramThrottleTest, CheckThrottle_ReportsLockAndRetryAfter) {
  const ThrottlePolicy policy = TestPolicy();
  FailureState locked{3, 0, 60'500};
  std::int64_t retry_after = 0;
  Status status = CheckThrottle(locked, 0, policy, &retry_after);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), "account_locked");
  EXPECT_EQ(status.error().kind(), ErrorKind::kResourceExhausted);
  EXPECT_EQ(retry_after, 61);
  EXPECT_TRUE(CheckThrottle(locked, 60'500, policy, nullptr).ok());

  FailureState delayed{1, 0, 300};
  status = CheckThrottle(delayed, 0, policy, &retry_after);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), "auth_throttled");
  EXPECT_EQ(retry_after, 1);
}

TEST(ScramThrottleTest, AfterFailure_StartsAfresh_AfterLockEndsOrWindowPasses) {
  const ThrottlePolicy policy = TestPolicy();
  FailureState locked{3, 0, 1000};
  EXPECT_EQ(AfterFailure(locked, 1000, policy).failures, 1);
  FailureState old{2, 0, 1000};
  EXPECT_EQ(AfterFailure(old, 1000 + 10 * 60 * 1000, policy).failures, 1);
  EXPECT_EQ(AfterFailure(old, 1000 + 10 * 60 * 1000 - 1, policy).failures, 3);
  EXPECT_TRUE(IsStale(old, 1000 + 10 * 60 * 1000, policy));
  EXPECT_FALSE(IsStale(old, 1000 + 10 * 60 * 1000 - 1, policy));
}

}  // namespace
}  // namespace weftkit::auth

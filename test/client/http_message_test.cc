// Response heads as the client parses them from kmsd.
#include "client/http_message.h"

#include <gtest/gtest.h>

namespace weftkit::client {
namespace {

TEST(ParseResponseHeadTest, ParseResponseHead_ReadsStatusAndLowerCasedHeaders) {
  HttpResponse response;
  ASSERT_TRUE(ParseResponseHead("HTTP/1.1 401 Unauthorized\r\n"
                                "WWW-Authenticate: SCRAM-SHA-256-PLUS realm=\"k\"\r\n"
                                "WWW-Authenticate: SCRAM-SHA-256 realm=\"k\"\r\n"
                                "Vary: a\r\nVary: b\r\n"
                                "Content-Length:  12 ",
                                response)
                  .ok());
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.Header("www-authenticate"), "SCRAM-SHA-256-PLUS realm=\"k\"");
  EXPECT_EQ(response.Header("vary"), "a, b");
  EXPECT_EQ(response.Header("content-length"), "12");
  EXPECT_TRUE(response.keep_alive);
}

TEST(ParseResponseHeadTest, ParseResponseHead_NotesConnectionClose) {
  HttpResponse response;
  ASSERT_TRUE(ParseResponseHead("HTTP/1.1 413 Payload Too Large\r\nConnection: Close", response)
                  .ok());
  EXPECT_FALSE(response.keep_alive);
}

TEST(ParseResponseHeadTest, ParseResponseHead_Fails_ForMalformedHeads) {
  for (const char* head : {"", "HTTP/2 200 OK", "HTTP/1.1 20x OK", "HTTP/1.1 099 Low",
                           "HTTP/1.1 600 High", "HTTP/1.1 200 OK\r\nno colon",
                           "HTTP/1.1 200 OK\r\n: empty name", "SSH-2.0-OpenSSH"}) {
    HttpResponse response;
    Status parsed = ParseResponseHead(head, response);
    ASSERT_FALSE(parsed.ok()) << head;
    EXPECT_EQ(parsed.error().code(), "client_bad_response") << head;
  }
}

}  // namespace
}  // namespace weftkit::client

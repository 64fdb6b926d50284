// Interoperability: Perl's Authen::SCRAM::Client (an independent implementation, Debian package
// libauthen-scram-perl) logs in through WeftKit's SCRAM route. The Perl process computes the
// client's messages from the user name and password alone and verifies the server's signature;
// WeftKit's route, ScramServer and SQLite store play the server. They talk over pipes, one
// message per line (see scram_interop.pl).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "api/scram_routes.h"
#include "auth/sqlite_password_store.h"
#include "common/base64.h"
#include "test/support/temp_dir.h"

extern char** environ;

namespace weftkit::api {
namespace {

// A running `perl scram_interop.pl USER PASSWORD` with its stdin and stdout on pipes.
class PerlScramClient {
 public:
  PerlScramClient(const std::string& user, const std::string& password) {
    int to_child[2];
    int from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    std::string perl = WEFTKIT_PERL;
    std::string script = WEFTKIT_SCRAM_INTEROP_SCRIPT;
    std::string user_arg = user;
    std::string password_arg = password;
    char* argv[] = {perl.data(), script.data(), user_arg.data(), password_arg.data(), nullptr};
    if (::posix_spawn(&pid_, perl.c_str(), &actions, nullptr, argv, environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    ::close(to_child[0]);
    ::close(from_child[1]);
    in_ = ::fdopen(to_child[1], "w");
    out_ = ::fdopen(from_child[0], "r");
  }

  ~PerlScramClient() {
    if (in_ != nullptr) std::fclose(in_);
    if (out_ != nullptr) std::fclose(out_);
    if (pid_ > 0) Wait();
  }

  bool started() const { return pid_ > 0 && in_ != nullptr && out_ != nullptr; }

  // The next line the client printed, without its newline; "" at end of file.
  std::string ReadLine() {
    char* line = nullptr;
    std::size_t capacity = 0;
    ssize_t length = ::getline(&line, &capacity, out_);
    std::string text = length > 0 ? std::string(line, static_cast<std::size_t>(length)) : "";
    std::free(line);
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  void WriteLine(const std::string& text) {
    std::fputs((text + "\n").c_str(), in_);
    std::fflush(in_);
  }

  // The exit status; waits for the process once.
  int Wait() {
    if (pid_ <= 0) return exit_status_;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return exit_status_;
  }

 private:
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
  FILE* out_ = nullptr;
  int exit_status_ = -1;
};

std::string HeaderOf(const server::Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

// The SCRAM message in the data= of a WWW-Authenticate or Authentication-Info value.
std::string MessageIn(const std::string& value) {
  const std::string params =
      value.rfind("sid=", 0) == 0 ? value : value.substr(value.find(' ') + 1);
  auto parsed = ParseScramAuthorization("SCRAM-SHA-256 " + params);
  return parsed.ok() && parsed->has_value() ? (*parsed)->message : "";
}

class ScramInteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    auto database = store::Database::Open(dir_.path() / "kms.db");
    ASSERT_TRUE(database.ok());
    auto store =
        auth::SqlitePasswordStore::Open(std::shared_ptr<store::Database>(std::move(*database)));
    ASSERT_TRUE(store.ok());
    store_ = std::shared_ptr<auth::SqlitePasswordStore>(std::move(*store));
    auth::ScramServerOptions options;
    options.default_iterations = 4096;
    auto scram = auth::ScramServer::Create(store_, std::move(options));
    ASSERT_TRUE(scram.ok());
    scram_ = std::move(*scram);
    ScramRouteDependencies deps{*scram_, *store_};
    deps.issue_token = [](const std::string&, bool) -> Result<std::string> {
      return std::string("stub-token");
    };
    deps.authorize = [](const SecurityContext&, std::string_view, std::string_view) -> Status {
      return Error(ErrorKind::kPermissionDenied, "forbidden", "not used here");
    };
    RegisterScramRoutes(router_, deps);
  }

  server::Response Post(const std::string& authorization) {
    server::Request request;
    request.method = "POST";
    request.path = "/v1/auth/scram";
    request.headers.emplace_back("authorization", authorization);
    SecurityContext::Fields fields;
    fields.request_id = "0123456789abcdef0123456789abcdef";
    return router_.Find("POST", "/v1/auth/scram").route->handler(request, SecurityContext(fields));
  }

  // Runs the Perl client through both steps; returns the final response and leaves the Perl
  // process waiting for the server-final line.
  server::Response TwoSteps(PerlScramClient& perl) {
    const std::string client_first = perl.ReadLine();
    server::Response first = Post("SCRAM-SHA-256 data=" + Base64Encode(AsBytes(client_first)));
    EXPECT_EQ(first.status, 401) << first.body;
    const std::string challenge = HeaderOf(first, "WWW-Authenticate");
    const std::string sid = challenge.substr(challenge.find("sid=") + 4,
                                             challenge.find(',') - challenge.find("sid=") - 4);
    perl.WriteLine(MessageIn(challenge));
    const std::string client_final = perl.ReadLine();
    return Post("SCRAM-SHA-256 sid=" + sid + ", data=" + Base64Encode(AsBytes(client_final)));
  }

  weftkit::testing::TempDir dir_;
  std::shared_ptr<auth::SqlitePasswordStore> store_;
  std::unique_ptr<auth::ScramServer> scram_;
  server::Router router_;
};

TEST_F(ScramInteropTest, PerlClient_LogsIn_AndVerifiesServerSignature) {
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("correct horse battery staple"), 4096).ok());
  PerlScramClient perl("alice", "correct horse battery staple");
  ASSERT_TRUE(perl.started());
  server::Response response = TwoSteps(perl);
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(nlohmann::json::parse(response.body)["access_token"], "stub-token");
  perl.WriteLine(MessageIn(HeaderOf(response, "Authentication-Info")));
  EXPECT_EQ(perl.ReadLine(), "OK");
  EXPECT_EQ(perl.Wait(), 0);
}

TEST_F(ScramInteropTest, PerlClient_LogsIn_WithNonAsciiPassword) {
  // NFKC leaves these characters unchanged, so full SASLprep and WeftKit's subset agree.
  const std::string password =
      "gr\xc3\xbc\xc3\x9f"
      "e aus K\xc3\xb6ln \xe2\x82\xac";
  ASSERT_TRUE(store_->SetPassword("joerg", SecretBytes::CopyOf(password), 4096).ok());
  PerlScramClient perl("joerg", password);
  ASSERT_TRUE(perl.started());
  server::Response response = TwoSteps(perl);
  ASSERT_EQ(response.status, 200) << response.body;
  perl.WriteLine(MessageIn(HeaderOf(response, "Authentication-Info")));
  EXPECT_EQ(perl.ReadLine(), "OK");
}

TEST_F(ScramInteropTest, PerlClient_GetsInvalidProof_ForWrongPassword) {
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("correct horse battery staple"), 4096).ok());
  PerlScramClient perl("alice", "wrong horse battery staple");
  ASSERT_TRUE(perl.started());
  server::Response response = TwoSteps(perl);
  ASSERT_EQ(response.status, 401) << response.body;
  perl.WriteLine(MessageIn(HeaderOf(response, "WWW-Authenticate")));
  EXPECT_EQ(perl.ReadLine(), "ERROR SCRAM server-final-message was error 'invalid-proof'");
  EXPECT_EQ(perl.Wait(), 1);
}

TEST_F(ScramInteropTest, PerlClient_GetsInvalidProof_ForUnknownUser) {
  PerlScramClient perl("nobody", "correct horse battery staple");
  ASSERT_TRUE(perl.started());
  server::Response response = TwoSteps(perl);
  ASSERT_EQ(response.status, 401) << response.body;
  perl.WriteLine(MessageIn(HeaderOf(response, "WWW-Authenticate")));
  EXPECT_EQ(perl.ReadLine(), "ERROR SCRAM server-final-message was error 'invalid-proof'");
}

TEST_F(ScramInteropTest, PerlClient_RefusesForgedServerSignature) {
  // Shows that the "OK" above means the client really checked WeftKit's ServerSignature.
  ASSERT_TRUE(
      store_->SetPassword("alice", SecretBytes::CopyOf("correct horse battery staple"), 4096).ok());
  PerlScramClient perl("alice", "correct horse battery staple");
  ASSERT_TRUE(perl.started());
  server::Response response = TwoSteps(perl);
  ASSERT_EQ(response.status, 200) << response.body;
  perl.WriteLine("v=" + Base64Encode(std::vector<std::uint8_t>(32, 0)));
  EXPECT_EQ(perl.ReadLine(), "ERROR SCRAM server-final-message failed validation");
}

}  // namespace
}  // namespace weftkit::api

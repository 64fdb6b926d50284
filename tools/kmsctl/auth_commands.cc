// kmsctl login|tokens|health and principals set-password: authentication and liveness.
#include <openssl/crypto.h>

#include <cstdlib>

#include "tools/kmsctl/command.h"
#include "tools/kmsctl/terminal.h"

namespace weftkit::kmsctl {
namespace {

using client::PercentEncode;
using client::Retry;
using nlohmann::json;

// Prints a token answer: the whole JSON with --json, else the token alone (for $(...)).
void PrintToken(Invocation& call, json& body) {
  if (call.out.is_json()) {
    call.out.Object(body);
  } else {
    call.out.Message(body, body.value("access_token", ""));
  }
  if (body.contains("access_token") && body["access_token"].is_string()) {
    std::string& token = body["access_token"].get_ref<std::string&>();
    OPENSSL_cleanse(token.data(), token.size());
  }
}

// The new password: --new-password-file, WEFTKIT_NEW_PASSWORD, or asked twice on the terminal.
Result<SecretBytes> NewPassword(const Arguments& args) {
  if (auto file = args.Get("new-password-file")) return ReadPasswordFile(*file);
  if (const char* env = std::getenv("WEFTKIT_NEW_PASSWORD"); env != nullptr && *env != '\0') {
    return SecretBytes::CopyOf(std::string_view(env));
  }
  WK_ASSIGN_OR_RETURN(SecretBytes first, ReadPasswordFromTerminal("New password: "));
  WK_ASSIGN_OR_RETURN(SecretBytes again, ReadPasswordFromTerminal("Repeat it: "));
  if (!first.ConstantTimeEquals(again)) return UsageError("the two passwords differ");
  return first;
}

Result<int> SetPassword(Invocation& call) {
  WK_ASSIGN_OR_RETURN(SecretBytes password, NewPassword(call.args));
  json body = {{"password", std::string(password.expose_chars())}};
  if (auto iterations = call.args.Get("iterations")) {
    WK_ASSIGN_OR_RETURN(body["iterations"], NumberArgument(*iterations, "--iterations"));
  }
  std::string path = "/v1/principals/" + PercentEncode(call.args.positional()[0]) + "/password";
  Result<client::CallResult> result = call.client.Call("PUT", path, body, Retry::kIdempotent);
  std::string& text = body["password"].get_ref<std::string&>();
  OPENSSL_cleanse(text.data(), text.size());
  if (!result.ok()) return result.error();
  call.out.Object(result->body);
  return kExitOk;
}

Result<int> IssueToken(Invocation& call) {
  json body = json::object();
  if (auto audience = call.args.Get("audience")) body["audience"] = *audience;
  if (auto lifetime = call.args.Get("lifetime")) {
    WK_ASSIGN_OR_RETURN(body["lifetime_s"], NumberArgument(*lifetime, "--lifetime"));
  }
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("POST", "/v1/auth/tokens", body, Retry::kSafeToRepeat));
  PrintToken(call, result.body);
  return kExitOk;
}

Result<int> Health(Invocation& call) {
  WK_ASSIGN_OR_RETURN(client::CallResult live,
                      call.client.Call("GET", "/healthz", nullptr, Retry::kIdempotent));
  Result<client::CallResult> ready =
      call.client.Call("GET", "/readyz", nullptr, Retry::kIdempotent);
  json report = {{"healthz", live.body.value("status", "")},
                 {"readyz", ready.ok() ? ready->body.value("status", "") : ready.error().code()}};
  call.out.Object(report);
  return ready.ok() ? kExitOk : kExitUnavailable;
}

}  // namespace

std::vector<Command> AuthCommands() {
  return {
      {{"login"},
       "",
       "Log in with a password (SCRAM) and print the API token",
       "Uses --user and the password from --password-file, WEFTKIT_PASSWORD or a prompt.\n"
       "The token can then be given to later commands with --token-file or WEFTKIT_TOKEN.",
       {},
       {},
       0,
       0,
       [](Invocation& call) -> Result<int> {
         // main() has already logged in; this command prints what it got.
         if (call.login == nullptr) return UsageError("login needs --user (a password login)");
         json body = {{"access_token", std::string(call.login->access_token.expose_chars())},
                      {"token_type", "Bearer"},
                      {"expires_in", call.login->expires_in_s},
                      {"must_change_password", call.login->must_change_password}};
         PrintToken(call, body);
         return kExitOk;
       }},
      {{"health"}, "", "Check that kmsd is live and ready", "", {}, {}, 0, 0, Health},
      {{"principals", "set-password"},
       "NAME [--new-password-file FILE] [--iterations N]",
       "Set a person's password (creates the SCRAM user user:NAME if needed)",
       "The new password comes from --new-password-file, WEFTKIT_NEW_PASSWORD, or is asked\n"
       "twice on the terminal without echo. It is never taken from the command line.",
       {"new-password-file", "iterations"},
       {},
       1,
       1,
       SetPassword},
      {{"tokens", "issue"},
       "[--audience AUD] [--lifetime SECONDS]",
       "Issue an API token for the calling certificate",
       "",
       {"audience", "lifetime"},
       {},
       0,
       0,
       IssueToken},
      {{"tokens", "revoke"},
       "JTI",
       "Revoke a token by its jti",
       "",
       {},
       {},
       1,
       1,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(
             client::CallResult result,
             call.client.Call("POST", "/v1/auth/tokens/revoke",
                              {{"jti", call.args.positional()[0]}}, Retry::kIdempotent));
         call.out.Message(result.body.is_null() ? json{{"ok", true}} : result.body, "revoked");
         return kExitOk;
       }},
      {{"tokens", "rotate-signing-key"},
       "",
       "Rotate the token signing key (old tokens keep verifying until they expire)",
       "",
       {},
       {},
       0,
       0,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(
             client::CallResult result,
             call.client.Call("POST", "/v1/auth/signing-keys/rotate", nullptr, Retry::kNever));
         call.out.Object(result.body);
         return kExitOk;
       }},
  };
}

}  // namespace weftkit::kmsctl

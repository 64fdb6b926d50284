// kmsctl dek ...: DEK operations for testing (generate, wrap, unwrap, rewrap), as the engine
// identity the profile names. Bulk rewrap is in bulk_rewrap.cc.
#include <openssl/crypto.h>

#include <iostream>

#include "common/base64.h"
#include "tools/kmsctl/bulk_rewrap.h"
#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {
namespace {

using client::Retry;
using nlohmann::json;

json ContextJson(const client::EncryptionContext& context) {
  json out = json::object();
  for (const auto& [name, value] : context) out[name] = value;
  return out;
}

std::string DekPath(const Arguments& args, const std::string& op) {
  return "/v1/keys/" + client::PercentEncode(args.positional()[0]) + "/" + op;
}

// Sends {wrapped, context} or {plaintext, context} style bodies and prints the answer object.
Result<int> SendItem(Invocation& call, const std::string& op, json body, Retry retry) {
  WK_ASSIGN_OR_RETURN(client::EncryptionContext context, ContextOption(call.args));
  body["context"] = ContextJson(context);
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("POST", DekPath(call.args, op), body, retry));
  call.out.Object(result.body);
  if (result.body.contains("plaintext")) {
    std::string& text = result.body["plaintext"].get_ref<std::string&>();
    OPENSSL_cleanse(text.data(), text.size());
  }
  return kExitOk;
}

Result<int> Generate(Invocation& call) {
  json body = json::object();
  if (auto bytes = call.args.Get("bytes")) {
    WK_ASSIGN_OR_RETURN(body["bytes"], NumberArgument(*bytes, "--bytes"));
  }
  std::string op =
      call.args.Has("no-plaintext") ? "generate-data-key-without-plaintext" : "generate-data-key";
  return SendItem(call, op, body, Retry::kSafeToRepeat);
}

Result<int> Wrap(Invocation& call) {
  // The DEK comes from stdin (base64, one line), never from the command line, where other
  // users could read it in the process list.
  std::string line;
  if (!std::getline(std::cin, line) || line.empty()) {
    return UsageError("wrap reads the DEK as base64 from standard input");
  }
  Result<SecretBytes> dek = Base64DecodeSecret(line);
  OPENSSL_cleanse(line.data(), line.size());
  if (!dek.ok()) return UsageError("standard input is not canonical base64");
  json body = {{"plaintext", Base64Encode(dek->expose())}};
  Result<int> sent = SendItem(call, "wrap", body, Retry::kSafeToRepeat);
  std::string& text = body["plaintext"].get_ref<std::string&>();
  OPENSSL_cleanse(text.data(), text.size());
  return sent;
}

Command ItemCommand(const std::string& word, const std::string& summary, Retry retry) {
  return {{"dek", word},
          "KEY WRAPPED [--context NAME=VALUE]...",
          summary,
          "WRAPPED is the base64 envelope; --context must repeat the context it was wrapped with.",
          {"context"},
          {},
          2,
          2,
          [word, retry](Invocation& call) {
            return SendItem(call, word, {{"wrapped", call.args.positional()[1]}}, retry);
          }};
}

}  // namespace

std::vector<Command> DekCommands() {
  return {
      {{"dek", "generate"},
       "KEY [--bytes N] [--context NAME=VALUE]... [--no-plaintext]",
       "Generate a DEK under KEY's primary version (for testing)",
       "Prints the envelope and, unless --no-plaintext, the DEK itself: only for tests.",
       {"bytes", "context"},
       {"no-plaintext"},
       1,
       1,
       Generate},
      {{"dek", "wrap"},
       "KEY [--context NAME=VALUE]... < dek.b64",
       "Wrap a DEK read as base64 from standard input (for testing)",
       "",
       {"context"},
       {},
       1,
       1,
       Wrap},
      ItemCommand("unwrap", "Unwrap an envelope and print the DEK (for testing)",
                  Retry::kIdempotent),
      ItemCommand("rewrap", "Move an envelope to the key's primary version", Retry::kIdempotent),
      {{"dek", "bulk-rewrap"},
       "--in FILE|- --out FILE|- [--key-name KEY] [--batch N]",
       "Rewrap a file of stored envelopes (JSON lines) to their keys' primary versions",
       "Each input line is a JSON object with \"wrapped\" (base64 envelope), optionally\n"
       "\"context\" (object of strings) and \"key\"; other members are copied through. Without\n"
       "\"key\" or --key-name, the key name is read from the envelope. Each output line is its "
       "input\n"
       "line with \"wrapped\" and \"key_version\" updated, or with an \"error\" member (and the\n"
       "old envelope kept) when that item failed. Progress with rate and ETA goes to stderr when\n"
       "it is a terminal. Exit code 9 when some items failed.",
       {"in", "out", "key-name", "batch"},
       {},
       0,
       0,
       RunBulkRewrap},
  };
}

}  // namespace weftkit::kmsctl

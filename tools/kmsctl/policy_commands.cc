// kmsctl policy ...: signed, versioned RBAC policy bundles per scope (cluster/NAME, pool/NAME,
// engine/NAME), following the policy routes of docs/openapi.yaml.
//
// TODO(#6): `policy verify` (signature and rollback checks with weftkit_policy_client) and the
// end-to-end tests of these commands wait for the policy branch to be merged with the audit one.
#include <fstream>
#include <iostream>

#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {
namespace {

using client::PercentEncode;
using client::Retry;
using nlohmann::json;

// "engine/orders" -> "/v1/policy/scopes/engine/orders". Fails (usage) without exactly one '/'.
Result<std::string> ScopePath(const std::string& scope) {
  std::size_t slash = scope.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == scope.size() ||
      scope.find('/', slash + 1) != std::string::npos) {
    return UsageError("a scope is KIND/NAME, e.g. engine/orders; got '" + scope + "'");
  }
  return "/v1/policy/scopes/" + PercentEncode(scope.substr(0, slash)) + "/" +
         PercentEncode(scope.substr(slash + 1));
}

Result<json> Get(Invocation& call, const std::string& path) {
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("GET", path, nullptr, Retry::kIdempotent));
  return std::move(result.body);
}

// --base-version, or the scope's current version (0 for a new scope).
Result<long long> BaseVersion(Invocation& call, const std::string& scope_path) {
  if (auto text = call.args.Get("base-version")) return NumberArgument(*text, "--base-version");
  Result<json> newest = Get(call, scope_path + "/versions?limit=1");
  if (!newest.ok()) {
    return newest.error().kind() == ErrorKind::kNotFound ? Result<long long>(0LL)
                                                         : Result<long long>(newest.error());
  }
  const json& versions = newest->value("versions", json::array());
  return versions.empty() ? 0LL : versions[0].value("version", 0LL);
}

Result<int> History(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  std::string query = "/versions";
  if (auto limit = call.args.Get("limit")) query += "?limit=" + PercentEncode(*limit);
  WK_ASSIGN_OR_RETURN(json page, Get(call, path + query));
  call.out.Table(page, "versions",
                 {{"VERSION", "version"},
                  {"PUBLISHED", "published_at"},
                  {"BY", "published_by"},
                  {"HASH", "content_hash"},
                  {"COMMENT", "comment"}});
  return kExitOk;
}

Result<int> Publish(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  WK_ASSIGN_OR_RETURN(json document, JsonFile(call.args.Get("file").value_or("")));
  WK_ASSIGN_OR_RETURN(long long base, BaseVersion(call, path));
  json body = {{"document", document}, {"base_version", base}};
  if (auto comment = call.args.Get("comment")) body["comment"] = *comment;
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("POST", path + "/versions", body, Retry::kNever));
  call.out.Object(result.body);
  return kExitOk;
}

Result<int> Rollback(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  WK_ASSIGN_OR_RETURN(long long version, NumberArgument(call.args.positional()[1], "VERSION"));
  WK_ASSIGN_OR_RETURN(long long base, BaseVersion(call, path));
  json body = {{"version", version}, {"base_version", base}};
  if (auto comment = call.args.Get("comment")) body["comment"] = *comment;
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("POST", path + "/rollback", body, Retry::kNever));
  call.out.Object(result.body);
  return kExitOk;
}

Result<int> Diff(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  auto from = call.args.Get("from");
  auto to = call.args.Get("to");
  if (!from || !to) return UsageError("--from and --to are required");
  WK_ASSIGN_OR_RETURN(json patch, Get(call, path + "/diff?from=" + PercentEncode(*from) +
                                                "&to=" + PercentEncode(*to)));
  call.out.Table(patch, "patch", {{"OP", "op"}, {"PATH", "path"}, {"VALUE", "value"}});
  return kExitOk;
}

Result<int> Fetch(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  path += "/bundle";
  if (auto version = call.args.Get("version")) path += "?version=" + PercentEncode(*version);
  WK_ASSIGN_OR_RETURN(client::HttpResponse bundle,
                      call.client.CallRaw("GET", path, nullptr, Retry::kIdempotent));
  if (auto file = call.args.Get("out")) {
    std::ofstream out(*file, std::ios::trunc);
    out << bundle.body;
    if (!out) return UsageError("cannot write " + *file);
  } else {
    std::cout << bundle.body << "\n";
  }
  call.err << "policy fetch: ETag " << bundle.Header("etag") << "\n";
  return kExitOk;
}

}  // namespace

std::vector<Command> PolicyCommands() {
  return {
      {{"policy", "scopes"},
       "",
       "List the policy scopes you may read",
       "",
       {},
       {},
       0,
       0,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(json scopes, Get(call, "/v1/policy/scopes"));
         call.out.Table(scopes, "scopes", {{"SCOPE", "scope"}});
         return kExitOk;
       }},
      {{"policy", "history"},
       "KIND/NAME [--limit N]",
       "A scope's published versions, newest first",
       "",
       {"limit"},
       {},
       1,
       1,
       History},
      {{"policy", "show"},
       "KIND/NAME VERSION",
       "One version with its document and signature",
       "",
       {},
       {},
       2,
       2,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
         WK_ASSIGN_OR_RETURN(json version, Get(call, path + "/versions/" +
                                                         PercentEncode(call.args.positional()[1])));
         call.out.Object(version);
         return kExitOk;
       }},
      {{"policy", "publish"},
       "KIND/NAME --file POLICY.json [--base-version N] [--comment TEXT]",
       "Validate, sign and publish a new version of a scope's policy",
       "--base-version is the version you edited (default: the current one). If someone\n"
       "published since, kmsd answers 409 policy_version_conflict (exit 5): diff and rebase.\n"
       "A document with problems answers 422 policy_invalid (exit 8). Never retried.",
       {"file", "base-version", "comment"},
       {},
       1,
       1,
       Publish},
      {{"policy", "diff"},
       "KIND/NAME --from N --to M",
       "The JSON Patch (RFC 6902) from version N to version M",
       "",
       {"from", "to"},
       {},
       1,
       1,
       Diff},
      {{"policy", "rollback"},
       "KIND/NAME VERSION [--base-version N] [--comment TEXT]",
       "Publish an old version's content as a new version",
       "",
       {"base-version", "comment"},
       {},
       2,
       2,
       Rollback},
      {{"policy", "fetch"},
       "KIND/NAME [--version N] [--out FILE]",
       "Fetch the signed bundle engines enforce",
       "The ETag goes to stderr. Verify a bundle before enforcing it (docs/policy-bundles.md).",
       {"version", "out"},
       {},
       1,
       1,
       Fetch},
  };
}

}  // namespace weftkit::kmsctl

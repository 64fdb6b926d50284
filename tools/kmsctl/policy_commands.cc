// kmsctl policy ...: signed, versioned RBAC policy bundles per scope (cluster/NAME, pool/NAME,
// engine/NAME), following the policy routes of docs/openapi.yaml. `fetch`, `verify` and
// `check --local` run the engine-side checks of the client library (client/policy_bundle_check.h)
// and its reference evaluator, so an operator sees exactly what an engine would accept.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "client/policy_bundle_check.h"
#include "client/policy_state_file.h"
#include "policy_store/policy_scope.h"
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
                  {"BY", "author"},
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

// The keys bundles are checked with: the JWK set in --keys (pinned by the operator), else the
// server's, from GET /v1/policy/keys over the verified TLS channel.
Result<policy_store::PolicyBundleVerifier> BundleVerifier(Invocation& call) {
  json keys;
  if (auto file = call.args.Get("keys")) {
    WK_ASSIGN_OR_RETURN(keys, JsonFile(*file));
  } else {
    WK_ASSIGN_OR_RETURN(keys, Get(call, "/v1/policy/keys"));
  }
  return policy_store::PolicyBundleVerifier::FromJwkSet(keys);
}

// The rollback floor: the larger of --min-version and the version in the --state file.
Result<std::int64_t> RollbackFloor(Invocation& call, const std::string& scope) {
  std::int64_t floor = 0;
  if (auto minimum = call.args.Get("min-version")) {
    WK_ASSIGN_OR_RETURN(floor, NumberArgument(*minimum, "--min-version"));
  }
  if (auto file = call.args.Get("state")) {
    WK_ASSIGN_OR_RETURN(std::optional<client::PolicyState> state,
                        client::LoadPolicyState(*file, scope));
    if (!state) return UsageError("no state file " + *file);
    floor = std::max(floor, state->version);
  }
  return floor;
}

// The served bundle of `scope`: version --version, or the current one, with its ETag.
Result<client::HttpResponse> FetchBundle(Invocation& call, const std::string& scope) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(scope));
  path += "/bundle";
  if (auto version = call.args.Get("version")) path += "?version=" + PercentEncode(*version);
  return call.client.CallRaw("GET", path, nullptr, Retry::kIdempotent);
}

// Runs every engine-side check on `served` (client/policy_bundle_check.h).
Result<client::PolicySnapshot> CheckBundle(Invocation& call, const std::string& scope,
                                           const json& served) {
  if (!policy_store::ValidateScope(scope).ok()) {
    return UsageError("a scope is KIND/NAME with KIND cluster, pool or engine; got '" + scope +
                      "'");
  }
  WK_ASSIGN_OR_RETURN(policy_store::PolicyBundleVerifier verifier, BundleVerifier(call));
  client::PolicyBundleCheck check;
  check.scope = scope;
  WK_ASSIGN_OR_RETURN(check.min_version, RollbackFloor(call, scope));
  return client::CheckPolicyBundle(verifier, served, check);
}

json Summary(const client::PolicySnapshot& snapshot, const std::string& source) {
  return {{"scope", snapshot.scope},
          {"version", snapshot.version},
          {"content_hash", snapshot.content_hash},
          {"published_at", snapshot.published_at},
          {"kid", snapshot.kid},
          {"source", source},
          {"verified", true}};
}

Result<json> ParseBundle(const std::string& text, const std::string& what) {
  json served = json::parse(text, nullptr, false);
  if (served.is_discarded()) {
    return Error(ErrorKind::kDataLoss, "bundle_malformed", what + " is not JSON");
  }
  return served;
}

Result<int> Fetch(Invocation& call) {
  const std::string& scope = call.args.positional()[0];
  WK_ASSIGN_OR_RETURN(client::HttpResponse bundle, FetchBundle(call, scope));
  WK_ASSIGN_OR_RETURN(json served, ParseBundle(bundle.body, "the served bundle"));
  // Nothing is written unless every check passes.
  WK_ASSIGN_OR_RETURN(client::PolicySnapshot snapshot, CheckBundle(call, scope, served));
  if (auto file = call.args.Get("out")) {
    std::ofstream out(*file, std::ios::trunc);
    out << bundle.body;
    if (!out) return UsageError("cannot write " + *file);
    call.out.Object(Summary(snapshot, "server"));
  } else {
    std::cout << (call.out.is_json() ? served.dump(2) : bundle.body) << "\n";
  }
  call.err << "policy fetch: " << scope << " version " << snapshot.version << " verified, ETag "
           << bundle.Header("etag") << "\n";
  return kExitOk;
}

Result<int> Verify(Invocation& call) {
  const std::string& scope = call.args.positional()[0];
  std::string source = "server";
  json served;
  if (auto file = call.args.Get("file")) {
    std::ifstream in(*file);
    if (!in) return UsageError("cannot read " + *file);
    std::stringstream text;
    text << in.rdbuf();
    WK_ASSIGN_OR_RETURN(served, ParseBundle(text.str(), *file));
    source = *file;
  } else {
    WK_ASSIGN_OR_RETURN(client::HttpResponse bundle, FetchBundle(call, scope));
    WK_ASSIGN_OR_RETURN(served, ParseBundle(bundle.body, "the served bundle"));
  }
  WK_ASSIGN_OR_RETURN(client::PolicySnapshot snapshot, CheckBundle(call, scope, served));
  json summary = Summary(snapshot, source);
  call.out.Message(summary, scope + " version " + std::to_string(snapshot.version) +
                                " verified: signed by " + snapshot.kid + ", content hash " +
                                snapshot.content_hash);
  return kExitOk;
}

Result<int> Check(Invocation& call) {
  const std::string& scope = call.args.positional()[0];
  json request = json::object();
  for (const auto& [option, field] : {std::pair{"principal", "principal"},
                                      {"database-type", "database_type"},
                                      {"action", "action"},
                                      {"resource", "resource"}}) {
    auto value = call.args.Get(option);
    if (!value) {
      return UsageError("--principal, --database-type, --action and --resource are required");
    }
    request[field] = *value;
  }
  if (!call.args.Has("local")) {
    WK_ASSIGN_OR_RETURN(std::string path, ScopePath(scope));
    path += "/check";
    if (auto version = call.args.Get("version")) path += "?version=" + PercentEncode(*version);
    WK_ASSIGN_OR_RETURN(client::CallResult result,
                        call.client.Call("POST", path, request, Retry::kIdempotent));
    call.out.Object(result.body);
    return kExitOk;
  }
  WK_ASSIGN_OR_RETURN(policy::AccessRequest access, policy::ParseAccessRequest(request));
  WK_ASSIGN_OR_RETURN(client::HttpResponse bundle, FetchBundle(call, scope));
  WK_ASSIGN_OR_RETURN(json served, ParseBundle(bundle.body, "the served bundle"));
  WK_ASSIGN_OR_RETURN(client::PolicySnapshot snapshot, CheckBundle(call, scope, served));
  call.out.Object(policy::DecisionToJson(policy::Decide(*snapshot.policy, access)));
  return kExitOk;
}

Result<int> Keys(Invocation& call) {
  WK_ASSIGN_OR_RETURN(json keys, Get(call, "/v1/policy/keys"));
  // Only a set the verifier accepts is worth pinning.
  Result<policy_store::PolicyBundleVerifier> usable =
      policy_store::PolicyBundleVerifier::FromJwkSet(keys);
  if (!usable.ok()) return usable.error();
  if (auto file = call.args.Get("out")) {
    std::ofstream out(*file, std::ios::trunc);
    out << keys.dump(2) << "\n";
    if (!out) return UsageError("cannot write " + *file);
  }
  call.out.Table(keys, "keys", {{"KID", "kid"}, {"ALG", "alg"}, {"CRV", "crv"}});
  return kExitOk;
}

// A new bundle signing key signs from now on; the table shows every key, the active one last.
Result<int> RotateKey(Invocation& call) {
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("POST", "/v1/policy/keys/rotate", nullptr, Retry::kNever));
  call.out.Table(result.body, "keys", {{"KID", "kid"}, {"ALG", "alg"}, {"CRV", "crv"}});
  return kExitOk;
}

Result<int> Fleet(Invocation& call) {
  WK_ASSIGN_OR_RETURN(std::string path, ScopePath(call.args.positional()[0]));
  WK_ASSIGN_OR_RETURN(json fleet, Get(call, path + "/fleet"));
  call.out.Table(fleet, "members",
                 {{"PRINCIPAL", "principal"},
                  {"INSTANCE", "instance"},
                  {"VERSION", "version"},
                  {"REPORTED", "reported_at"},
                  {"BEHIND", "behind"},
                  {"STALE", "stale"}});
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
       "KIND/NAME [--version N] [--out FILE] [--keys JWKS.json] [--min-version N] [--state FILE]",
       "Fetch the signed bundle engines enforce, verified as an engine would",
       "The bundle is checked before anything is written: ES256 signature under a key of the\n"
       "JWK set (--keys FILE, else GET /v1/policy/keys over the verified TLS channel), signed\n"
       "claims, content hash, scope, publication time, the policy language, and no rollback\n"
       "below --min-version or the version in a watcher's --state file. Without --out the\n"
       "bundle goes to stdout; with --out FILE it goes to FILE and stdout gets a summary.\n"
       "The ETag goes to stderr. A refused bundle exits 7 (bundle_* codes) and writes nothing.",
       {"version", "out", "keys", "min-version", "state"},
       {},
       1,
       1,
       Fetch},
      {{"policy", "verify"},
       "KIND/NAME [--file BUNDLE.json | --version N] [--keys JWKS.json] [--min-version N] "
       "[--state FILE]",
       "Verify a bundle file, or the live bundle, as an engine would",
       "Runs the checks of `policy fetch` on --file (a bundle as served, e.g. saved with\n"
       "`policy fetch --out`) or, without it, on the current bundle (or --version N).\n"
       "Exit 0: verified; 7: refused (bundle_signature_invalid, bundle_hash_mismatch,\n"
       "bundle_claims_mismatch, bundle_unknown_kid, bundle_scope_mismatch, bundle_rollback, ...).",
       {"file", "keys", "min-version", "state", "version"},
       {},
       1,
       1,
       Verify},
      {{"policy", "check"},
       "KIND/NAME --principal P --database-type T --action A --resource R [--version N] [--local]",
       "The reference evaluator's decision on an access request",
       "By default the server decides (POST .../check). With --local, the bundle is fetched,\n"
       "verified like `policy fetch`, and decided here by the same evaluator engines link.",
       {"principal", "database-type", "action", "resource", "version", "keys", "min-version",
        "state"},
       {"local"},
       1,
       1,
       Check},
      {{"policy", "keys"},
       "[--out FILE]",
       "The keys policy bundles are signed with (a JWK set), to pin in engines",
       "With --out FILE the set is also written to FILE, for PolicyWatcherOptions::pinned_jwk_set\n"
       "and `policy verify --keys FILE`. Each kid is its key's RFC 7638 thumbprint.",
       {"out"},
       {},
       0,
       0,
       Keys},
      {{"policy", "rotate-key"},
       "",
       "Rotate the bundle signing key (earlier bundles keep verifying)",
       "A new HSM key signs every bundle published from now on; earlier keys stay in the JWK set.\n"
       "Engines that pin keys need the new set (`policy keys --out FILE`) before the next publish.",
       {},
       {},
       0,
       0,
       RotateKey},
      {{"policy", "fleet"},
       "KIND/NAME",
       "What each engine reports enforcing, and who is behind or stale",
       "",
       {},
       {},
       1,
       1,
       Fleet},
  };
}

}  // namespace weftkit::kmsctl

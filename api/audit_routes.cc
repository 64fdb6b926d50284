#include "api/audit_routes.h"

#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/json_body.h"
#include "api/responses.h"
#include "audit/entry_json.h"
#include "common/log.h"

namespace weftkit::api {
namespace {

using server::Request;
using server::Response;

constexpr std::size_t kMaxCheckpointsPerPage = 1000;

Error BadQuery(const std::string& detail) {
  return Error(ErrorKind::kInvalidArgument, "invalid_query", detail);
}

// Parses "a=1&b=2" where every name is in `allowed`, appears at most once, and every value is a
// whole number that fits 64 bits. Nothing else is accepted.
Result<std::map<std::string, std::uint64_t, std::less<>>> ParseNumbers(
    std::string_view query, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::uint64_t, std::less<>> values;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) return BadQuery("a query parameter has no value");
    std::string_view name = pair.substr(0, equals);
    std::string_view text = pair.substr(equals + 1);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return BadQuery("unknown query parameter");
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return BadQuery("query parameter " + std::string(name) + " is not a whole number");
    }
    if (!values.emplace(std::string(name), value).second) {
      return BadQuery("query parameter " + std::string(name) + " repeats");
    }
  }
  return values;
}

std::optional<std::uint64_t> Find(const std::map<std::string, std::uint64_t, std::less<>>& values,
                                  std::string_view name) {
  auto it = values.find(name);
  return it == values.end() ? std::nullopt : std::optional<std::uint64_t>(it->second);
}

Result<std::uint64_t> Require(const std::map<std::string, std::uint64_t, std::less<>>& values,
                              std::string_view name) {
  std::optional<std::uint64_t> value = Find(values, name);
  if (!value) return BadQuery("query parameter " + std::string(name) + " is required");
  return *value;
}

nlohmann::json HexList(const std::vector<audit::Hash>& hashes) {
  nlohmann::json list = nlohmann::json::array();
  for (const audit::Hash& hash : hashes) list.push_back(audit::HashToHex(hash));
  return list;
}

Result<Response> ListEntries(const AuditRouteDependencies& deps, const Request& request,
                             const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditReadAction, kAuditResource));
  WK_ASSIGN_OR_RETURN(auto query, ParseNumbers(request.query, {"start", "limit"}));
  std::uint64_t limit = Find(query, "limit").value_or(100);
  if (limit == 0 || limit > deps.max_entries_per_page) {
    return BadQuery("limit must be from 1 to " + std::to_string(deps.max_entries_per_page));
  }
  WK_ASSIGN_OR_RETURN(std::uint64_t size, deps.log.Size());
  WK_ASSIGN_OR_RETURN(std::vector<audit::AuditEntry> entries,
                      deps.log.Read(Find(query, "start").value_or(0), limit));
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (const audit::AuditEntry& entry : entries) listed.push_back(audit::EntryToJson(entry));
  nlohmann::ordered_json body;
  body["tree_size"] = size;
  // Entries below it are in archive files (docs/audit.md, "Retention").
  body["first_index"] = deps.log.LiveStart();
  body["entries"] = std::move(listed);
  Response response;
  response.body = body.dump();
  return response;
}

Result<Response> ListCheckpoints(const AuditRouteDependencies& deps, const Request& request,
                                 const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditReadAction, kAuditResource));
  WK_ASSIGN_OR_RETURN(auto query, ParseNumbers(request.query, {"before", "limit"}));
  std::uint64_t limit = Find(query, "limit").value_or(100);
  if (limit == 0 || limit > kMaxCheckpointsPerPage) {
    return BadQuery("limit must be from 1 to " + std::to_string(kMaxCheckpointsPerPage));
  }
  WK_ASSIGN_OR_RETURN(std::vector<audit::Checkpoint> checkpoints,
                      deps.log.store().ListCheckpoints(Find(query, "before"), limit));
  nlohmann::json listed = nlohmann::json::array();
  for (const audit::Checkpoint& c : checkpoints) listed.push_back(audit::CheckpointToJson(c));
  return JsonResponse(200, {{"checkpoints", listed}});
}

Result<Response> LatestCheckpoint(const AuditRouteDependencies& deps, const Request& request,
                                  const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditReadAction, kAuditResource));
  WK_RETURN_IF_ERROR(ParseNumbers(request.query, {}));
  WK_ASSIGN_OR_RETURN(std::optional<audit::Checkpoint> latest, deps.checkpointer.Latest());
  if (!latest) {
    return Error(ErrorKind::kNotFound, "audit_no_checkpoint", "no checkpoint has been taken");
  }
  return JsonResponse(200, audit::CheckpointToJson(*latest));
}

Result<Response> CreateCheckpoint(const AuditRouteDependencies& deps, const Request& request,
                                  const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditCheckpointAction, kAuditResource));
  WK_RETURN_IF_ERROR(ParseNumbers(request.query, {}));
  if (!request.body.empty()) WK_RETURN_IF_ERROR(ParseObject(request.body, {}));
  WK_ASSIGN_OR_RETURN(audit::Checkpoint checkpoint, deps.checkpointer.CreateNow());
  log::Info("audit_checkpoint_created", {{"request_id", context.request_id()},
                                         {"principal", context.principal()},
                                         {"tree_size", std::to_string(checkpoint.tree_size)}});
  return JsonResponse(201, audit::CheckpointToJson(checkpoint));
}

Result<Response> InclusionProof(const AuditRouteDependencies& deps, const Request& request,
                                const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditReadAction, kAuditResource));
  WK_ASSIGN_OR_RETURN(auto query, ParseNumbers(request.query, {"index", "tree_size"}));
  WK_ASSIGN_OR_RETURN(std::uint64_t index, Require(query, "index"));
  WK_ASSIGN_OR_RETURN(std::uint64_t tree_size, Require(query, "tree_size"));
  WK_ASSIGN_OR_RETURN(std::vector<audit::Hash> proof, deps.log.InclusionProofFor(index, tree_size));
  WK_ASSIGN_OR_RETURN(audit::Hash leaf, deps.log.LeafHashAt(index));
  WK_ASSIGN_OR_RETURN(audit::Hash root, deps.log.RootAt(tree_size));
  return JsonResponse(200, {{"index", index},
                            {"tree_size", tree_size},
                            {"leaf_hash", audit::HashToHex(leaf)},
                            {"root_hash", audit::HashToHex(root)},
                            {"proof", HexList(proof)}});
}

Result<Response> ConsistencyProof(const AuditRouteDependencies& deps, const Request& request,
                                  const SecurityContext& context) {
  WK_RETURN_IF_ERROR(deps.authorize(context, kAuditReadAction, kAuditResource));
  WK_ASSIGN_OR_RETURN(auto query, ParseNumbers(request.query, {"first", "second"}));
  WK_ASSIGN_OR_RETURN(std::uint64_t first, Require(query, "first"));
  WK_ASSIGN_OR_RETURN(std::uint64_t second, Require(query, "second"));
  WK_ASSIGN_OR_RETURN(std::vector<audit::Hash> proof, deps.log.ConsistencyProofFor(first, second));
  WK_ASSIGN_OR_RETURN(audit::Hash first_root, deps.log.RootAt(first));
  WK_ASSIGN_OR_RETURN(audit::Hash second_root, deps.log.RootAt(second));
  return JsonResponse(200, {{"first", first},
                            {"second", second},
                            {"first_root", audit::HashToHex(first_root)},
                            {"second_root", audit::HashToHex(second_root)},
                            {"proof", HexList(proof)}});
}

using AuditHandler = Result<Response> (*)(const AuditRouteDependencies&, const Request&,
                                          const SecurityContext&);

struct AuditRoute {
  const char* method;
  const char* pattern;
  AuditHandler handler;
};

// Each reads the audit database or signs in the HSM, so they run on workers.
constexpr AuditRoute kWorkerRoutes[] = {
    {"GET", "/v1/audit/entries", ListEntries},
    {"GET", "/v1/audit/checkpoints", ListCheckpoints},
    {"GET", "/v1/audit/checkpoints/latest", LatestCheckpoint},
    {"POST", "/v1/audit/checkpoints", CreateCheckpoint},
    {"GET", "/v1/audit/proofs/inclusion", InclusionProof},
    {"GET", "/v1/audit/proofs/consistency", ConsistencyProof},
};

}  // namespace

void RegisterAuditRoutes(server::Router& router, AuditRouteDependencies deps) {
  if (!deps.authorize) {
    deps.authorize = [](const SecurityContext&, std::string_view, std::string_view) -> Status {
      return Error(ErrorKind::kPermissionDenied, "forbidden", "no authorizer configured");
    };
  }
  auto shared = std::make_shared<const AuditRouteDependencies>(std::move(deps));
  for (const AuditRoute& route : kWorkerRoutes) {
    AuditHandler handler = route.handler;
    router.Add({route.method, route.pattern, server::RunOn::kWorker, false,
                [shared, handler](const Request& request, const SecurityContext& context) {
                  return Respond(context, [&] { return handler(*shared, request, context); });
                }});
  }
  // The JWK set is fixed once kmsd has started: serialised once, served from memory.
  auto jwk_set = std::make_shared<const std::string>(shared->signer.JwkSet().dump());
  router.Add({"GET", "/v1/audit/keys", server::RunOn::kInline, true,
              [jwk_set](const Request&, const SecurityContext&) {
                Response response;
                response.content_type = "application/jwk-set+json";
                response.body = *jwk_set;
                return response;
              }});
}

}  // namespace weftkit::api

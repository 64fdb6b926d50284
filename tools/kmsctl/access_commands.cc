// kmsctl principals|roles|bindings|sod ...: the RBAC model (docs/rbac.md).
#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {
namespace {

using client::PercentEncode;
using client::Retry;
using nlohmann::json;

std::string First(const Invocation& call) { return call.args.positional()[0]; }

// Sends one request; prints the answer as an object, or `done` when it has no body.
Result<int> Send(Invocation& call, const std::string& method, const std::string& path,
                 const json& body, Retry retry, const std::string& done = "done") {
  WK_ASSIGN_OR_RETURN(client::CallResult result, call.client.Call(method, path, body, retry));
  if (result.body.is_null()) {
    call.out.Message({{"ok", true}}, done);
  } else {
    call.out.Object(result.body);
  }
  return kExitOk;
}

// A GET of a collection, printed as a table.
Command ListCommand(std::vector<std::string> words, std::string path, std::string rows,
                    std::vector<Column> columns, std::string summary) {
  return {std::move(words),
          "",
          std::move(summary),
          "",
          {},
          {},
          0,
          0,
          [path, rows, columns](Invocation& call) -> Result<int> {
            WK_ASSIGN_OR_RETURN(client::CallResult result,
                                call.client.Call("GET", path, nullptr, Retry::kIdempotent));
            call.out.Table(result.body, rows, columns);
            return kExitOk;
          }};
}

// A command on one named object: METHOD <base>/<name><suffix> with no body.
Command NamedCommand(std::vector<std::string> words, std::string method, std::string base,
                     std::string suffix, Retry retry, std::string summary) {
  return {std::move(words), "NAME", std::move(summary), "", {}, {}, 1, 1, [=](Invocation& call) {
            return Send(call, method, base + PercentEncode(First(call)) + suffix, nullptr, retry);
          }};
}

Result<int> CreatePrincipal(Invocation& call) {
  json body = {{"id", First(call)}};
  if (auto description = call.args.Get("description")) body["description"] = *description;
  return Send(call, "POST", "/v1/principals", body, Retry::kNever);
}

Command PrincipalFlag(const std::string& word, bool disabled) {
  return {{"principals", word},
          "ID",
          disabled ? "Disable a principal" : "Enable a principal",
          "",
          {},
          {},
          1,
          1,
          [disabled](Invocation& call) {
            return Send(call, "PATCH", "/v1/principals/" + PercentEncode(First(call)),
                        {{"disabled", disabled}}, Retry::kIdempotent);
          }};
}

// roles create|replace NAME --file role.json: the file holds the RoleDefinition.
Result<int> WriteRole(Invocation& call, bool create) {
  WK_ASSIGN_OR_RETURN(json definition, JsonFile(call.args.Get("file").value_or("")));
  if (!definition.is_object()) return UsageError("the role file must hold a JSON object");
  if (create) {
    definition["name"] = First(call);
    return Send(call, "POST", "/v1/roles", definition, Retry::kNever);
  }
  return Send(call, "PUT", "/v1/roles/" + PercentEncode(First(call)), definition,
              Retry::kIdempotent);
}

Result<int> Binding(Invocation& call, const std::string& method) {
  json body = {{"principal", call.args.positional()[0]}, {"role", call.args.positional()[1]}};
  return Send(call, method, "/v1/bindings", body, Retry::kNever,
              method == "POST" ? "bound" : "unbound");
}

Result<int> ListBindings(Invocation& call) {
  std::string path = "/v1/bindings";
  if (auto principal = call.args.Get("principal"))
    path += "?principal=" + PercentEncode(*principal);
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("GET", path, nullptr, Retry::kIdempotent));
  call.out.Table(result.body, "bindings", {{"PRINCIPAL", "principal"}, {"ROLE", "role"}});
  return kExitOk;
}

}  // namespace

std::vector<Command> AccessCommands() {
  const std::vector<Column> principal_columns = {{"ID", "id"},
                                                 {"KIND", "kind"},
                                                 {"DISABLED", "disabled"},
                                                 {"ROLES", "roles"},
                                                 {"DESCRIPTION", "description"}};
  return {
      ListCommand({"principals", "list"}, "/v1/principals", "principals", principal_columns,
                  "List principals"),
      NamedCommand({"principals", "show"}, "GET", "/v1/principals/", "", Retry::kIdempotent,
                   "Show a principal and its direct roles"),
      NamedCommand({"principals", "permissions"}, "GET", "/v1/principals/", "/permissions",
                   Retry::kIdempotent, "Access review: effective roles and permissions"),
      {{"principals", "create"},
       "ID [--description TEXT]",
       "Register a principal (a SPIFFE ID, or user:<name>)",
       "",
       {"description"},
       {},
       1,
       1,
       CreatePrincipal},
      PrincipalFlag("disable", true),
      PrincipalFlag("enable", false),
      NamedCommand({"principals", "delete"}, "DELETE", "/v1/principals/", "", Retry::kNever,
                   "Delete a principal and its bindings"),
      ListCommand({"roles", "list"}, "/v1/roles", "roles",
                  {{"NAME", "name"},
                   {"BUILTIN", "builtin"},
                   {"INHERITS", "inherits"},
                   {"DESCRIPTION", "description"}},
                  "List roles"),
      NamedCommand({"roles", "show"}, "GET", "/v1/roles/", "", Retry::kIdempotent,
                   "Show a role and its permissions"),
      {{"roles", "create"},
       "NAME --file ROLE.json",
       "Create a role from a JSON definition",
       "ROLE.json: {\"description\": \"...\", \"inherits\": [...], \"permissions\":\n"
       "[{\"effect\": \"allow\", \"actions\": [...], \"resources\": [...]}]}",
       {"file"},
       {},
       1,
       1,
       [](Invocation& call) { return WriteRole(call, true); }},
      {{"roles", "replace"},
       "NAME --file ROLE.json",
       "Replace a role's definition",
       "",
       {"file"},
       {},
       1,
       1,
       [](Invocation& call) { return WriteRole(call, false); }},
      NamedCommand({"roles", "delete"}, "DELETE", "/v1/roles/", "", Retry::kNever,
                   "Delete an unused role"),
      {{"bindings", "list"},
       "[--principal ID]",
       "List role bindings",
       "",
       {"principal"},
       {},
       0,
       0,
       ListBindings},
      {{"bindings", "add"},
       "PRINCIPAL ROLE",
       "Grant ROLE to PRINCIPAL",
       "",
       {},
       {},
       2,
       2,
       [](Invocation& call) { return Binding(call, "POST"); }},
      {{"bindings", "remove"},
       "PRINCIPAL ROLE",
       "Take ROLE away from PRINCIPAL (effective on its next request)",
       "",
       {},
       {},
       2,
       2,
       [](Invocation& call) { return Binding(call, "DELETE"); }},
      ListCommand({"sod", "list"}, "/v1/separation-of-duty", "separation_of_duty",
                  {{"NAME", "name"},
                   {"FIRST", "first_actions"},
                   {"SECOND", "second_actions"},
                   {"BUILTIN", "builtin"}},
                  "List separation-of-duty constraints"),
      {{"sod", "add"},
       "--file SOD.json",
       "Declare a separation-of-duty constraint",
       "SOD.json: {\"name\": \"...\", \"first_actions\": [...], \"second_actions\": [...]}",
       {"file"},
       {},
       0,
       0,
       [](Invocation& call) -> Result<int> {
         WK_ASSIGN_OR_RETURN(json body, JsonFile(call.args.Get("file").value_or("")));
         return Send(call, "POST", "/v1/separation-of-duty", body, Retry::kNever);
       }},
      NamedCommand({"sod", "remove"}, "DELETE", "/v1/separation-of-duty/", "", Retry::kNever,
                   "Remove a separation-of-duty constraint"),
  };
}

}  // namespace weftkit::kmsctl

// kmsctl keys ...: master keys and their versions (docs/api.md#master-keys).
#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {
namespace {

using client::PercentEncode;
using client::Retry;
using nlohmann::json;

std::string KeyPath(const Arguments& args) {
  return "/v1/keys/" + PercentEncode(args.positional()[0]);
}

std::string VersionPath(const Arguments& args, const std::string& action) {
  return KeyPath(args) + "/versions/" + PercentEncode(args.positional()[1]) + "/" + action;
}

// Prints a key object: its settings, then its versions as a table.
void PrintKey(Output& out, const json& key) {
  if (out.is_json()) {
    out.Object(key);
    return;
  }
  json settings = key;
  settings.erase("versions");
  out.Object(settings);
  out.Table(key, "versions",
            {{"VERSION", "version"},
             {"STATE", "state"},
             {"CREATED", "created_at"},
             {"ENCRYPTIONS", "encryptions"},
             {"DESTROY_AFTER", "destroy_after"},
             {"HSM_LABEL", "hsm_label"}});
}

// A command that sends one request and prints the key object it answers with.
Result<int> SendAndPrintKey(Invocation& call, const std::string& method, const std::string& path,
                            const json& body, Retry retry) {
  WK_ASSIGN_OR_RETURN(client::CallResult result, call.client.Call(method, path, body, retry));
  PrintKey(call.out, result.body);
  return kExitOk;
}

Result<int> List(Invocation& call) {
  WK_ASSIGN_OR_RETURN(client::CallResult result,
                      call.client.Call("GET", "/v1/keys", nullptr, Retry::kIdempotent));
  call.out.Table(result.body, "keys",
                 {{"NAME", "name"},
                  {"PRIMARY", "primary_version"},
                  {"MIN_DECRYPT", "min_decrypt_version"},
                  {"ROTATION_S", "rotation_period_s"},
                  {"NEXT_ROTATION", "next_rotation_at"},
                  {"DESCRIPTION", "description"}});
  return kExitOk;
}

Result<json> RotationPeriod(const std::string& text) {
  if (text == "none") return json(nullptr);
  WK_ASSIGN_OR_RETURN(long long seconds, NumberArgument(text, "--rotation-period"));
  return json(seconds);
}

Result<int> Create(Invocation& call) {
  json body = {{"name", call.args.positional()[0]}};
  if (auto description = call.args.Get("description")) body["description"] = *description;
  if (auto period = call.args.Get("rotation-period")) {
    WK_ASSIGN_OR_RETURN(body["rotation_period_s"], RotationPeriod(*period));
  }
  return SendAndPrintKey(call, "POST", "/v1/keys", body, Retry::kNever);
}

Result<int> Set(Invocation& call) {
  json body = json::object();
  if (auto period = call.args.Get("rotation-period")) {
    WK_ASSIGN_OR_RETURN(body["rotation_period_s"], RotationPeriod(*period));
  }
  if (auto minimum = call.args.Get("min-decrypt-version")) {
    WK_ASSIGN_OR_RETURN(body["min_decrypt_version"],
                        NumberArgument(*minimum, "--min-decrypt-version"));
  }
  if (body.empty()) return UsageError("give --rotation-period or --min-decrypt-version");
  return SendAndPrintKey(call, "PATCH", KeyPath(call.args), body, Retry::kNever);
}

Result<int> ScheduleDestroy(Invocation& call) {
  std::string wait = call.args.Get("wait").value_or("");
  WK_ASSIGN_OR_RETURN(long long seconds, NumberArgument(wait, "--wait"));
  return SendAndPrintKey(call, "POST", VersionPath(call.args, "schedule-destruction"),
                         {{"wait_s", seconds}}, Retry::kIdempotent);
}

// keys disable|enable|cancel-destroy NAME VERSION
Command VersionCommand(const std::string& word, const std::string& action,
                       const std::string& summary) {
  return {{"keys", word}, "NAME VERSION", summary, "", {}, {}, 2, 2, [action](Invocation& call) {
            return SendAndPrintKey(call, "POST", VersionPath(call.args, action), nullptr,
                                   Retry::kIdempotent);
          }};
}

}  // namespace

std::vector<Command> KeyCommands() {
  return {
      {{"keys", "list"}, "", "List the master keys you may read", "", {}, {}, 0, 0, List},
      {{"keys", "show"},
       "NAME",
       "Show a key, its settings and its versions",
       "",
       {},
       {},
       1,
       1,
       [](Invocation& call) {
         return SendAndPrintKey(call, "GET", KeyPath(call.args), nullptr, Retry::kIdempotent);
       }},
      {{"keys", "create"},
       "NAME [--description TEXT] [--rotation-period SECONDS|none]",
       "Create a master key (version 1 becomes primary)",
       "Never retried: if the answer is lost, run `kmsctl keys show NAME`.",
       {"description", "rotation-period"},
       {},
       1,
       1,
       Create},
      {{"keys", "rotate"},
       "NAME",
       "Make a new key version primary; nothing is re-encrypted",
       "Not idempotent and never retried: if the answer is lost, check primary_version with\n"
       "`kmsctl keys show NAME` before rotating again.",
       {},
       {},
       1,
       1,
       [](Invocation& call) {
         return SendAndPrintKey(call, "POST", KeyPath(call.args) + "/rotate", nullptr,
                                Retry::kNever);
       }},
      {{"keys", "set"},
       "NAME [--rotation-period SECONDS|none] [--min-decrypt-version N]",
       "Change a key's rotation period or minimum decryption version",
       "",
       {"rotation-period", "min-decrypt-version"},
       {},
       1,
       1,
       Set},
      VersionCommand("disable", "disable", "Disable a key version (it stops unwrapping)"),
      VersionCommand("enable", "enable", "Enable a disabled key version again"),
      {{"keys", "schedule-destroy"},
       "NAME VERSION --wait SECONDS",
       "Schedule a key version for destruction after a waiting period",
       "The version is destroyed in the HSM once the wait has passed; until then\n"
       "`kmsctl keys cancel-destroy` brings it back as disabled.",
       {"wait"},
       {},
       2,
       2,
       ScheduleDestroy},
      VersionCommand("cancel-destroy", "cancel-destruction",
                     "Cancel a scheduled destruction (the version returns disabled)"),
  };
}

}  // namespace weftkit::kmsctl

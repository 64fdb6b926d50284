// Command: one kmsctl subcommand ("keys create", "dek bulk-rewrap", ...) as a row of the
// command table: its words, what it accepts, its help, and the function that runs it.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "client/kms_client.h"
#include "tools/kmsctl/arguments.h"
#include "tools/kmsctl/exit_codes.h"
#include "tools/kmsctl/output.h"

namespace weftkit::kmsctl {

// What a command runs with.
struct Invocation {
  client::KmsClient& client;
  const Arguments& args;  // the command's own positional words and options
  Output& out;
  std::ostream& err;
  const client::LoginResult* login = nullptr;  // set when this run logged in with a password
};

struct Command {
  std::vector<std::string> words;  // {"keys", "create"}
  std::string usage;               // after the words: "NAME [--description TEXT]"
  std::string summary;             // one line for the command list
  std::string help;                // more lines for --help; may be empty
  std::set<std::string> options;   // options that take a value
  std::set<std::string> flags;     // options that take none
  std::size_t min_positional = 0;
  std::size_t max_positional = 0;
  // Runs the command; returns the exit code on success (normally kExitOk), or the Error that
  // main() maps with ExitCodeFor.
  std::function<Result<int>(Invocation&)> run;
};

// The command groups, each defined in its own file; Commands() joins them.
std::vector<Command> KeyCommands();
std::vector<Command> DekCommands();
std::vector<Command> AccessCommands();
std::vector<Command> AuthCommands();
std::vector<Command> AuditCommands();
std::vector<Command> PolicyCommands();
const std::vector<Command>& Commands();

// The options every command accepts (server, credentials, output), with and without a value.
// No command may declare one of these names for itself.
const std::set<std::string>& GlobalOptions();
const std::set<std::string>& GlobalFlags();

// Helpers shared by command files.

// Parses --context k=v options into an encryption context. Fails (usage) without '='.
Result<client::EncryptionContext> ContextOption(const Arguments& args);
// Parses a positive decimal option or word. Fails (usage) naming `what`.
Result<long long> NumberArgument(const std::string& text, const std::string& what);
// Reads a JSON document from a file ("-" for stdin). Fails (usage).
Result<nlohmann::json> JsonFile(const std::string& path);

}  // namespace weftkit::kmsctl

// kmsctl: the command-line tool for security teams and scripts (docs/kmsctl.md).
//
//   kmsctl [global options] GROUP COMMAND [arguments] [options]
//
// Global options choose the server and the credentials (a profile file supplies defaults);
// each command is a row of the table in command_table.cc. Exit codes: exit_codes.h.
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "common/secret_bytes.h"
#include "tools/kmsctl/command.h"
#include "tools/kmsctl/profile.h"
#include "tools/kmsctl/terminal.h"

namespace weftkit::kmsctl {
namespace {

constexpr const char* kGlobalHelp = R"(Global options (before or after the command):
  --profile FILE          settings file (default ~/.config/weftkit/kmsctl.conf)
  --server URL            https://host[:port] of kmsd
  --ca FILE               CA certificate that signed kmsd's certificate
  --server-spki-sha256 B64  pin kmsd's public key
  --cert FILE --key FILE  authenticate with a client certificate (mTLS)
  --user NAME             authenticate with a password (SCRAM); the password comes from
                          --password-file FILE, WEFTKIT_PASSWORD, or a prompt without echo
  --token-file FILE       authenticate with an API token (or WEFTKIT_TOKEN)
  --json                  print JSON for scripts instead of tables
  --help                  help for kmsctl, a group or a command

Exit codes: 0 ok, 1 usage, 2 authentication, 3 forbidden, 4 not found, 5 conflict,
6 server unavailable or transport failure, 7 verification failed, 8 request refused as
invalid, 9 some items of a bulk operation failed.
)";

std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& word : words) out += (out.empty() ? "" : " ") + word;
  return out;
}

void PrintCommandList(std::ostream& out, const std::string& group) {
  out << "Usage: kmsctl [global options] COMMAND [arguments]\n\nCommands:\n";
  for (const Command& command : Commands()) {
    if (!group.empty() && command.words[0] != group) continue;
    std::string name = Joined(command.words);
    out << "  " << name << std::string(name.size() < 26 ? 26 - name.size() : 1, ' ')
        << command.summary << "\n";
  }
  out << "\n" << kGlobalHelp;
}

void PrintCommandHelp(std::ostream& out, const Command& command) {
  out << "Usage: kmsctl " << Joined(command.words) << " " << command.usage << "\n\n"
      << command.summary << "\n";
  if (!command.help.empty()) out << "\n" << command.help << "\n";
  out << "\n" << kGlobalHelp;
}

// The command whose words start the positional words (the longest match), or nullptr.
const Command* FindCommand(const std::vector<std::string>& words) {
  const Command* found = nullptr;
  for (const Command& command : Commands()) {
    bool match = command.words.size() <= words.size();
    for (std::size_t i = 0; match && i < command.words.size(); ++i) {
      match = command.words[i] == words[i];
    }
    if (match && (found == nullptr || command.words.size() > found->words.size())) {
      found = &command;
    }
  }
  return found;
}

Status CheckArguments(const Command& command, const Arguments& args) {
  for (const std::string& name : args.names()) {
    if (GlobalOptions().count(name) + GlobalFlags().count(name) + command.options.count(name) +
            command.flags.count(name) ==
        0) {
      return UsageError("unknown option --" + name + " for " + Joined(command.words));
    }
  }
  std::size_t count = args.positional().size();
  if (count < command.min_positional || count > command.max_positional) {
    return UsageError("expected: kmsctl " + Joined(command.words) + " " + command.usage);
  }
  return OkStatus();
}

Result<Profile> LoadProfile(const Arguments& args) {
  if (auto path = args.Get("profile")) return Profile::Load(*path);
  std::optional<std::filesystem::path> path = Profile::DefaultPath();
  if (path && std::filesystem::exists(*path)) return Profile::Load(*path);
  return Profile{};
}

Result<std::unique_ptr<client::KmsClient>> MakeClient(const Arguments& args,
                                                      const Profile& profile) {
  client::KmsClientOptions options;
  WK_RETURN_IF_ERROR(client::SetServerUrl(options, args.Get("server").value_or(profile.server)));
  options.ca_file = args.Get("ca").value_or(profile.ca);
  if (options.ca_file.empty()) return UsageError("no CA: give --ca or set ca in the profile");
  options.cert_file = args.Get("cert").value_or(profile.cert);
  options.key_file = args.Get("key").value_or(profile.key);
  std::string pin = args.Get("server-spki-sha256").value_or(profile.server_spki_sha256);
  if (!pin.empty()) options.pinned_server_spki_sha256 = {pin};
  options.cache.max_entries = 0;  // a tool run has nothing to cache
  return client::KmsClient::Create(std::move(options));
}

// Logs in when a user is named and no certificate is; sets a token when one is given.
Result<std::optional<client::LoginResult>> Authenticate(client::KmsClient& client,
                                                        const Arguments& args,
                                                        const Profile& profile) {
  if (auto token_file = args.Get("token-file")) {
    WK_ASSIGN_OR_RETURN(SecretBytes token, ReadPasswordFile(*token_file));
    client.SetBearerToken(std::move(token));
    return std::optional<client::LoginResult>();
  }
  if (const char* token = std::getenv("WEFTKIT_TOKEN"); token != nullptr && *token != '\0') {
    client.SetBearerToken(SecretBytes::CopyOf(std::string_view(token)));
    return std::optional<client::LoginResult>();
  }
  std::string user = args.Get("user").value_or(profile.user);
  bool has_cert = !args.Get("cert").value_or(profile.cert).empty();
  if (user.empty() || (has_cert && !args.Has("user"))) return std::optional<client::LoginResult>();

  SecretBytes password;
  std::string file = args.Get("password-file").value_or(profile.password_file);
  if (!file.empty()) {
    WK_ASSIGN_OR_RETURN(password, ReadPasswordFile(file));
  } else if (const char* env = std::getenv("WEFTKIT_PASSWORD"); env != nullptr && *env != '\0') {
    password = SecretBytes::CopyOf(std::string_view(env));
  } else {
    WK_ASSIGN_OR_RETURN(password, ReadPasswordFromTerminal("Password for " + user + ": "));
  }
  WK_ASSIGN_OR_RETURN(client::LoginResult login,
                      client.LoginWithPassword(user, std::move(password)));
  return std::optional<client::LoginResult>(std::move(login));
}

Result<int> Run(const std::vector<std::string>& words, std::ostream& out, std::ostream& err) {
  std::set<std::string> flags = GlobalFlags();
  for (const Command& command : Commands())
    flags.insert(command.flags.begin(), command.flags.end());
  WK_ASSIGN_OR_RETURN(Arguments args, Arguments::Parse(words, flags));

  const Command* command = FindCommand(args.positional());
  if (command == nullptr) {
    std::string group = args.positional().empty() ? "" : args.positional()[0];
    bool known_group = false;
    for (const Command& c : Commands()) known_group |= c.words[0] == group;
    if (args.Has("help") || group.empty() || known_group) {
      PrintCommandList(args.Has("help") ? out : err, known_group ? group : "");
      return args.Has("help") ? kExitOk : kExitUsage;
    }
    return UsageError("unknown command '" + group + "'; see kmsctl --help");
  }
  if (args.Has("help")) {
    PrintCommandHelp(out, *command);
    return kExitOk;
  }
  for (std::size_t i = 0; i < command->words.size(); ++i) args.Shift();
  WK_RETURN_IF_ERROR(CheckArguments(*command, args));

  WK_ASSIGN_OR_RETURN(Profile profile, LoadProfile(args));
  WK_ASSIGN_OR_RETURN(std::unique_ptr<client::KmsClient> client, MakeClient(args, profile));
  WK_ASSIGN_OR_RETURN(std::optional<client::LoginResult> login,
                      Authenticate(*client, args, profile));
  Output output(args.Has("json"), out);
  Invocation call{*client, args, output, err, login ? &*login : nullptr};
  return command->run(call);
}

}  // namespace
}  // namespace weftkit::kmsctl

int main(int argc, char** argv) {
  using namespace weftkit::kmsctl;
  // Passwords, tokens and DEKs live in locked memory; without the lock they still get wiped.
  (void)weftkit::InitSecureMemory(1 << 16);
  std::vector<std::string> words(argv + 1, argv + argc);
  weftkit::Result<int> result = Run(words, std::cout, std::cerr);
  if (result.ok()) return *result;
  const weftkit::Error& error = result.error();
  std::cerr << "kmsctl: " << error.code();
  if (error.code() == "usage" || error.code().starts_with("client_")) {
    std::cerr << ": " << error.detail();
  } else {
    std::cerr << " (" << error.detail() << ")";
  }
  std::cerr << "\n";
  return ExitCodeFor(error);
}

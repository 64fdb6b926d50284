#include <charconv>
#include <fstream>
#include <iostream>

#include "tools/kmsctl/command.h"

namespace weftkit::kmsctl {

const std::vector<Command>& Commands() {
  static const auto* all = [] {
    auto* commands = new std::vector<Command>();
    for (auto group :
         {KeyCommands, DekCommands, AccessCommands, AuthCommands, AuditCommands, PolicyCommands}) {
      for (Command& command : group()) commands->push_back(std::move(command));
    }
    return commands;
  }();
  return *all;
}

const std::set<std::string>& GlobalOptions() {
  static const auto* options =
      new std::set<std::string>{"server",     "ca",      "cert",
                                "key",        "user",    "password-file",
                                "token-file", "profile", "server-spki-sha256"};
  return *options;
}

const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{"json", "help"};
  return *flags;
}

Result<client::EncryptionContext> ContextOption(const Arguments& args) {
  client::EncryptionContext context;
  for (const std::string& pair : args.GetAll("context")) {
    std::size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return UsageError("--context takes name=value, got '" + pair + "'");
    }
    context[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return context;
}

Result<long long> NumberArgument(const std::string& text, const std::string& what) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0) {
    return UsageError(what + " must be a non-negative whole number, got '" + text + "'");
  }
  return value;
}

Result<nlohmann::json> JsonFile(const std::string& path) {
  nlohmann::json document;
  if (path == "-") {
    document = nlohmann::json::parse(std::cin, nullptr, false);
  } else {
    std::ifstream in(path);
    if (!in) return UsageError("cannot read " + path);
    document = nlohmann::json::parse(in, nullptr, false);
  }
  if (document.is_discarded()) return UsageError(path + " is not valid JSON");
  return document;
}

}  // namespace weftkit::kmsctl

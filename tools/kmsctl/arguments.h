// Arguments: a command line split into positional words and --options, checked against what a
// command declares, so every typo is a usage error rather than a silently ignored flag.
//
// Syntax: `--name value`, `--name=value`, and boolean `--name`; `--` ends options. An option may
// be given more than once (e.g. --context k=v --context k2=v2).
//
// Thread safety: plain data.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace weftkit::kmsctl {

class Arguments {
 public:
  // Splits `words`. `flags` names the options that take no value; every other option takes one.
  // Fails (kInvalidArgument, usage) for an option without its value.
  static Result<Arguments> Parse(const std::vector<std::string>& words,
                                 const std::set<std::string>& flags);

  const std::vector<std::string>& positional() const { return positional_; }
  bool Has(const std::string& name) const { return options_.count(name) > 0; }
  // The last value of --name, or nullopt.
  std::optional<std::string> Get(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  // Every option name given.
  std::set<std::string> names() const;

  // Removes and returns the first positional word (the command words), or "".
  std::string Shift();

 private:
  std::vector<std::string> positional_;
  std::multimap<std::string, std::string> options_;
};

// A usage error: kInvalidArgument with code "usage".
Error UsageError(const std::string& message);

}  // namespace weftkit::kmsctl

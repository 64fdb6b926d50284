#include "tools/kmsctl/arguments.h"

namespace weftkit::kmsctl {

Error UsageError(const std::string& message) {
  return Error(ErrorKind::kInvalidArgument, "usage", message);
}

Result<Arguments> Arguments::Parse(const std::vector<std::string>& words,
                                   const std::set<std::string>& flags) {
  Arguments out;
  bool options_done = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (options_done || !word.starts_with("--") || word == "-") {
      out.positional_.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    std::string name = word.substr(2);
    std::size_t eq = name.find('=');
    if (eq != std::string::npos) {
      out.options_.emplace(name.substr(0, eq), name.substr(eq + 1));
    } else if (flags.count(name) > 0) {
      out.options_.emplace(name, "");
    } else if (i + 1 < words.size()) {
      out.options_.emplace(name, words[++i]);
    } else {
      return UsageError("--" + name + " needs a value");
    }
  }
  return out;
}

std::optional<std::string> Arguments::Get(const std::string& name) const {
  auto range = options_.equal_range(name);
  if (range.first == range.second) return std::nullopt;
  return std::prev(range.second)->second;
}

std::vector<std::string> Arguments::GetAll(const std::string& name) const {
  std::vector<std::string> values;
  auto range = options_.equal_range(name);
  for (auto it = range.first; it != range.second; ++it) values.push_back(it->second);
  return values;
}

std::set<std::string> Arguments::names() const {
  std::set<std::string> out;
  for (const auto& [name, value] : options_) out.insert(name);
  return out;
}

std::string Arguments::Shift() {
  if (positional_.empty()) return "";
  std::string first = positional_.front();
  positional_.erase(positional_.begin());
  return first;
}

}  // namespace weftkit::kmsctl

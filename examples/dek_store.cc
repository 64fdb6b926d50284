#include "examples/dek_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace weftkit::example {

using nlohmann::json;

Result<std::vector<StoredDek>> LoadDeks(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error(ErrorKind::kNotFound, "dek_store_missing", "cannot read " + path);
  std::vector<StoredDek> deks;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    json item = json::parse(line, nullptr, false);
    bool ok = item.is_object() && item.value("file", json()).is_string() &&
              item.value("key", json()).is_string() && item.value("wrapped", json()).is_string() &&
              item.value("context", json::object()).is_object();
    if (!ok) {
      return Error(ErrorKind::kDataLoss, "dek_store_bad_line",
                   path + ":" + std::to_string(number) + " is not a stored DEK");
    }
    StoredDek dek{item["file"], item["key"], item["wrapped"], {}};
    const json context = item.value("context", json::object());
    for (const auto& [name, value] : context.items()) {
      if (value.is_string()) dek.context[name] = value.get<std::string>();
    }
    deks.push_back(std::move(dek));
  }
  return deks;
}

Status SaveDeks(const std::string& path, const std::vector<StoredDek>& deks) {
  std::string text;
  for (const StoredDek& dek : deks) {
    text += json{{"file", dek.file},
                 {"key", dek.key},
                 {"wrapped", dek.wrapped},
                 {"context", dek.context}}
                .dump() +
            "\n";
  }
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    return Error(ErrorKind::kUnavailable, "dek_store_write", "cannot write " + path);
  }
  return OkStatus();
}

}  // namespace weftkit::example

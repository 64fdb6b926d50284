// KmsctlTest: a running kmsd (KmsdTest) and a way to run the real kmsctl binary against it,
// with its exit code, stdout and stderr captured. Shared by the kmsctl end-to-end tests.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test/integration/kmsd_test.h"

namespace weftkit::kmsctl {

struct KmsctlRun {
  int exit_code = -1;
  std::string out;
  std::string err;
  nlohmann::json Json() const { return nlohmann::json::parse(out, nullptr, false); }
};

inline std::string Quote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class KmsctlTest : public test::KmsdTest {
 protected:
  void SetUp() override {
    KmsdTest::SetUp();
    work_ = kmsd_->dir() / "kmsctl";
    std::filesystem::create_directories(work_);
  }

  std::string Server() const { return "https://127.0.0.1:" + std::to_string(kmsd_->port()); }

  // Global options for the certificate `identity` ("officer", "engine", "admin"), or for no
  // certificate when empty.
  std::vector<std::string> As(const std::string& identity) const {
    std::vector<std::string> words = {"--server", Server(), "--ca", kmsd_->pki("ca.pem").string()};
    if (!identity.empty()) {
      words.insert(words.end(), {"--cert", kmsd_->pki(identity + ".pem").string(), "--key",
                                 kmsd_->pki(identity + ".key").string()});
    }
    return words;
  }

  // Runs kmsctl with `words`; `environment` is prefixed as VAR=value; `input` goes to stdin.
  KmsctlRun Kmsctl(std::vector<std::string> words, const std::string& input = "",
                   const std::string& environment = "") {
    std::ofstream(work_ / "stdin") << input;
    std::string command =
        environment + " HOME=" + Quote(work_.string()) + " " WEFTKIT_KMSCTL_BINARY;
    for (const std::string& word : words) command += " " + Quote(word);
    command += " <" + Quote((work_ / "stdin").string()) + " >" +
               Quote((work_ / "stdout").string()) + " 2>" + Quote((work_ / "stderr").string());
    int status = std::system(command.c_str());
    return KmsctlRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(work_ / "stdout"),
                     ReadText(work_ / "stderr")};
  }

  KmsctlRun Kmsctl(const std::string& identity, std::vector<std::string> words,
                   const std::string& input = "") {
    std::vector<std::string> all = As(identity);
    all.insert(all.end(), words.begin(), words.end());
    return Kmsctl(all, input);
  }

  std::string OneTimePassword() {
    std::smatch match;
    std::string out = kmsd_->Stdout();
    EXPECT_TRUE(std::regex_search(out, match, std::regex("one-time password (\\S+)"))) << out;
    return match[1];
  }

  std::filesystem::path WriteFile(const std::string& name, const std::string& text) {
    std::filesystem::path path = work_ / name;
    std::ofstream(path, std::ios::trunc) << text;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  }

  std::filesystem::path work_;
};

}  // namespace weftkit::kmsctl

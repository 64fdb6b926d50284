#include "test/support/test_pki.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <vector>

#include "test/support/temp_dir.h"

namespace weftkit::test {

std::unique_ptr<TestPki> TestPki::Create() {
  std::filesystem::path dir = testing::MakeTempDir("weftkit-pki");
  if (dir.empty()) {
    std::cerr << "TestPki: cannot make a temporary directory\n";
    return nullptr;
  }
  std::unique_ptr<TestPki> pki(new TestPki(dir.string()));
  std::string command =
      "bash '" WEFTKIT_SOURCE_DIR "/tools/dev-pki.sh' '" + pki->dir_ + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::cerr << "TestPki: tools/dev-pki.sh failed\n";
    return nullptr;
  }
  return pki;
}

TestPki::~TestPki() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace weftkit::test

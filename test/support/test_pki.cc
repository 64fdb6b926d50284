#include "test/support/test_pki.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <vector>

namespace weftkit::test {

std::unique_ptr<TestPki> TestPki::Create() {
  std::string pattern = (std::filesystem::temp_directory_path() / "weftkit-pki-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    std::cerr << "TestPki: mkdtemp failed\n";
    return nullptr;
  }
  std::unique_ptr<TestPki> pki(new TestPki(buffer.data()));
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

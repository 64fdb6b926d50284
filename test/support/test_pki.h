// TestPki: a fresh development PKI per test fixture, made by the committed tools/dev-pki.sh.
//
// Files (see the script): ca.pem/.key, server.pem/.key, admin, engine, officer (.pem/.key,
// SPIFFE URI SANs under spiffe://weftkit.dev/), dnsclient (a DNS SAN only), rogue-ca.pem and
// rogue.pem/.key from a CA that nobody trusts. Keys are mode 0600.
//
// Thread safety: immutable after Create.
#pragma once

#include <memory>
#include <string>

namespace weftkit::test {

class TestPki {
 public:
  // Creates a temporary directory and runs the script into it. Returns nullptr (after printing
  // why to stderr) when the directory or the script fails; tests ASSERT on it.
  static std::unique_ptr<TestPki> Create();

  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;
  // Removes the directory and everything in it.
  ~TestPki();

  // The path of `name` in the PKI directory, e.g. path("server.pem").
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
};

}  // namespace weftkit::test

// secret_scan DIR: the last test of a run. Scans what the run recorded in DIR (see
// test/support/test_recorder.h) and fails, listing each leak, if a secret is where it must not be.
// Prints how much it looked at, so that an empty recording is visible in the test output.
#include <cstdio>

#include "test/secret_scan/secret_scanner.h"

int main(int argc, char** argv) {
  using weftkit::test::SecretScanner;
  if (argc != 2) {
    std::fprintf(stderr, "usage: secret_scan DIR\n");
    return 2;
  }
  SecretScanner scanner;
  weftkit::Status loaded = scanner.LoadSecrets(argv[1]);
  if (!loaded.ok()) {
    std::fprintf(stderr, "secret_scan: %s\n", loaded.error().ToString().c_str());
    return 1;
  }
  auto report = scanner.Scan(argv[1]);
  if (!report.ok()) {
    std::fprintf(stderr, "secret_scan: %s\n", report.error().ToString().c_str());
    return 1;
  }
  std::printf("secret_scan: %zu secrets looked for in %zu server logs and %zu responses\n",
              report->secrets, report->log_files, report->responses);
  for (const auto& leak : report->leaks) {
    std::printf("LEAK: a %s secret (%s form, starting %s...) in %s\n", leak.kind.c_str(),
                leak.form.c_str(), leak.sample.c_str(), leak.where.c_str());
  }
  return report->leaks.empty() ? 0 : 1;
}

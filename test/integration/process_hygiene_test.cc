// What the OS shows about a running kmsd: no core dumps, secrets in locked memory that is left
// out of any dump, and a start-up log line saying so. Read from /proc/<pid>, as an operator or
// an attacker on the same host would see it.
#include <fstream>
#include <sstream>

#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

std::string ReadProcFile(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The value after "<field>:" in /proc/<pid>/status, e.g. "4104 kB".
std::string StatusField(const std::string& status, const std::string& field) {
  std::istringstream lines(status);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(field + ":", 0) == 0) {
      std::string value = line.substr(field.size() + 1);
      return value.substr(value.find_first_not_of(" \t"));
    }
  }
  return "";
}

class ProcessHygieneTest : public KmsdTest {};

TEST_F(ProcessHygieneTest, CoreSizeLimit_IsZero) {
  std::istringstream limits(ReadProcFile(kmsd_->pid(), "limits"));
  std::string line;
  bool found = false;
  while (std::getline(limits, line)) {
    if (line.rfind("Max core file size", 0) != 0) continue;
    found = true;
    std::istringstream fields(line.substr(std::string("Max core file size").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    EXPECT_EQ(soft, "0") << line;
    EXPECT_EQ(hard, "0") << line;
  }
  EXPECT_TRUE(found);
}

TEST_F(ProcessHygieneTest, KeyMemory_IsLocked) {
  std::string locked = StatusField(ReadProcFile(kmsd_->pid(), "status"), "VmLck");
  ASSERT_FALSE(locked.empty());
  // The 4 MiB secure heap that holds every SecretBytes.
  EXPECT_GE(std::stoull(locked), 4096u) << locked;
}

// /proc/<pid>/smaps lists each mapping's VmFlags: "lo" locked, "dd" excluded from core dumps.
TEST_F(ProcessHygieneTest, SecureHeap_IsLockedAndExcludedFromDumps) {
  std::istringstream smaps(ReadProcFile(kmsd_->pid(), "smaps"));
  std::string line;
  std::uint64_t size_kb = 0;
  std::uint64_t protected_kb = 0;
  while (std::getline(smaps, line)) {
    if (line.rfind("Size:", 0) == 0) size_kb = std::stoull(line.substr(5));
    if (line.rfind("VmFlags:", 0) != 0) continue;
    std::istringstream flags(line.substr(8));
    bool locked = false, no_dump = false;
    for (std::string flag; flags >> flag;) {
      locked |= flag == "lo";
      no_dump |= flag == "dd";
    }
    if (locked && no_dump) protected_kb += size_kb;
  }
  EXPECT_GE(protected_kb, 4096u);
}

TEST_F(ProcessHygieneTest, StartupLog_ReportsTheProcessNotDumpable) {
  std::string log = kmsd_->Log();
  std::size_t event = log.find("\"process_hardened\"");
  ASSERT_NE(event, std::string::npos) << log;
  std::size_t line_start = log.rfind('\n', event);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  std::string line = log.substr(line_start, log.find('\n', event) - line_start);
  EXPECT_NE(line.find("\"dumpable\":\"0\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"core_limit\":\"0\""), std::string::npos) << line;
}

}  // namespace
}  // namespace weftkit::test

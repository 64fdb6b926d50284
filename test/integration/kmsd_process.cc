#include "test/integration/kmsd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "test/support/test_recorder.h"

namespace weftkit::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

void WriteFile(const std::filesystem::path& path, const std::string& text, mode_t mode) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  ::chmod(path.c_str(), mode);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The configuration a test starts from; KmsdOptions::settings override or extend it.
std::map<std::string, std::map<std::string, std::string>> DefaultSettings(
    const SoftHsmToken& token) {
  return {
      {"server",
       {{"listen", "127.0.0.1:0"},
        {"port_file", "port"},
        {"workers", "4"},
        {"io_threads", "2"},
        {"read_timeout_ms", "5000"},
        {"drain_timeout_ms", "5000"}}},
      {"tls",
       {{"certificate", "pki/server.pem"},
        {"private_key", "pki/server.key"},
        {"client_ca", "pki/ca.pem"}}},
      {"hsm",
       {{"module", token.module_path()}, {"token_label", token.label()}, {"pin_file", "user.pin"}}},
      {"store", {{"path", "kms.db"}}},
      {"state", {{"directory", "."}}},
      {"keys", {{"auto_rotation_check_s", "1"}, {"destruction_wait_min_s", "1"}}},
      {"auth",
       {{"bootstrap_admin", "spiffe://weftkit.dev/admin/first-admin"},
        {"scram_iterations", "4096"}}},
      {"log", {{"level", "info"}}},
  };
}

}  // namespace

std::unique_ptr<KmsdProcess> KmsdProcess::Start(KmsdOptions options) {
  // A server that closes a connection mid-request must fail the client's write, not kill it.
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<KmsdProcess> process(new KmsdProcess());
  process->token_ = SoftHsmToken::Create("kmsd-it");
  if (!process->token_) throw std::runtime_error("cannot create a SoftHSM token");
  process->dir_ = process->token_->dir() / "kmsd";
  std::filesystem::create_directories(process->dir_);

  std::string pki_command =
      std::string(WEFTKIT_SOURCE_DIR) + "/tools/dev-pki.sh " + (process->dir_ / "pki").string();
  if (std::system(pki_command.c_str()) != 0) throw std::runtime_error("dev-pki.sh failed");
  WriteFile(process->dir_ / "user.pin", process->token_->pin() + "\n", 0600);
  if (options.prepare) options.prepare(options, process->dir_ / "pki");
  process->WriteConfig(options);
  process->Launch();
  return process;
}

void KmsdProcess::WriteConfig(const KmsdOptions& options) {
  auto sections = DefaultSettings(*token_);
  if (!options.module_path.empty()) sections["hsm"]["module"] = options.module_path;
  if (options.token_by_uri) {
    sections["hsm"].erase("token_label");
    sections["hsm"]["token_uri"] = "pkcs11:token=" + token_->label();
  }
  if (options.pin_in_environment) {
    // kmsd inherits the test's environment; the variable holds this run's random PIN.
    ::setenv("WEFTKIT_TEST_HSM_PIN", token_->pin().c_str(), 1);
    sections["hsm"].erase("pin_file");
    sections["hsm"]["pin_env"] = "WEFTKIT_TEST_HSM_PIN";
  }
  for (const auto& [dotted, value] : options.settings) {
    std::size_t dot = dotted.find('.');
    auto& section = sections[dotted.substr(0, dot)];
    if (value.empty()) {
      section.erase(dotted.substr(dot + 1));
    } else {
      section[dotted.substr(dot + 1)] = value;
    }
  }
  std::string text;
  for (const auto& [section, entries] : sections) {
    text += "[" + section + "]\n";
    for (const auto& [key, value] : entries) text += key + " = " + value + "\n";
  }
  WriteFile(dir_ / "kmsd.conf", text, 0600);
}

void KmsdProcess::Launch() {
  std::filesystem::remove(dir_ / "port");
  std::string binary = WEFTKIT_KMSD_BINARY;
  std::string config = (dir_ / "kmsd.conf").string();
  std::string log = (dir_ / "kmsd.log").string();
  std::string out = (dir_ / "kmsd.stdout").string();

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("cannot fork kmsd");
  if (pid_ == 0) {
    // In the child: die with the test process, so a crashed test leaves no server behind.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log_fd < 0 || out_fd < 0) _exit(127);
    dup2(log_fd, STDERR_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    char* argv[] = {binary.data(), const_cast<char*>("--config"), config.data(), nullptr};
    execv(binary.c_str(), argv);
    _exit(127);
  }

  // kmsd writes the port once it listens; give it up to 20 s on a loaded machine.
  auto deadline = steady_clock::now() + std::chrono::seconds(20);
  while (steady_clock::now() < deadline) {
    std::string port = ReadFile(dir_ / "port");
    if (!port.empty() && port.back() == '\n') {
      port_ = std::stoi(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("kmsd exited during start-up:\n" + Log());
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  Kill();
  throw std::runtime_error("kmsd did not start in time:\n" + Log());
}

KmsdProcess::~KmsdProcess() {
  if (pid_ > 0) Stop();
  // Everything this server logged, across restarts, for the secret-leak scan, which must not
  // find there the one-time administrator password it printed on stdout.
  std::string out = Stdout();
  constexpr std::string_view kShown = "one-time password ";
  if (std::size_t at = out.find(kShown); at != std::string::npos) {
    std::size_t begin = at + kShown.size();
    TestRecorder::RegisterSecret(SecretKind::kNever,
                                 out.substr(begin, out.find_first_of(" \n", begin) - begin));
  }
  TestRecorder::KeepServerLog(dir_ / "kmsd.log");
}

int KmsdProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = steady_clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  Kill();
  return -1;
}

void KmsdProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void KmsdProcess::Restart() {
  if (pid_ > 0) Stop();
  Launch();
}

std::string KmsdProcess::Log() const { return ReadFile(dir_ / "kmsd.log"); }

std::string KmsdProcess::Stdout() const { return ReadFile(dir_ / "kmsd.stdout"); }

std::unique_ptr<HttpsClient> KmsdProcess::Client(const std::string& identity) const {
  ClientOptions options;
  options.ca_file = pki("ca.pem").string();
  if (!identity.empty()) {
    options.cert_file = pki(identity + ".pem").string();
    options.key_file = pki(identity + ".key").string();
  }
  auto client = HttpsClient::Connect("127.0.0.1", static_cast<std::uint16_t>(port_), options);
  if (!client.ok()) return nullptr;
  return std::move(client).value();
}

}  // namespace weftkit::test

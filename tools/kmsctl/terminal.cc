#include "tools/kmsctl/terminal.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <termios.h>
#include <unistd.h>

#include <fstream>

#include "tools/kmsctl/arguments.h"

namespace weftkit::kmsctl {
namespace {

// Restores the terminal's settings when it goes out of scope.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::string Clock(double seconds) {
  long total = static_cast<long>(seconds);
  char text[32];
  std::snprintf(text, sizeof(text), "%ld:%02ld", total / 60, total % 60);
  return text;
}

}  // namespace

Result<SecretBytes> ReadPasswordFromTerminal(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return UsageError(
        "no terminal to ask for the password: use --password-file or "
        "WEFTKIT_PASSWORD");
  }
  (void)!::write(fd, prompt.data(), prompt.size());
  SecretBytes line(1024);
  std::size_t length = 0;
  {
    EchoOff echo_off(fd);
    char c = 0;
    while (length < line.size() && ::read(fd, &c, 1) == 1 && c != '\n') {
      line.expose_mutable()[length++] = static_cast<std::uint8_t>(c);
    }
    c = 0;
  }
  (void)!::write(fd, "\n", 1);
  ::close(fd);
  line.Truncate(length);
  if (line.empty()) return UsageError("empty password");
  return line;
}

Result<SecretBytes> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  if (!in || !std::getline(in, text) || text.empty()) {
    return UsageError("cannot read a password from " + path);
  }
  SecretBytes secret = SecretBytes::CopyOf(std::string_view(text));
  OPENSSL_cleanse(text.data(), text.size());
  return secret;
}

ProgressBar::ProgressBar(std::FILE* stream)
    : stream_(stream),
      enabled_(::isatty(::fileno(stream)) == 1),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::Update(std::uint64_t done, double fraction) {
  auto now = std::chrono::steady_clock::now();
  if (!enabled_ || now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  Draw(done, fraction);
}

void ProgressBar::Finish(std::uint64_t done) {
  if (!enabled_) return;
  Draw(done, 1.0);
  std::fputc('\n', stream_);
}

void ProgressBar::Draw(std::uint64_t done, double fraction) {
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  std::string bar = "[";
  for (int i = 0; i < 30; ++i) bar += (fraction >= 0 && i < fraction * 30) ? '#' : '-';
  bar += "]";
  std::string eta = fraction > 0 && fraction < 1 ? Clock(elapsed / fraction - elapsed) : "-";
  std::fprintf(stream_, "\r%s %3.0f%%  %llu items  %.0f/s  ETA %s   ", bar.c_str(),
               fraction >= 0 ? fraction * 100 : 0.0, static_cast<unsigned long long>(done), rate,
               eta.c_str());
  std::fflush(stream_);
}

}  // namespace weftkit::kmsctl

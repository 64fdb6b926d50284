// weftkit-hsm-init: initialises a PKCS#11 token for WeftKit KMS from PIN files.
//
//   weftkit-hsm-init --module PATH --label LABEL --so-pin-file FILE --pin-file FILE
//
// Re-initialises the token with that label (which needs its SO PIN and erases its objects) or
// else the first uninitialised token, then sets the user PIN. PINs are read from files, never
// from the command line where other users could see them in the process list; a PIN file must
// be a regular file owned by the caller that no group or other user can access.
// Exit status: 0 done, 1 failed, 2 usage.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <string>

#include "common/secret_bytes.h"
#include "pkcs11/hsm.h"

namespace {

using weftkit::Error;
using weftkit::ErrorKind;
using weftkit::Result;
using weftkit::SecretBytes;

constexpr std::size_t kMaxPinFileSize = 256;

Error PinFileError(const std::string& path, const std::string& why) {
  return Error(ErrorKind::kFailedPrecondition, "pin_file_unsafe", path + ": " + why);
}

// Closes a file descriptor on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// The PIN in `path`, without a trailing newline. The checks run on the open descriptor, so
// the file checked is the file read.
Result<SecretBytes> ReadPinFile(const std::string& path) {
  Fd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat info {};
  if (fd.get() < 0 || fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return PinFileError(path, std::string("cannot open as a regular file: ") + strerror(errno));
  }
  if (info.st_uid != geteuid()) return PinFileError(path, "not owned by the current user");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return PinFileError(path, "group or others can access it; chmod 600 it");
  }

  SecretBytes pin(kMaxPinFileSize);
  ssize_t size = read(fd.get(), pin.expose_mutable().data(), pin.size());
  if (size < 0) return PinFileError(path, std::string("read failed: ") + strerror(errno));
  pin.Truncate(static_cast<std::size_t>(size));
  // Exactly one trailing newline is dropped, as kmsd's configuration loader does, so that both
  // read the same PIN from the same file.
  if (!pin.empty() && pin.expose().back() == '\n') pin.Truncate(pin.size() - 1);
  if (pin.empty() || static_cast<std::size_t>(size) == kMaxPinFileSize) {
    return PinFileError(path, "the PIN must have 1 to 255 bytes");
  }
  return pin;
}

int Usage() {
  std::cerr << "usage: weftkit-hsm-init --module PATH --label LABEL --so-pin-file FILE "
               "--pin-file FILE\n";
  return 2;
}

int Fail(const Error& error) {
  std::cerr << "weftkit-hsm-init: " << error.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> options = {
      {"--module", ""}, {"--label", ""}, {"--so-pin-file", ""}, {"--pin-file", ""}};
  for (int i = 1; i < argc; i += 2) {
    auto option = options.find(argv[i]);
    if (option == options.end() || i + 1 >= argc) return Usage();
    option->second = argv[i + 1];
  }
  for (const auto& [name, value] : options) {
    if (value.empty()) return Usage();
  }

  Result<SecretBytes> so_pin = ReadPinFile(options["--so-pin-file"]);
  if (!so_pin.ok()) return Fail(so_pin.error());
  Result<SecretBytes> pin = ReadPinFile(options["--pin-file"]);
  if (!pin.ok()) return Fail(pin.error());

  weftkit::Status status =
      weftkit::pkcs11::Hsm::InitToken(options["--module"], options["--label"], *so_pin, *pin);
  if (!status.ok()) return Fail(status.error());
  std::cout << "initialised token " << options["--label"] << "\n";
  return 0;
}

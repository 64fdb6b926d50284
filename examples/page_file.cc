#include "examples/page_file.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstring>

namespace weftkit::example {
namespace {

constexpr char kMagic[4] = {'W', 'K', 'P', 'G'};
constexpr char kAadLabel[] = "weftkit-example-page/1";
constexpr std::size_t kNonceOffset = 8;
constexpr std::size_t kCipherOffset = 20;
constexpr std::size_t kTagOffset = kCipherOffset + kPayloadSize;

struct CipherFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherFree>;

Error CryptoError(const std::string& detail) {
  return Error(ErrorKind::kInternal, "page_crypto", detail);
}

void PutBigEndian(std::string& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

Result<std::unique_ptr<PageFile>> PageFile::Open(const std::string& path, std::string file_id,
                                                 SecretBytes dek) {
  if (dek.size() != 32) {
    return Error(ErrorKind::kInvalidArgument, "page_bad_dek", "the page DEK must be 32 bytes");
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error(ErrorKind::kUnavailable, "page_file_open", "cannot open " + path);
  return std::unique_ptr<PageFile>(new PageFile(fd, std::move(file_id), std::move(dek)));
}

PageFile::~PageFile() { ::close(fd_); }

std::string PageFile::Aad(std::uint64_t page) const {
  std::string aad(kAadLabel);
  PutBigEndian(aad, file_id_.size(), 4);
  aad += file_id_;
  PutBigEndian(aad, page, 8);
  return aad;
}

Status PageFile::WritePage(std::uint64_t page, const std::string& payload) {
  if (payload.size() > kPayloadSize) {
    return Error(ErrorKind::kInvalidArgument, "page_too_large", "payload over kPayloadSize");
  }
  SecretBytes plain(kPayloadSize);  // zero-padded payload, wiped afterwards
  std::memcpy(plain.expose_mutable().data(), payload.data(), payload.size());
  std::string slot(kPageSize, '\0');
  std::memcpy(slot.data(), kMagic, 4);
  slot[4] = 0x01;
  auto* bytes = reinterpret_cast<unsigned char*>(slot.data());
  if (RAND_bytes(bytes + kNonceOffset, 12) != 1) return CryptoError("no random nonce");

  std::string aad = Aad(page);
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  bool ok = ctx != nullptr &&
            EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, dek_.expose().data(),
                               bytes + kNonceOffset) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &length,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), bytes + kCipherOffset, &length, plain.expose().data(),
                              static_cast<int>(plain.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), bytes + kCipherOffset + length, &length) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, bytes + kTagOffset) == 1;
  if (!ok) return CryptoError("AES-GCM encryption failed");

  auto offset = static_cast<off_t>(page * kPageSize);
  if (::pwrite(fd_, slot.data(), slot.size(), offset) != static_cast<ssize_t>(slot.size()) ||
      ::fdatasync(fd_) != 0) {
    return Error(ErrorKind::kUnavailable, "page_write", "cannot write the page");
  }
  ++writes_;
  return OkStatus();
}

Result<std::string> PageFile::ReadPage(std::uint64_t page) const {
  std::string slot(kPageSize, '\0');
  auto offset = static_cast<off_t>(page * kPageSize);
  if (::pread(fd_, slot.data(), slot.size(), offset) != static_cast<ssize_t>(slot.size())) {
    return Error(ErrorKind::kNotFound, "page_missing", "no such page");
  }
  if (std::memcmp(slot.data(), kMagic, 4) != 0 || slot[4] != 0x01) {
    return Error(ErrorKind::kDataLoss, "page_bad_header", "not a page of this format");
  }
  auto* bytes = reinterpret_cast<unsigned char*>(slot.data());
  std::string aad = Aad(page);
  SecretBytes plain(kPayloadSize);
  CipherPtr ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  bool ok = ctx != nullptr &&
            EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, dek_.expose().data(),
                               bytes + kNonceOffset) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &length,
                              reinterpret_cast<const unsigned char*>(aad.data()),
                              static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), plain.expose_mutable().data(), &length,
                              bytes + kCipherOffset, static_cast<int>(kPayloadSize)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, bytes + kTagOffset) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), plain.expose_mutable().data() + length, &length) == 1;
  if (!ok) {
    return Error(ErrorKind::kDataLoss, "page_authentication_failed",
                 "page " + std::to_string(page) + " failed its integrity check");
  }
  std::string_view text = plain.expose_chars();
  return std::string(text.substr(0, text.find('\0')));
}

}  // namespace weftkit::example

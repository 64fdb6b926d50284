// PageFile: a file of fixed-size database pages, each encrypted with AES-256-GCM under the
// file's DEK, as a WeftKit engine stores its data (docs/example-engine.md).
//
// Page slot layout (kPageSize = 4096 bytes, at offset page_number * kPageSize):
//
//   offset  size  field
//   0       4     magic "WKPG"
//   4       1     format version 0x01
//   5       3     zero
//   8       12    nonce: 96 random bits, fresh for every write of the page
//   20      4060  ciphertext of the page payload (kPayloadSize bytes)
//   4080    16    GCM tag
//
// AAD = "weftkit-example-page/1" || u32 length of file id || file id || u64 page number (big
// endian), so a page copied to another slot or another file fails to decrypt.
//
// Nonces are random: with 96-bit random nonces NIST SP 800-38D allows at most 2^32 encryptions
// under one key; see docs/example-engine.md for how an engine stays below that.
//
// Thread safety: not synchronised; one writer per file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/secret_bytes.h"

namespace weftkit::example {

inline constexpr std::size_t kPageSize = 4096;
inline constexpr std::size_t kPayloadSize = kPageSize - 20 - 16;

class PageFile {
 public:
  // Opens (creating if needed) `path` for the file `file_id`, encrypted under `dek` (32 bytes).
  static Result<std::unique_ptr<PageFile>> Open(const std::string& path, std::string file_id,
                                                SecretBytes dek);
  PageFile(const PageFile&) = delete;
  PageFile& operator=(const PageFile&) = delete;
  ~PageFile();

  // Encrypts `payload` (at most kPayloadSize bytes; zero-padded) into slot `page`, fsyncs.
  Status WritePage(std::uint64_t page, const std::string& payload);

  // Decrypts slot `page`. Fails with page_authentication_failed when the tag does not verify
  // (tampering, wrong slot, wrong DEK), page_missing past the end of the file.
  Result<std::string> ReadPage(std::uint64_t page) const;

  // Encrypted writes done through this object (for the nonce budget).
  std::uint64_t writes() const { return writes_; }

 private:
  PageFile(int fd, std::string file_id, SecretBytes dek)
      : fd_(fd), file_id_(std::move(file_id)), dek_(std::move(dek)) {}

  std::string Aad(std::uint64_t page) const;

  int fd_;
  std::string file_id_;
  SecretBytes dek_;
  std::uint64_t writes_ = 0;
};

}  // namespace weftkit::example

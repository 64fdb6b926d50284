// DekStore: the example engine's wrapped DEKs, kept in a local JSON-lines file, one line per data
// file:
//
//   {"file": "f0", "key": "orders", "wrapped": "<base64 envelope>",
//    "context": {"engine": "orders", "file": "f0"}}
//
// This is the same line format that `kmsctl dek bulk-rewrap` reads and writes, so an operator
// can rewrap the file in place of the engine (extra members such as "key_version" are kept).
// Only envelopes are stored here, never a plaintext DEK.
//
// Thread safety: plain functions over files.
#pragma once

#include <string>
#include <vector>

#include "client/dek_cache.h"
#include "common/error.h"

namespace weftkit::example {

struct StoredDek {
  std::string file;
  std::string key;
  std::string wrapped;
  client::EncryptionContext context;
};

// Reads `path`. Fails (dek_store_*) for an unreadable file or a line without the fields above.
Result<std::vector<StoredDek>> LoadDeks(const std::string& path);

// Writes `deks` to `path` atomically: a temporary file, fsync, rename, so a crash leaves either
// the old or the new file, never a torn one.
Status SaveDeks(const std::string& path, const std::vector<StoredDek>& deks);

}  // namespace weftkit::example

// Checkpointer: takes signed checkpoints of a running AuditLog and stores them.
//
// kmsd calls CreateNow periodically (config audit.checkpoint_interval) and when an auditor
// asks for one (POST /v1/audit/checkpoints). Thread-safe: checkpoints are taken one at a time.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "audit/audit_log.h"
#include "audit/checkpoint.h"
#include "audit/checkpoint_signer.h"
#include "common/error.h"

namespace weftkit::audit {

class Checkpointer {
 public:
  // `log` and `signer` must outlive the checkpointer.
  Checkpointer(AuditLog& log, CheckpointSigner& signer) : log_(log), signer_(signer) {}

  // Signs the log's current size and root and stores the checkpoint. If the newest stored
  // checkpoint already has that size, returns it instead of signing again (an idle log gets
  // no new checkpoints). Fails with the HSM's or the store's error.
  Result<Checkpoint> CreateNow();

  // The newest stored checkpoint, if any.
  Result<std::optional<Checkpoint>> Latest() const;

 private:
  AuditLog& log_;
  CheckpointSigner& signer_;
  std::mutex mutex_;
};

}  // namespace weftkit::audit

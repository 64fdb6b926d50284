#include "audit/checkpointer.h"

#include <chrono>
#include <vector>

namespace weftkit::audit {

Result<Checkpoint> Checkpointer::CreateNow() {
  std::lock_guard<std::mutex> lock(mutex_);
  WK_ASSIGN_OR_RETURN(std::optional<Checkpoint> latest, Latest());
  AuditLog::TreeHead head = log_.Head();
  if (latest && latest->tree_size == head.tree_size) return *latest;

  std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  WK_ASSIGN_OR_RETURN(Checkpoint checkpoint, signer_.Sign(head.tree_size, head.root, now_ms));
  WK_RETURN_IF_ERROR(log_.store().AddCheckpoint(checkpoint));
  return checkpoint;
}

Result<std::optional<Checkpoint>> Checkpointer::Latest() const {
  WK_ASSIGN_OR_RETURN(std::vector<Checkpoint> newest,
                      log_.store().ListCheckpoints(std::nullopt, 1));
  if (newest.empty()) return std::optional<Checkpoint>();
  return std::optional<Checkpoint>(newest.front());
}

}  // namespace weftkit::audit

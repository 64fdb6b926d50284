#include "kms/key_model.h"

namespace weftkit::kms {

const char* VersionStateName(VersionState state) {
  switch (state) {
    case VersionState::kEnabled:
      return "enabled";
    case VersionState::kDisabled:
      return "disabled";
    case VersionState::kScheduledForDestruction:
      return "scheduled_for_destruction";
    case VersionState::kDestroyed:
      return "destroyed";
  }
  return "disabled";
}

std::optional<VersionState> ParseVersionState(const std::string& name) {
  for (VersionState state : {VersionState::kEnabled, VersionState::kDisabled,
                             VersionState::kScheduledForDestruction, VersionState::kDestroyed}) {
    if (name == VersionStateName(state)) return state;
  }
  return std::nullopt;
}

const KeyVersion* MasterKey::FindVersion(std::uint32_t version) const {
  for (const KeyVersion& candidate : versions) {
    if (candidate.version == version) return &candidate;
  }
  return nullptr;
}

}  // namespace weftkit::kms

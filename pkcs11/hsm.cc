// Hsm: connecting, reconnecting, the retry policy, the handle cache and label-level operations.
// Key operations live in hsm_aes.cc and hsm_ec.cc; token initialisation in hsm_init_token.cc.
#include "pkcs11/hsm.h"

#include "pkcs11/attributes.h"
#include "pkcs11/return_codes.h"
#include "pkcs11/session_guard.h"

namespace weftkit::pkcs11 {
namespace {

// Enough to see every object of one label: an AES key, or the two halves of an EC key pair,
// plus leftovers of interrupted creations.
constexpr std::size_t kMaxObjectsPerLabel = 16;

Error Unavailable(const Error& cause) {
  return Error(ErrorKind::kUnavailable, "hsm_unavailable", "reconnect failed: " + cause.detail());
}

std::string Describe(const CK_TOKEN_INFO& info) {
  return "token=" + TrimPadded(info.label, sizeof(info.label)) +
         ";serial=" + TrimPadded(info.serialNumber, sizeof(info.serialNumber));
}

}  // namespace

Result<std::unique_ptr<Hsm>> Hsm::Open(HsmConfig config) {
  if (config.sessions == 0) {
    return Error(ErrorKind::kInvalidArgument, "invalid_hsm_config", "sessions must be at least 1");
  }
  WK_ASSIGN_OR_RETURN(TokenSelector selector,
                      MakeTokenSelector(config.token_label, config.token_uri));
  WK_ASSIGN_OR_RETURN(std::unique_ptr<Module> module, Module::Load(config.module_path));

  std::unique_ptr<Hsm> hsm(new Hsm(std::move(config), std::move(selector), std::move(module)));
  std::lock_guard lock(hsm->reconnect_mutex_);
  WK_RETURN_IF_ERROR(hsm->Connect());
  return hsm;
}

Hsm::Hsm(HsmConfig config, TokenSelector selector, std::unique_ptr<Module> module)
    : config_(std::move(config)), selector_(std::move(selector)), module_(std::move(module)) {}

Hsm::~Hsm() {
  // The pool is open only after a successful Connect; Drain on a closed pool returns nothing.
  CloseSessions(pool_.Drain());
  // module_'s destructor finalises Cryptoki and unloads the library.
}

std::string Hsm::token_description() const {
  std::lock_guard lock(description_mutex_);
  return token_description_;
}

Status Hsm::Connect() {
  CK_FUNCTION_LIST_PTR functions = module_->functions();
  WK_ASSIGN_OR_RETURN(CK_SLOT_ID slot, FindSlot(functions, selector_));
  CK_TOKEN_INFO info{};
  CK_RV rv = functions->C_GetTokenInfo(slot, &info);
  if (rv != CKR_OK) return ToError(rv, "C_GetTokenInfo");

  OpenSessions sessions(functions);
  for (std::size_t i = 0; i < config_.sessions; ++i) {
    WK_RETURN_IF_ERROR(sessions.OpenOne(slot));
  }
  // Login state belongs to the application, not the session: one login covers all of them.
  std::string_view pin = config_.pin.expose_chars();
  rv = functions->C_Login(sessions.front(), CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                          pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) return ToError(rv, "C_Login");

  slot_ = slot;
  {
    std::lock_guard lock(description_mutex_);
    token_description_ = Describe(info);
  }
  pool_.Refill(sessions.Release());
  ready_ = true;
  return OkStatus();
}

void Hsm::CloseSessions(std::vector<CK_SESSION_HANDLE> sessions) {
  CK_FUNCTION_LIST_PTR functions = module_->functions();
  // Errors are ignored: a device that is gone has closed them already.
  if (!sessions.empty() && !module_->shared()) functions->C_Logout(sessions.front());
  for (CK_SESSION_HANDLE session : sessions) functions->C_CloseSession(session);
}

Status Hsm::Reconnect() {
  // TODO(#8): PKCS#11 calls have no timeout; a module that hangs in C_Initialize or
  // C_OpenSession keeps every caller waiting here, and Drain waits on hung operations.
  std::lock_guard lock(reconnect_mutex_);
  return ReconnectLocked(std::chrono::steady_clock::now());
}

Status Hsm::ReconnectLocked(std::chrono::steady_clock::time_point now) {
  if (now - last_reconnect_ < config_.reconnect_interval) return last_reconnect_status_;
  last_reconnect_ = now;
  ready_ = false;

  // No operation is inside the module after Drain returns, so finalising is safe.
  CloseSessions(pool_.Drain());
  {
    std::unique_lock lock(handles_mutex_);
    handles_.clear();  // handles die with the Cryptoki instance
  }
  Status status = module_->Reinitialize();
  if (status.ok()) status = Connect();
  last_reconnect_status_ = status.ok() ? OkStatus() : Status(Unavailable(status.error()));
  return last_reconnect_status_;
}

Status Hsm::ReconnectAfterFailure(std::uint64_t failed_generation) {
  std::lock_guard lock(reconnect_mutex_);
  // A newer generation means another thread reconnected after our session failed.
  if (pool_.generation() != failed_generation && ready_) return OkStatus();
  ready_ = false;
  return ReconnectLocked(std::chrono::steady_clock::now());
}

Status Hsm::Probe() {
  std::lock_guard lock(reconnect_mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!ready_) return ReconnectLocked(now);

  if (TokenAnswersLocked()) return OkStatus();
  // Any failure counts: SoftHSM whose token files went away answers CKR_GENERAL_ERROR here
  // until Cryptoki is initialised again, which only a reconnect does.
  ready_ = false;
  return ReconnectLocked(now);
}

bool Hsm::TokenAnswersLocked() {
  // Safe outside a lease: Reinitialize only runs under reconnect_mutex_, which the caller holds.
  CK_TOKEN_INFO info{};
  return module_->functions()->C_GetTokenInfo(slot_, &info) == CKR_OK;
}

bool Hsm::TokenLost(const Status& status) {
  if (status.ok()) return false;
  if (status.error().code() == "hsm_unavailable") return true;
  // A key the caller knows of that the token cannot find may mean the token's objects are gone
  // with the token (its files removed or unmounted): ask the token itself.
  if (status.error().code() != "hsm_key_not_found") return false;
  std::lock_guard lock(reconnect_mutex_);
  return !TokenAnswersLocked();
}

Status Hsm::Run(const Operation& operation) {
  for (int attempt = 0;; ++attempt) {
    if (!ready_) WK_RETURN_IF_ERROR(Reconnect());

    std::uint64_t generation = 0;
    Status status = [&]() -> Status {
      WK_ASSIGN_OR_RETURN(SessionPool::Lease lease, pool_.Acquire(config_.acquire_timeout));
      generation = lease.generation();
      return operation(Call{module_->functions(), lease.session()});
    }();  // the lease is back in the pool here, so a reconnect can drain it

    if (attempt == 1 || !TokenLost(status)) return status;
    Status reconnected = ReconnectAfterFailure(generation);
    if (!reconnected.ok()) {
      // Never "not found" for a token that is away: the caller must hear "retry later".
      return status.error().code() == "hsm_unavailable" ? status : reconnected;
    }
  }
}

Result<CK_OBJECT_HANDLE> Hsm::FindHandle(const Call& call, const std::string& label,
                                         CK_OBJECT_CLASS object_class) {
  HandleKey key(label, object_class);
  {
    std::shared_lock lock(handles_mutex_);
    auto it = handles_.find(key);
    if (it != handles_.end()) return it->second;
  }

  AttributeTemplate search;
  search.Ulong(CKA_CLASS, object_class).Text(CKA_LABEL, label);
  WK_ASSIGN_OR_RETURN(auto found, FindObjects(call.functions, call.session, search, 2));
  if (found.empty()) {
    return Error(ErrorKind::kNotFound, "hsm_key_not_found", "no HSM object labelled " + label);
  }
  if (found.size() > 1) {
    return Error(ErrorKind::kInternal, "hsm_duplicate_label",
                 "more than one HSM object of one class labelled " + label);
  }

  std::unique_lock lock(handles_mutex_);
  handles_[key] = found.front();
  return found.front();
}

void Hsm::ForgetHandle(const std::string& label, CK_OBJECT_CLASS object_class) {
  std::unique_lock lock(handles_mutex_);
  handles_.erase(HandleKey(label, object_class));
}

void Hsm::ForgetLabel(const std::string& label) {
  std::unique_lock lock(handles_mutex_);
  std::erase_if(handles_, [&label](const auto& entry) { return entry.first.first == label; });
}

Status Hsm::WithHandle(const Call& call, const std::string& label, CK_OBJECT_CLASS object_class,
                       const std::function<Status(CK_OBJECT_HANDLE)>& use) {
  WK_ASSIGN_OR_RETURN(CK_OBJECT_HANDLE handle, FindHandle(call, label, object_class));
  Status status = use(handle);
  if (status.ok() || status.error().code() != "hsm_stale_handle") return status;

  // Someone destroyed or replaced the object behind our back: look it up afresh, once.
  ForgetHandle(label, object_class);
  WK_ASSIGN_OR_RETURN(handle, FindHandle(call, label, object_class));
  return use(handle);
}

Status Hsm::CheckLabelFree(const Call& call, const std::string& label) {
  if (label.empty()) {
    return Error(ErrorKind::kInvalidArgument, "invalid_label", "HSM object label is empty");
  }
  AttributeTemplate search;
  search.Text(CKA_LABEL, label);
  WK_ASSIGN_OR_RETURN(auto found, FindObjects(call.functions, call.session, search, 1));
  if (!found.empty()) {
    return Error(ErrorKind::kAlreadyExists, "hsm_label_exists",
                 "an HSM object labelled " + label + " exists");
  }
  return OkStatus();
}

Status Hsm::DestroyObjects(const std::string& label) {
  Status status = Run([&](const Call& call) -> Status {
    AttributeTemplate search;
    search.Text(CKA_LABEL, label);
    WK_ASSIGN_OR_RETURN(auto found,
                        FindObjects(call.functions, call.session, search, kMaxObjectsPerLabel));
    if (found.empty()) {
      return Error(ErrorKind::kNotFound, "hsm_key_not_found", "no HSM object labelled " + label);
    }
    for (CK_OBJECT_HANDLE object : found) {
      CK_RV rv = call.functions->C_DestroyObject(call.session, object);
      if (rv != CKR_OK) return ToError(rv, "C_DestroyObject");
    }
    return OkStatus();
  });
  // Whatever happened, cached handles for the label may now be dead.
  ForgetLabel(label);
  return status;
}

bool Hsm::ObjectExists(const std::string& label) {
  bool exists = false;
  Status status = Run([&](const Call& call) -> Status {
    AttributeTemplate search;
    search.Text(CKA_LABEL, label);
    WK_ASSIGN_OR_RETURN(auto found, FindObjects(call.functions, call.session, search, 1));
    exists = !found.empty();
    return OkStatus();
  });
  return status.ok() && exists;
}

Result<SecretBytes> Hsm::GenerateRandom(std::size_t bytes) {
  SecretBytes random(bytes);
  if (bytes == 0) return random;
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    CK_RV rv = call.functions->C_GenerateRandom(call.session, random.expose_mutable().data(),
                                                random.size());
    return rv == CKR_OK ? OkStatus() : Status(ToError(rv, "C_GenerateRandom"));
  }));
  return random;
}

}  // namespace weftkit::pkcs11

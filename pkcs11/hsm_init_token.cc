// Hsm::InitToken: token initialisation for tools and tests.
#include <cstring>

#include "pkcs11/hsm.h"
#include "pkcs11/return_codes.h"
#include "pkcs11/session_guard.h"

namespace weftkit::pkcs11 {
namespace {

constexpr std::size_t kTokenLabelSize = 32;  // CK_TOKEN_INFO.label, blank padded

CK_UTF8CHAR_PTR PinPointer(const SecretBytes& pin) {
  // PKCS#11 2.40 declares PIN parameters non-const; modules only read them.
  return reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.expose_chars().data()));
}

// The slot whose token already has `label`, else the first slot with an uninitialised token.
Result<CK_SLOT_ID> SlotForInit(CK_FUNCTION_LIST_PTR functions, const std::string& label) {
  CK_ULONG count = 0;
  CK_RV rv = functions->C_GetSlotList(CK_TRUE, nullptr, &count);
  if (rv != CKR_OK) return ToError(rv, "C_GetSlotList");
  std::vector<CK_SLOT_ID> slots(count);
  rv = functions->C_GetSlotList(CK_TRUE, slots.data(), &count);
  if (rv != CKR_OK) return ToError(rv, "C_GetSlotList");
  slots.resize(count);

  std::optional<CK_SLOT_ID> free_slot;
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    rv = functions->C_GetTokenInfo(slot, &info);
    if (rv != CKR_OK) return ToError(rv, "C_GetTokenInfo");
    bool initialized = (info.flags & CKF_TOKEN_INITIALIZED) != 0;
    if (initialized && TrimPadded(info.label, sizeof(info.label)) == label) return slot;
    if (!initialized && !free_slot) free_slot = slot;
  }
  if (free_slot) return *free_slot;
  return Error(ErrorKind::kNotFound, "hsm_no_free_slot",
               "no slot with an uninitialised token or a token labelled " + label);
}

// Logs the SO in on `session` and sets the user PIN; logs out again on every path.
Status SetUserPin(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session,
                  const SecretBytes& so_pin, const SecretBytes& user_pin) {
  CK_RV rv = functions->C_Login(session, CKU_SO, PinPointer(so_pin), so_pin.size());
  if (rv != CKR_OK) return ToError(rv, "C_Login(SO)");
  rv = functions->C_InitPIN(session, PinPointer(user_pin), user_pin.size());
  functions->C_Logout(session);
  if (rv != CKR_OK) return ToError(rv, "C_InitPIN");
  return OkStatus();
}

}  // namespace

Status Hsm::InitToken(const std::string& module_path, const std::string& label,
                      const SecretBytes& so_pin, const SecretBytes& user_pin) {
  if (label.empty() || label.size() > kTokenLabelSize) {
    return Error(ErrorKind::kInvalidArgument, "invalid_token_label",
                 "token label must have 1 to 32 bytes");
  }
  if (so_pin.empty() || user_pin.empty()) {
    return Error(ErrorKind::kInvalidArgument, "invalid_pin", "PINs must not be empty");
  }
  WK_ASSIGN_OR_RETURN(std::unique_ptr<Module> module, Module::Load(module_path));
  CK_FUNCTION_LIST_PTR functions = module->functions();

  WK_ASSIGN_OR_RETURN(CK_SLOT_ID slot, SlotForInit(functions, label));
  CK_UTF8CHAR padded_label[kTokenLabelSize];
  std::memset(padded_label, ' ', sizeof(padded_label));
  std::memcpy(padded_label, label.data(), label.size());
  CK_RV rv = functions->C_InitToken(slot, PinPointer(so_pin), so_pin.size(), padded_label);
  if (rv != CKR_OK) return ToError(rv, "C_InitToken");

  // SoftHSM moves a freshly initialised token to a new slot id: find it again by label.
  TokenSelector selector;
  selector.label = label;
  WK_ASSIGN_OR_RETURN(slot, FindSlot(functions, selector));
  OpenSessions session(functions);
  WK_RETURN_IF_ERROR(session.OpenOne(slot));
  return SetUserPin(functions, session.front(), so_pin, user_pin);
}

}  // namespace weftkit::pkcs11

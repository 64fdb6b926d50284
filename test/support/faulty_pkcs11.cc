// weftkit_faulty_pkcs11: a PKCS#11 module that forwards to a real one and can play dead.
//
// Tests load it instead of SoftHSM to simulate an HSM that goes away and comes back. Its
// C_GetFunctionList loads the real module named by WEFTKIT_FAULTY_PKCS11_TARGET (default:
// SoftHSM), copies that module's function list and replaces the entries below with wrappers.
// While the file named by WEFTKIT_FAULTY_PKCS11_TRIGGER exists, each wrapper returns
// CKR_DEVICE_REMOVED (CKR_TOKEN_NOT_PRESENT for slot and token queries) without calling the
// real module; otherwise it forwards the call unchanged. Every other entry, including
// C_Initialize and C_Finalize, always forwards.
//
// Thread-safe: the function list is built once; the trigger is checked on every call.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

namespace {

constexpr const char* kDefaultTarget = "/usr/lib/softhsm/libsofthsm2.so";

CK_FUNCTION_LIST_PTR real_functions = nullptr;
CK_FUNCTION_LIST faulty_functions;

bool Triggered() {
  const char* trigger = std::getenv("WEFTKIT_FAULTY_PKCS11_TRIGGER");
  return trigger != nullptr && access(trigger, F_OK) == 0;
}

// Splits a function-list member's type into its parameters, so one template can wrap them all.
template <typename Member>
struct Wrapper;

template <typename... Args>
struct Wrapper<CK_RV (*CK_FUNCTION_LIST::*)(Args...)> {
  template <CK_RV (*CK_FUNCTION_LIST::*kMember)(Args...), CK_RV kFault>
  static CK_RV Call(Args... args) {
    if (Triggered()) return kFault;
    return (real_functions->*kMember)(args...);
  }
};

#define WK_FAULTY(name, fault) \
  faulty_functions.name =      \
      &Wrapper<decltype(&CK_FUNCTION_LIST::name)>::template Call<&CK_FUNCTION_LIST::name, fault>

CK_RV Build() {
  const char* target = std::getenv("WEFTKIT_FAULTY_PKCS11_TARGET");
  // Never unloaded: the copied function pointers must stay valid for the process lifetime.
  void* library = dlopen(target != nullptr ? target : kDefaultTarget, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return CKR_GENERAL_ERROR;
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  if (get_function_list == nullptr) return CKR_GENERAL_ERROR;
  CK_RV rv = get_function_list(&real_functions);
  if (rv != CKR_OK) return rv;

  faulty_functions = *real_functions;
  WK_FAULTY(C_GetSlotList, CKR_TOKEN_NOT_PRESENT);
  WK_FAULTY(C_GetTokenInfo, CKR_TOKEN_NOT_PRESENT);
  WK_FAULTY(C_GetSessionInfo, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_OpenSession, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_Login, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_FindObjectsInit, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_GenerateKey, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_EncryptInit, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_Encrypt, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_DecryptInit, CKR_DEVICE_REMOVED);
  WK_FAULTY(C_Decrypt, CKR_DEVICE_REMOVED);
  return CKR_OK;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  static std::once_flag once;
  static CK_RV built = CKR_GENERAL_ERROR;
  std::call_once(once, [] { built = Build(); });
  if (built != CKR_OK) return built;
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  *list = &faulty_functions;
  return CKR_OK;
}

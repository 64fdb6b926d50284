#include "test/pkcs11/raw_token.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include "pkcs11/return_codes.h"
#include "pkcs11/token_selector.h"

namespace weftkit::pkcs11 {

std::unique_ptr<RawToken> RawToken::Open(const std::string& module_path,
                                         const std::string& token_label, const std::string& pin) {
  void* library = dlopen(module_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    ADD_FAILURE() << "dlopen " << module_path;
    return nullptr;
  }
  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(library, "C_GetFunctionList"));
  CK_FUNCTION_LIST_PTR functions = nullptr;
  std::unique_ptr<RawToken> token(new RawToken(library, nullptr));
  if (get_function_list == nullptr || get_function_list(&functions) != CKR_OK) {
    ADD_FAILURE() << "C_GetFunctionList";
    return nullptr;
  }
  token->functions_ = functions;

  TokenSelector selector;
  selector.label = token_label;
  auto slot = FindSlot(functions, selector);
  if (!slot.ok()) {
    ADD_FAILURE() << slot.error().ToString();
    return nullptr;
  }
  CK_RV rv = functions->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                      &token->session_);
  if (rv != CKR_OK) {
    ADD_FAILURE() << "C_OpenSession: " << ReturnCodeName(rv);
    return nullptr;
  }
  rv = functions->C_Login(token->session_, CKU_USER,
                          reinterpret_cast<CK_UTF8CHAR_PTR>(const_cast<char*>(pin.data())),
                          pin.size());
  if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
    ADD_FAILURE() << "C_Login: " << ReturnCodeName(rv);
    return nullptr;
  }
  return token;
}

RawToken::~RawToken() {
  if (session_ != CK_INVALID_HANDLE) functions_->C_CloseSession(session_);
  dlclose(library_);
}

std::vector<CK_OBJECT_HANDLE> RawToken::Find(const std::string& label,
                                             CK_OBJECT_CLASS object_class) {
  CK_ATTRIBUTE search[] = {
      {CKA_CLASS, &object_class, sizeof(object_class)},
      {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
  };
  std::vector<CK_OBJECT_HANDLE> found(16);
  CK_ULONG count = 0;
  EXPECT_EQ(functions_->C_FindObjectsInit(session_, search, 2), CKR_OK);
  EXPECT_EQ(functions_->C_FindObjects(session_, found.data(), found.size(), &count), CKR_OK);
  EXPECT_EQ(functions_->C_FindObjectsFinal(session_), CKR_OK);
  found.resize(count);
  return found;
}

}  // namespace weftkit::pkcs11

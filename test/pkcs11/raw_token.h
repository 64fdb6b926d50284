// RawToken: direct PKCS#11 access to the test token, bypassing Hsm, for checks that must not
// trust the code under test (e.g. "can CKA_VALUE be read?").
//
// It reuses the Cryptoki instance an open Hsm initialised in this process: the same module
// path dlopens the same library. Not thread-safe; one test thread uses it.
#pragma once

#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>
#include <vector>

namespace weftkit::pkcs11 {

class RawToken {
 public:
  // nullptr (with a GoogleTest failure) if the module, token or session cannot be reached.
  static std::unique_ptr<RawToken> Open(const std::string& module_path,
                                        const std::string& token_label, const std::string& pin);
  RawToken(const RawToken&) = delete;
  RawToken& operator=(const RawToken&) = delete;
  ~RawToken();

  CK_FUNCTION_LIST_PTR functions() const { return functions_; }
  CK_SESSION_HANDLE session() const { return session_; }

  // Handles of every object labelled `label` of `object_class`.
  std::vector<CK_OBJECT_HANDLE> Find(const std::string& label, CK_OBJECT_CLASS object_class);

 private:
  RawToken(void* library, CK_FUNCTION_LIST_PTR functions)
      : library_(library), functions_(functions) {}

  void* library_;
  CK_FUNCTION_LIST_PTR functions_;
  CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
};

}  // namespace weftkit::pkcs11

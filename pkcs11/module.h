// Module: one PKCS#11 library loaded into the process, and its Cryptoki initialisation.
//
// The library is loaded with dlopen and driven only through the function list returned by its
// C_GetFunctionList, so any vendor's module works and none is linked in. The destructor
// finalises Cryptoki (if this object initialised it) and unloads the library.
//
// Thread safety: functions() may be called from any thread once the object is built. Initialize()
// and Finalize() must not run concurrently with each other or with calls into the module; Hsm
// guarantees that by draining its session pool first.
#pragma once

#include <p11-kit/pkcs11.h>

#include <memory>
#include <string>

#include "common/error.h"

namespace weftkit::pkcs11 {

class Module {
 public:
  // Loads the library at `path`, fetches its function list and calls C_Initialize with
  // CKF_OS_LOCKING_OK. Fails with kFailedPrecondition "hsm_module_load_failed" if the file cannot
  // be loaded or has no C_GetFunctionList, or with the C_Initialize error.
  //
  // If another component of this process (e.g. OpenSSL's pkcs11 engine) already initialised the
  // same module, the module is shared: this object then never calls C_Finalize.
  static Result<std::unique_ptr<Module>> Load(const std::string& path);

  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  ~Module();

  // The module's function table; valid for the lifetime of this object.
  CK_FUNCTION_LIST_PTR functions() const { return functions_; }

  // True when another component initialised the module first; C_Finalize and C_Logout would
  // then pull the ground from under it, so this object calls neither.
  bool shared() const { return !owns_initialization_; }

  // Finalises (when this object owns the initialisation) and initialises Cryptoki again, which
  // is how a module forgets a device that went away. Every session and object handle dies.
  Status Reinitialize();

 private:
  Module(void* library, CK_FUNCTION_LIST_PTR functions)
      : library_(library), functions_(functions) {}

  Status Initialize();
  void Finalize();

  void* library_;
  CK_FUNCTION_LIST_PTR functions_;
  bool owns_initialization_ = false;
};

}  // namespace weftkit::pkcs11

#include "pkcs11/module.h"

#include <dlfcn.h>

#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {
namespace {

Error LoadError(const std::string& path, const std::string& why) {
  return Error(ErrorKind::kFailedPrecondition, "hsm_module_load_failed",
               "cannot load PKCS#11 module " + path + ": " + why);
}

// Closes a dlopen handle unless released; keeps Load's failure paths free of manual cleanup.
struct LibraryCloser {
  void operator()(void* library) const { dlclose(library); }
};

}  // namespace

Result<std::unique_ptr<Module>> Module::Load(const std::string& path) {
  // RTLD_LOCAL keeps the module's symbols (and its own OpenSSL use) out of our namespace.
  std::unique_ptr<void, LibraryCloser> library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library == nullptr) {
    const char* why = dlerror();
    return LoadError(path, why != nullptr ? why : "dlopen failed");
  }

  auto get_function_list =
      reinterpret_cast<CK_C_GetFunctionList>(dlsym(library.get(), "C_GetFunctionList"));
  if (get_function_list == nullptr) return LoadError(path, "no C_GetFunctionList symbol");
  CK_FUNCTION_LIST_PTR functions = nullptr;
  CK_RV rv = get_function_list(&functions);
  if (rv != CKR_OK || functions == nullptr) return ToError(rv, "C_GetFunctionList");

  std::unique_ptr<Module> module(new Module(library.release(), functions));
  WK_RETURN_IF_ERROR(module->Initialize());
  return module;
}

Module::~Module() {
  Finalize();
  dlclose(library_);
}

Status Module::Reinitialize() {
  Finalize();
  return Initialize();
}

Status Module::Initialize() {
  // The module may create threads and must use OS locks: many of our threads call into it.
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = functions_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) return OkStatus();  // shared with another user
  if (rv != CKR_OK) return ToError(rv, "C_Initialize");
  owns_initialization_ = true;
  return OkStatus();
}

void Module::Finalize() {
  if (!owns_initialization_) return;
  // Nothing useful can be done if finalisation fails; the next C_Initialize will report it.
  functions_->C_Finalize(nullptr);
  owns_initialization_ = false;
}

}  // namespace weftkit::pkcs11

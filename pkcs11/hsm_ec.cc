// Hsm: EC P-256 signing keys for JWTs, policy bundles and audit checkpoints.
#include <openssl/evp.h>

#include <array>

#include "pkcs11/attributes.h"
#include "pkcs11/ec_public_key.h"
#include "pkcs11/hsm.h"
#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {
namespace {

constexpr std::size_t kP256SignatureBytes = 64;  // r || s, 32 bytes each

// Private-key flags that must read back as set here after generation.
struct ExpectedFlag {
  CK_ATTRIBUTE_TYPE type;
  const char* name;
  bool expected;
};
constexpr std::array<ExpectedFlag, 8> kExpectedPrivateKeyFlags = {{
    {CKA_SENSITIVE, "CKA_SENSITIVE", true},
    {CKA_EXTRACTABLE, "CKA_EXTRACTABLE", false},
    {CKA_PRIVATE, "CKA_PRIVATE", true},
    {CKA_TOKEN, "CKA_TOKEN", true},
    {CKA_SIGN, "CKA_SIGN", true},
    {CKA_DECRYPT, "CKA_DECRYPT", false},
    {CKA_UNWRAP, "CKA_UNWRAP", false},
    {CKA_DERIVE, "CKA_DERIVE", false},
}};

// The public half can only verify and is readable without login (it is published as a JWK);
// the private half can only sign and never leaves the token.
void FillKeyPairTemplates(const std::string& label, AttributeTemplate& public_template,
                          AttributeTemplate& private_template) {
  auto id = ObjectIdForLabel(label);
  public_template.Ulong(CKA_CLASS, CKO_PUBLIC_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_EC)
      .Bytes(CKA_EC_PARAMS, kP256Oid)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, false)
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_VERIFY, true)
      .Bool(CKA_ENCRYPT, false)
      .Bool(CKA_WRAP, false)
      .Bool(CKA_DERIVE, false)
      .Text(CKA_LABEL, label)
      .Bytes(CKA_ID, id);
  private_template.Ulong(CKA_CLASS, CKO_PRIVATE_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_EC)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true)
      .Bool(CKA_EXTRACTABLE, false)
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_SIGN, true)
      .Bool(CKA_DECRYPT, false)
      .Bool(CKA_UNWRAP, false)
      .Bool(CKA_DERIVE, false)
      .Text(CKA_LABEL, label)
      .Bytes(CKA_ID, id);
}

Status VerifyPrivateKey(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session,
                        CK_OBJECT_HANDLE key) {
  std::vector<CK_ATTRIBUTE_TYPE> types;
  for (const ExpectedFlag& flag : kExpectedPrivateKeyFlags) types.push_back(flag.type);
  WK_ASSIGN_OR_RETURN(std::vector<bool> flags, ReadBoolAttributes(functions, session, key, types));
  for (std::size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] != kExpectedPrivateKeyFlags[i].expected) {
      return Error(ErrorKind::kInternal, "hsm_key_template_mismatch",
                   std::string("new EC private key has ") + kExpectedPrivateKeyFlags[i].name +
                       (flags[i] ? " TRUE" : " FALSE"));
    }
  }
  return OkStatus();
}

Result<std::array<std::uint8_t, 32>> Sha256(std::span<const std::uint8_t> message) {
  std::array<std::uint8_t, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(message.data(), message.size(), digest.data(), &size, EVP_sha256(), nullptr) !=
          1 ||
      size != digest.size()) {
    return Error(ErrorKind::kInternal, "openssl_error", "SHA-256 failed");
  }
  return digest;
}

}  // namespace

Status Hsm::CreateEcSigningKey(const std::string& label) {
  std::lock_guard create_lock(create_mutex_);
  return Run([&](const Call& call) -> Status {
    WK_RETURN_IF_ERROR(CheckLabelFree(call, label));

    AttributeTemplate public_template;
    AttributeTemplate private_template;
    FillKeyPairTemplates(label, public_template, private_template);
    CK_MECHANISM mechanism{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
    CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
    CK_RV rv = call.functions->C_GenerateKeyPair(
        call.session, &mechanism, public_template.data(), public_template.size(),
        private_template.data(), private_template.size(), &public_key, &private_key);
    if (rv != CKR_OK) return ToError(rv, "C_GenerateKeyPair");

    Status verified = VerifyPrivateKey(call.functions, call.session, private_key);
    if (!verified.ok()) {
      call.functions->C_DestroyObject(call.session, private_key);
      call.functions->C_DestroyObject(call.session, public_key);
      return verified;
    }
    std::unique_lock lock(handles_mutex_);
    handles_[HandleKey(label, CKO_PRIVATE_KEY)] = private_key;
    handles_[HandleKey(label, CKO_PUBLIC_KEY)] = public_key;
    return OkStatus();
  });
}

Result<std::vector<std::uint8_t>> Hsm::SignEcdsaSha256(const std::string& label,
                                                       std::span<const std::uint8_t> message) {
  WK_ASSIGN_OR_RETURN(auto digest, Sha256(message));
  std::vector<std::uint8_t> signature;
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    return WithHandle(call, label, CKO_PRIVATE_KEY, [&](CK_OBJECT_HANDLE key) -> Status {
      CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
      CK_RV rv = call.functions->C_SignInit(call.session, &mechanism, key);
      if (rv != CKR_OK) return ToError(rv, "C_SignInit");

      signature.assign(kP256SignatureBytes, 0);
      CK_ULONG size = signature.size();
      rv = call.functions->C_Sign(call.session, digest.data(), digest.size(), signature.data(),
                                  &size);
      if (rv != CKR_OK) return ToError(rv, "C_Sign");
      if (size != kP256SignatureBytes) {
        return Error(ErrorKind::kInternal, "hsm_error",
                     "C_Sign returned " + std::to_string(size) + " bytes for P-256");
      }
      return OkStatus();
    });
  }));
  return signature;
}

Result<std::vector<std::uint8_t>> Hsm::EcPublicKeyDer(const std::string& label) {
  std::vector<std::uint8_t> ec_point;
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    return WithHandle(call, label, CKO_PUBLIC_KEY, [&](CK_OBJECT_HANDLE key) -> Status {
      WK_ASSIGN_OR_RETURN(ec_point,
                          ReadBytesAttribute(call.functions, call.session, key, CKA_EC_POINT));
      return OkStatus();
    });
  }));
  WK_ASSIGN_OR_RETURN(auto point, EcPointFromAttribute(ec_point));
  return P256SpkiFromPoint(point);
}

}  // namespace weftkit::pkcs11

// Hsm: AES-256 master key versions and AES-256-GCM inside the token.
#include <algorithm>
#include <array>
#include <string_view>

#include "pkcs11/attributes.h"
#include "pkcs11/hsm.h"
#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {
namespace {

constexpr CK_ULONG kAesKeyBytes = 32;
constexpr std::size_t kGcmIvBytes = 12;
constexpr std::size_t kGcmTagBytes = 16;

// What C_Decrypt reports when GCM authentication fails; SoftHSM 2.6 says CKR_GENERAL_ERROR.
constexpr std::array<CK_RV, 3> kDecryptFailures = {CKR_GENERAL_ERROR, CKR_ENCRYPTED_DATA_INVALID,
                                                   CKR_ENCRYPTED_DATA_LEN_RANGE};

// The DESIGN.md §1 template: every flag set explicitly, because module defaults differ
// (SoftHSM makes secret keys not sensitive unless told).
void FillAesKeyTemplate(const std::string& label, AttributeTemplate& key_template) {
  key_template.Ulong(CKA_CLASS, CKO_SECRET_KEY)
      .Ulong(CKA_KEY_TYPE, CKK_AES)
      .Ulong(CKA_VALUE_LEN, kAesKeyBytes)
      .Bool(CKA_TOKEN, true)
      .Bool(CKA_PRIVATE, true)
      .Bool(CKA_SENSITIVE, true)
      .Bool(CKA_EXTRACTABLE, false)
      .Bool(CKA_MODIFIABLE, false)
      .Bool(CKA_ENCRYPT, true)
      .Bool(CKA_DECRYPT, true)
      .Bool(CKA_WRAP, false)
      .Bool(CKA_UNWRAP, false)
      .Bool(CKA_SIGN, false)
      .Bool(CKA_VERIFY, false)
      .Bool(CKA_DERIVE, false)
      .Text(CKA_LABEL, label)
      .Bytes(CKA_ID, ObjectIdForLabel(label));
}

Status CheckGcmInput(std::span<const std::uint8_t> iv, std::span<const std::uint8_t> aad) {
  if (iv.size() != kGcmIvBytes) {
    return Error(ErrorKind::kInternal, "invalid_gcm_input",
                 "GCM IV must be 12 bytes, got " + std::to_string(iv.size()));
  }
  // SoftHSM 2.6 crashes on empty AAD, and our envelopes always bind key name and version.
  if (aad.empty()) {
    return Error(ErrorKind::kInternal, "invalid_gcm_input", "GCM AAD must not be empty");
  }
  return OkStatus();
}

// CK_GCM_PARAMS for a 96-bit IV and a 128-bit tag. The module only reads the buffers, but the
// PKCS#11 2.40 structure declares them non-const.
CK_GCM_PARAMS GcmParams(std::span<const std::uint8_t> iv, std::span<const std::uint8_t> aad) {
  CK_GCM_PARAMS params{};
  params.pIv = const_cast<CK_BYTE_PTR>(iv.data());
  params.ulIvLen = iv.size();
  params.ulIvBits = iv.size() * 8;
  params.pAAD = const_cast<CK_BYTE_PTR>(aad.data());
  params.ulAADLen = aad.size();
  params.ulTagBits = kGcmTagBytes * 8;
  return params;
}

// A non-null pointer for `bytes`, even when empty. SoftHSM answers a null input with
// CKR_ARGUMENTS_BAD before ending the operation, which would leave the pooled session with an
// operation still active and every later C_EncryptInit on it failing.
CK_BYTE_PTR NonNull(std::span<const std::uint8_t> bytes) {
  static CK_BYTE empty = 0;
  return bytes.empty() ? &empty : const_cast<CK_BYTE_PTR>(bytes.data());
}

bool IsDecryptFailure(CK_RV rv) {
  return std::find(kDecryptFailures.begin(), kDecryptFailures.end(), rv) != kDecryptFailures.end();
}

struct ExpectedAttribute {
  CK_ATTRIBUTE_TYPE type;
  const char* name;
  bool Hsm::AesKeyAttributes::*member;
  bool expected;
};

// The CK_BBOOL attributes of an AES key: where AesKeyAttributes keeps each, and the value the
// DESIGN.md §1 template gives it (ALWAYS_SENSITIVE and NEVER_EXTRACTABLE the token derives).
constexpr std::array<ExpectedAttribute, 14> kExpectedAesAttributes = {{
    {CKA_SENSITIVE, "CKA_SENSITIVE", &Hsm::AesKeyAttributes::sensitive, true},
    {CKA_EXTRACTABLE, "CKA_EXTRACTABLE", &Hsm::AesKeyAttributes::extractable, false},
    {CKA_ALWAYS_SENSITIVE, "CKA_ALWAYS_SENSITIVE", &Hsm::AesKeyAttributes::always_sensitive, true},
    {CKA_NEVER_EXTRACTABLE, "CKA_NEVER_EXTRACTABLE", &Hsm::AesKeyAttributes::never_extractable,
     true},
    {CKA_MODIFIABLE, "CKA_MODIFIABLE", &Hsm::AesKeyAttributes::modifiable, false},
    {CKA_PRIVATE, "CKA_PRIVATE", &Hsm::AesKeyAttributes::private_, true},
    {CKA_TOKEN, "CKA_TOKEN", &Hsm::AesKeyAttributes::token, true},
    {CKA_ENCRYPT, "CKA_ENCRYPT", &Hsm::AesKeyAttributes::encrypt, true},
    {CKA_DECRYPT, "CKA_DECRYPT", &Hsm::AesKeyAttributes::decrypt, true},
    {CKA_WRAP, "CKA_WRAP", &Hsm::AesKeyAttributes::wrap, false},
    {CKA_UNWRAP, "CKA_UNWRAP", &Hsm::AesKeyAttributes::unwrap, false},
    {CKA_SIGN, "CKA_SIGN", &Hsm::AesKeyAttributes::sign, false},
    {CKA_VERIFY, "CKA_VERIFY", &Hsm::AesKeyAttributes::verify, false},
    {CKA_DERIVE, "CKA_DERIVE", &Hsm::AesKeyAttributes::derive, false},
}};

}  // namespace

Status Hsm::CreateAesKey(const std::string& label) {
  std::lock_guard create_lock(create_mutex_);
  return Run([&](const Call& call) -> Status {
    WK_RETURN_IF_ERROR(CheckLabelFree(call, label));

    AttributeTemplate key_template;
    FillAesKeyTemplate(label, key_template);
    CK_MECHANISM mechanism{CKM_AES_KEY_GEN, nullptr, 0};
    CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
    CK_RV rv = call.functions->C_GenerateKey(call.session, &mechanism, key_template.data(),
                                             key_template.size(), &key);
    if (rv != CKR_OK) return ToError(rv, "C_GenerateKey");

    // A module may silently ignore template attributes; a key it weakened must not stay.
    // TODO(#8): if the connection drops between C_GenerateKey and this check, the key stays
    // unverified and unused (callers pick a fresh label per attempt) and the retry reports
    // hsm_label_exists; a sweep of unreferenced objects would remove it.
    Status verified = VerifyNewAesKey(call, key);
    if (!verified.ok()) {
      call.functions->C_DestroyObject(call.session, key);
      return verified;
    }
    std::unique_lock lock(handles_mutex_);
    handles_[HandleKey(label, CKO_SECRET_KEY)] = key;
    return OkStatus();
  });
}

Result<Hsm::AesKeyAttributes> Hsm::ReadAesAttributes(const Call& call, CK_OBJECT_HANDLE key) {
  std::vector<CK_ATTRIBUTE_TYPE> types;
  for (const ExpectedAttribute& attribute : kExpectedAesAttributes) types.push_back(attribute.type);
  WK_ASSIGN_OR_RETURN(std::vector<bool> flags,
                      ReadBoolAttributes(call.functions, call.session, key, types));
  AesKeyAttributes attributes;
  for (std::size_t i = 0; i < kExpectedAesAttributes.size(); ++i) {
    attributes.*(kExpectedAesAttributes[i].member) = flags[i];
  }
  WK_ASSIGN_OR_RETURN(attributes.value_len,
                      ReadUlongAttribute(call.functions, call.session, key, CKA_VALUE_LEN));
  return attributes;
}

Status Hsm::VerifyNewAesKey(const Call& call, CK_OBJECT_HANDLE key) {
  WK_ASSIGN_OR_RETURN(AesKeyAttributes attributes, ReadAesAttributes(call, key));
  for (const ExpectedAttribute& expected : kExpectedAesAttributes) {
    if (attributes.*(expected.member) != expected.expected) {
      return Error(ErrorKind::kInternal, "hsm_key_template_mismatch",
                   std::string("new AES key has ") + expected.name + " " +
                       (expected.expected ? "FALSE" : "TRUE"));
    }
  }
  if (attributes.value_len != kAesKeyBytes) {
    return Error(ErrorKind::kInternal, "hsm_key_template_mismatch",
                 "new AES key has CKA_VALUE_LEN " + std::to_string(attributes.value_len));
  }
  return OkStatus();
}

Result<Hsm::AesKeyAttributes> Hsm::ReadAesKeyAttributes(const std::string& label) {
  AesKeyAttributes attributes;
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    return WithHandle(call, label, CKO_SECRET_KEY, [&](CK_OBJECT_HANDLE key) -> Status {
      WK_ASSIGN_OR_RETURN(attributes, ReadAesAttributes(call, key));
      return OkStatus();
    });
  }));
  return attributes;
}

Result<std::vector<std::uint8_t>> Hsm::EncryptGcm(const std::string& label,
                                                  std::span<const std::uint8_t> iv,
                                                  std::span<const std::uint8_t> aad,
                                                  std::span<const std::uint8_t> plaintext) {
  WK_RETURN_IF_ERROR(CheckGcmInput(iv, aad));
  std::vector<std::uint8_t> ciphertext;
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    return WithHandle(call, label, CKO_SECRET_KEY, [&](CK_OBJECT_HANDLE key) -> Status {
      CK_GCM_PARAMS params = GcmParams(iv, aad);
      CK_MECHANISM mechanism{CKM_AES_GCM, &params, sizeof(params)};
      CK_RV rv = call.functions->C_EncryptInit(call.session, &mechanism, key);
      if (rv != CKR_OK) return ToError(rv, "C_EncryptInit");

      ciphertext.assign(plaintext.size() + kGcmTagBytes, 0);
      CK_ULONG size = ciphertext.size();
      rv = call.functions->C_Encrypt(call.session, NonNull(plaintext), plaintext.size(),
                                     ciphertext.data(), &size);
      if (rv != CKR_OK) return ToError(rv, "C_Encrypt");
      ciphertext.resize(size);
      return OkStatus();
    });
  }));
  return ciphertext;
}

Result<SecretBytes> Hsm::DecryptGcm(const std::string& label, std::span<const std::uint8_t> iv,
                                    std::span<const std::uint8_t> aad,
                                    std::span<const std::uint8_t> ciphertext_and_tag) {
  WK_RETURN_IF_ERROR(CheckGcmInput(iv, aad));
  if (ciphertext_and_tag.size() < kGcmTagBytes) {
    return Error(ErrorKind::kDataLoss, "decrypt_failed", "GCM ciphertext shorter than its tag");
  }
  // SoftHSM wants room for the whole input; the plaintext is written straight into secure
  // memory and the unused tail is wiped by Truncate.
  SecretBytes plaintext(ciphertext_and_tag.size());
  WK_RETURN_IF_ERROR(Run([&](const Call& call) -> Status {
    return WithHandle(call, label, CKO_SECRET_KEY, [&](CK_OBJECT_HANDLE key) -> Status {
      CK_GCM_PARAMS params = GcmParams(iv, aad);
      CK_MECHANISM mechanism{CKM_AES_GCM, &params, sizeof(params)};
      CK_RV rv = call.functions->C_DecryptInit(call.session, &mechanism, key);
      if (rv != CKR_OK) return ToError(rv, "C_DecryptInit");

      CK_ULONG size = plaintext.size();
      rv = call.functions->C_Decrypt(
          call.session, const_cast<CK_BYTE_PTR>(ciphertext_and_tag.data()),
          ciphertext_and_tag.size(), plaintext.expose_mutable().data(), &size);
      if (IsDecryptFailure(rv)) {
        return Error(ErrorKind::kDataLoss, "decrypt_failed",
                     std::string("C_Decrypt failed: ") + ReturnCodeName(rv) +
                         " (GCM tag did not verify: wrong key, IV or AAD, or altered data)");
      }
      if (rv != CKR_OK) return ToError(rv, "C_Decrypt");
      plaintext.Truncate(size);
      return OkStatus();
    });
  }));
  return plaintext;
}

}  // namespace weftkit::pkcs11

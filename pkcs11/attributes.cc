#include "pkcs11/attributes.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

#include "pkcs11/return_codes.h"

namespace weftkit::pkcs11 {
namespace {

// Ends a find operation when the search leaves scope, on every path.
class FindOperation {
 public:
  FindOperation(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session)
      : functions_(functions), session_(session) {}
  FindOperation(const FindOperation&) = delete;
  FindOperation& operator=(const FindOperation&) = delete;
  ~FindOperation() { functions_->C_FindObjectsFinal(session_); }

 private:
  CK_FUNCTION_LIST_PTR functions_;
  CK_SESSION_HANDLE session_;
};

}  // namespace

AttributeTemplate& AttributeTemplate::Bool(CK_ATTRIBUTE_TYPE type, bool value) {
  CK_BBOOL flag = value ? CK_TRUE : CK_FALSE;
  return Add(type, &flag, sizeof(flag));
}

AttributeTemplate& AttributeTemplate::Ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value) {
  return Add(type, &value, sizeof(value));
}

AttributeTemplate& AttributeTemplate::Bytes(CK_ATTRIBUTE_TYPE type,
                                            std::span<const std::uint8_t> value) {
  return Add(type, value.data(), value.size());
}

AttributeTemplate& AttributeTemplate::Text(CK_ATTRIBUTE_TYPE type, std::string_view value) {
  return Add(type, value.data(), value.size());
}

AttributeTemplate& AttributeTemplate::Add(CK_ATTRIBUTE_TYPE type, const void* value,
                                          std::size_t size) {
  std::vector<std::uint8_t>& stored = values_.emplace_back(size);
  if (size != 0) std::memcpy(stored.data(), value, size);
  attributes_.push_back(CK_ATTRIBUTE{type, stored.data(), static_cast<CK_ULONG>(size)});
  return *this;
}

std::array<std::uint8_t, 16> ObjectIdForLabel(std::string_view label) {
  std::array<std::uint8_t, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(label.data()), label.size(), digest.data());
  std::array<std::uint8_t, 16> id{};
  std::copy_n(digest.begin(), id.size(), id.begin());
  return id;
}

Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST_PTR functions,
                                                  CK_SESSION_HANDLE session,
                                                  AttributeTemplate& search,
                                                  std::size_t max_objects) {
  CK_RV rv = functions->C_FindObjectsInit(session, search.data(), search.size());
  if (rv != CKR_OK) return ToError(rv, "C_FindObjectsInit");
  FindOperation operation(functions, session);

  std::vector<CK_OBJECT_HANDLE> found(max_objects);
  CK_ULONG count = 0;
  rv = functions->C_FindObjects(session, found.data(), found.size(), &count);
  if (rv != CKR_OK) return ToError(rv, "C_FindObjects");
  found.resize(count);
  return found;
}

Result<std::vector<bool>> ReadBoolAttributes(CK_FUNCTION_LIST_PTR functions,
                                             CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                             std::span<const CK_ATTRIBUTE_TYPE> types) {
  std::vector<CK_BBOOL> values(types.size(), CK_FALSE);
  std::vector<CK_ATTRIBUTE> attributes;
  for (std::size_t i = 0; i < types.size(); ++i) {
    attributes.push_back(CK_ATTRIBUTE{types[i], &values[i], sizeof(CK_BBOOL)});
  }
  CK_RV rv = functions->C_GetAttributeValue(session, object, attributes.data(), attributes.size());
  if (rv != CKR_OK) return ToError(rv, "C_GetAttributeValue");
  return std::vector<bool>(values.begin(), values.end());
}

Result<CK_ULONG> ReadUlongAttribute(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session,
                                    CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  CK_ULONG value = 0;
  CK_ATTRIBUTE attribute{type, &value, sizeof(value)};
  CK_RV rv = functions->C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK) return ToError(rv, "C_GetAttributeValue");
  return value;
}

Result<std::vector<std::uint8_t>> ReadBytesAttribute(CK_FUNCTION_LIST_PTR functions,
                                                     CK_SESSION_HANDLE session,
                                                     CK_OBJECT_HANDLE object,
                                                     CK_ATTRIBUTE_TYPE type) {
  CK_ATTRIBUTE attribute{type, nullptr, 0};
  CK_RV rv = functions->C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK) return ToError(rv, "C_GetAttributeValue");

  std::vector<std::uint8_t> value(attribute.ulValueLen);
  attribute.pValue = value.data();
  rv = functions->C_GetAttributeValue(session, object, &attribute, 1);
  if (rv != CKR_OK) return ToError(rv, "C_GetAttributeValue");
  value.resize(attribute.ulValueLen);
  return value;
}

}  // namespace weftkit::pkcs11

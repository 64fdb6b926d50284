// Attribute templates and object searches: the two ways this module talks about objects.
//
// AttributeTemplate owns the values its CK_ATTRIBUTE entries point at, so a template can be
// built step by step and handed to C_GenerateKey or C_FindObjectsInit without dangling
// pointers. Thread safety: a template is not synchronised; the free functions are thread-safe
// as long as each session is used by one thread at a time (SessionPool guarantees that).
#pragma once

#include <p11-kit/pkcs11.h>

#include <array>
#include <cstdint>
#include <deque>
#include <span>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace weftkit::pkcs11 {

class AttributeTemplate {
 public:
  AttributeTemplate() = default;
  // Entries point into this object's storage; a copy would point into the original.
  AttributeTemplate(const AttributeTemplate&) = delete;
  AttributeTemplate& operator=(const AttributeTemplate&) = delete;

  AttributeTemplate& Bool(CK_ATTRIBUTE_TYPE type, bool value);
  AttributeTemplate& Ulong(CK_ATTRIBUTE_TYPE type, CK_ULONG value);
  AttributeTemplate& Bytes(CK_ATTRIBUTE_TYPE type, std::span<const std::uint8_t> value);
  AttributeTemplate& Text(CK_ATTRIBUTE_TYPE type, std::string_view value);

  CK_ATTRIBUTE_PTR data() { return attributes_.data(); }
  CK_ULONG size() const { return attributes_.size(); }

 private:
  AttributeTemplate& Add(CK_ATTRIBUTE_TYPE type, const void* value, std::size_t size);

  std::deque<std::vector<std::uint8_t>> values_;  // deque: element addresses never move
  std::vector<CK_ATTRIBUTE> attributes_;
};

// A stable CKA_ID for `label`: the first 16 bytes of its SHA-256. Tools that select objects by
// id (pkcs11-tool, libp11 URIs) then see one id per label, shared by both halves of a key pair.
std::array<std::uint8_t, 16> ObjectIdForLabel(std::string_view label);

// Handles of up to `max_objects` objects matching `search`. Runs C_FindObjectsInit,
// C_FindObjects and always C_FindObjectsFinal, so the session is free for the next operation
// whatever happens.
Result<std::vector<CK_OBJECT_HANDLE>> FindObjects(CK_FUNCTION_LIST_PTR functions,
                                                  CK_SESSION_HANDLE session,
                                                  AttributeTemplate& search,
                                                  std::size_t max_objects);

// The CK_BBOOL attributes `types` of `object`, in the same order, read with one call.
Result<std::vector<bool>> ReadBoolAttributes(CK_FUNCTION_LIST_PTR functions,
                                             CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object,
                                             std::span<const CK_ATTRIBUTE_TYPE> types);

// A CK_ULONG attribute (CKA_VALUE_LEN, CKA_CLASS, CKA_KEY_TYPE) of `object`.
Result<CK_ULONG> ReadUlongAttribute(CK_FUNCTION_LIST_PTR functions, CK_SESSION_HANDLE session,
                                    CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

// A variable-length attribute of `object` (e.g. CKA_EC_POINT), via the two-call size query.
Result<std::vector<std::uint8_t>> ReadBytesAttribute(CK_FUNCTION_LIST_PTR functions,
                                                     CK_SESSION_HANDLE session,
                                                     CK_OBJECT_HANDLE object,
                                                     CK_ATTRIBUTE_TYPE type);

}  // namespace weftkit::pkcs11

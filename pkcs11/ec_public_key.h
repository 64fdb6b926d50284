// Turning the public half of an HSM-held P-256 key into standard encodings.
//
// Thread-safe: pure functions over their arguments.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/error.h"

namespace weftkit::pkcs11 {

// DER of the P-256 curve OID (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of our signing keys.
inline constexpr std::uint8_t kP256Oid[] = {0x06, 0x08, 0x2A, 0x86, 0x48,
                                            0xCE, 0x3D, 0x03, 0x01, 0x07};

// The uncompressed point (0x04 || X || Y, 65 bytes) held in a CKA_EC_POINT value. PKCS#11 says
// the value is a DER OCTET STRING around the point, which SoftHSM follows; some modules return
// the bare point, which is accepted too. Anything else fails with kInternal "hsm_bad_ec_point".
Result<std::vector<std::uint8_t>> EcPointFromAttribute(std::span<const std::uint8_t> ec_point);

// A DER SubjectPublicKeyInfo for the P-256 `point` (uncompressed), built and validated by
// OpenSSL, so a point that is not on the curve fails with kInternal "hsm_bad_ec_point".
Result<std::vector<std::uint8_t>> P256SpkiFromPoint(std::span<const std::uint8_t> point);

}  // namespace weftkit::pkcs11

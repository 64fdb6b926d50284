#include "server/peer_certificate.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <memory>

#include "server/hex.h"

namespace weftkit::server {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};

Result<std::string> SubjectRfc2253(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) {
    return Error(ErrorKind::kInternal, "peer_subject_unreadable", "X509_NAME_print_ex failed");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size > 0 ? static_cast<std::size_t>(size) : 0);
}

std::string AsString(const ASN1_IA5STRING* value) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                     static_cast<std::size_t>(ASN1_STRING_length(value)));
}

void ReadSubjectAltNames(X509* cert, PeerCertificate& out) {
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_URI) out.uri_sans.push_back(AsString(name->d.uniformResourceIdentifier));
    if (name->type == GEN_DNS) out.dns_sans.push_back(AsString(name->d.dNSName));
  }
}

Result<std::string> SpkiSha256Hex(X509* cert) {
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  std::unique_ptr<unsigned char, OpensslFree> owned(der);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  if (length <= 0 || EVP_Digest(der, static_cast<std::size_t>(length), digest.data(),
                                &digest_length, EVP_sha256(), nullptr) != 1) {
    return Error(ErrorKind::kInternal, "peer_spki_unreadable", "cannot hash the peer's SPKI");
  }
  return LowerHex(std::span<const std::uint8_t>(digest.data(), digest_length));
}

}  // namespace

Result<PeerCertificate> DescribePeerCertificate(X509* cert) {
  PeerCertificate out;
  if (cert == nullptr) return out;
  out.present = true;
  WK_ASSIGN_OR_RETURN(out.subject, SubjectRfc2253(cert));
  ReadSubjectAltNames(cert, out);
  WK_ASSIGN_OR_RETURN(out.spki_sha256_hex, SpkiSha256Hex(cert));
  return out;
}

}  // namespace weftkit::server

// Who a client certificate names, end to end through the real kmsd over TLS 1.3: public-key
// pinning, the principal taken from the subject or from a DNS SAN instead of the SPIFFE URI, and
// a revocation list that shuts one certificate out while the rest of the PKI keeps working.
//
// Each test starts kmsd itself, because what it checks is decided by settings (and files) that
// must exist before kmsd starts; KmsdOptions::prepare derives them from the fresh PKI.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "test/integration/kmsd_test.h"

namespace weftkit::test {
namespace {

namespace fs = std::filesystem;

template <auto Free>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* pointer) const {
    Free(pointer);
  }
};
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY_free>>;
using CrlPtr = std::unique_ptr<X509_CRL, OpensslDeleter<X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, OpensslDeleter<X509_REVOKED_free>>;
using TimePtr = std::unique_ptr<ASN1_TIME, OpensslDeleter<ASN1_TIME_free>>;
struct DerFree {
  void operator()(unsigned char* der) const { OPENSSL_free(der); }
};
using DerPtr = std::unique_ptr<unsigned char, DerFree>;

// The principals the dev PKI's certificates name under each mapping. The subjects are the RFC
// 2253 renderings (most specific attribute first) of "/O=WeftKit/CN=...".
constexpr const char* kAdminSubject = "CN=first-admin,O=WeftKit";
constexpr const char* kEngineSubject = "CN=orders-engine,O=WeftKit";
constexpr const char* kDnsClient = "orders.engines.weftkit.dev";

Error SetupError(const std::string& what) {
  return Error(ErrorKind::kInternal, "test_setup_failed", what);
}

Result<X509Ptr> ReadCertificate(const fs::path& path) {
  BioPtr file(BIO_new_file(path.c_str(), "r"));
  X509Ptr cert(file ? PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return SetupError("cannot read certificate " + path.string());
  return cert;
}

Result<PkeyPtr> ReadPrivateKey(const fs::path& path) {
  BioPtr file(BIO_new_file(path.c_str(), "r"));
  PkeyPtr key(file ? PEM_read_bio_PrivateKey(file.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return SetupError("cannot read private key " + path.string());
  return key;
}

// The pin kmsd expects for a certificate: SHA-256 of its DER SubjectPublicKeyInfo, lower-case
// hex. Computed here independently of the server's code.
Result<std::string> SpkiPin(const fs::path& cert_file) {
  WK_ASSIGN_OR_RETURN(X509Ptr cert, ReadCertificate(cert_file));
  unsigned char* der = nullptr;
  int length = i2d_PUBKEY(X509_get0_pubkey(cert.get()), &der);
  DerPtr owned(der);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  if (length <= 0 || EVP_Digest(der, static_cast<std::size_t>(length), digest.data(),
                                &digest_length, EVP_sha256(), nullptr) != 1) {
    return SetupError("cannot hash the public key of " + cert_file.string());
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < digest_length; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 0x0f];
  }
  return hex;
}

// Adds `cert`'s serial number to `crl`, revoked at `when`.
Status AddRevoked(X509_CRL* crl, X509* cert, ASN1_TIME* when) {
  RevokedPtr revoked(X509_REVOKED_new());
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), X509_get_serialNumber(cert)) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when) != 1 ||
      X509_CRL_add0_revoked(crl, revoked.get()) != 1) {
    return SetupError("cannot add a revoked entry");
  }
  revoked.release();  // now owned by `crl`
  return OkStatus();
}

// Writes to `out` a PEM CRL v2, issued and signed by the dev CA in `pki_dir`, valid from an
// hour ago for a day, that revokes the certificate `revoked_pem`.
Status WriteCrlRevoking(const fs::path& pki_dir, const std::string& revoked_pem,
                        const fs::path& out) {
  WK_ASSIGN_OR_RETURN(X509Ptr ca, ReadCertificate(pki_dir / "ca.pem"));
  WK_ASSIGN_OR_RETURN(PkeyPtr ca_key, ReadPrivateKey(pki_dir / "ca.key"));
  WK_ASSIGN_OR_RETURN(X509Ptr revoked, ReadCertificate(pki_dir / revoked_pem));
  std::time_t now = std::time(nullptr);
  TimePtr last_update(ASN1_TIME_set(nullptr, now - 3600));
  TimePtr next_update(ASN1_TIME_set(nullptr, now + 86400));
  CrlPtr crl(X509_CRL_new());
  if (!crl || !last_update || !next_update ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), last_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1) {
    return SetupError("cannot fill in the CRL");
  }
  WK_RETURN_IF_ERROR(AddRevoked(crl.get(), revoked.get(), last_update.get()));

  BioPtr file(BIO_new_file(out.c_str(), "w"));
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) <= 0 ||
      !file || PEM_write_bio_X509_CRL(file.get(), crl.get()) != 1) {
    return SetupError("cannot sign or write the CRL " + out.string());
  }
  return OkStatus();
}

class MtlsIdentityTest : public KmsdTest {
 protected:
  // Unlike KmsdTest, no kmsd yet: each test starts one with its own settings.
  void SetUp() override {}

  void StartKmsd(KmsdOptions options) {
    kmsd_ = KmsdProcess::Start(std::move(options));
    admin_ = kmsd_->Client("admin");
    ASSERT_NE(admin_, nullptr);
  }

  // Why a connection as `identity` that sends one request fails, "" if it does not. TLS 1.3
  // clients may finish their side of the handshake before the server has checked their
  // certificate; then the server's alert arrives on the first read.
  std::string RefusalOf(const std::string& identity) {
    ClientOptions options;
    options.ca_file = kmsd_->pki("ca.pem").string();
    options.cert_file = kmsd_->pki(identity + ".pem").string();
    options.key_file = kmsd_->pki(identity + ".key").string();
    auto client =
        HttpsClient::Connect("127.0.0.1", static_cast<std::uint16_t>(kmsd_->port()), options);
    if (!client.ok()) return client.error().ToString();
    Result<HttpResponse> sent = (*client)->Send("GET", "/healthz");
    return sent.ok() ? "" : sent.error().ToString();
  }

  void CreateKeyAsAdmin(const std::string& name) {
    HttpResponse created = Call(*admin_, "POST", "/v1/keys", {{"name", name}});
    ASSERT_EQ(created.status, 201) << created.body;
  }

  // GET `path` on a fresh connection as `identity`; fails the test if the connection fails.
  HttpResponse Get(const std::string& identity, const std::string& path) {
    std::unique_ptr<HttpsClient> client = kmsd_->Client(identity);
    EXPECT_NE(client, nullptr) << identity;
    return client ? Call(*client, "GET", path) : HttpResponse{};
  }
};

TEST_F(MtlsIdentityTest, PinnedSpki_AdmitsPinnedKeys_RefusesOthersWithNotPinned) {
  KmsdOptions options;
  options.prepare = [](KmsdOptions& self, const fs::path& pki) {
    Result<std::string> admin = SpkiPin(pki / "admin.pem");
    Result<std::string> officer = SpkiPin(pki / "officer.pem");
    ASSERT_TRUE(admin.ok() && officer.ok());
    self.settings["auth.pinned_spki_sha256"] = *admin + "," + *officer;
  };
  ASSERT_NO_FATAL_FAILURE(StartKmsd(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(Bind(kOfficer, "key-officer"));
  ASSERT_NO_FATAL_FAILURE(Bind(kEngine, "engine"));

  EXPECT_EQ(Get("officer", "/v1/keys").status, 200);
  // The engine's certificate is from the trusted CA and its binding exists: only the pin lacks.
  HttpResponse engine = Get("engine", "/v1/keys");
  EXPECT_EQ(engine.status, 401);
  EXPECT_EQ(Code(engine), "certificate_not_pinned");
}

TEST_F(MtlsIdentityTest, SubjectMapping_AuthorizesBySubject_IgnoresSpiffeBindings) {
  KmsdOptions options;
  options.settings["auth.principal_from"] = "subject";
  options.settings["auth.bootstrap_admin"] = kAdminSubject;
  ASSERT_NO_FATAL_FAILURE(StartKmsd(std::move(options)));

  // The built-in engine role's ${engine} matches SPIFFE engine ids only, hence a custom role.
  ASSERT_NO_FATAL_FAILURE(CreateKeyAsAdmin("orders"));
  nlohmann::json role = {
      {"name", "orders-reader"},
      {"permissions",
       {{{"effect", "allow"}, {"actions", {"key.read"}}, {"resources", {"key/orders"}}}}}};
  HttpResponse created = Call(*admin_, "POST", "/v1/roles", role);
  ASSERT_EQ(created.status, 201) << created.body;
  ASSERT_NO_FATAL_FAILURE(Bind(kEngineSubject, "orders-reader"));
  // Bound under its SPIFFE id, which this mapping never produces: it must not count.
  ASSERT_NO_FATAL_FAILURE(Bind(kOfficer, "key-officer"));

  HttpResponse engine = Get("engine", "/v1/keys/orders");
  EXPECT_EQ(engine.status, 200) << engine.body;
  EXPECT_EQ(Json(engine).value("name", ""), "orders");
  EXPECT_EQ(Get("officer", "/v1/keys/orders").status, 403);
}

TEST_F(MtlsIdentityTest, DnsMapping_RefusesCertificatesWithoutDnsSan_MapsTheDnsName) {
  KmsdOptions options;
  options.settings["auth.principal_from"] = "dns";
  options.settings["auth.bootstrap_admin"] = kDnsClient;
  ASSERT_NO_FATAL_FAILURE(StartKmsd(std::move(options)));

  for (const char* identity : {"admin", "officer", "engine"}) {
    HttpResponse refused = Get(identity, "/v1/keys");
    EXPECT_EQ(refused.status, 401) << identity;
    EXPECT_EQ(Code(refused), "certificate_identity") << identity;
  }

  // The certificate's one DNS name is the configured first administrator, so it may list.
  HttpResponse listed = Get("dnsclient", "/v1/principals");
  ASSERT_EQ(listed.status, 200) << listed.body;
  bool found = false;
  for (const nlohmann::json& principal : Json(listed).value("principals", nlohmann::json())) {
    found =
        found || (principal.value("id", "") == kDnsClient &&
                  principal.value("roles", nlohmann::json()) == nlohmann::json::array({"admin"}));
  }
  EXPECT_TRUE(found) << listed.body;
}

TEST_F(MtlsIdentityTest, RevokedCertificate_IsRefused_OthersStillServed) {
  KmsdOptions options;
  options.prepare = [](KmsdOptions& self, const fs::path& pki) {
    Status written = WriteCrlRevoking(pki, "engine.pem", pki / "revoked.crl");
    ASSERT_TRUE(written.ok()) << written.error().ToString();
    self.settings["tls.crl"] = "pki/revoked.crl";
  };
  ASSERT_NO_FATAL_FAILURE(StartKmsd(std::move(options)));
  ASSERT_NO_FATAL_FAILURE(Bind(kOfficer, "key-officer"));
  ASSERT_NO_FATAL_FAILURE(Bind(kEngine, "engine"));

  EXPECT_EQ(Get("officer", "/v1/keys").status, 200);
  std::string refusal = RefusalOf("engine");
  EXPECT_NE(refusal.find("certificate revoked"), std::string::npos) << refusal;

  // The server logs the failed handshake after its alert is on the wire: allow it a moment.
  bool logged = false;
  for (int attempt = 0; attempt < 50 && !logged; ++attempt) {
    logged = kmsd_->Log().find("tls_handshake_failed") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(logged);
}

}  // namespace
}  // namespace weftkit::test

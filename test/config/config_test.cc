// LoadConfig is where kmsd refuses to start insecurely or on a typo. These tests pin every
// default, every range, and that every refusal names the setting an operator has to fix.
#include "server/config.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "test/support/temp_dir.h"

namespace weftkit::server {
namespace {

namespace fs = std::filesystem;
using Sections = std::map<std::string, std::map<std::string, std::string>>;

void WriteFile(const fs::path& path, std::string_view content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  fs::permissions(path, static_cast<fs::perms>(mode), fs::perm_options::replace);
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A scratch tree per test:
//   <root>/etc/       the configuration directory: kmsd.conf, certificates, keys, PIN, module
//   <root>/state/     the state directory (mode 0700)
//   <root>/outside/   files that lie under neither root
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path made = weftkit::testing::MakeTempDir("weftkit-config");
    ASSERT_FALSE(made.empty());
    root_ = fs::canonical(made);
    etc_ = root_ / "etc";
    state_ = root_ / "state";
    outside_ = root_ / "outside";
    fs::create_directories(etc_);
    fs::create_directories(outside_);
    fs::create_directory(state_);
    fs::permissions(state_, fs::perms::owner_all, fs::perm_options::replace);
    WriteFile(etc_ / "server.pem", "certificate");
    WriteFile(etc_ / "server.key", "key", 0600);
    WriteFile(etc_ / "ca.pem", "ca");
    WriteFile(etc_ / "user.pin", "1234\n", 0600);
    WriteFile(etc_ / "module.so", "module", 0755);
    WriteFile(outside_ / "server.pem", "certificate");
    settings_ = {
        {"tls",
         {{"certificate", "server.pem"}, {"private_key", "server.key"}, {"client_ca", "ca.pem"}}},
        {"hsm", {{"module", "module.so"}, {"token_label", "test-token"}, {"pin_file", "user.pin"}}},
        {"state", {{"directory", "../state"}}},
    };
  }

  void TearDown() override { fs::remove_all(root_); }

  // Writes `text` as etc/kmsd.conf and loads it.
  Result<Config> LoadText(const std::string& text) {
    WriteFile(etc_ / "kmsd.conf", text);
    return LoadConfig(etc_ / "kmsd.conf", env_);
  }

  // Renders settings_ as a configuration file and loads it.
  Result<Config> Load() {
    std::string text;
    for (const auto& [section, keys] : settings_) {
      text += "[" + section + "]\n";
      for (const auto& [key, value] : keys) text += key + " = " + value + "\n";
    }
    return LoadText(text);
  }

  // Loads settings_ expecting success.
  Config MustLoad() {
    Result<Config> config = Load();
    EXPECT_TRUE(config.ok()) << config.error().ToString();
    return config.ok() ? std::move(config).value() : Config{};
  }

  // Expects settings_ to be refused with `code`, and the detail to name `setting`.
  std::string ExpectRefused(std::string_view code, std::string_view setting) {
    Result<Config> config = Load();
    if (config.ok()) {
      ADD_FAILURE() << "accepted, expected " << code << " naming " << setting;
      return {};
    }
    EXPECT_EQ(config.error().code(), code) << config.error().detail();
    EXPECT_NE(config.error().detail().find(setting), std::string::npos)
        << "detail does not name " << setting << ": " << config.error().detail();
    return config.error().detail();
  }

  void SetEnvironment(std::map<std::string, std::string> variables) {
    env_ = MapEnvironment(std::move(variables));
  }

  fs::path root_;
  fs::path etc_;
  fs::path state_;
  fs::path outside_;
  Sections settings_;
  MapEnvironment env_{{}};
};

// ---------------------------------------------------------------------------------------------
// Defaults and values.

TEST_F(ConfigTest, LoadConfig_AppliesEveryDefault_WhenOnlyRequiredSettingsAreGiven) {
  settings_.erase("state");  // the state directory defaults to the configuration directory
  Config config = MustLoad();

  EXPECT_EQ(config.file, etc_ / "kmsd.conf");
  EXPECT_EQ(config.directory, etc_);
  EXPECT_EQ(config.server.listen.host, "127.0.0.1");
  EXPECT_EQ(config.server.listen.port, 8443);
  EXPECT_EQ(config.server.io_threads, 2u);
  EXPECT_EQ(config.server.workers, 16u);
  EXPECT_EQ(config.server.queue_capacity, 1024u);
  EXPECT_EQ(config.server.max_connections, 10000u);
  EXPECT_EQ(config.server.max_header_bytes, 8192u);
  EXPECT_EQ(config.server.max_body_bytes, 1048576u);
  EXPECT_EQ(config.server.max_batch_items, 1000u);
  EXPECT_EQ(config.server.handshake_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(config.server.read_timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(config.server.idle_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(config.server.drain_timeout, std::chrono::milliseconds(10000));
  EXPECT_FALSE(config.server.port_file.has_value());
  EXPECT_FALSE(config.tls.crl.has_value());
  EXPECT_FALSE(config.hsm.token_serial.has_value());
  EXPECT_EQ(config.hsm.sessions, 16u);  // = server.workers
  EXPECT_EQ(config.store.path, etc_ / "kms.db");
  EXPECT_EQ(config.store.busy_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(config.state.directory, etc_);
  EXPECT_EQ(config.keys.auto_rotation_check, std::chrono::seconds(60));
  EXPECT_EQ(config.keys.max_encryptions_per_version, 1073741824u);
  EXPECT_EQ(config.keys.destruction_wait_min, std::chrono::seconds(86400));
  EXPECT_EQ(config.log.level, log::Level::kInfo);
}

TEST_F(ConfigTest, LoadConfig_ReadsEverySetting_WhenAllAreGiven) {
  WriteFile(etc_ / "ca2.pem", "ca2");
  WriteFile(state_ / "crl.pem", "crl");
  settings_["server"] = {
      {"listen", "[::1]:0"},         {"io_threads", "3"},         {"workers", "5"},
      {"queue_capacity", "7"},       {"max_connections", "11"},   {"max_header_bytes", "4096"},
      {"max_body_bytes", "2048"},    {"max_batch_items", "13"},   {"handshake_timeout_ms", "1500"},
      {"read_timeout_ms", "2500"},   {"idle_timeout_ms", "3500"}, {"drain_timeout_ms", "0"},
      {"port_file", "../state/port"}};
  settings_["tls"]["client_ca"] = "ca.pem, ca2.pem";
  settings_["tls"]["crl"] = "../state/crl.pem";
  settings_["tls"]["min_version"] = "1.3";
  settings_["hsm"]["sessions"] = "9";
  settings_["store"] = {{"path", "../state/keys.sqlite"}, {"busy_timeout_ms", "250"}};
  settings_["keys"] = {{"auto_rotation_check_s", "5"},
                       {"max_encryptions_per_version", "1000"},
                       {"destruction_wait_min_s", "1"}};
  settings_["log"] = {{"level", "debug"}};
  Config config = MustLoad();

  EXPECT_EQ(config.server.listen.host, "::1");
  EXPECT_EQ(config.server.listen.port, 0);
  EXPECT_EQ(config.server.listen.ToString(), "[::1]:0");
  EXPECT_EQ(config.server.io_threads, 3u);
  EXPECT_EQ(config.server.workers, 5u);
  EXPECT_EQ(config.server.queue_capacity, 7u);
  EXPECT_EQ(config.server.max_connections, 11u);
  EXPECT_EQ(config.server.max_header_bytes, 4096u);
  EXPECT_EQ(config.server.max_body_bytes, 2048u);
  EXPECT_EQ(config.server.max_batch_items, 13u);
  EXPECT_EQ(config.server.handshake_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(config.server.read_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(config.server.idle_timeout, std::chrono::milliseconds(3500));
  EXPECT_EQ(config.server.drain_timeout, std::chrono::milliseconds(0));
  EXPECT_EQ(config.server.port_file, state_ / "port");
  EXPECT_EQ(config.tls.certificate, etc_ / "server.pem");
  EXPECT_EQ(config.tls.private_key, etc_ / "server.key");
  EXPECT_EQ(config.tls.client_ca, (std::vector<fs::path>{etc_ / "ca.pem", etc_ / "ca2.pem"}));
  EXPECT_EQ(config.tls.crl, state_ / "crl.pem");
  EXPECT_EQ(config.hsm.module, etc_ / "module.so");
  EXPECT_EQ(config.hsm.token_label, "test-token");
  EXPECT_EQ(config.hsm.sessions, 9u);
  EXPECT_EQ(config.store.path, state_ / "keys.sqlite");
  EXPECT_EQ(config.store.busy_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(config.state.directory, state_);
  EXPECT_EQ(config.keys.auto_rotation_check, std::chrono::seconds(5));
  EXPECT_EQ(config.keys.max_encryptions_per_version, 1000u);
  EXPECT_EQ(config.keys.destruction_wait_min, std::chrono::seconds(1));
  EXPECT_EQ(config.log.level, log::Level::kDebug);
}

TEST_F(ConfigTest, LoadConfig_ResolvesRelativePaths_AgainstTheConfigDirectoryNotTheCwd) {
  fs::path previous = fs::current_path();
  fs::current_path(outside_);  // outside/ has its own server.pem, which must not be picked
  Result<Config> config = Load();
  fs::current_path(previous);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->tls.certificate, etc_ / "server.pem");
}

TEST_F(ConfigTest, LoadConfig_AcceptsEveryLogLevel) {
  const std::pair<const char*, log::Level> levels[] = {{"debug", log::Level::kDebug},
                                                       {"info", log::Level::kInfo},
                                                       {"warning", log::Level::kWarning},
                                                       {"error", log::Level::kError}};
  for (const auto& [name, level] : levels) {
    settings_["log"]["level"] = name;
    EXPECT_EQ(MustLoad().log.level, level) << name;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_UnknownLogLevel) {
  settings_["log"]["level"] = "verbose";
  ExpectRefused("config_invalid_value", "log.level");
}

// ---------------------------------------------------------------------------------------------
// Whole numbers: each is refused below its minimum, above its maximum and when not a number.

struct IntegerCase {
  const char* section;
  const char* key;
  const char* too_small;  // nullptr when the minimum is 0
  const char* too_large;
};

// Names the case in test output instead of dumping its bytes.
void PrintTo(const IntegerCase& c, std::ostream* out) { *out << c.section << "." << c.key; }

class ConfigIntegerTest : public ConfigTest, public ::testing::WithParamInterface<IntegerCase> {
 protected:
  void ExpectValueRefused(const char* value) {
    const IntegerCase& c = GetParam();
    settings_[c.section][c.key] = value;
    std::string detail =
        ExpectRefused("config_invalid_value", std::string(c.section) + "." + c.key);
    EXPECT_NE(detail.find("must be a whole number from"), std::string::npos) << detail;
  }
};

TEST_P(ConfigIntegerTest, LoadConfig_Fails_OutOfRange) {
  if (GetParam().too_small != nullptr) ExpectValueRefused(GetParam().too_small);
  ExpectValueRefused(GetParam().too_large);
}

TEST_P(ConfigIntegerTest, LoadConfig_Fails_NotAWholeNumber) {
  for (const char* value : {"-1", "+4", "4k", "0x10", "1.5", "99999999999999999999"}) {
    SCOPED_TRACE(value);
    ExpectValueRefused(value);
  }
}

INSTANTIATE_TEST_SUITE_P(
    EverySetting, ConfigIntegerTest,
    ::testing::Values(IntegerCase{"server", "io_threads", "0", "65"},
                      IntegerCase{"server", "workers", "0", "257"},
                      IntegerCase{"server", "queue_capacity", "0", "1048577"},
                      IntegerCase{"server", "max_connections", "0", "1000001"},
                      IntegerCase{"server", "max_header_bytes", "1023", "65537"},
                      IntegerCase{"server", "max_body_bytes", "1023", "67108865"},
                      IntegerCase{"server", "max_batch_items", "0", "100001"},
                      IntegerCase{"server", "handshake_timeout_ms", "99", "60001"},
                      IntegerCase{"server", "read_timeout_ms", "99", "600001"},
                      IntegerCase{"server", "idle_timeout_ms", "999", "3600001"},
                      IntegerCase{"server", "drain_timeout_ms", nullptr, "600001"},
                      IntegerCase{"hsm", "sessions", "0", "1025"},
                      IntegerCase{"store", "busy_timeout_ms", nullptr, "600001"},
                      IntegerCase{"keys", "auto_rotation_check_s", "0", "86401"},
                      IntegerCase{"keys", "max_encryptions_per_version", "0", "1073741825"},
                      IntegerCase{"keys", "destruction_wait_min_s", "0", "315360001"}),
    [](const ::testing::TestParamInfo<IntegerCase>& param_info) {
      return std::string(param_info.param.section) + "_" + param_info.param.key;
    });

TEST_F(ConfigTest, LoadConfig_AcceptsMaxEncryptions_AtTwoToThe30) {
  settings_["keys"]["max_encryptions_per_version"] = "1073741824";
  EXPECT_EQ(MustLoad().keys.max_encryptions_per_version, std::uint64_t{1} << 30);
}

TEST_F(ConfigTest, LoadConfig_Fails_MaxEncryptionsAboveTwoToThe30_CitingTheGcmBound) {
  settings_["keys"]["max_encryptions_per_version"] = "4294967296";
  std::string detail = ExpectRefused("config_invalid_value", "keys.max_encryptions_per_version");
  EXPECT_NE(detail.find("NIST SP 800-38D"), std::string::npos) << detail;
  EXPECT_NE(detail.find("2^32"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_ReadsAuthSettings) {
  std::string pin(64, 'a');
  settings_["auth"] = {{"principal_from", "dns"},
                       {"pinned_spki_sha256", pin + " , " + std::string(64, 'b')},
                       {"bootstrap_admin", "spiffe://weftkit.dev/admin/first"},
                       {"token_issuer", "https://kms.example"},
                       {"token_audience", "engines"},
                       {"token_lifetime_s", "60"},
                       {"scram_iterations", "4096"},
                       {"lockout_failures", "3"},
                       {"lockout_s", "10"}};
  Config config = MustLoad();
  EXPECT_EQ(config.auth.principal_from, PrincipalSource::kDnsSan);
  EXPECT_EQ(config.auth.pinned_spki_sha256, (std::vector<std::string>{pin, std::string(64, 'b')}));
  EXPECT_EQ(config.auth.bootstrap_admin, "spiffe://weftkit.dev/admin/first");
  EXPECT_EQ(config.auth.token_issuer, "https://kms.example");
  EXPECT_EQ(config.auth.token_audience, "engines");
  EXPECT_EQ(config.auth.token_lifetime, std::chrono::seconds(60));
  EXPECT_EQ(config.auth.scram_iterations, 4096u);
  EXPECT_EQ(config.auth.lockout_failures, 3u);
  EXPECT_EQ(config.auth.lockout, std::chrono::seconds(10));
}

TEST_F(ConfigTest, LoadConfig_Fails_BadAuthSettings_NamingThem) {
  const std::pair<const char*, const char*> cases[] = {
      {"principal_from", "email"},
      {"pinned_spki_sha256", "ABCDEF"},
      {"token_issuer", "http://kms.example"},
      {"scram_iterations", "1000"},
      {"token_lifetime_s", "86400"},
  };
  for (const auto& [key, value] : cases) {
    settings_["auth"] = {{key, value}};
    ExpectRefused("config_invalid_value", std::string("auth.") + key);
  }
}

TEST_F(ConfigTest, LoadConfig_AcceptsDestructionWaitOfOneSecond_ForTests) {
  settings_["keys"]["destruction_wait_min_s"] = "1";
  EXPECT_EQ(MustLoad().keys.destruction_wait_min, std::chrono::seconds(1));
}

// ---------------------------------------------------------------------------------------------
// [server]

TEST_F(ConfigTest, LoadConfig_AcceptsIpLiteralsAndPortZero) {
  const std::pair<const char*, const char*> cases[] = {{"0.0.0.0:0", "0.0.0.0:0"},
                                                       {"10.1.2.3:65535", "10.1.2.3:65535"},
                                                       {"[::]:8443", "[::]:8443"},
                                                       {"[fe80::1]:1", "[fe80::1]:1"}};
  for (const auto& [listen, printed] : cases) {
    settings_["server"]["listen"] = listen;
    EXPECT_EQ(MustLoad().server.listen.ToString(), printed);
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_ListenNotAnIpLiteralAndPort) {
  for (const char* listen :
       {"localhost:8443", "::1:8443", "[127.0.0.1]:1", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
        "127.0.0.1:-1", "1.2.3:80", "[::1]", ":8443"}) {
    SCOPED_TRACE(listen);
    settings_["server"]["listen"] = listen;
    ExpectRefused("config_invalid_value", "server.listen");
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_PortFileInMissingDirectory) {
  settings_["server"]["port_file"] = "../state/missing/port";
  ExpectRefused("config_file_missing", "server.port_file");
}

// ---------------------------------------------------------------------------------------------
// [tls]

TEST_F(ConfigTest, LoadConfig_Fails_TlsBelow13) {
  for (const char* version : {"1.2", "1.1", "1.0", "TLSv1.2", "1.4"}) {
    SCOPED_TRACE(version);
    settings_["tls"]["min_version"] = version;
    std::string detail = ExpectRefused("config_insecure", "tls.min_version");
    EXPECT_NE(detail.find("TLS below 1.3 is not supported"), std::string::npos) << detail;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_NoOffSwitchForTlsOrAuthentication) {
  const std::pair<const char*, const char*> switches[] = {{"server", "auth"},
                                                          {"tls", "enabled"},
                                                          {"server", "tls"},
                                                          {"auth", "enabled"},
                                                          {"auth", "require_client_cert"},
                                                          {"tls", "verify_client"}};
  for (const auto& [section, key] : switches) {
    Sections saved = settings_;
    settings_[section][key] = "off";
    std::string detail = ExpectRefused("config_unknown_setting", std::string(section) + "." + key);
    EXPECT_NE(detail.find("no setting that turns TLS or client authentication off"),
              std::string::npos)
        << detail;
    settings_ = saved;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_MissingCertificate) {
  settings_["tls"].erase("certificate");
  ExpectRefused("config_missing_setting", "tls.certificate");
}

TEST_F(ConfigTest, LoadConfig_Fails_CertificateFileMissing) {
  settings_["tls"]["certificate"] = "nope.pem";
  std::string detail = ExpectRefused("config_file_missing", "tls.certificate");
  EXPECT_NE(detail.find((etc_ / "nope.pem").string()), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_Fails_CertificateIsADirectory) {
  settings_["tls"]["certificate"] = ".";
  ExpectRefused("config_file_missing", "tls.certificate");
}

TEST_F(ConfigTest, LoadConfig_Fails_BothPrivateKeyAndKeyUri) {
  settings_["tls"]["private_key_uri"] = "pkcs11:token=t;object=k";
  ExpectRefused("config_conflicting_settings", "tls.private_key_uri");
}

TEST_F(ConfigTest, LoadConfig_Fails_NeitherPrivateKeyNorKeyUri) {
  settings_["tls"].erase("private_key");
  std::string detail = ExpectRefused("config_conflicting_settings", "tls.private_key");
  EXPECT_NE(detail.find("neither is set"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_AcceptsPrivateKeyUri) {
  settings_["tls"].erase("private_key");
  settings_["tls"]["private_key_uri"] = "pkcs11:token=weftkit-dev;object=kmsd-tls;type=private";
  Config config = MustLoad();
  EXPECT_EQ(config.tls.private_key_uri, "pkcs11:token=weftkit-dev;object=kmsd-tls;type=private");
  EXPECT_FALSE(config.tls.private_key.has_value());
}

TEST_F(ConfigTest, LoadConfig_Fails_MalformedPrivateKeyUri) {
  settings_["tls"].erase("private_key");
  for (const char* uri :
       {"file:server.key", "pkcs11:token=t", "pkcs11:object=k;bogus=1", "pkcs11:object=k;object=j",
        "pkcs11:object=%zz", "pkcs11:object=k;", "pkcs11:object=k?module-path=/tmp/x.so"}) {
    SCOPED_TRACE(uri);
    settings_["tls"]["private_key_uri"] = uri;
    ExpectRefused("config_invalid_value", "tls.private_key_uri");
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_PinInsidePrivateKeyUri_WithoutEchoingIt) {
  settings_["tls"].erase("private_key");
  for (const char* uri : {"pkcs11:object=k?pin-value=1234", "pkcs11:object=k;pin-value=1234"}) {
    SCOPED_TRACE(uri);
    settings_["tls"]["private_key_uri"] = uri;
    std::string detail = ExpectRefused("config_secret_in_file", "tls.private_key_uri");
    EXPECT_EQ(detail.find("1234"), std::string::npos) << "the PIN leaked into: " << detail;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_PrivateKeyReadableByOthers) {
  fs::permissions(etc_ / "server.key", static_cast<fs::perms>(0644), fs::perm_options::replace);
  std::string detail = ExpectRefused("config_insecure", "tls.private_key");
  EXPECT_NE(detail.find("(mode 0644); chmod 600 it"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_ReadsSeveralClientCas) {
  WriteFile(etc_ / "ca2.pem", "ca2");
  settings_["tls"]["client_ca"] = "ca.pem,ca2.pem , ca.pem";
  EXPECT_EQ(MustLoad().tls.client_ca.size(), 3u);
}

TEST_F(ConfigTest, LoadConfig_Fails_ClientCaListWithEmptyOrMissingEntry) {
  for (const char* list : {"ca.pem,", "ca.pem,,ca.pem", " , ca.pem", "ca.pem, nope.pem"}) {
    SCOPED_TRACE(list);
    settings_["tls"]["client_ca"] = list;
    ExpectRefused(std::string_view(list).find("nope") != std::string_view::npos
                      ? "config_file_missing"
                      : "config_invalid_value",
                  "tls.client_ca");
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_MissingClientCa) {
  settings_["tls"].erase("client_ca");
  ExpectRefused("config_missing_setting", "tls.client_ca");
}

TEST_F(ConfigTest, LoadConfig_Fails_CrlFileMissing) {
  settings_["tls"]["crl"] = "crl.pem";
  ExpectRefused("config_file_missing", "tls.crl");
}

// ---------------------------------------------------------------------------------------------
// [hsm]

TEST_F(ConfigTest, LoadConfig_ReadsPinFromFile_StrippingOneNewline) {
  const std::pair<const char*, const char*> cases[] = {
      {"1234\n", "1234"}, {"1234", "1234"}, {"12 34\r\n", "12 34"}, {"abc\n\n", "abc\n"}};
  for (const auto& [content, pin] : cases) {
    WriteFile(etc_ / "user.pin", content, 0600);
    Config config = MustLoad();
    EXPECT_EQ(config.hsm.pin.expose_chars(), pin);
    EXPECT_EQ(config.hsm.pin_source, "file " + (etc_ / "user.pin").string());
  }
}

TEST_F(ConfigTest, LoadConfig_ReadsPinFromEnvironment) {
  settings_["hsm"].erase("pin_file");
  settings_["hsm"]["pin_env"] = "WEFTKIT_TEST_PIN";
  SetEnvironment({{"WEFTKIT_TEST_PIN", "9876"}});
  Config config = MustLoad();
  EXPECT_EQ(config.hsm.pin.expose_chars(), "9876");
  EXPECT_EQ(config.hsm.pin_source, "env WEFTKIT_TEST_PIN");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinEnvironmentVariableUnsetOrEmpty) {
  settings_["hsm"].erase("pin_file");
  settings_["hsm"]["pin_env"] = "WEFTKIT_TEST_PIN";
  ExpectRefused("config_pin_unavailable", "hsm.pin_env");
  SetEnvironment({{"WEFTKIT_TEST_PIN", ""}});
  ExpectRefused("config_pin_unavailable", "hsm.pin_env");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinEnvNotAVariableName) {
  settings_["hsm"].erase("pin_file");
  settings_["hsm"]["pin_env"] = "1234";
  SetEnvironment({{"1234", "x"}});
  ExpectRefused("config_invalid_value", "hsm.pin_env");
}

TEST(ProcessEnvironmentTest, Get_ReadsTheProcessEnvironment) {
  ::setenv("WEFTKIT_CONFIG_TEST_PIN", "4321", 1);
  ProcessEnvironment process;
  EXPECT_EQ(process.Get("WEFTKIT_CONFIG_TEST_PIN"), "4321");
  ::unsetenv("WEFTKIT_CONFIG_TEST_PIN");
  EXPECT_FALSE(process.Get("WEFTKIT_CONFIG_TEST_PIN").has_value());
}

TEST_F(ConfigTest, LoadConfig_Fails_BothPinFileAndPinEnv) {
  settings_["hsm"]["pin_env"] = "WEFTKIT_TEST_PIN";
  SetEnvironment({{"WEFTKIT_TEST_PIN", "9876"}});
  std::string detail = ExpectRefused("config_conflicting_settings", "hsm.pin_file");
  EXPECT_NE(detail.find("both are set"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_Fails_NoPinSource) {
  settings_["hsm"].erase("pin_file");
  ExpectRefused("config_conflicting_settings", "hsm.pin_env");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinWrittenInTheConfig) {
  for (const char* key : {"pin", "user_pin", "so_pin"}) {
    SCOPED_TRACE(key);
    Sections saved = settings_;
    settings_["hsm"][key] = "1234";
    std::string detail = ExpectRefused("config_secret_in_file", std::string("hsm.") + key);
    EXPECT_NE(detail.find("hsm.pin_file"), std::string::npos) << detail;
    EXPECT_NE(detail.find("hsm.pin_env"), std::string::npos) << detail;
    EXPECT_EQ(detail.find("1234"), std::string::npos) << "the PIN leaked into: " << detail;
    settings_ = saved;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileReadableByGroupOrOthers) {
  WriteFile(etc_ / "user.pin", "1234\n", 0644);
  std::string detail = ExpectRefused("config_insecure", "hsm.pin_file");
  EXPECT_NE(detail.find("hsm.pin_file is readable by group or others (mode 0644); chmod 600 it"),
            std::string::npos)
      << detail;
  EXPECT_EQ(detail.find("1234"), std::string::npos) << "the PIN leaked into: " << detail;
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileWritableByGroup) {
  WriteFile(etc_ / "user.pin", "1234\n", 0620);
  std::string detail = ExpectRefused("config_insecure", "hsm.pin_file");
  EXPECT_NE(detail.find("(mode 0620); chmod 600 it"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  ASSERT_EQ(::chown((etc_ / "user.pin").c_str(), 65534, 65534), 0);
  std::string detail = ExpectRefused("config_insecure", "hsm.pin_file");
  EXPECT_NE(detail.find("owned by uid 65534"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileEmpty) {
  WriteFile(etc_ / "user.pin", "\n", 0600);
  ExpectRefused("config_pin_unavailable", "hsm.pin_file");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileTooLarge) {
  WriteFile(etc_ / "user.pin", std::string(300, '1'), 0600);
  ExpectRefused("config_invalid_value", "hsm.pin_file");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileMissing) {
  fs::remove(etc_ / "user.pin");
  ExpectRefused("config_file_missing", "hsm.pin_file");
}

TEST_F(ConfigTest, LoadConfig_Fails_ModuleMissing) {
  settings_["hsm"]["module"] = "/nonexistent/libsofthsm2.so";
  ExpectRefused("config_file_missing", "hsm.module");
}

TEST_F(ConfigTest, LoadConfig_Fails_ModuleWritableByGroupOrOthers) {
  for (mode_t mode : {0775, 0757}) {
    fs::permissions(etc_ / "module.so", static_cast<fs::perms>(mode), fs::perm_options::replace);
    ExpectRefused("config_insecure", "hsm.module");
  }
}

TEST_F(ConfigTest, LoadConfig_AcceptsModuleOutsideTheRoots) {
  // The module is code the OS loads, typically from /usr/lib: it is not jailed, only checked.
  fs::rename(etc_ / "module.so", outside_ / "module.so");
  settings_["hsm"]["module"] = (outside_ / "module.so").string();
  EXPECT_EQ(MustLoad().hsm.module, outside_ / "module.so");
}

TEST_F(ConfigTest, LoadConfig_Fails_TokenLabelEmptyOrLongerThan32Bytes) {
  for (const std::string& label : {std::string("\"\""), std::string(33, 'a')}) {
    SCOPED_TRACE(label);
    settings_["hsm"]["token_label"] = label;
    ExpectRefused("config_invalid_value", "hsm.token_label");
  }
  settings_["hsm"]["token_label"] = std::string(32, 'a');
  EXPECT_EQ(MustLoad().hsm.token_label, std::string(32, 'a'));
}

TEST_F(ConfigTest, LoadConfig_ReadsTokenUri_WithLabelAndSerial) {
  settings_["hsm"].erase("token_label");
  settings_["hsm"]["token_uri"] = "pkcs11:token=weftkit%20dev;serial=0a1b2c";
  Config config = MustLoad();
  EXPECT_EQ(config.hsm.token_label, "weftkit dev");
  EXPECT_EQ(config.hsm.token_serial, "0a1b2c");
  EXPECT_EQ(config.hsm.token_uri, "pkcs11:token=weftkit%20dev;serial=0a1b2c");
}

TEST_F(ConfigTest, LoadConfig_Fails_TokenUriWithoutTokenOrNamingAnObject) {
  settings_["hsm"].erase("token_label");
  for (const char* uri : {"pkcs11:manufacturer=SoftHSM", "pkcs11:token=t;object=k",
                          "pkcs11:token=t;id=%01", "token=t", "pkcs11:"}) {
    SCOPED_TRACE(uri);
    settings_["hsm"]["token_uri"] = uri;
    ExpectRefused("config_invalid_value", "hsm.token_uri");
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_PinInsideTokenUri) {
  settings_["hsm"].erase("token_label");
  settings_["hsm"]["token_uri"] = "pkcs11:token=t?pin-source=file:/tmp/pin";
  ExpectRefused("config_secret_in_file", "hsm.token_uri");
}

TEST_F(ConfigTest, LoadConfig_Fails_BothTokenLabelAndTokenUri) {
  settings_["hsm"]["token_uri"] = "pkcs11:token=t";
  ExpectRefused("config_conflicting_settings", "hsm.token_uri");
}

TEST_F(ConfigTest, LoadConfig_DefaultsSessionsToWorkers) {
  settings_["server"]["workers"] = "12";
  EXPECT_EQ(MustLoad().hsm.sessions, 12u);
}

TEST_F(ConfigTest, LoadConfig_Fails_FewerSessionsThanWorkers) {
  settings_["server"]["workers"] = "8";
  settings_["hsm"]["sessions"] = "4";
  std::string detail = ExpectRefused("config_invalid_value", "hsm.sessions");
  EXPECT_NE(detail.find("server.workers"), std::string::npos) << detail;
}

// ---------------------------------------------------------------------------------------------
// [store] and [state], and the path jail.

TEST_F(ConfigTest, LoadConfig_DefaultsStorePathIntoTheStateDirectory) {
  EXPECT_EQ(MustLoad().store.path, state_ / "kms.db");
}

TEST_F(ConfigTest, LoadConfig_Fails_StoreDirectoryMissing) {
  settings_["store"]["path"] = "../state/db/kms.db";
  ExpectRefused("config_file_missing", "store.path");
}

TEST_F(ConfigTest, LoadConfig_Fails_StorePathIsADirectory) {
  settings_["store"]["path"] = "../state/";
  ExpectRefused("config_invalid_value", "store.path");
}

TEST_F(ConfigTest, LoadConfig_DefaultsTheAuditLogIntoItsOwnFileInTheStateDirectory) {
  Config config = MustLoad();
  EXPECT_EQ(config.audit.path, state_ / "audit.db");
  EXPECT_EQ(config.audit.max_batch_entries, 512u);
  EXPECT_EQ(config.audit.checkpoint_interval, std::chrono::seconds(300));
}

TEST_F(ConfigTest, LoadConfig_ReadsAuditSettings) {
  settings_["audit"]["path"] = "../state/log.sqlite";
  settings_["audit"]["max_batch_entries"] = "64";
  settings_["audit"]["checkpoint_interval_s"] = "30";
  Config config = MustLoad();
  EXPECT_EQ(config.audit.path, state_ / "log.sqlite");
  EXPECT_EQ(config.audit.max_batch_entries, 64u);
  EXPECT_EQ(config.audit.checkpoint_interval, std::chrono::seconds(30));
}

TEST_F(ConfigTest, LoadConfig_Fails_BadAuditSettings_NamingThem) {
  const std::pair<const char*, std::string> cases[] = {
      {"max_batch_entries", "0"},
      {"max_batch_entries", "100001"},
      {"checkpoint_interval_s", "0"},
      {"checkpoint_interval_s", "86401"},
  };
  for (const auto& [key, value] : cases) {
    SCOPED_TRACE(std::string(key) + "=" + value);
    Sections saved = settings_;
    settings_["audit"][key] = value;
    ExpectRefused("config_invalid_value", std::string("audit.") + key);
    settings_ = saved;
  }
}

TEST_F(ConfigTest, LoadConfig_LeavesRetentionOffByDefault) {
  Config config = MustLoad();
  EXPECT_FALSE(config.audit.archive_directory.has_value());
  EXPECT_FALSE(config.audit.keep_days.has_value());
  EXPECT_FALSE(config.audit.keep_entries.has_value());
  EXPECT_EQ(config.audit.archive_interval, std::chrono::seconds(3600));
  EXPECT_EQ(config.audit.max_archive_entries, 100000u);
}

TEST_F(ConfigTest, LoadConfig_ReadsRetentionSettings) {
  std::filesystem::create_directory(state_ / "archive");
  settings_["audit"]["archive_directory"] = "../state/archive";
  settings_["audit"]["keep_days"] = "90";
  settings_["audit"]["keep_entries"] = "5000";
  settings_["audit"]["archive_interval_s"] = "60";
  settings_["audit"]["max_archive_entries"] = "1000";
  Config config = MustLoad();
  EXPECT_EQ(config.audit.archive_directory, state_ / "archive");
  EXPECT_EQ(config.audit.keep_days, 90u);
  EXPECT_EQ(config.audit.keep_entries, 5000u);
  EXPECT_EQ(config.audit.archive_interval, std::chrono::seconds(60));
  EXPECT_EQ(config.audit.max_archive_entries, 1000u);
}

TEST_F(ConfigTest, LoadConfig_Fails_RetentionHalfConfigured_NamingTheSetting) {
  std::filesystem::create_directory(state_ / "archive");
  Sections saved = settings_;
  settings_["audit"]["archive_directory"] = "../state/archive";
  ExpectRefused("config_missing_setting", "audit.archive_directory");
  settings_ = saved;
  settings_["audit"]["keep_entries"] = "10";
  ExpectRefused("config_missing_setting", "audit.keep_entries");
  settings_ = saved;
  settings_["audit"]["keep_days"] = "10";
  ExpectRefused("config_missing_setting", "audit.keep_days");
}

TEST_F(ConfigTest, LoadConfig_Fails_BadArchiveDirectory_NamingIt) {
  settings_["audit"]["keep_days"] = "10";
  settings_["audit"]["archive_directory"] = "../state/absent";
  ExpectRefused("config_file_missing", "audit.archive_directory");
  settings_["audit"]["archive_directory"] = "../outside";
  ExpectRefused("config_path_outside_roots", "audit.archive_directory");
  std::filesystem::create_directory(state_ / "open");
  std::filesystem::permissions(state_ / "open", std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  settings_["audit"]["archive_directory"] = "../state/open";
  ExpectRefused("config_insecure", "audit.archive_directory");
}

TEST_F(ConfigTest, LoadConfig_Fails_BadRetentionNumbers_NamingThem) {
  const std::pair<const char*, std::string> cases[] = {
      {"keep_days", "0"},           {"keep_days", "36501"},
      {"archive_interval_s", "0"},  {"archive_interval_s", "86401"},
      {"max_archive_entries", "0"}, {"keep_entries", "x"},
  };
  for (const auto& [key, value] : cases) {
    SCOPED_TRACE(std::string(key) + "=" + value);
    Sections saved = settings_;
    settings_["audit"][key] = value;
    ExpectRefused("config_invalid_value", std::string("audit.") + key);
    settings_ = saved;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_AuditPathIsTheStorePath) {
  settings_["audit"]["path"] = "../state/kms.db";
  ExpectRefused("config_invalid_value", "audit.path");
}

TEST_F(ConfigTest, LoadConfig_Fails_PathsOutsideBothRoots) {
  const std::pair<const char*, std::string> cases[] = {
      {"tls.certificate", "../outside/server.pem"},
      {"tls.certificate", (outside_ / "server.pem").string()},
      {"store.path", "../outside/kms.db"},
      {"store.path", (outside_ / "kms.db").string()},
      {"audit.path", "../outside/audit.db"},
      {"server.port_file", "../outside/port"},
  };
  for (const auto& [setting, value] : cases) {
    SCOPED_TRACE(value);
    Sections saved = settings_;
    std::string name(setting);
    settings_[name.substr(0, name.find('.'))][name.substr(name.find('.') + 1)] = value;
    ExpectRefused("config_path_outside_roots", setting);
    settings_ = saved;
  }
}

TEST_F(ConfigTest, LoadConfig_Fails_SymlinkLeadingOutsideTheRoots) {
  fs::create_symlink(outside_ / "server.pem", etc_ / "linked.pem");
  settings_["tls"]["certificate"] = "linked.pem";
  ExpectRefused("config_path_outside_roots", "tls.certificate");
}

TEST_F(ConfigTest, LoadConfig_Fails_PinFileSymlinkedFromOutside) {
  WriteFile(outside_ / "user.pin", "1234\n", 0600);
  fs::remove(etc_ / "user.pin");
  fs::create_symlink(outside_ / "user.pin", etc_ / "user.pin");
  ExpectRefused("config_path_outside_roots", "hsm.pin_file");
}

TEST_F(ConfigTest, LoadConfig_Fails_StateDirectoryMissing) {
  settings_["state"]["directory"] = "../nope";
  ExpectRefused("config_file_missing", "state.directory");
}

TEST_F(ConfigTest, LoadConfig_Fails_StateDirectoryWritableByOthers) {
  fs::permissions(state_, static_cast<fs::perms>(0777), fs::perm_options::replace);
  ExpectRefused("config_insecure", "state.directory");
}

// ---------------------------------------------------------------------------------------------
// Names and syntax.

TEST_F(ConfigTest, LoadConfig_Fails_UnknownKey_NamingLineAndSuggestion) {
  Result<Config> config = LoadText("[server]\nworkers = 4\nwokers = 4\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), "config_unknown_setting");
  EXPECT_NE(config.error().detail().find("kmsd.conf:3: server.wokers is not a setting"),
            std::string::npos)
      << config.error().detail();
  EXPECT_NE(config.error().detail().find("did you mean server.workers?"), std::string::npos)
      << config.error().detail();
}

TEST_F(ConfigTest, LoadConfig_Fails_KnownKeyInTheWrongSection) {
  settings_["tls"]["workers"] = "4";
  ExpectRefused("config_unknown_setting", "tls.workers");
}

TEST_F(ConfigTest, LoadConfig_Fails_UnknownSection) {
  settings_["serer"]["workers"] = "4";
  std::string detail = ExpectRefused("config_unknown_setting", "[serer]");
  EXPECT_NE(detail.find("did you mean server?"), std::string::npos) << detail;
}

TEST_F(ConfigTest, LoadConfig_ReportsTheFirstUnknownName_ByLine) {
  Result<Config> config = LoadText("[tls]\nzzz = 1\n[hsm]\naaa = 1\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail().find("kmsd.conf:2: tls.zzz"), std::string::npos)
      << config.error().detail();
}

TEST_F(ConfigTest, LoadConfig_Fails_DuplicateKey) {
  Result<Config> config = LoadText("[server]\nworkers = 4\nworkers = 8\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), "config_duplicate_setting");
  EXPECT_NE(config.error().detail().find("kmsd.conf:3: server.workers is set twice"),
            std::string::npos)
      << config.error().detail();
}

TEST_F(ConfigTest, LoadConfig_Fails_SyntaxError_NamingTheLine) {
  Result<Config> config = LoadText("[server]\n# fine\nworkers: 4\n");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), "config_syntax");
  EXPECT_NE(config.error().detail().find((etc_ / "kmsd.conf").string() + ":3: "), std::string::npos)
      << config.error().detail();
}

TEST_F(ConfigTest, LoadConfig_NamesTheLineOfABadValue) {
  Result<Config> config = LoadText("[server]\n\n\nio_threads = 0\n");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.error().detail().find("kmsd.conf:4: server.io_threads must be a whole number"),
            std::string::npos)
      << config.error().detail();
}

TEST_F(ConfigTest, LoadConfig_Fails_ConfigFileMissing) {
  Result<Config> config = LoadConfig(etc_ / "missing.conf", env_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), "config_unreadable");
  EXPECT_EQ(config.error().kind(), ErrorKind::kFailedPrecondition);
}

TEST_F(ConfigTest, LoadConfig_Fails_ConfigFileWritableByOthers) {
  WriteFile(etc_ / "kmsd.conf", "[log]\nlevel = info\n", 0666);
  Result<Config> config = LoadConfig(etc_ / "kmsd.conf", env_);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().code(), "config_insecure");
}

// ---------------------------------------------------------------------------------------------
// The shipped example and the documentation cover every setting, and the example loads.

// "section.key" for each `key = ...` line, commented out or not, in a configuration-like text.
// (Hand-written rather than std::regex, which trips GCC 12's maybe-uninitialized warning under
// the sanitizers.)
std::set<std::string> SettingsMentionedIn(const std::string& text) {
  constexpr std::string_view kNameCharacters = "abcdefghijklmnopqrstuvwxyz0123456789_";
  std::set<std::string> names;
  std::string section;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("[")) section = line.substr(1, line.find(']') - 1);
    std::string_view rest = line;
    if (rest.starts_with("#") || rest.starts_with(";")) rest.remove_prefix(1);
    rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
    std::size_t name_end = rest.find_first_not_of(kNameCharacters);
    if (name_end == 0 || name_end == std::string_view::npos) continue;
    std::string_view after = rest.substr(name_end);
    after.remove_prefix(std::min(after.find_first_not_of(' '), after.size()));
    if (after.starts_with("=")) names.insert(section + "." + std::string(rest.substr(0, name_end)));
  }
  return names;
}

TEST(ConfigDocumentationTest, ExampleConfig_MentionsEverySetting) {
  std::string text = ReadFile(fs::path(WEFTKIT_SOURCE_DIR) / "conf" / "kmsd.conf");
  ASSERT_FALSE(text.empty());
  std::set<std::string> mentioned = SettingsMentionedIn(text);
  for (const std::string& name : KnownSettings()) EXPECT_TRUE(mentioned.contains(name)) << name;
  std::vector<std::string> known = KnownSettings();
  for (const std::string& name : mentioned) {
    EXPECT_NE(std::find(known.begin(), known.end(), name), known.end())
        << "conf/kmsd.conf mentions " << name << ", which LoadConfig does not accept";
  }
}

TEST(ConfigDocumentationTest, ConfigurationDoc_DescribesEverySetting) {
  std::string text = ReadFile(fs::path(WEFTKIT_SOURCE_DIR) / "docs" / "configuration.md");
  ASSERT_FALSE(text.empty());
  for (const std::string& name : KnownSettings()) {
    EXPECT_NE(text.find("`" + name + "`"), std::string::npos) << name;
  }
}

TEST_F(ConfigTest, ExampleConfig_LoadsAsShipped) {
  const fs::path module = "/usr/lib/softhsm/libsofthsm2.so";
  if (!fs::exists(module)) GTEST_SKIP() << "SoftHSM is not installed at " << module;
  fs::create_directory(etc_ / "pki");
  WriteFile(etc_ / "pki" / "server.pem", "certificate");
  WriteFile(etc_ / "pki" / "server.key", "key", 0600);
  WriteFile(etc_ / "pki" / "ca.pem", "ca");
  WriteFile(etc_ / "kmsd.conf", ReadFile(fs::path(WEFTKIT_SOURCE_DIR) / "conf" / "kmsd.conf"));
  Result<Config> config = LoadConfig(etc_ / "kmsd.conf", env_);
  ASSERT_TRUE(config.ok()) << config.error().ToString();
  EXPECT_EQ(config->hsm.module, fs::canonical(module));
  EXPECT_EQ(config->store.path, etc_ / "kms.db");
}

}  // namespace
}  // namespace weftkit::server

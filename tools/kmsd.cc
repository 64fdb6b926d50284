// kmsd: the WeftKit KMS daemon.
//
//   kmsd --config FILE
//
// Loads and validates the configuration, locks secret memory, opens the HSM token and the
// SQLite store, and serves the HTTPS API until SIGTERM or SIGINT, then drains requests in flight
// and exits. Any bad or insecure setting stops start-up with a message naming the setting.
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/rbac_routes.h"
#include "api/request_authenticator.h"
#include "api/routes.h"
#include "api/scram_routes.h"
#include "api/token_routes.h"
#include "auth/builtin_roles.h"
#include "auth/rbac_service.h"
#include "auth/scram_bootstrap.h"
#include "auth/scram_server.h"
#include "auth/sqlite_password_store.h"
#include "auth/token_service.h"
#include "common/log.h"
#include "common/process_hardening.h"
#include "common/secret_bytes.h"
#include "common/time_util.h"
#include "kms/key_service.h"
#include "kms/sqlite_key_store.h"
#include "pkcs11/hsm.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/tls_context.h"
#include "server/worker_pool.h"
#include "store/database.h"

namespace weftkit {
namespace {

// The secure heap holds every SecretBytes: PINs, DEKs in flight, batch plaintexts.
constexpr std::size_t kSecureHeapBytes = 4u << 20;

// Runs periodic tasks on its own thread (never an I/O thread): scheduled key destructions,
// automatic rotations, signing-key retirement. A failing task is logged and tried next period.
class MaintenanceLoop {
 public:
  struct Task {
    const char* name;
    std::function<Status()> run;
  };

  MaintenanceLoop(std::chrono::seconds period, std::vector<Task> tasks)
      : period_(period), tasks_(std::move(tasks)), thread_([this] { Run(); }) {}
  ~MaintenanceLoop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

 private:
  void Run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      for (const Task& task : tasks_) {
        Status done = task.run();
        if (!done.ok()) {
          log::Warning("maintenance_failed", {{"task", task.name},
                                              {"code", done.error().code()},
                                              {"detail", done.error().detail()}});
        }
      }
      lock.lock();
    }
  }

  std::chrono::seconds period_;
  std::vector<Task> tasks_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

Result<std::unique_ptr<pkcs11::Hsm>> OpenHsm(const server::Config& config) {
  pkcs11::HsmConfig hsm;
  hsm.module_path = config.hsm.module.string();
  if (config.hsm.token_uri) {
    hsm.token_uri = *config.hsm.token_uri;
  } else {
    hsm.token_label = config.hsm.token_label.value_or("");
  }
  hsm.pin = config.hsm.pin.Clone();
  hsm.sessions = config.hsm.sessions;
  return pkcs11::Hsm::Open(std::move(hsm));
}

server::HttpServerSettings HttpSettings(const server::Config& config) {
  server::HttpServerSettings http;
  http.listen_address = config.server.listen.host;
  http.port = config.server.listen.port;
  http.io_threads = config.server.io_threads;
  http.max_connections = config.server.max_connections;
  http.max_header_bytes = config.server.max_header_bytes;
  http.max_body_bytes = config.server.max_body_bytes;
  http.handshake_timeout = config.server.handshake_timeout;
  http.read_timeout = config.server.read_timeout;
  http.idle_timeout = config.server.idle_timeout;
  http.drain_timeout = config.server.drain_timeout;
  http.tls.cert_file = config.tls.certificate.string();
  if (config.tls.private_key) http.tls.key_file = config.tls.private_key->string();
  if (config.tls.private_key_uri) {
    // The server's TLS key lives in the same token as the master keys.
    http.tls.key_uri = *config.tls.private_key_uri;
    http.tls.pkcs11_module_path = config.hsm.module.string();
    http.tls.pkcs11_pin = config.hsm.pin.Clone();
  }
  for (const auto& ca : config.tls.client_ca) http.tls.client_ca_files.push_back(ca.string());
  if (config.tls.crl) http.tls.crl_file = config.tls.crl->string();
  return http;
}

Status WritePortFile(const server::Config& config, int port) {
  if (!config.server.port_file) return OkStatus();
  std::ofstream out(*config.server.port_file, std::ios::trunc);
  out << port << "\n";
  if (!out.flush()) {
    return Error(ErrorKind::kUnavailable, "port_file",
                 "cannot write " + config.server.port_file->string());
  }
  return OkStatus();
}

// Everything kmsd serves from, opened in dependency order. Members are destroyed in reverse, so
// the services go before the store and the HSM they use.
struct Services {
  std::unique_ptr<pkcs11::Hsm> hsm;
  std::shared_ptr<store::Database> database;
  std::unique_ptr<kms::SqliteKeyStore> key_store;
  std::unique_ptr<kms::KeyService> keys;
  std::unique_ptr<auth::RbacService> rbac;
  std::unique_ptr<auth::TokenService> tokens;
  std::shared_ptr<auth::SqlitePasswordStore> passwords;
  std::unique_ptr<auth::ScramServer> scram;
};

Result<Services> OpenServices(const server::Config& config) {
  Services services;
  WK_ASSIGN_OR_RETURN(services.hsm, OpenHsm(config));
  log::Info("hsm_ready", {{"token", services.hsm->token_description()},
                          {"selected_by", config.hsm.token_uri.value_or("token_label")},
                          {"pin", config.hsm.pin_source}});

  store::OpenOptions store_options;
  store_options.busy_timeout = config.store.busy_timeout;
  WK_ASSIGN_OR_RETURN(services.database, store::Database::Open(config.store.path, store_options));
  WK_ASSIGN_OR_RETURN(services.key_store, kms::SqliteKeyStore::Open(services.database));

  kms::KeyServiceOptions key_options;
  key_options.max_encryptions_per_version = config.keys.max_encryptions_per_version;
  key_options.min_destruction_wait_s = config.keys.destruction_wait_min.count();
  WK_ASSIGN_OR_RETURN(services.keys,
                      kms::KeyService::Create(*services.hsm, *services.key_store, key_options));

  WK_ASSIGN_OR_RETURN(services.rbac, auth::RbacService::Open(services.database));
  auth::TokenPolicy token_policy;
  token_policy.issuer = config.auth.token_issuer;
  token_policy.audience = config.auth.token_audience;
  token_policy.max_lifetime_s = config.auth.token_lifetime.count();
  WK_ASSIGN_OR_RETURN(services.tokens,
                      auth::TokenService::Create(*services.hsm, services.database, token_policy));

  WK_ASSIGN_OR_RETURN(services.passwords, auth::SqlitePasswordStore::Open(services.database));
  auth::ScramServerOptions scram_options;
  scram_options.default_iterations = config.auth.scram_iterations;
  scram_options.throttle.max_failures = static_cast<int>(config.auth.lockout_failures);
  scram_options.throttle.lock_period = config.auth.lockout;
  WK_ASSIGN_OR_RETURN(services.scram, auth::ScramServer::Create(services.passwords, scram_options));
  return services;
}

// A fresh installation gets its first administrators: the configured certificate identity, and
// the SCRAM user "admin" with a one-time password printed once on stdout (never to the log).
Status BootstrapAdministrators(const server::Config& config, Services& services) {
  if (config.auth.bootstrap_admin) {
    WK_RETURN_IF_ERROR(services.rbac->EnsureBootstrapAdmin(*config.auth.bootstrap_admin));
  }
  WK_ASSIGN_OR_RETURN(
      std::optional<SecretBytes> password,
      auth::CreateBootstrapCredential(*services.passwords, config.auth.scram_iterations));
  if (!password) return OkStatus();

  std::string principal = api::ScramPrincipal(auth::kBootstrapUser);
  SecurityContext system({"kmsd", AuthMethod::kNone, {}, "bootstrap", "", UnixNow()});
  WK_RETURN_IF_ERROR(services.rbac->CreatePrincipal(
      system, {principal, auth::PrincipalKind::kPerson, "first administrator", UnixNow(), false}));
  WK_RETURN_IF_ERROR(services.rbac->AddBinding(system, {principal, auth::kAdminRole}));
  std::string_view shown = password->expose_chars();
  std::fprintf(stdout,
               "\nFirst administrator: user '%s', one-time password %.*s\n"
               "It is shown only now; the first login with it may only set a new password.\n\n",
               auth::kBootstrapUser, static_cast<int>(shown.size()), shown.data());
  std::fflush(stdout);
  log::Info("bootstrap_admin_created", {{"principal", principal}});
  return OkStatus();
}

void RegisterAllRoutes(server::Router& router, const server::Config& config, Services& services,
                       server::Metrics& metrics, server::RateLimits& limits,
                       const api::Authorizer& authorize) {
  Services* s = &services;
  api::ApiDependencies deps{
      .keys = *services.keys,
      .authorize = authorize,
      .check_ready = [s]() -> Status {
        WK_RETURN_IF_ERROR(s->hsm->Probe());
        return s->database->Ping();
      },
      .metrics = metrics,
      .max_batch_items = config.server.max_batch_items,
      .rate_limits = &limits,
  };
  api::RegisterRoutes(router, deps);
  api::RegisterRbacRoutes(router, *services.rbac);
  api::RegisterTokenRoutes(router, *services.tokens, authorize);

  std::string audience = config.auth.token_audience;
  std::int64_t lifetime = config.auth.token_lifetime.count();
  api::ScramRouteDependencies scram{
      .scram = *services.scram,
      .passwords = *services.passwords,
      .issue_token = [s, audience, lifetime](const std::string& principal,
                                             bool password_change_only) -> Result<std::string> {
        auth::TokenScope scope =
            password_change_only ? auth::TokenScope::kPasswordChange : auth::TokenScope::kFull;
        WK_ASSIGN_OR_RETURN(
            auth::IssuedToken issued,
            s->tokens->Issue(principal, audience, lifetime, AuthMethod::kScram, scope));
        return std::string(issued.access_token.expose_chars());
      },
      .token_lifetime_seconds = lifetime,
      .authorize = authorize,
      .default_iterations = config.auth.scram_iterations,
  };
  // The dependencies are copied into the routes' closures, so this local may go.
  api::RegisterScramRoutes(router, scram);
}

api::AuthenticatorOptions AuthenticatorSettings(const server::Config& config) {
  api::AuthenticatorOptions options;
  switch (config.auth.principal_from) {
    case server::PrincipalSource::kSpiffe:
      options.certificate_identity = api::CertificateIdentity::kSpiffeUri;
      break;
    case server::PrincipalSource::kDnsSan:
      options.certificate_identity = api::CertificateIdentity::kDnsSan;
      break;
    case server::PrincipalSource::kSubject:
      options.certificate_identity = api::CertificateIdentity::kSubject;
      break;
  }
  options.pinned_spki_sha256 = config.auth.pinned_spki_sha256;
  return options;
}

Status Serve(const server::Config& config) {
  WK_ASSIGN_OR_RETURN(Services services, OpenServices(config));
  WK_RETURN_IF_ERROR(BootstrapAdministrators(config, services));

  auth::RbacService* rbac = services.rbac.get();
  api::Authorizer authorize = [rbac](const SecurityContext& context, std::string_view action,
                                     std::string_view resource) {
    return rbac->Authorize(context, action, resource);
  };
  api::RequestAuthenticator authenticator(*services.rbac, *services.tokens,
                                          AuthenticatorSettings(config));

  server::Metrics metrics;
  WK_ASSIGN_OR_RETURN(auto limits, server::RateLimits::Create(config.limits, metrics));
  WK_ASSIGN_OR_RETURN(auto workers, server::WorkerPool::Create(config.server.workers,
                                                               config.server.queue_capacity));
  server::Router router;
  RegisterAllRoutes(router, config, services, metrics, *limits, authorize);

  WK_ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(
                                     HttpSettings(config), router,
                                     [&authenticator](const server::Request& request) {
                                       return authenticator.Authenticate(request);
                                     },
                                     *workers, metrics, limits.get()));
  WK_RETURN_IF_ERROR(http->Start());
  WK_RETURN_IF_ERROR(WritePortFile(config, http->port()));
  server::ListenAddress bound = config.server.listen;
  bound.port = http->port();
  log::Info("kmsd_started", {{"listen", bound.ToString()}, {"store", config.store.path.string()}});

  {
    kms::KeyService* keys = services.keys.get();
    auth::TokenService* tokens = services.tokens.get();
    MaintenanceLoop maintenance(
        config.keys.auto_rotation_check,
        {{"keys",
          [keys]() -> Status {
            WK_ASSIGN_OR_RETURN(int changes, keys->RunMaintenance());
            if (changes > 0)
              log::Info("key_maintenance_done", {{"changes", std::to_string(changes)}});
            return OkStatus();
          }},
         {"signing_keys", [tokens] { return tokens->Maintain(); }}});
    http->RunUntilSignal();
  }
  workers->Stop();
  log::Info("kmsd_stopped");
  return OkStatus();
}

// Says in the log what protects the secrets: an operator (and the hygiene test) can see that the
// process is not dumpable, writes no core and holds its secure heap in locked memory.
void LogProcessHardening() {
  ProcessHardening state = DescribeProcessHardening();
  log::Info("process_hardened", {{"dumpable", state.dumpable ? "1" : "0"},
                                 {"core_limit", LimitText(state.core_limit)},
                                 {"memlock_limit", LimitText(state.memlock_limit)},
                                 {"secure_heap_bytes", std::to_string(kSecureHeapBytes)},
                                 {"secure_heap_used", std::to_string(state.secure_heap_used)},
                                 {"locked_bytes", std::to_string(state.locked_bytes)}});
}

void PrintUsage() {
  std::fprintf(stderr, "usage: kmsd --config FILE\n\nSee docs/configuration.md.\n");
}

}  // namespace
}  // namespace weftkit

int main(int argc, char** argv) {
  using namespace weftkit;
  if (argc != 3 || std::strcmp(argv[1], "--config") != 0) {
    PrintUsage();
    return 2;
  }
  // Lock secret memory and make the process non-dumpable before any secret is read.
  Status secured = InitSecureMemory(kSecureHeapBytes);
  if (!secured.ok()) {
    std::fprintf(stderr, "kmsd: %s\n", secured.error().ToString().c_str());
    return 1;
  }
  Result<server::Config> config = server::LoadConfig(argv[2], server::ProcessEnvironment());
  if (!config.ok()) {
    std::fprintf(stderr, "kmsd: configuration refused: %s\n", config.error().detail().c_str());
    return 2;
  }
  log::SetLevel(config->log.level);
  LogProcessHardening();
  // The PIN is in secure memory now; children of this process must not inherit it.
  if (config->hsm.pin_env) ::unsetenv(config->hsm.pin_env->c_str());
  Status served = Serve(*config);
  if (!served.ok()) {
    log::Error("kmsd_failed",
               {{"code", served.error().code()}, {"detail", served.error().detail()}});
    return 1;
  }
  return 0;
}

// kmsd: the WeftKit KMS daemon.
//
//   kmsd --config FILE
//
// Loads and validates the configuration, locks secret memory, opens the HSM token and the
// SQLite store, and serves the HTTPS API until SIGTERM or SIGINT, then drains requests in flight
// and exits. Any bad or insecure setting stops start-up with a message naming the setting.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/audit_export_routes.h"
#include "api/audit_routes.h"
#include "api/policy_routes.h"
#include "api/rbac_routes.h"
#include "api/request_authenticator.h"
#include "api/routes.h"
#include "api/scram_routes.h"
#include "api/token_routes.h"
#include "audit/audit_archiver.h"
#include "audit/audit_log.h"
#include "audit/checkpoint_signer.h"
#include "audit/checkpointer.h"
#include "audit/sqlite_audit_store.h"
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
#include "policy_store/policy_service.h"
#include "server/change_notifier.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/request_audit.h"
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
  http.max_parked_requests = config.server.max_parked_requests;
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
  // Wakes long polls on a scope when a bundle is published there; outlives the policy service.
  std::unique_ptr<server::ChangeNotifier> policy_changes;
  std::unique_ptr<policy_store::PolicyService> policies;
  // Declared last, so destroyed first: by then the HTTP server that records into it is gone,
  // and the HSM its checkpoint signer uses is still there.
  std::unique_ptr<audit::AuditLog> audit_log;
  std::unique_ptr<audit::CheckpointSigner> audit_signer;
  std::unique_ptr<audit::Checkpointer> checkpointer;
  std::unique_ptr<audit::AuditArchiver> archiver;  // null unless retention is configured
};

// The audit log in its own database file, its checkpoint key in the HSM.
Status OpenAudit(const server::Config& config, Services& services) {
  store::OpenOptions options;
  options.busy_timeout = config.store.busy_timeout;
  WK_ASSIGN_OR_RETURN(auto audit_store, audit::SqliteAuditStore::Open(config.audit.path, options));
  audit::AuditLogOptions log_options;
  log_options.max_batch = config.audit.max_batch_entries;
  WK_ASSIGN_OR_RETURN(services.audit_log,
                      audit::AuditLog::Open(std::move(audit_store), log_options));
  WK_ASSIGN_OR_RETURN(services.audit_signer,
                      audit::CheckpointSigner::Open(*services.hsm, services.audit_log->store()));
  services.checkpointer =
      std::make_unique<audit::Checkpointer>(*services.audit_log, *services.audit_signer);
  if (!config.audit.archive_directory) return OkStatus();
  audit::RetentionOptions retention;
  retention.directory = *config.audit.archive_directory;
  if (config.audit.keep_days) retention.keep_for = std::chrono::hours(24) * *config.audit.keep_days;
  retention.keep_entries = config.audit.keep_entries;
  retention.max_entries_per_archive = config.audit.max_archive_entries;
  WK_ASSIGN_OR_RETURN(services.archiver,
                      audit::AuditArchiver::Create(*services.audit_log, std::move(retention)));
  return OkStatus();
}

Status ArchiveNow(audit::AuditArchiver& archiver) {
  Result<std::vector<audit::ArchiveRecord>> written = archiver.RunOnce(UnixNow() * 1000);
  return written.ok() ? OkStatus() : written.error();
}

Status CheckpointNow(audit::Checkpointer& checkpointer) {
  Result<audit::Checkpoint> checkpoint = checkpointer.CreateNow();
  return checkpoint.ok() ? OkStatus() : checkpoint.error();
}

// An entry for something kmsd does on its own, not for a request: start, stop, maintenance.
Status RecordLifecycle(audit::AuditLog& log, const char* action,
                       const std::string& resource = "server") {
  audit::AuditEntry entry;
  entry.time_ms = UnixNow() * 1000;
  entry.principal = "kmsd";
  entry.auth_method = "none";
  entry.action = action;
  entry.resource = resource;
  entry.outcome = "success";
  return log.Record(std::move(entry)).ok() ? OkStatus()
                                           : Error(ErrorKind::kUnavailable, "audit_unavailable",
                                                   std::string("cannot record ") + action);
}

// One entry per version the maintenance task rotated or destroyed, as a request would have left;
// `rule` says why kmsd did it.
Status RecordMaintenance(audit::AuditLog& log, const kms::MaintenanceChange& change) {
  bool rotated = change.kind == kms::MaintenanceChange::Kind::kRotated;
  audit::AuditEntry entry;
  entry.time_ms = UnixNow() * 1000;
  entry.principal = "kmsd";
  entry.auth_method = "none";
  entry.action = rotated ? "key.rotate" : "key.destroy";
  entry.resource = "key/" + change.key_name;
  entry.key_name = change.key_name;
  entry.key_version = change.version;
  entry.rule = std::string("maintenance:") + change.reason;
  entry.outcome = "success";
  if (log.Record(std::move(entry)).ok()) return OkStatus();
  return Error(ErrorKind::kUnavailable, "audit_unavailable",
               "cannot record the maintenance of key " + change.key_name);
}

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

  services.policy_changes = std::make_unique<server::ChangeNotifier>();
  policy_store::PolicyServiceOptions policy_options;
  policy_options.stale_after_s = config.policy.stale_after.count();
  policy_options.on_publish = [changes = services.policy_changes.get()](const std::string& scope) {
    changes->Notify(api::PolicyTopic(scope));
  };
  WK_ASSIGN_OR_RETURN(services.policies, policy_store::PolicyService::Open(
                                             *services.hsm, services.database, policy_options));
  WK_RETURN_IF_ERROR(OpenAudit(config, services));
  return services;
}

// A fresh installation gets its first administrators: the configured certificate identity, and
// the SCRAM user "admin" with a one-time password printed once on stdout (never to the log).
// Each one made is an administrative change without a request: it gets its own audit entry.
Status BootstrapAdministrators(const server::Config& config, Services& services) {
  if (config.auth.bootstrap_admin) {
    WK_ASSIGN_OR_RETURN(bool bound,
                        services.rbac->EnsureBootstrapAdmin(*config.auth.bootstrap_admin));
    if (bound) {
      WK_RETURN_IF_ERROR(RecordLifecycle(*services.audit_log, "rbac.bootstrap_admin",
                                         "principal/" + *config.auth.bootstrap_admin));
    }
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
  WK_RETURN_IF_ERROR(
      RecordLifecycle(*services.audit_log, "rbac.bootstrap_admin", "principal/" + principal));
  std::string_view shown = password->expose_chars();
  std::fprintf(stdout,
               "\nFirst administrator: user '%s', one-time password %.*s\n"
               "It is shown only now; the first login with it may only set a new password.\n\n",
               auth::kBootstrapUser, static_cast<int>(shown.size()), shown.data());
  std::fflush(stdout);
  log::Info("bootstrap_admin_created", {{"principal", principal}});
  return OkStatus();
}

// The policy scopes an access review lists permissions on. A store that cannot be read gives an
// empty list, logged: the review of keys and roles is still worth having.
std::vector<std::string> PolicyScopesForReview(Services& services) {
  Result<std::vector<std::string>> scopes = services.policies->Scopes();
  if (scopes.ok()) return *scopes;
  log::Warning("access_review_without_policy_scopes", {{"code", scopes.error().code()}});
  return {};
}

// Every published version of every policy scope, for the change history.
Result<std::vector<audit::compliance::PolicyChange>> PolicyChangesForHistory(Services& services) {
  constexpr std::int64_t kPage = 500;
  std::vector<audit::compliance::PolicyChange> changes;
  WK_ASSIGN_OR_RETURN(std::vector<std::string> scopes, services.policies->Scopes());
  for (const std::string& scope : scopes) {
    std::int64_t before = 0;  // History pages newest first; 0 starts at the newest
    while (true) {
      WK_ASSIGN_OR_RETURN(auto page, services.policies->History(scope, before, kPage));
      for (const policy_store::PolicyVersion& version : page) {
        std::optional<std::uint64_t> rolled_back_from;
        if (version.rolled_back_from) rolled_back_from = *version.rolled_back_from;
        changes.push_back({scope, static_cast<std::uint64_t>(version.version),
                           version.published_at * 1000, version.author, rolled_back_from});
      }
      if (static_cast<std::int64_t>(page.size()) < kPage || page.back().version <= 1) break;
      before = page.back().version;
    }
  }
  return changes;
}

// The audit log's SIEM export and live stream, and the compliance evidence (docs/siem.md,
// docs/compliance.md).
void RegisterAuditExportAndComplianceRoutes(server::Router& router, const server::Config& config,
                                            Services& services, const api::Authorizer& authorize) {
  api::AuditExportOptions options;
  // TODO(#5): a waiting stream holds a worker thread; leave at least half of them to the rest.
  options.max_waiting_streams = std::max<std::size_t>(1, config.server.workers / 2);
  api::RegisterAuditExportRoutes(router, *services.audit_log, authorize, options);

  Services* s = &services;
  api::RegisterComplianceRoutes(router,
                                {.reader = *services.audit_log,
                                 .rbac = *services.rbac,
                                 .keys = *services.keys,
                                 .authorize = authorize,
                                 .has_password = [s](const std::string& principal) -> Result<bool> {
                                   WK_ASSIGN_OR_RETURN(auto user, s->passwords->GetUser(principal));
                                   return user.has_value();
                                 },
                                 .policy_scopes = [s]() { return PolicyScopesForReview(*s); },
                                 .policy_changes = [s]() { return PolicyChangesForHistory(*s); },
                                 .scan_limits = {}});
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
        WK_RETURN_IF_ERROR(s->database->Ping());
        if (!s->audit_log->Healthy()) {
          return Error(ErrorKind::kUnavailable, "audit_unavailable", "the last audit write failed");
        }
        return s->audit_log->store().Ping();
      },
      .metrics = metrics,
      .max_batch_items = config.server.max_batch_items,
      .rate_limits = &limits,
  };
  api::RegisterRoutes(router, deps);
  api::RegisterRbacRoutes(router, *services.rbac);
  api::RegisterTokenRoutes(router, *services.tokens, authorize);
  api::RegisterPolicyRoutes(
      router, *services.policies, *services.policy_changes, authorize,
      {.max_wait = config.policy.max_wait, .max_history_page = config.policy.max_history_page});

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
  api::RegisterAuditRoutes(router, {.log = *services.audit_log,
                                    .checkpointer = *services.checkpointer,
                                    .signer = *services.audit_signer,
                                    .authorize = authorize});
  RegisterAuditExportAndComplianceRoutes(router, config, services, authorize);
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
  // Every decision is also noted for the audit entry of the request that asked.
  api::Authorizer authorize = [rbac](const SecurityContext& context, std::string_view action,
                                     std::string_view resource) -> Status {
    auth::Decision decision = rbac->Decide(context, action, resource);
    server::NoteAuthorization(action, resource, decision.allowed, decision.rule);
    if (decision.allowed) return OkStatus();
    return Error(ErrorKind::kPermissionDenied, "forbidden",
                 "principal '" + context.principal() + "' may not " + std::string(action) + " on " +
                     std::string(resource) + " (" + decision.rule + ")");
  };
  api::RequestAuthenticator authenticator(*services.rbac, *services.tokens,
                                          AuthenticatorSettings(config));

  server::Metrics metrics;
  WK_ASSIGN_OR_RETURN(auto limits, server::RateLimits::Create(config.limits, metrics));
  WK_ASSIGN_OR_RETURN(auto workers, server::WorkerPool::Create(config.server.workers,
                                                               config.server.queue_capacity));
  server::Router router;
  RegisterAllRoutes(router, config, services, metrics, *limits, authorize);

  server::HttpServerSettings http_settings = HttpSettings(config);
  http_settings.audit = services.audit_log.get();
  WK_RETURN_IF_ERROR(RecordLifecycle(*services.audit_log, "server.start"));
  WK_ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(
                                     std::move(http_settings), router,
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
    audit::AuditLog* audit_log = services.audit_log.get();
    MaintenanceLoop maintenance(
        config.keys.auto_rotation_check,
        {{"keys",
          [keys, audit_log]() -> Status {
            WK_ASSIGN_OR_RETURN(int changes,
                                keys->RunMaintenance([audit_log](const kms::MaintenanceChange& c) {
                                  return RecordMaintenance(*audit_log, c);
                                }));
            if (changes > 0)
              log::Info("key_maintenance_done", {{"changes", std::to_string(changes)}});
            return OkStatus();
          }},
         {"signing_keys", [tokens] { return tokens->Maintain(); }}});
    audit::Checkpointer* checkpointer = services.checkpointer.get();
    MaintenanceLoop audit_checkpoints(
        config.audit.checkpoint_interval,
        {{"audit_checkpoint", [checkpointer] { return CheckpointNow(*checkpointer); }}});
    std::optional<MaintenanceLoop> audit_retention;
    if (audit::AuditArchiver* archiver = services.archiver.get()) {
      audit_retention.emplace(config.audit.archive_interval,
                              std::vector<MaintenanceLoop::Task>{
                                  {"audit_archive", [archiver] { return ArchiveNow(*archiver); }}});
    }
    http->RunUntilSignal();
  }
  workers->Stop();
  // The last entry and a checkpoint that covers it, so that a stopped server's log ends signed.
  Status stopped = RecordLifecycle(*services.audit_log, "server.stop");
  if (stopped.ok()) stopped = CheckpointNow(*services.checkpointer);
  if (!stopped.ok())
    log::Error("audit_final_checkpoint_failed", {{"code", stopped.error().code()}});
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

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
#include <mutex>
#include <string>
#include <thread>

#include "api/mtls_authenticator.h"
#include "api/routes.h"
#include "common/log.h"
#include "common/secret_bytes.h"
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

// Runs KeyService::RunMaintenance every `period` on its own thread (never an I/O thread), for
// scheduled destructions and automatic rotations.
class MaintenanceLoop {
 public:
  MaintenanceLoop(kms::KeyService& keys, std::chrono::seconds period)
      : keys_(keys), period_(period), thread_([this] { Run(); }) {}
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
      Result<int> changes = keys_.RunMaintenance();
      if (!changes.ok()) {
        log::Warning("maintenance_failed", {{"code", changes.error().code()},
                                            {"detail", changes.error().detail()}});
      } else if (*changes > 0) {
        log::Info("maintenance_done", {{"changes", std::to_string(*changes)}});
      }
      lock.lock();
    }
  }

  kms::KeyService& keys_;
  std::chrono::seconds period_;
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

Status Serve(const server::Config& config) {
  WK_ASSIGN_OR_RETURN(auto hsm, OpenHsm(config));
  log::Info("hsm_ready", {{"token", hsm->token_description()},
                          {"selected_by", config.hsm.token_uri.value_or("token_label")},
                          {"pin", config.hsm.pin_source}});

  store::OpenOptions store_options;
  store_options.busy_timeout = config.store.busy_timeout;
  WK_ASSIGN_OR_RETURN(std::shared_ptr<store::Database> database,
                      store::Database::Open(config.store.path, store_options));
  WK_ASSIGN_OR_RETURN(auto key_store, kms::SqliteKeyStore::Open(database));

  kms::KeyServiceOptions key_options;
  key_options.max_encryptions_per_version = config.keys.max_encryptions_per_version;
  key_options.min_destruction_wait_s = config.keys.destruction_wait_min.count();
  WK_ASSIGN_OR_RETURN(auto keys, kms::KeyService::Create(*hsm, *key_store, key_options));

  server::Metrics metrics;
  WK_ASSIGN_OR_RETURN(auto workers, server::WorkerPool::Create(config.server.workers,
                                                               config.server.queue_capacity));
  server::Router router;
  api::ApiDependencies deps{
      .keys = *keys,
      .check_ready = [&hsm, &database]() -> Status {
        WK_RETURN_IF_ERROR(hsm->Probe());
        return database->Ping();
      },
      .metrics = metrics,
      .max_batch_items = config.server.max_batch_items,
  };
  api::RegisterRoutes(router, deps);

  WK_ASSIGN_OR_RETURN(auto http, server::HttpServer::Create(HttpSettings(config), router,
                                                            api::AuthenticateRequest, *workers,
                                                            metrics));
  WK_RETURN_IF_ERROR(http->Start());
  WK_RETURN_IF_ERROR(WritePortFile(config, http->port()));
  server::ListenAddress bound = config.server.listen;
  bound.port = http->port();
  log::Info("kmsd_started", {{"listen", bound.ToString()},
                             {"store", config.store.path.string()}});

  {
    MaintenanceLoop maintenance(*keys, config.keys.auto_rotation_check);
    http->RunUntilSignal();
  }
  workers->Stop();
  log::Info("kmsd_stopped");
  return OkStatus();
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
  // The PIN is in secure memory now; children of this process must not inherit it.
  if (config->hsm.pin_env) ::unsetenv(config->hsm.pin_env->c_str());
  Status served = Serve(*config);
  if (!served.ok()) {
    log::Error("kmsd_failed", {{"code", served.error().code()},
                               {"detail", served.error().detail()}});
    return 1;
  }
  return 0;
}

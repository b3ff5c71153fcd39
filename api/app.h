// App: the composition root of `keel serve`. Opens the event log (embedded, or Kafka when
// brokers are given), the read-model store, the projectors, the command services and the HTTP
// server, and takes them down in the order that loses nothing.
//
// Data directory: log/ (embedded log), readmodel*/ (RocksDB generations, the live one named in
// readmodel.current), keel.lock (one process).
// Thread-safety: Start and Shutdown from one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/auth_service.h"
#include "api/oidc.h"
#include "domain/error.h"
#include "infra/log_file_io.h"

namespace keel {

struct AppConfig {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;  // 0: any free port
  std::string data_dir = "./data";
  std::string kafka_brokers;  // empty: the embedded log
  // Replicas of the Kafka topics Keel creates; 0: the smaller of 3 and the cluster's brokers.
  int kafka_replication_factor = 0;
  // The Kafka writer lease: a process that starts with it fences the one that held it.
  std::string kafka_transactional_id = "keel-writer";
  int partitions = 8;
  int http_threads = 2;
  bool fsync = true;
  // The embedded log's file calls; null: the system's (tests inject faults here).
  std::shared_ptr<LogFileIo> log_io;
  size_t max_body_bytes = 1 << 20;
  size_t max_ingest_bytes = 256 << 20;  // bulk ingestion bodies
  int max_read_wait_ms = 5000;  // bound on read-your-writes waits
  size_t max_connections = 1024;         // open HTTP connections; more are closed at once
  size_t max_requests_in_flight = 1024;  // requests in progress; more get 503
  size_t max_connections_per_address = 256;  // from one client address (not trusted proxies)
  std::string docs_dir;         // Swagger UI assets; empty: where scripts/setup puts them
  AuthConfig auth;              // sessions, dev mode, the first admin
  OidcConfig oidc;              // Google sign-in
  // Reverse proxies whose X-Forwarded-For names the client (client_address.h); empty: the
  // header is ignored and the peer is the client.
  std::string trusted_proxies;
  // The origins of Keel's own pages ("https://crm.example.com", comma-separated), which
  // state-changing requests signed in by the session cookie must come from (csrf_guard.h).
  // Empty: the origin of oidc.redirect_uri, or else the one the request's Host header names.
  std::string public_origins;
};

class HttpServer;
class EventLog;
class ReadStore;
class ProjectorRunner;

class App final {
 public:
  static Result<std::unique_ptr<App>> Start(const AppConfig& config);
  ~App();  // Shutdown()s
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  uint16_t port() const;
  // Refuses new commands, waits (bounded) for commands in flight, stops the server, lets the
  // projectors finish their batch and checkpoint, flushes, closes the log. Idempotent.
  void Shutdown();

  HttpServer& server();
  AuthService& auth();
  EventLog& log();
  ReadStore& store();
  ProjectorRunner& customer_projection();

  struct Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `keel replay`: rebuilds every read model from the start of the log into a new generation
// directory, makes it the live one (readmodel.current) and removes the old one. Takes the data
// directory's lock, so it refuses to run beside `keel serve` (which rebuilds online instead:
// POST /api/v1/admin/projections/:name/rebuild). `progress(done, total, seconds)` is called
// about ten times a second.
Status Replay(const AppConfig& config,
              const std::function<void(int64_t, int64_t, double)>& progress);

// Every table the projections of this build write, shared tables included.
std::vector<std::string> ReadModelTables();

}  // namespace keel

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

#include "api/app_config.h"
#include "api/auth_service.h"
#include "api/generations.h"
#include "domain/error.h"

namespace keel {

class HttpServer;
class EventLog;
class CommandService;
class LevelKeeper;
class ReferralKeeper;
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
  CommandService& commands();
  // The process manager that records loyalty standings (started when level_interval_ms > 0;
  // tests run its passes by hand).
  LevelKeeper& levels();
  // The process manager that credits referrals (always started).
  ReferralKeeper& referrals();
  ReadStore& store();
  ProjectorRunner& customer_projection();

  struct Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

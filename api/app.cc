#include "api/app.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "api/customer_service.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/routes.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "infra/rocks_store.h"
#include "projections/customer_projector.h"
#include "projections/projector_runner.h"

namespace keel {

std::vector<std::string> ReadModelTables() {
  std::vector<std::string> tables{std::string(kCheckpointsTable), std::string(kDeadLettersTable),
                                  std::string(kProjectionMetaTable)};
  for (auto& t : CustomerProjector().tables()) tables.push_back(t);
  return tables;
}

Result<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Fail(Error::Unavailable("Cannot create " + data_dir + ": " + ec.message()));
  const std::string path = data_dir + "/keel.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(Error::Unavailable("Cannot open " + path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Fail(Error::Unavailable("The data directory " + data_dir +
                                   " is in use by another keel process"));
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(fd));
}

DataDirLock::~DataDirLock() { ::close(fd_); }

namespace {
Result<std::unique_ptr<EventLog>> OpenLog(const AppConfig& config);
}  // namespace

struct App::Impl {
  AppConfig config;
  std::unique_ptr<DataDirLock> lock;
  SystemClock clock;
  std::unique_ptr<UuidV7Generator> ids;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<RocksStore> store;
  CustomerProjector customer_projector;
  std::unique_ptr<ProjectorRunner> customer_runner;
  std::unique_ptr<CustomerService> customers;
  std::atomic<bool> draining{false};
  Metrics metrics;
  std::unique_ptr<RouteContext> routes;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  bool stopped = false;
};

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() { Shutdown(); }

Result<std::unique_ptr<App>> App::Start(const AppConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return Fail(lock.error());
  impl->lock = std::move(*lock);
  impl->ids = std::make_unique<UuidV7Generator>(impl->clock, std::random_device()());

  auto log = OpenLog(config);
  if (!log) return Fail(log.error());
  impl->log = std::move(*log);
  auto store = RocksStore::Open(config.data_dir + "/readmodel", ReadModelTables());
  if (!store) return Fail(store.error());
  impl->store = std::move(*store);

  impl->customer_runner = std::make_unique<ProjectorRunner>(
      *impl->log, *impl->store, impl->customer_projector, ProjectorRunner::Options{});
  if (auto st = impl->customer_runner->Start(); !st) return Fail(st.error());

  impl->customers = std::make_unique<CustomerService>(*impl->log, impl->clock, *impl->ids);

  impl->routes = std::make_unique<RouteContext>(RouteContext{
      *impl->customers, *impl->store, *impl->customer_runner, *impl->ids, impl->clock,
      impl->metrics, config.max_read_wait_ms, impl->draining});
  impl->metrics.WatchProjection(impl->customer_runner.get());
  impl->metrics.WatchStoreMemory([store = impl->store.get()] { return store->ApproximateMemoryBytes(); });
  impl->server = std::make_unique<HttpServer>(HttpServer::Options{
      config.host, config.port, config.http_threads, config.max_body_bytes,
      [metrics = &impl->metrics](const std::string& method, const std::string& route, int status,
                                 double seconds) { metrics->Request(method, route, status, seconds); }});
  AddHealthRoutes(*impl->server, *impl->routes);
  AddCustomerRoutes(*impl->server, *impl->routes);
  AddAdminRoutes(*impl->server, *impl->routes);
  AddMetricsRoute(*impl->server, *impl->routes);
  AddDocsRoutes(*impl->server, config.docs_dir);
  std::string error;
  auto port = impl->server->Start(&error);
  if (!port) {
    return Fail(Error::Unavailable("Cannot listen on " + config.host + ":" +
                                   std::to_string(config.port) + ": " + error));
  }
  impl->port = *port;
  // Listening already, so that liveness answers while a long log is folded; commands get 503
  // and /ready says not ready until this is done.
  if (auto st = impl->customers->Load(); !st) return Fail(st.error());
  return std::unique_ptr<App>(new App(std::move(impl)));
}

namespace {

Result<std::unique_ptr<EventLog>> OpenLog(const AppConfig& config) {
  if (config.kafka_brokers.empty()) {
    auto log = EmbeddedLog::Open({.dir = config.data_dir + "/log",
                                  .partitions = config.partitions,
                                  .fsync = config.fsync});
    if (!log) return Fail(log.error());
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  auto log = KafkaLog::Open({.brokers = config.kafka_brokers, .partitions = config.partitions});
  if (!log) return Fail(log.error());
  return std::unique_ptr<EventLog>(std::move(*log));
}

}  // namespace

Status Replay(const AppConfig& config,
              const std::function<void(int64_t, int64_t, double)>& progress) {
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return Fail(lock.error());
  auto log = OpenLog(config);
  if (!log) return Fail(log.error());
  namespace fs = std::filesystem;
  const fs::path live = fs::path(config.data_dir) / "readmodel";
  const fs::path rebuild = fs::path(config.data_dir) / "readmodel.rebuild";
  const fs::path old = fs::path(config.data_dir) / "readmodel.old";
  std::error_code ec;
  fs::remove_all(rebuild, ec);
  fs::remove_all(old, ec);
  const auto started = std::chrono::steady_clock::now();
  {
    auto store = RocksStore::Open(rebuild.string(), ReadModelTables(), /*bulk_load=*/true);
    if (!store) return Fail(store.error());
    CustomerProjector customers;
    ProjectorRunner runner(**log, **store, customers,
                           ProjectorRunner::Options{
                               .batch_size = 20000,
                               .workers = static_cast<int>(std::max(
                                   1u, std::min(std::thread::hardware_concurrency(),
                                                static_cast<unsigned>(config.partitions))))});
    auto st = runner.RunToEnd([&](int64_t done, int64_t total) {
      if (progress) {
        progress(done, total,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
      }
    });
    if (!st) return st;
  }
  // Swap: the live model moves aside, the rebuilt one takes its name, the old one goes.
  if (fs::exists(live)) {
    fs::rename(live, old, ec);
    if (ec) return Fail(Error::Unavailable("Cannot move the live read model aside: " + ec.message()));
  }
  fs::rename(rebuild, live, ec);
  if (ec) return Fail(Error::Unavailable("Cannot swap in the rebuilt read model: " + ec.message()));
  fs::remove_all(old, ec);
  return {};
}

uint16_t App::port() const { return impl_->port; }
HttpServer& App::server() { return *impl_->server; }
EventLog& App::log() { return *impl_->log; }
ReadStore& App::store() { return *impl_->store; }
ProjectorRunner& App::customer_projection() { return *impl_->customer_runner; }

void App::Shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->draining = true;
  // Commands already accepted finish and are answered before the server goes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (impl_->customers && impl_->customers->in_flight() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (impl_->server) impl_->server->Shutdown();
  if (impl_->customer_runner) impl_->customer_runner->Stop();  // checkpoints and flushes
  impl_->customers.reset();
  impl_->log.reset();  // drains the log's queue
  impl_->store.reset();
}

}  // namespace keel

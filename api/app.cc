#include "api/app.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "api/access.h"
#include "api/blocking_work.h"
#include "api/command_service.h"
#include "api/csrf_guard.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "api/read_model.h"
#include "api/request_auth.h"
#include "api/routes.h"
#include "domain/topics.h"
#include "domain/user.h"
#include "infra/auth_crypto.h"
#include "infra/data_dir_lock.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "infra/log.h"
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

namespace {

// `read_only`: a Kafka log that takes no writer lease (keel replay must not fence a server).
Result<std::unique_ptr<EventLog>> OpenLog(const AppConfig& config, bool read_only) {
  if (config.kafka_brokers.empty()) {
    auto log = EmbeddedLog::Open({.dir = config.data_dir + "/log",
                                  .partitions = config.partitions,
                                  .fsync = config.fsync,
                                  .io = config.log_io});
    if (!log) return Fail(log.error());
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  auto log = KafkaLog::Open({.brokers = config.kafka_brokers,
                             .partitions = config.partitions,
                             .replication_factor = config.kafka_replication_factor,
                             .transactional_id = config.kafka_transactional_id,
                             .read_only = read_only,
                             .topics = {std::string(kCustomersTopic), std::string(kUsersTopic)}});
  if (!log) return Fail(log.error());
  return std::unique_ptr<EventLog>(std::move(*log));
}

// Folding threads: one per core, at most one per partition.
int ProjectionWorkers(const AppConfig& config) {
  return static_cast<int>(std::max(
      1u, std::min(std::thread::hardware_concurrency(), static_cast<unsigned>(config.partitions))));
}

// The live projection folds partitions on every core: bulk ingestion appends faster than one
// thread folds.
ProjectorRunner::Options LiveOptions(const AppConfig& config, Metrics& metrics, Clock& clock) {
  ProjectorRunner::Options options;
  options.workers = ProjectionWorkers(config);
  // Up to 12,000 events a batch once the projection lags (it takes what has arrived, so a
  // projection that keeps up commits small ones): each commit's keys then land closer together
  // in RocksDB's memtables, and the per-commit work is spread over more events. With ingestion
  // chunks of 16,384 records, against 5,000 and 4,096 (six alternate runs each), the 1M-order
  // ingest took 31.7 against 32.6 CPU-seconds and was projected 0.6 s sooner, for about 60 MB
  // more peak memory; 20,000 saved no more and took 35 MB more again.
  options.batch_size = 12000;
  options.on_commit = [&metrics, &clock](const std::vector<Millis>& recorded) {
    const Millis now = clock.NowMillis();
    for (Millis at : recorded) metrics.EventVisible("customers", std::max<Millis>(0, now - at) / 1000.0);
  };
  return options;
}

// A read-model generation on `dir` (not started).
Result<std::shared_ptr<ReadModel>> OpenGeneration(const AppConfig& config, EventLog& log,
                                                  const std::string& dir, bool bulk_load,
                                                  ProjectorRunner::Options options) {
  auto gen = std::make_shared<ReadModel>();
  gen->dir = dir;
  auto store = RocksStore::Open(config.data_dir + "/" + dir, ReadModelTables(), bulk_load);
  if (!store) return Fail(store.error());
  gen->store = std::move(*store);
  if (!bulk_load) {
    gen->customer_index = std::make_unique<CustomerIndex>();  // loaded once the runner runs
    options.on_writes = [index = gen->customer_index.get()](const std::vector<StoreWrite>& writes) {
      if (auto st = index->Apply(writes); !st) {
        Log(LogLevel::kError, "customer index broken; lists scan the store from now on",
            {{"error", st.error().message}});
      }
    };
  }
  gen->customer_runner =
      std::make_unique<ProjectorRunner>(log, *gen->store, gen->customer_projector, options);
  return gen;
}

// Folds the whole log into a new generation directory with every core, as fast as the store
// takes it. `runner_slot`, when given, exposes the runner so that the fold can be cancelled.
// The runner of a build in progress, so that shutdown can cancel it. Thread-safe.
struct BuildSlot {
  std::mutex mu;
  ProjectorRunner* runner = nullptr;  // guarded by mu
  bool cancelled = false;             // guarded by mu

  void Cancel() {
    std::lock_guard lock(mu);
    cancelled = true;
    if (runner) runner->Cancel();
  }
};

Status BuildGeneration(const AppConfig& config, EventLog& log, const std::string& dir,
                       const std::function<void(int64_t, int64_t)>& progress, BuildSlot* slot) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(config.data_dir) / dir, ec);
  auto gen = OpenGeneration(config, log, dir, /*bulk_load=*/true,
                            {.batch_size = 20000, .workers = ProjectionWorkers(config)});
  if (!gen) return Fail(gen.error());
  ProjectorRunner& runner = *(*gen)->customer_runner;
  if (slot) {
    std::lock_guard lock(slot->mu);
    if (slot->cancelled) return Fail(Error::Aborted("Cancelled"));
    slot->runner = &runner;
  }
  auto st = runner.RunToEnd(progress);
  if (slot) {
    std::lock_guard lock(slot->mu);
    slot->runner = nullptr;  // before the runner goes with the generation
  }
  return st;
}

void RemoveGeneration(const AppConfig& config, const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(config.data_dir) / dir, ec);
  if (ec) {
    Log(LogLevel::kWarn, "could not remove an old read model", {{"dir", dir}, {"error", ec.message()}});
  }
}

}  // namespace

Status Replay(const AppConfig& config,
              const std::function<void(int64_t, int64_t, double)>& progress) {
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return Fail(lock.error());
  auto log = OpenLog(config, /*read_only=*/true);
  if (!log) return Fail(log.error());
  const std::string old_dir = ActiveReadModelDir(config.data_dir);
  const std::string new_dir = NextReadModelDir(SystemClock().NowMillis());
  const auto started = std::chrono::steady_clock::now();
  auto st = BuildGeneration(config, **log, new_dir, [&](int64_t done, int64_t total) {
    if (progress) {
      progress(done, total,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
  }, nullptr);
  if (!st) {
    RemoveGeneration(config, new_dir);
    return st;
  }
  if (auto swapped = SetActiveReadModelDir(config.data_dir, new_dir); !swapped) return swapped;
  RemoveGeneration(config, old_dir);
  return {};
}

struct App::Impl {
  AppConfig config;
  std::unique_ptr<DataDirLock> lock;
  SystemClock clock;
  std::unique_ptr<UuidV7Generator> ids;
  std::unique_ptr<EventLog> log;
  ReadModels read_models;
  std::unique_ptr<CommandService> commands;
  std::unique_ptr<IngestService> ingest;
  std::unique_ptr<AuthService> auth;
  std::unique_ptr<OidcClient> oidc;
  // Sign-ins and user commands, off the HTTP threads.
  std::unique_ptr<BlockingWork> sign_ins, user_commands;
  std::unordered_map<const Route*, std::string_view> access;  // every route's rule
  CsrfGuard csrf;  // for state-changing requests signed in by the session cookie
  std::atomic<bool> draining{false};
  Metrics metrics;
  std::unique_ptr<RouteContext> routes;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  bool stopped = false;

  std::mutex rebuild_mu;
  std::optional<RebuildProgress> rebuild;     // guarded by rebuild_mu
  std::thread rebuild_thread;                 // guarded by rebuild_mu
  BuildSlot build_slot;
  std::atomic<bool> cancel_rebuild{false};

  Result<RebuildProgress> StartRebuild(const std::string& name);
  // The server's authorize hook (request_auth.h), with the route's rule.
  Status Authorize(HttpRequest& req, const Route& route) const {
    return AuthorizeRequest(*auth, csrf, access.at(&route), req, route);
  }
  void RunRebuild();
  void UpdateRebuild(const std::function<void(RebuildProgress&)>& change) {
    std::lock_guard lock(rebuild_mu);
    change(*rebuild);
  }
};

Result<RebuildProgress> App::Impl::StartRebuild(const std::string& name) {
  if (name != CustomerProjector().name()) return Fail(Error::NotFound("No projection " + name));
  std::lock_guard lock(rebuild_mu);
  if (rebuild && (rebuild->phase == "replaying" || rebuild->phase == "catching up")) {
    return Fail(Error::Aborted("A rebuild of " + rebuild->projection + " is running"));
  }
  if (draining) return Fail(Error::Unavailable("Shutting down"));
  if (rebuild_thread.joinable()) rebuild_thread.join();  // the previous one has finished
  rebuild = RebuildProgress{.projection = name, .phase = "replaying", .started_at = clock.NowMillis()};
  rebuild_thread = std::thread([this] { RunRebuild(); });
  return *rebuild;
}

// Builds a new generation beside the live one, which keeps serving; lets it catch up with the
// log as a live projection; swaps it in; retires the old one.
void App::Impl::RunRebuild() {
  const std::string dir = NextReadModelDir(clock.NowMillis());
  auto fail = [&](const std::string& why) {
    Log(LogLevel::kError, "rebuild failed", {{"dir", dir}, {"error", why}});
    UpdateRebuild([&](RebuildProgress& p) {
      p.phase = "failed";
      p.error = why;
      p.finished_at = clock.NowMillis();
    });
    RemoveGeneration(config, dir);
  };
  Log(LogLevel::kInfo, "rebuild started", {{"dir", dir}});
  const auto started = std::chrono::steady_clock::now();
  auto built = BuildGeneration(config, *log, dir, [&](int64_t done, int64_t total) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    UpdateRebuild([&](RebuildProgress& p) {
      p.done = done;
      p.total = total;
      p.events_per_second = seconds > 0 ? done / seconds : 0;
      p.eta_seconds = p.events_per_second > 0 ? (total - done) / p.events_per_second : 0;
    });
  }, &build_slot);
  if (!built) return fail(built.error().message);
  if (cancel_rebuild) return fail("Cancelled by shutdown");

  // Reopened for serving (the bulk-load settings are for building only), then caught up with
  // what was appended meanwhile, as a live projection.
  UpdateRebuild([](RebuildProgress& p) { p.phase = "catching up"; });
  auto gen = OpenGeneration(config, *log, dir, /*bulk_load=*/false, LiveOptions(config, metrics, clock));
  if (!gen) return fail(gen.error().message);
  if (auto st = (*gen)->customer_runner->Start(); !st) return fail(st.error().message);
  if (auto st = (*gen)->customer_index->Load(*(*gen)->store); !st) return fail(st.error().message);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!(*gen)->customer_runner->caught_up()) {
    if (cancel_rebuild) return fail("Cancelled by shutdown");
    if (std::chrono::steady_clock::now() > deadline) return fail("The new read model did not catch up");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (auto st = SetActiveReadModelDir(config.data_dir, dir); !st) return fail(st.error().message);
  std::shared_ptr<ReadModel> old = read_models.Exchange(std::move(*gen));
  const std::string old_dir = old->dir;
  // Requests that took the old generation finish with it; the last owner closes it.
  while (old.use_count() > 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  old.reset();
  RemoveGeneration(config, old_dir);
  UpdateRebuild([&](RebuildProgress& p) {
    p.phase = "done";
    p.finished_at = clock.NowMillis();
  });
  Log(LogLevel::kInfo, "rebuild swapped in", {{"dir", dir}, {"retired", old_dir}});
}

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() { Shutdown(); }

Result<std::unique_ptr<App>> App::Start(const AppConfig& config) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto lock = DataDirLock::Acquire(config.data_dir);
  if (!lock) return Fail(lock.error());
  impl->lock = std::move(*lock);
  impl->ids = std::make_unique<UuidV7Generator>(impl->clock, std::random_device()());

  // On Kafka this takes the writer lease, fencing a process that held it; the command side
  // decides nothing before Load() below has read the log to the end the lease left it at.
  auto log = OpenLog(config, /*read_only=*/false);
  if (!log) return Fail(log.error());
  impl->log = std::move(*log);

  auto gen = OpenGeneration(config, *impl->log, ActiveReadModelDir(config.data_dir),
                            /*bulk_load=*/false, LiveOptions(config, impl->metrics, impl->clock));
  if (!gen) return Fail(gen.error());
  if (auto st = (*gen)->customer_runner->Start(); !st) return Fail(st.error());
  impl->read_models.Exchange(std::move(*gen));

  impl->commands = std::make_unique<CommandService>(*impl->log, impl->clock, *impl->ids);

  AuthConfig auth_config = config.auth;
  if (auth_config.jwt_secret.empty()) {
    if (!auth_config.dev_mode) {
      return Fail(Error::InvalidArgument(
          "KEEL_JWT_SECRET is required (at least 32 characters) unless KEEL_DEV_MODE=1"));
    }
    auth_config.jwt_secret = crypto::RandomToken(32);  // dev mode: sessions end with the process
  } else if (auth_config.jwt_secret.size() < 32) {
    return Fail(Error::InvalidArgument("KEEL_JWT_SECRET must be at least 32 characters"));
  }
  if (auth_config.dev_no_auth && !auth_config.dev_mode) {
    return Fail(Error::InvalidArgument("KEEL_DEV_NO_AUTH needs KEEL_DEV_MODE=1"));
  }
  if (auth_config.dev_no_auth) {
    Log(LogLevel::kWarn, "DEV MODE WITHOUT AUTHENTICATION (KEEL_DEV_NO_AUTH=1): every route is open");
  }
  if (auth_config.dev_mode) {
    Log(LogLevel::kWarn,
        "DEV MODE (KEEL_DEV_MODE=1): POST /api/v1/auth/dev-token hands out admin sessions to "
        "anyone, and cookies are not Secure. Never run this in production.");
  }
  impl->auth = std::make_unique<AuthService>(auth_config, *impl->log, impl->clock, *impl->ids);
  auto announce = [](const std::string& email, const std::string& password) {
    // Printed once, on stdout, at the first start: it is not stored anywhere in clear.
    std::printf("\n  Keel created the first admin: %s\n  password: %s\n"
                "  (shown once; set KEEL_ADMIN_EMAIL and KEEL_ADMIN_PASSWORD to choose them)\n\n",
                email.c_str(), password.c_str());
    std::fflush(stdout);
  };
  if (auto st = impl->auth->Load(announce); !st) return Fail(st.error());
  impl->oidc = std::make_unique<OidcClient>(config.oidc, impl->clock);

  impl->ingest = std::make_unique<IngestService>(
      *impl->commands, impl->clock, *impl->ids,
      IngestService::Options{.jobs_file = config.data_dir + "/ingest-jobs.ndjson"});
  Impl* raw = impl.get();
  impl->routes = std::make_unique<RouteContext>(
      RouteContext{*impl->commands, impl->read_models, impl->clock, impl->metrics,
                   config.max_read_wait_ms, impl->draining, *impl->log,
                   [raw](const std::string& name) { return raw->StartRebuild(name); },
                   [raw]() {
                     std::lock_guard lock(raw->rebuild_mu);
                     return raw->rebuild;
                   }});
  impl->routes->ingest = impl->ingest.get();
  impl->routes->max_ingest_bytes = config.max_ingest_bytes;
  impl->routes->auth = impl->auth.get();
  impl->routes->oidc = impl->oidc.get();
  // Two threads each: a password is about 50 ms of Argon2id and 64 MiB, so two keep the memory
  // of hashing bounded and leave the other cores to requests. Anonymous sign-ins: 256 waiting
  // at most, 8 of them from one client address. Signed-in users' commands have threads of their
  // own.
  impl->sign_ins = std::make_unique<BlockingWork>(
      BlockingWork::Options{.name = "sign-in", .threads = 2, .max_queued = 256, .max_per_key = 8});
  impl->user_commands = std::make_unique<BlockingWork>(
      BlockingWork::Options{.name = "user-command", .threads = 2, .max_queued = 256});
  impl->routes->sign_ins = impl->sign_ins.get();
  impl->routes->user_commands = impl->user_commands.get();
  impl->metrics.WatchProjection([raw]() -> std::optional<ProjectionStatus> {
    auto status = raw->read_models.Current()->customer_runner->Describe(raw->clock.NowMillis());
    if (!status) return std::nullopt;
    return std::move(*status);
  });
  impl->metrics.WatchStoreMemory([raw] {
    auto current = raw->read_models.Current();
    return static_cast<RocksStore&>(*current->store).ApproximateMemoryBytes();
  });
  auto trusted_proxies = TrustedProxies::Parse(config.trusted_proxies);
  if (!trusted_proxies) return Fail(trusted_proxies.error());
  auto csrf = CsrfGuard::Make(config.public_origins, config.oidc.redirect_uri);
  if (!csrf) return Fail(csrf.error());
  impl->csrf = std::move(*csrf);
  HttpServer::Options http{
      config.host,
      config.port,
      config.http_threads,
      config.max_body_bytes,
      [metrics = &impl->metrics](const std::string& method, const std::string& route, int status,
                                 double seconds) {
        metrics->Request(method, route, status, seconds);
      },
      config.auth.dev_no_auth
          ? std::function<Status(HttpRequest&, const Route&)>()
          : [raw](HttpRequest& req, const Route& route) { return raw->Authorize(req, route); }};
  http.max_connections = config.max_connections;
  http.max_in_flight = config.max_requests_in_flight;
  http.max_connections_per_address = config.max_connections_per_address;
  http.trusted_proxies = std::move(*trusted_proxies);
  impl->server = std::make_unique<HttpServer>(std::move(http));
  AddHealthRoutes(*impl->server, *impl->routes);
  AddAuthRoutes(*impl->server, *impl->routes);
  AddCustomerRoutes(*impl->server, *impl->routes);
  AddOrderRoutes(*impl->server, *impl->routes);
  AddIngestRoutes(*impl->server, *impl->routes);
  AddAdminRoutes(*impl->server, *impl->routes);
  AddMetricsRoute(*impl->server, *impl->routes);
  AddDocsRoutes(*impl->server, config.docs_dir);
  // Every route has an access rule, or Keel does not start: no route is open by omission.
  for (const Route& route : impl->server->routes()) {
    auto rule = AccessRule(route.method, route.pattern);
    if (!rule) {
      return Fail(Error::Internal("Route " + route.method + " " + route.pattern +
                                  " has no access rule (api/access.cc)"));
    }
    impl->access.emplace(&route, *rule);
  }
  std::string error;
  auto port = impl->server->Start(&error);
  if (!port) {
    return Fail(Error::Unavailable("Cannot listen on " + config.host + ":" +
                                   std::to_string(config.port) + ": " + error));
  }
  impl->port = *port;
  // Listening already, so that liveness answers while a long log is folded; commands get 503
  // and /ready says not ready until this is done; lists scan the store until the index is in.
  auto live = impl->read_models.Current();
  if (auto st = live->customer_index->Load(*live->store); !st) {
    Log(LogLevel::kError, "customer index could not load; lists scan the store",
        {{"error", st.error().message}});
  }
  live.reset();
  if (auto st = impl->commands->Load(); !st) return Fail(st.error());
  return std::unique_ptr<App>(new App(std::move(impl)));
}

uint16_t App::port() const { return impl_->port; }
HttpServer& App::server() { return *impl_->server; }
AuthService& App::auth() { return *impl_->auth; }
EventLog& App::log() { return *impl_->log; }
ReadStore& App::store() { return *impl_->read_models.Current()->store; }
ProjectorRunner& App::customer_projection() {
  return *impl_->read_models.Current()->customer_runner;
}

void App::Shutdown() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->draining = true;
  // A rebuild in flight is abandoned; the live read model stays as it was.
  impl_->cancel_rebuild = true;
  impl_->build_slot.Cancel();
  std::thread rebuild;
  {
    std::lock_guard lock(impl_->rebuild_mu);
    rebuild = std::move(impl_->rebuild_thread);
  }
  if (rebuild.joinable()) rebuild.join();  // outside the lock: the rebuild reports under it
  // Commands already accepted finish and are answered before the server goes.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // A bulk job in progress stops after its current chunk and is answered (re-sending is safe).
  impl_->ingest.reset();
  while (impl_->commands && impl_->commands->in_flight() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // Sign-ins and user commands in progress finish; those still queued are answered 503.
  if (impl_->sign_ins) impl_->sign_ins->Stop();
  if (impl_->user_commands) impl_->user_commands->Stop();
  // Reads waiting for positions are answered (stale) while the server can still send.
  if (auto current = impl_->read_models.Current()) current->customer_runner->StopWaits();
  if (impl_->server) impl_->server->Shutdown();
  impl_->read_models.Exchange(nullptr);  // the projections checkpoint and flush, the store closes
  // The log drains before the command side goes: its last callbacks still reach it.
  impl_->log.reset();
  impl_->commands.reset();
}

}  // namespace keel

#include "api/generations.h"

#include <filesystem>
#include <thread>

#include "api/metrics.h"
#include "domain/topics.h"
#include "infra/data_dir_lock.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "infra/log.h"
#include "infra/rocks_store.h"
#include "projections/projection_set.h"
#include "projections/users/sessions_projector.h"

namespace keel {

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
                             .topics = {std::begin(kAllTopics), std::end(kAllTopics)}});
  if (!log) return Fail(log.error());
  return std::unique_ptr<EventLog>(std::move(*log));
}

// Folding threads: one per core, at most one per partition.
int ProjectionWorkers(const AppConfig& config) {
  return static_cast<int>(std::max(
      1u, std::min(std::thread::hardware_concurrency(), static_cast<unsigned>(config.partitions))));
}

void CommitSignal::Set(std::function<void(std::string_view group)> listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

void CommitSignal::Notify(std::string_view group) {
  std::lock_guard lock(mu_);
  if (listener_) listener_(group);
}

// The live projection folds partitions on every core: bulk ingestion appends faster than one
// thread folds.
ProjectorRunner::Options LiveOptions(const AppConfig& config, Metrics& metrics, Clock& clock,
                                     CommitSignal& signal) {
  ProjectorRunner::Options options;
  options.workers = ProjectionWorkers(config);
  // Up to 12,000 events a batch once the projection lags (it takes what has arrived, so a
  // projection that keeps up commits small ones): each commit's keys then land closer together
  // in RocksDB's memtables, and the per-commit work is spread over more events. With ingestion
  // chunks of 16,384 records, against 5,000 and 4,096 (six alternate runs each), the 1M-order
  // ingest took 31.7 against 32.6 CPU-seconds and was projected 0.6 s sooner, for about 60 MB
  // more peak memory; 20,000 saved no more and took 35 MB more again.
  options.batch_size = 12000;
  options.on_commit = [&metrics, &clock, &signal](std::string_view group,
                                                  const std::vector<Millis>& recorded) {
    const Millis now = clock.NowMillis();
    for (Millis at : recorded) metrics.EventVisible(group, std::max<Millis>(0, now - at) / 1000.0);
    signal.Notify(group);
  };
  return options;
}

// A read-model generation on `dir` (not started).
Result<std::shared_ptr<ReadModel>> OpenGeneration(const AppConfig& config, EventLog& log,
                                                  const std::string& dir, bool bulk_load,
                                                  ProjectorRunner::Options options) {
  auto gen = std::make_shared<ReadModel>();
  gen->dir = dir;
  auto store = RocksStore::Open(config.data_dir + "/" + dir, ProjectionSet::Tables(), bulk_load);
  if (!store) return Fail(store.error());
  gen->store = std::move(*store);
  gen->projections =
      std::make_unique<ProjectionSet>(log, *gen->store, /*serving=*/!bulk_load, std::move(options));
  if (const auto* sessions = gen->projections->Find<SessionsProjector>()) {
    gen->sessions = sessions->states();
  }
  return gen;
}

// The projections of a build in progress, so that shutdown can cancel it. Thread-safe.
struct BuildSlot {
  std::mutex mu;
  ProjectionSet* projections = nullptr;  // guarded by mu
  bool cancelled = false;                // guarded by mu

  void Cancel() {
    std::lock_guard lock(mu);
    cancelled = true;
    if (projections) projections->Cancel();
  }
};

namespace {

// Folds the whole log into a new generation directory with every core, as fast as the store
// takes it. `slot`, when given, exposes the runner so that the fold can be cancelled.
Status BuildGeneration(const AppConfig& config, EventLog& log, const std::string& dir,
                       const std::function<void(int64_t, int64_t)>& progress, BuildSlot* slot) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(config.data_dir) / dir, ec);
  auto gen = OpenGeneration(config, log, dir, /*bulk_load=*/true,
                            {.batch_size = 20000, .workers = ProjectionWorkers(config)});
  if (!gen) return Fail(gen.error());
  ProjectionSet& projections = *(*gen)->projections;
  if (slot) {
    std::lock_guard lock(slot->mu);
    if (slot->cancelled) return Fail(Error::Aborted("Cancelled"));
    slot->projections = &projections;
  }
  auto st = projections.RunToEnd(progress);
  if (slot) {
    std::lock_guard lock(slot->mu);
    slot->projections = nullptr;  // before they go with the generation
  }
  return st;
}

void RemoveGeneration(const AppConfig& config, const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(std::filesystem::path(config.data_dir) / dir, ec);
  if (ec) {
    Log(LogLevel::kWarn, "could not remove an old read model",
        {{"dir", dir}, {"error", ec.message()}});
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
  auto st = BuildGeneration(
      config, **log, new_dir,
      [&](int64_t done, int64_t total) {
        if (progress) {
          progress(
              done, total,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        }
      },
      nullptr);
  if (!st) {
    RemoveGeneration(config, new_dir);
    return st;
  }
  if (auto swapped = SetActiveReadModelDir(config.data_dir, new_dir); !swapped) return swapped;
  RemoveGeneration(config, old_dir);
  return {};
}

Rebuilder::Rebuilder(const AppConfig& config, EventLog& log, ReadModels& read_models,
                     Metrics& metrics, Clock& clock, CommitSignal& signal)
    : config_(config),
      log_(log),
      read_models_(read_models),
      metrics_(metrics),
      clock_(clock),
      signal_(signal),
      slot_(std::make_unique<BuildSlot>()) {}

Rebuilder::~Rebuilder() { Stop(); }

std::optional<RebuildProgress> Rebuilder::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void Rebuilder::Update(const std::function<void(RebuildProgress&)>& change) {
  std::lock_guard lock(mu_);
  change(*progress_);
}

void Rebuilder::Stop() {
  stopping_ = true;
  slot_->Cancel();
  std::thread running;
  {
    std::lock_guard lock(mu_);
    running = std::move(thread_);
  }
  if (running.joinable()) running.join();  // outside the lock: the rebuild reports under it
}

Result<RebuildProgress> Rebuilder::Start(const std::string& name) {
  if (auto live = read_models_.Current(); !live || !live->projections->Knows(name)) {
    return Fail(Error::NotFound("No projection " + name));
  }
  std::lock_guard lock(mu_);
  if (progress_ && (progress_->phase == "replaying" || progress_->phase == "catching up")) {
    return Fail(Error::Aborted("A rebuild of " + progress_->projection + " is running"));
  }
  if (stopping_) return Fail(Error::Unavailable("Shutting down"));
  if (thread_.joinable()) thread_.join();  // the previous one has finished
  progress_ =
      RebuildProgress{.projection = name, .phase = "replaying", .started_at = clock_.NowMillis()};
  thread_ = std::thread([this] { Run(); });
  return *progress_;
}

// Builds a new generation beside the live one, which keeps serving; lets it catch up with the
// log as a live projection; swaps it in; retires the old one.
void Rebuilder::Run() {
  const std::string dir = NextReadModelDir(clock_.NowMillis());
  auto fail = [&](const std::string& why) {
    Log(LogLevel::kError, "rebuild failed", {{"dir", dir}, {"error", why}});
    Update([&](RebuildProgress& p) {
      p.phase = "failed";
      p.error = why;
      p.finished_at = clock_.NowMillis();
    });
    RemoveGeneration(config_, dir);
  };
  Log(LogLevel::kInfo, "rebuild started", {{"dir", dir}});
  const auto started = std::chrono::steady_clock::now();
  auto built = BuildGeneration(
      config_, log_, dir,
      [&](int64_t done, int64_t total) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        Update([&](RebuildProgress& p) {
          p.done = done;
          p.total = total;
          p.events_per_second = seconds > 0 ? done / seconds : 0;
          p.eta_seconds = p.events_per_second > 0 ? (total - done) / p.events_per_second : 0;
        });
      },
      slot_.get());
  if (!built) return fail(built.error().message);
  if (stopping_) return fail("Cancelled by shutdown");

  // Reopened for serving (the bulk-load settings are for building only), then caught up with
  // what was appended meanwhile, as a live projection.
  Update([](RebuildProgress& p) { p.phase = "catching up"; });
  auto gen = OpenGeneration(config_, log_, dir, /*bulk_load=*/false,
                            LiveOptions(config_, metrics_, clock_, signal_));
  if (!gen) return fail(gen.error().message);
  if (auto st = (*gen)->projections->Start(); !st) return fail(st.error().message);
  if (auto st = (*gen)->projections->StartViews(); !st) return fail(st.error().message);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!(*gen)->projections->caught_up()) {
    if (stopping_) return fail("Cancelled by shutdown");
    if (std::chrono::steady_clock::now() > deadline)
      return fail("The new read model did not catch up");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (auto st = SetActiveReadModelDir(config_.data_dir, dir); !st) return fail(st.error().message);
  std::shared_ptr<ReadModel> old = read_models_.Exchange(std::move(*gen));
  const std::string old_dir = old->dir;
  // Requests that took the old generation finish with it; the last owner closes it.
  while (old.use_count() > 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  old.reset();
  RemoveGeneration(config_, old_dir);
  Update([&](RebuildProgress& p) {
    p.phase = "done";
    p.finished_at = clock_.NowMillis();
  });
  Log(LogLevel::kInfo, "rebuild swapped in", {{"dir", dir}, {"retired", old_dir}});
}

}  // namespace keel

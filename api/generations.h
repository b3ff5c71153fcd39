// Read-model generations: the log a server or a replay folds, a generation of the read models
// (a RocksDB directory with its projectors and runners) opened live or built from the whole
// log, `keel replay`, and the online rebuild that builds a generation beside the live one and
// swaps it in. The composition root (app.cc) only wires these.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "api/app_config.h"
#include "api/read_model.h"
#include "domain/error.h"
#include "domain/time.h"
#include "infra/event_log.h"
#include "projections/projector_runner.h"

namespace keel {

class Metrics;

// The embedded log in data_dir/log, or Kafka when brokers are given. `read_only`: a Kafka log
// that takes no writer lease (keel replay must not fence a server).
Result<std::unique_ptr<EventLog>> OpenLog(const AppConfig& config, bool read_only);

// Folding threads: one per core, at most one per partition.
int ProjectionWorkers(const AppConfig& config);

// Who is told that a live projection group committed: the process managers that read the read
// side (the launcher waits for audiences, the dispatcher for receipts) and would otherwise only
// poll. Thread-safe; Set(nullptr) returns once no call of the one before is running.
class CommitSignal {
 public:
  void Set(std::function<void(std::string_view group)> listener);
  void Notify(std::string_view group);

 private:
  std::mutex mu_;
  std::function<void(std::string_view group)> listener_;  // guarded by mu_
};

// A live projection's runner settings: every core, large batches once it lags, freshness
// metrics and `signal` on each commit.
ProjectorRunner::Options LiveOptions(const AppConfig& config, Metrics& metrics, Clock& clock,
                                     CommitSignal& signal);

// A read-model generation on data_dir/`dir` (not started). `bulk_load`: for building from
// scratch (no compaction, no in-memory index).
Result<std::shared_ptr<ReadModel>> OpenGeneration(const AppConfig& config, EventLog& log,
                                                  const std::string& dir, bool bulk_load,
                                                  ProjectorRunner::Options options);

// `keel replay`: rebuilds every read model from the start of the log into a new generation
// directory, makes it the live one (readmodel.current) and removes the old one. Takes the data
// directory's lock, so it refuses to run beside `keel serve` (which rebuilds online instead:
// POST /api/v1/admin/projections/:name/rebuild). `progress(done, total, seconds)` is called
// about ten times a second.
Status Replay(const AppConfig& config,
              const std::function<void(int64_t, int64_t, double)>& progress);

struct BuildSlot;

// The online rebuild: builds a new generation beside the live one (which keeps serving), lets
// it catch up with the log as a live projection, swaps it in and retires the old one. One at
// a time. Thread-safe.
class Rebuilder final {
 public:
  Rebuilder(const AppConfig& config, EventLog& log, ReadModels& read_models, Metrics& metrics,
            Clock& clock, CommitSignal& signal);
  ~Rebuilder();  // Stop()s
  Rebuilder(const Rebuilder&) = delete;
  Rebuilder& operator=(const Rebuilder&) = delete;

  // Starts rebuilding the named projection: kNotFound for an unknown name, kAborted while one
  // is running, kUnavailable once stopping.
  Result<RebuildProgress> Start(const std::string& name);
  // The running or last rebuild, if any.
  std::optional<RebuildProgress> progress() const;
  // Abandons a rebuild in flight (the live generation stays as it was) and refuses new ones.
  // Idempotent.
  void Stop();

 private:
  void Run();
  void Update(const std::function<void(RebuildProgress&)>& change);

  const AppConfig& config_;
  EventLog& log_;
  ReadModels& read_models_;
  Metrics& metrics_;
  Clock& clock_;
  CommitSignal& signal_;
  std::unique_ptr<BuildSlot> slot_;
  std::atomic<bool> stopping_{false};

  mutable std::mutex mu_;
  std::optional<RebuildProgress> progress_;  // guarded by mu_
  std::thread thread_;                       // guarded by mu_
};

}  // namespace keel

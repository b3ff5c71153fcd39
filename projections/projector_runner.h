// ProjectorRunner: drives a group of projectors (every read model fed by one topic) over every
// partition of that topic.
//
// Exactly-once effect: each batch of events is folded, by every projector of the group, into
// one atomic store write that also holds the next offset of every partition touched (the
// group's checkpoint) and its counters; so exactly-once holds across the group's read models. On
// start the runner seeks to the stored checkpoints, never to anything the log remembers for it, so
// a crash at any moment neither loses nor repeats an effect.
//
// Undecodable events and events the projector refuses (kDataLoss) go to the dead-letter table
// with their position and error; unknown types and newer schema versions are skipped and
// counted. Neither stops the projection.
//
// Partitions are folded by `workers` threads, each owning a disjoint set; checkpoints and
// counters are kept per partition, so their batches never conflict.
//
// Thread-safety: Start/Stop from one thread; the accessors and WaitFor from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "domain/time.h"
#include "infra/event_log.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

struct ProjectionCounters {
  int64_t events_applied = 0;
  int64_t skipped_unknown = 0;
  int64_t skipped_newer = 0;
  int64_t dead_lettered = 0;
};

struct PartitionStatus {
  int32_t partition = 0;
  int64_t position = 0;      // next offset to apply
  int64_t end = 0;           // next offset the log will write
  int64_t lag = 0;           // events waiting
  double lag_seconds = 0;    // age of the oldest waiting event (0 when none waits)
};

struct ProjectionStatus {
  std::string name;
  std::string topic;
  std::string state;       // "running", "stalled" or "stopped"
  std::string last_error;  // why the last batch or read failed; empty once one succeeds
  double events_per_second = 0;
  ProjectionCounters counters;
  std::vector<PartitionStatus> partitions;
};

class ProjectorRunner final {
 public:
  struct Options {
    size_t batch_size = 5000;
    std::chrono::milliseconds poll_wait{20};
    // Read models are written without a WAL; they become durable on this schedule, at Stop
    // and when RocksDB flushes full memtables.
    std::chrono::milliseconds flush_interval{10000};
    // A batch is committed early, and the rest of what was read is read again, once it holds
    // this many writes: many events whose writes fan out (new segment rules re-evaluating every
    // customer of a partition) must not pile up in one batch. One event's writes are never
    // split: a single event may take a batch past it. At 100,000 (was 500,000) a launched
    // campaign's audience resolves one or two partitions per batch, not four: the 1M-recipient
    // send peaked at 2,140 MiB against 2,488 (scripts/bench, KEEL_BENCH_ONLY=campaigns).
    size_t max_batch_writes = 100'000;
    // Consuming threads; worker w owns the partitions p with p % workers == w. Events of one
    // aggregate share a partition, so workers never touch the same aggregate.
    int workers = 1;
    // A projection with events waiting that commits nothing for this long is stalled.
    std::chrono::milliseconds stall_after{30000};
    // Called after each commit with the recorded_at of every event it applied (live
    // projections: freshness metrics). Must be quick; runs on the consuming thread.
    std::function<void(std::string_view group, const std::vector<Millis>&)> on_commit;
  };

  // The projectors one runner folds, and the name its checkpoints and counters are kept under.
  struct ProjectionGroup {
    std::string name;
    std::string topic;
    std::vector<Projector*> projectors;  // not owned; outlive the runner
  };

  ProjectorRunner(EventLog& log, ReadStore& store, ProjectionGroup group, Options options);
  // A group of one, named after the projector, on its first topic.
  ProjectorRunner(EventLog& log, ReadStore& store, Projector& projector, Options options);
  ~ProjectorRunner();  // Stop()s
  ProjectorRunner(const ProjectorRunner&) = delete;
  ProjectorRunner& operator=(const ProjectorRunner&) = delete;

  // Loads the checkpoints and starts the consuming thread.
  Status Start();
  // Finishes the batch in hand, flushes the store, joins. Idempotent.
  void Stop();

  // Folds until every partition has reached the end offset it had when the call began, with
  // `workers` threads; `progress(done, total)` is called on the calling thread about ten times a
  // second. For replays; not together with Start.
  Status RunToEnd(const std::function<void(int64_t, int64_t)>& progress);
  // Makes a RunToEnd in progress stop soon with kAborted. Thread-safe.
  void Cancel() { cancel_ = true; }

  // True once the runner has found nothing more to read at least once since Start.
  bool caught_up() const { return caught_up_.load(); }
  ProjectionCounters counters() const;
  // Stalled: events are waiting and no batch has been committed for `stall_after`. Refreshed
  // about once a second by the running projection.
  bool stalled() const { return stalled_.load(); }
  // State, positions, lag (events and seconds, `now` being the current time) and rate. Reads
  // the log for the end offsets and the oldest waiting event of each lagging partition.
  Result<ProjectionStatus> Describe(Millis now);

  // Waits until the event at (partition, offset) has been applied, or the timeout passes.
  bool WaitFor(int32_t partition, int64_t offset, std::chrono::milliseconds timeout);

  // Whether the events at every (partition, offset) given have been applied.
  bool Applied(const std::vector<std::pair<int32_t, int64_t>>& positions) const;

  // Calls `done(true)` once the events at every (partition, offset) given have been applied,
  // or `done(false)` at `deadline`, holding no caller's thread meanwhile: at once on the
  // caller's thread when they already are, otherwise on the runner's one waiting thread
  // (started on first use, alive until destruction), which serves every wait in turn, so
  // `done` must not block. kResourceExhausted when kMaxWaits waits are pending already;
  // kInvalidArgument for a partition the log does not have.
  // kUnavailable once StopWaits ran.
  static constexpr size_t kMaxWaits = 4096;
  Status WhenApplied(std::vector<std::pair<int32_t, int64_t>> positions,
                     std::chrono::steady_clock::time_point deadline,
                     std::function<void(bool)> done);
  // Calls every pending wait's `done(false)` on this thread, stops the waiting thread and
  // refuses later waits: before the HTTP server that would answer them goes. Idempotent; not
  // from a `done`.
  void StopWaits();

  const ProjectionGroup& group() const { return group_; }

 private:
  // Every projector of the group forgets what it remembered of these partitions' batch.
  void Discard(const std::vector<int32_t>& partitions);
  // `epoch`: the store's, read before the checkpoints are.
  Status LoadCheckpoints(uint64_t epoch);
  // Positions and counters of `partitions` as the store holds them in `epoch`.
  Status ReadCheckpoints(const std::vector<int32_t>& partitions, uint64_t epoch);
  // Worker 0, about once a second: end offsets, rate, stalled flag.
  void RefreshHealth();
  std::vector<int32_t> PartitionsOf(int worker) const;
  // The thread name of `worker`: the projector's, then the worker's number.
  std::string WorkerName(int worker) const;
  Result<std::unique_ptr<LogReader>> OpenReader(const std::vector<int32_t>& partitions);
  // Moves the positions of `partitions` (the caller's) past the offsets `reader` passed over
  // without a record (Kafka's transaction markers), in memory: a partition ending in one would
  // otherwise look an event behind forever. Stored checkpoints stay at the last record; the log
  // skips the same offsets again after a restart.
  void SkipGaps(LogReader& reader, const std::vector<int32_t>& partitions);
  // Folds and commits one batch of records from partitions the caller owns; on error nothing
  // of it is committed.
  // `epoch`: the store's, when the positions the batch starts from were read (ReadStore).
  // `*cut_short` is set when the batch stopped at max_batch_writes: the records after the
  // last one applied are to be read again (from the positions, which stop there).
  Status ProcessBatch(const std::vector<LogRecord>& records, uint64_t epoch, bool* cut_short);
  void Loop(int worker);
  // The waiting thread: fires the waits that are met or due, then sleeps until the next
  // commit or deadline.
  void WaitLoop();
  bool AppliedLocked(const std::vector<std::pair<int32_t, int64_t>>& positions) const;  // mu_ held

  EventLog& log_;
  ReadStore& store_;
  const ProjectionGroup group_;
  const Options options_;

  mutable std::mutex mu_;
  std::condition_variable applied_cv_;
  std::vector<int64_t> positions_;             // guarded by mu_; per partition
  // The store epoch each partition's position holds for: a position of an older epoch may name
  // writes a reopen lost, so nothing is "applied" by it until the checkpoints are read again.
  std::vector<uint64_t> position_epochs_;      // guarded by mu_; per partition
  std::vector<ProjectionCounters> counters_;   // guarded by mu_; per partition
  std::vector<bool> worker_caught_up_;         // guarded by mu_

  struct Wait {
    std::vector<std::pair<int32_t, int64_t>> positions;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  std::vector<Wait> waits_;      // guarded by mu_
  bool waits_stopping_ = false;  // guarded by mu_
  std::thread wait_thread_;      // started under mu_

  std::chrono::steady_clock::time_point last_commit_;  // guarded by mu_
  std::string last_error_;                             // guarded by mu_
  std::vector<int64_t> ends_;                          // guarded by mu_; as last refreshed
  double rate_ = 0;                                    // guarded by mu_; events/s
  std::chrono::steady_clock::time_point rate_since_;   // guarded by mu_
  int64_t rate_applied_ = 0;                           // guarded by mu_

  uint64_t loaded_epoch_ = 0;  // the store's epoch when Start read the checkpoints
  std::atomic<bool> running_{false};
  std::atomic<bool> caught_up_{false};
  std::atomic<bool> stalled_{false};
  std::atomic<bool> cancel_{false};
  std::vector<std::thread> threads_;
};

// Keys of the shared tables, for readers of checkpoints and dead letters.
std::string CheckpointKey(std::string_view projector, std::string_view topic, int32_t partition);
std::string DeadLetterKey(std::string_view topic, int32_t partition, int64_t offset);

}  // namespace keel

// CommandRuntime: the write loop of one command stream, whatever its write model. It folds the
// stream's topic from the log into the write model, decides each command under a lock, folds
// the decided events, encodes them and appends them under the decision's stream key, and
// answers. An append that fails marks the model stale: the next command folds it from the log
// again first, so that it is never decided on a model that holds an event the log lacks. A log
// that stopped writing is refused up front (Health), without re-folding for every command.
// A stream may answer Idempotency-Keys (IdempotentAnswers).
//
// A stream is a small class `S` that the runtime owns, deriving from StreamDefaults for what it
// does not say itself:
//   using Model = …;     the write model: default-constructible, movable, with
//                        `Apply(const EventEnvelope&)` returning a Status or Result (an event it
//                        refuses is skipped, as the projectors skip it)
//   static constexpr std::string_view kTopic;
//   static constexpr Visibility kVisibility;
//   using Decision = …;  what a decide function returns: has `std::string key` (the stream key
//                        its events go under) and `std::vector<EventEnvelope> events`
//   using Answer = …;    a copyable value with `std::optional<AppendResult> position`
//   static constexpr bool kIdempotent;  whether commands' Idempotency-Keys are answered
//   Status Fold(Model&, const Decision&, const EventEnvelope&);  one decided event
//   Result<Answer> AnswerFor(const Model&, Decision&);  after the fold (or of no events)
//   std::optional<Answer> Remembered(const Model&, const EventEnvelope&);  kIdempotent only:
//                        the answer of a keyed event met while folding the log (nullopt: none)
//   void Loaded(Model&, Millis now);        after every fold from the log
//   void BeforeDecide(Model&, Millis now);  under the lock, before each decision
// and, for a stream whose model is snapshotted (kSnapshot not empty; see "Snapshots" below):
//   static constexpr std::string_view kSnapshot;  the name its snapshots are saved under
//   static constexpr uint64_t kSnapshotFormat;    changed with the model, its fold or the answer
//   Model::Save(SnapshotWriter&) const; bool Model::Restore(SnapshotReader&)
//   void SaveAnswer(SnapshotWriter&, const Answer&); bool RestoreAnswer(SnapshotReader&, Answer&)
//                        kIdempotent only: the remembered answers travel in the snapshot
//
// Snapshots: with a SnapshotStore, a load starts from the stream's last snapshot and folds only
// the log after it. A snapshot is trusted only when its format, topic and partition count are
// this build's and the log still holds, at each partition's last folded offset, the record it
// was taken after (same checksum) and no less than it had then; otherwise, or when it is
// missing or unreadable, the load folds the whole log (and says why in the server's log). A
// snapshot is saved after a load that folded kSnapshotAfterEvents or more from the log, and by
// Snapshot() (the App calls it at shutdown), never with an append in flight, so that it holds
// exactly the log up to its positions.
// The stream's functions run under the runtime's lock and must not call back into it.
//
// Thread-safety: all methods may be called from any thread. A pipelined stream's `done` runs
// on a log thread or the caller's (maybe under the lock: it must not block nor call back);
// Read takes the lock shared.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "commands/command_meta.h"
#include "commands/idempotent_answers.h"
#include "commands/snapshot_codec.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"
#include "infra/event_log.h"
#include "infra/log.h"
#include "infra/snapshot_store.h"

namespace keel {

// When a command's events become visible in the write model.
enum class Visibility {
  // Decided and folded under the lock; the append is enqueued under it too (so the log gets
  // commands in the order they were decided) and the command answered when the log has it. The
  // lock is not held while the log syncs; the model may run ahead of the log by the appends in
  // flight, and a failed one makes it stale. Only the runtime reads the model.
  kPipelined,
  // Decided under the lock, appended (waiting for the log), folded only then, one command at a
  // time: what readers see through Read is always in the log (a role granted is never honoured
  // before the log has it).
  kAfterAppend,
};

// A stream's decision and answer when it needs no more.
struct Decided {
  std::string key;
  std::vector<EventEnvelope> events;
};
struct Appended {
  std::optional<AppendResult> position;
};

// What a stream that derives from it does not say: plain decisions and answers, no keys, each
// event folded with Model::Apply, nothing done after a load or before a decision.
struct StreamDefaults {
  using Decision = Decided;
  using Answer = Appended;
  static constexpr bool kIdempotent = false;
  static constexpr std::string_view kSnapshot = {};  // not snapshotted

  template <typename Model, typename D>
  Status Fold(Model& model, const D&, const EventEnvelope& event) {
    auto applied = model.Apply(event);
    if (!applied) return Fail(applied.error());
    return {};
  }
  template <typename Model>
  Result<Appended> AnswerFor(const Model&, const Decided&) {
    return Appended{};
  }
  template <typename Model>
  void Loaded(Model&, Millis) {}
  template <typename Model>
  void BeforeDecide(Model&, Millis) {}
  // Whether a record of the topic that this process did not fold holds state of the model (one
  // that holds none, such as a partition marker, does not stand in the way of a snapshot).
  static bool HoldsState(const LogRecord&) { return true; }
};

template <typename S>
class CommandRuntime final {
 public:
  using Model = typename S::Model;
  using Decision = typename S::Decision;
  using Answer = typename S::Answer;
  static constexpr bool kIdempotent = S::kIdempotent;
  using Done = std::function<void(Result<Answer>)>;
  using Decide = std::function<Result<Decision>(const Model&, const CommandMeta&)>;

  static constexpr std::chrono::milliseconds kDuplicateWait =
      IdempotentAnswers<Answer>::kDuplicateWait;
  static constexpr size_t kMaxDuplicatesPerKey = IdempotentAnswers<Answer>::kMaxDuplicatesPerKey;

  static constexpr bool kSnapshotted = !S::kSnapshot.empty();
  // Only a pipelined stream's appends are tracked as in flight, which a snapshot waits out.
  static_assert(!kSnapshotted || S::kVisibility == Visibility::kPipelined);
  // A load that folded this many events from the log saves a snapshot, so the next need not.
  static constexpr int64_t kSnapshotAfterEvents = 100000;
  // How long a snapshot waits for the appends in flight, holding off new commands.
  static constexpr std::chrono::milliseconds kSnapshotDrainWait{2000};

  // `duplicate_wait`: how long a request waits for the first one with its Idempotency-Key.
  // `snapshots`: where the model's snapshots are kept (must outlive the runtime); none: every
  // load folds the whole log.
  CommandRuntime(S stream, EventLog& log, Clock& clock,
                 std::chrono::milliseconds duplicate_wait = kDuplicateWait,
                 SnapshotStore* snapshots = nullptr)
      : stream_(std::move(stream)), log_(log), clock_(clock), snapshots_(snapshots) {
    if constexpr (kIdempotent) answers_.emplace(clock, *in_flight_, duplicate_wait);
  }
  CommandRuntime(const CommandRuntime&) = delete;
  CommandRuntime& operator=(const CommandRuntime&) = delete;

  // Folds the stream's whole topic into the write model. Until it has succeeded, commands are
  // refused with kUnavailable.
  Status Load() {
    std::unique_lock lock(mu_);
    auto st = LoadLocked(/*first=*/true);
    if (st) loaded_ = true;
    return st;
  }
  bool loaded() const { return loaded_.load(); }

  // What the last load did: whether it started from a snapshot (and why not, if not), and how
  // many events it folded from the log.
  struct LoadReport {
    bool from_snapshot = false;
    std::string snapshot_refused;  // why the snapshot was not used; empty when none was there
    int64_t events_folded = 0;
  };
  LoadReport last_load() const {
    std::shared_lock lock(mu_);
    return last_load_;
  }

  // Saves a snapshot of the model, if it changed since the last one: refused (kUnavailable)
  // while an append is in flight or the model is stale, when the log cannot be read, or when
  // the store cannot save. Commands wait meanwhile. Without a store, or for a stream that is
  // not snapshotted, nothing happens.
  Status Snapshot() {
    if constexpr (!kSnapshotted) {
      return {};
    } else {
      if (!snapshots_) return {};
      std::unique_lock lock(mu_);
      if (!loaded_) return Fail(Error::Unavailable("Not snapshotted: the model is not loaded"));
      return SnapshotLocked();
    }
  }

  // Commands whose events are being appended, and requests waiting for one with their key.
  int64_t in_flight() const { return in_flight_->load(); }
  // Changes with every fold: what was read from the model is current while it is unchanged.
  uint64_t generation() const { return generation_.load(); }

  // f(const Model&) under the lock, shared. On a pipelined stream it may see events whose
  // append is still in flight.
  template <typename F>
  decltype(auto) Read(F&& f) const {
    std::shared_lock lock(mu_);
    return std::forward<F>(f)(std::as_const(model_));
  }

  // f(const Model&) under the lock, exclusive, when the model holds exactly what the log holds:
  // no append in flight (nor a request waiting for one), and a stale model folded from the log
  // first. nullopt otherwise, or when that fold fails: the caller tries again later. For a
  // process manager whose copy of the model missed a version whose answer was lost on its way.
  template <typename F>
  auto ReadAsLogged(F&& f) -> std::optional<std::decay_t<std::invoke_result_t<F, const Model&>>> {
    // A kAfterAppend stream appends without counting it in flight.
    static_assert(S::kVisibility == Visibility::kPipelined);
    std::unique_lock lock(mu_);
    if (!loaded_ || in_flight_->load() > 0) return std::nullopt;
    if (auto st = RefoldIfStale(); !st) return std::nullopt;
    return std::forward<F>(f)(std::as_const(model_));
  }

  // Runs one command: `decide` sees the model and `meta` (with `now` set) under the lock. A
  // pipelined stream answers on a log thread once the append is done; a kAfterAppend stream
  // answers before Execute returns (a duplicate of a request in flight, later).
  void Execute(CommandMeta meta, const Decide& decide, Done done) {
    if (!loaded_) {
      return done(
          Fail(Error::Unavailable("Keel is starting: the command side is still reading the log")));
    }
    std::string key;
    if constexpr (kIdempotent) key = meta.idempotency_key;
    if (!key.empty()) {
      auto holder = answers_->Begin(key, std::move(done));
      if (!holder) return;
      done = std::move(*holder);
    }
    if (auto health = log_.Health(); !health) return done(Fail(health.error()));
    std::unique_lock<std::mutex> serial;
    if constexpr (S::kVisibility == Visibility::kAfterAppend) serial = std::unique_lock(serial_);
    std::unique_lock lock(mu_);
    if (auto st = RefoldIfStale(); !st) return done(Fail(st.error()));
    if (!key.empty()) {
      if (auto logged = answers_->InLog(key)) {
        lock.unlock();
        return done(std::move(*logged));
      }
    }
    meta.now = clock_.NowMillis();
    stream_.BeforeDecide(model_, meta.now);
    auto decision = decide(std::as_const(model_), meta);
    if (!decision) return done(Fail(decision.error()));
    if (decision->events.empty()) return done(stream_.AnswerFor(model_, *decision));
    if constexpr (S::kVisibility == Visibility::kPipelined) {
      auto values = FoldAndEncode(*decision);
      if (!values) return done(Fail(values.error()));
      auto answer = stream_.AnswerFor(model_, *decision);
      if (!answer) {
        // The model holds events the log will not: fold it from the log again first.
        stale_ = true;
        return done(Fail(answer.error()));
      }
      EnqueueAppend(decision->key, std::move(*values),
                    [answer = std::move(*answer),
                     done = std::move(done)](Result<AppendResult> appended) mutable {
                      if (!appended) return done(Fail(appended.error()));
                      answer.position = *appended;
                      done(std::move(answer));
                    });
    } else {
      // Readers go on while the log syncs; serial_ keeps every other command from deciding
      // between this one's decision and its fold.
      const uint64_t epoch = AppendEpoch();
      lock.unlock();
      auto appended = log_.Append(std::string(S::kTopic), decision->key, Encode(*decision));
      if (!appended) {
        // The log may hold the events after all (an outcome it could not tell): the next
        // command reads it again first.
        stale_ = true;
        return done(Fail(appended.error()));
      }
      RecordAppended(*appended, epoch);
      lock.lock();
      for (const auto& e : decision->events) {
        if (auto applied = stream_.Fold(model_, *decision, e); !applied) {
          // A decision that does not follow from the model it was made on: a bug. The log is
          // the truth; the model is folded from it again, skipping the event as a fold does.
          Log(LogLevel::kError, "a command's event does not apply; folding the model again",
              {{"topic", S::kTopic}, {"type", e.type}, {"error", applied.error().message}});
          if (auto st = LoadLocked(); !st) stale_ = true;
          ++generation_;  // the model changed, folded again or not: checked tokens are stale
          lock.unlock();
          return done(Fail(applied.error()));
        }
      }
      ++generation_;
      auto answer = stream_.AnswerFor(model_, *decision);
      lock.unlock();
      if (answer) answer->position = *appended;
      done(std::move(answer));
    }
  }

  // Execute, waiting for the answer.
  Result<Answer> Run(CommandMeta meta, const Decide& decide) {
    std::promise<Result<Answer>> promise;
    auto answered = promise.get_future();
    Execute(std::move(meta), decide,
            [&promise](Result<Answer> result) { promise.set_value(std::move(result)); });
    return answered.get();
  }

  // Bulk, for a pipelined stream: decides `count` commands under one hold of the lock, without
  // idempotency keys, and enqueues the append of each decision with events (the log's group
  // commit turns them into few syncs). `decide(i, model, meta)` gives command i's decision or
  // its refusal; a refusal, and a decision without events, are the caller's to record (it has
  // seen them). Every other command gets `settled(i, status)` exactly once, on this thread or
  // a log thread: ok once its events are in the log, or why they are not: its fold or append
  // failed, or it was not decided because an earlier one failed. Returns once all are decided
  // (later commands see them); kUnavailable while loading.
  template <typename DecideAt, typename Settled>
  Status ExecuteBatch(size_t count, const CommandMeta& meta, DecideAt&& decide,
                      const Settled& settled) {
    static_assert(S::kVisibility == Visibility::kPipelined);
    if (!loaded_) {
      return Fail(
          Error::Unavailable("Keel is starting: the command side is still reading the log"));
    }
    if (auto health = log_.Health(); !health) return Fail(health.error());
    std::unique_lock lock(mu_);
    if (auto st = RefoldIfStale(); !st) return st;
    CommandMeta m = meta;
    m.now = clock_.NowMillis();
    stream_.BeforeDecide(model_, m.now);
    for (size_t i = 0; i < count; ++i) {
      if (stale_) {
        // An append of this batch failed (or a decision did not apply): the model holds events
        // the log may lack, and nothing more is decided on it.
        settled(i, Fail(Error::Unavailable("Not decided: an earlier record of the chunk failed")));
        continue;
      }
      Result<Decision> decision = decide(i, std::as_const(model_), m);
      if (!decision || decision->events.empty()) continue;
      auto values = FoldAndEncode(*decision);
      if (!values) {
        settled(i, Fail(values.error()));
        continue;
      }
      EnqueueAppend(decision->key, std::move(*values), [i, settled](Result<AppendResult> appended) {
        settled(i, appended ? Status() : Status(Fail(appended.error())));
      });
    }
    return {};
  }

 private:
  // Folds the topic into a model, from the last snapshot if there is a sound one; mu_ held.
  // A pipelined stream refolds in place (nothing reads its model outside the lock, and one
  // model in memory is half of two); otherwise the fold is made aside and swapped in whole, so
  // that a read that fails halfway leaves the model as it was, never a past one in which a
  // disabled account or an ended session would work again. `first`: the load at start, which
  // also takes the snapshot's remembered answers (a refold keeps those it has).
  Status LoadLocked(bool first = false) {
    {
      // An append enqueued before this point that ends from now on may or may not be in what
      // the fold reads: it marks the model stale (RecordAppended), and the next command folds
      // the log again.
      std::lock_guard positions(positions_mu_);
      ++append_epoch_;
    }
    stale_ = false;
    auto st = FoldLocked(first);
    if (!st) stale_ = true;
    return st;
  }

  // LoadLocked's fold; mu_ held.
  Status FoldLocked(bool first) {
    const std::string topic(S::kTopic);
    Millis horizon = 0;
    if constexpr (kIdempotent) horizon = answers_->Horizon();
    LoadReport report;
    int64_t unsupported = 0;
    Positions from = StartPositions();
    auto fold = [&](Model& model) -> Status {
      if constexpr (kSnapshotted) {
        if (snapshots_) {
          auto restored = Restore(model, first, horizon);
          if (restored) {
            from = std::move(*restored);
            report.from_snapshot = true;
          } else {
            report.snapshot_refused = restored.error().message;
            model = Model();
            unsupported = 0;
          }
        }
      }
      auto ends = log_.ReadFrom(topic, from.next, [&](const LogRecord& r) {
        from.last[static_cast<size_t>(r.partition)] = r.offset;
        ++report.events_folded;
        auto event = DecodeEvent(r.value);
        // Events the projector will dead-letter carry no state the write side could use.
        if (!event) return;
        if (CheckSupport(*event) != EventSupport::kSupported) {
          ++unsupported;  // a later build may fold it: no snapshot may be taken past it
          return;
        }
        if (!model.Apply(*event)) return;
        if constexpr (kIdempotent) {
          if (event->idempotency_key.empty() || event->recorded_at < horizon) return;
          if (auto answer = stream_.Remembered(model, *event)) {
            answer->position = AppendResult{topic, r.partition, r.offset, r.offset};
            answers_->FoundInLog(event->idempotency_key, *answer, event->recorded_at);
          }
        }
      });
      if (!ends) return Fail(ends.error());
      from.next = std::move(*ends);
      return {};
    };
    if constexpr (S::kVisibility == Visibility::kPipelined) {
      model_ = Model();
      if (auto st = fold(model_); !st) return st;
    } else {
      Model fresh;
      if (auto st = fold(fresh); !st) return st;
      model_ = std::move(fresh);
    }
    if (!report.snapshot_refused.empty()) {
      Log(LogLevel::kWarn, "a write-model snapshot was not used; the whole log was folded",
          {{"topic", S::kTopic}, {"reason", report.snapshot_refused}});
    }
    {
      std::lock_guard positions(positions_mu_);
      positions_ = std::move(from);
    }
    stream_.Loaded(model_, clock_.NowMillis());
    ++generation_;
    last_load_ = report;
    unsupported_ = unsupported;
    if constexpr (kSnapshotted) {
      changed_since_snapshot_ = !report.from_snapshot || report.events_folded > 0;
      if (first && snapshots_ && report.events_folded >= kSnapshotAfterEvents) {
        // The next start folds less; a snapshot that cannot be saved costs only that.
        if (auto st = SnapshotLocked(); !st) {
          Log(LogLevel::kWarn, "a write-model snapshot could not be saved",
              {{"topic", S::kTopic}, {"error", st.error().message}});
        }
      }
    }
    return {};
  }

  // Where a fold reads on from: next[p] is the next offset of partition p, last[p] the offset
  // of the last record folded from it (-1: none).
  struct Positions {
    std::vector<int64_t> next, last;
  };
  Positions StartPositions() const {
    const auto n = static_cast<size_t>(log_.PartitionCount());
    return Positions{std::vector<int64_t>(n, 0), std::vector<int64_t>(n, -1)};
  }

  // The log's own record of each partition's last folded offset, as a checksum of its bytes
  // (0 for a partition with none): a snapshot is taken after these records and only after them.
  Result<std::vector<uint64_t>> Anchors(const Positions& at) {
    std::vector<uint64_t> sums(at.last.size(), 0);
    for (size_t p = 0; p < at.last.size(); ++p) {
      if (at.last[p] < 0) continue;
      auto records = log_.ReadAt(std::string(S::kTopic), static_cast<int32_t>(p), {at.last[p]});
      if (!records) return Fail(records.error());
      if (records->size() != 1) return Fail(Error::DataLoss("The log did not give the record"));
      // FNV-1a: stable across builds, unlike std::hash.
      uint64_t h = 0xcbf29ce484222325ULL;
      for (char c : (*records)[0].value) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
      sums[p] = h;
    }
    return sums;
  }

  // The model's snapshot, saved; mu_ held exclusively.
  Status SnapshotLocked() requires(kSnapshotted) {
    if (!changed_since_snapshot_) return {};
    // Appends already enqueued finish without the lock (an answer is sent just before its
    // append stops counting as in flight); nothing new is decided meanwhile.
    const auto deadline = std::chrono::steady_clock::now() + kSnapshotDrainWait;
    while (in_flight_->load() > 0 && !stale_ && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (stale_ || in_flight_->load() > 0) {
      return Fail(Error::Unavailable("Not snapshotted: appends are in flight or failed"));
    }
    Positions at;
    {
      std::lock_guard positions(positions_mu_);
      at = positions_;
    }
    if (unsupported_ > 0) {
      return Fail(Error::FailedPrecondition(
          "Not snapshotted: the log holds events of a newer Keel that this build skips"));
    }
    // The log must hold nothing past what this process folded and appended (another writer's
    // records, before a lease changed hands): those are folded, answers and all, by the next
    // load, which then snapshots.
    int64_t foreign = 0;
    auto ends = log_.ReadFrom(std::string(S::kTopic), at.next, [&](const LogRecord& r) {
      if (S::HoldsState(r)) ++foreign;
    });
    if (!ends) return Fail(ends.error());
    if (foreign > 0) {
      return Fail(Error::Unavailable("Not snapshotted: the log holds " + std::to_string(foreign) +
                                     " records this process has not folded"));
    }
    at.next = std::move(*ends);  // past offsets without a record (Kafka's transaction markers)
    auto anchors = Anchors(at);
    if (!anchors) return Fail(anchors.error());
    SnapshotWriter out;
    out.Unsigned(S::kSnapshotFormat);
    out.Text(S::kTopic);
    out.Unsigned(at.next.size());
    for (size_t p = 0; p < at.next.size(); ++p) {
      out.Signed(at.next[p]);
      out.Signed(at.last[p]);
      out.Unsigned((*anchors)[p]);
    }
    out.Signed(clock_.NowMillis());
    if (!model_.Save(out))
      return Fail(Error::Internal("Not snapshotted: the model is inconsistent"));
    if constexpr (kIdempotent) {
      std::vector<std::string> keys;
      std::vector<std::pair<Millis, Answer>> remembered;
      answers_->ForEachRemembered([&](const std::string& key, const Answer& answer, Millis at) {
        keys.push_back(key);
        remembered.emplace_back(at, answer);
      });
      out.Unsigned(keys.size());
      for (size_t i = 0; i < keys.size(); ++i) {
        out.Text(keys[i]);
        out.Signed(remembered[i].first);
        stream_.SaveAnswer(out, remembered[i].second);
      }
    }
    if (auto st = snapshots_->Save(S::kSnapshot, out.bytes()); !st) return st;
    {
      std::lock_guard positions(positions_mu_);
      positions_ = at;
    }
    changed_since_snapshot_ = false;
    return {};
  }

  // The model from the last snapshot, and where the log goes on after it; why not otherwise.
  Result<Positions> Restore(Model& model, bool take_answers,
                            Millis horizon) requires(kSnapshotted) {
    auto saved = snapshots_->Load(S::kSnapshot);
    if (!saved) return Fail(saved.error());
    if (!*saved) return Fail(Error::NotFound(""));
    SnapshotReader in(**saved);
    auto refused = [](std::string why) { return Fail(Error::FailedPrecondition(std::move(why))); };
    if (in.Unsigned() != S::kSnapshotFormat) return refused("it is of another format");
    if (in.Text() != S::kTopic) return refused("it is of another topic");
    Positions at = StartPositions();
    if (in.Unsigned() != at.next.size()) return refused("the log has another partition count");
    std::vector<uint64_t> anchors(at.next.size());
    for (size_t p = 0; p < at.next.size(); ++p) {
      at.next[p] = in.Signed();
      at.last[p] = in.Signed();
      anchors[p] = in.Unsigned();
      if (in.bad() || at.last[p] < -1 || at.next[p] <= at.last[p]) {
        return refused("its positions are malformed");
      }
    }
    (void)in.Signed();  // when it was taken
    for (size_t p = 0; p < at.next.size(); ++p) {
      auto end = log_.EndOffset(std::string(S::kTopic), static_cast<int32_t>(p));
      if (!end) return Fail(end.error());
      if (*end < at.next[p]) {
        return refused("the log ends before it (partition " + std::to_string(p) + ")");
      }
    }
    auto held = Anchors(at);
    if (!held)
      return refused("the log does not hold the records it was taken after: " +
                     held.error().message);
    if (*held != anchors) return refused("the log holds other records than it was taken after");
    if (!model.Restore(in)) return refused("its model is malformed");
    // Taken only once the whole snapshot checks out.
    std::vector<std::tuple<std::string, Answer, Millis>> answers;
    if constexpr (kIdempotent) {
      const uint64_t count = in.Unsigned();
      for (uint64_t i = 0; i < count && !in.bad(); ++i) {
        std::string key(in.Text());
        const Millis at_ms = in.Signed();
        Answer answer;
        if (!stream_.RestoreAnswer(in, answer)) return refused("its answers are malformed");
        if (take_answers && at_ms >= horizon) answers.emplace_back(key, std::move(answer), at_ms);
      }
    }
    if (in.bad() || !in.done()) return refused("it is malformed");
    if constexpr (kIdempotent) {
      for (auto& [key, answer, at_ms] : answers) answers_->FoundInLog(key, answer, at_ms);
    }
    return at;
  }

  Status RefoldIfStale() {
    if (!stale_) return {};
    return LoadLocked();
  }

  std::vector<std::string> Encode(const Decision& decision) {
    std::vector<std::string> values;
    values.reserve(decision.events.size());
    for (const auto& e : decision.events) values.push_back(EncodeEvent(e));
    return values;
  }

  // Folds the decided events and encodes them; on failure marks the model stale. mu_ held.
  Result<std::vector<std::string>> FoldAndEncode(const Decision& decision) {
    for (const auto& e : decision.events) {
      if (auto st = stream_.Fold(model_, decision, e); !st) {
        stale_ = true;
        return Fail(Error::Internal("Decided event does not apply: " + st.error().message));
      }
    }
    ++generation_;
    return Encode(decision);
  }

  // Enqueued under mu_, so that the log receives commands in the order they were decided. A
  // failed append makes the model stale before `then(result)` runs.
  template <typename Then>
  void EnqueueAppend(const std::string& key, std::vector<std::string> values, Then then) {
    ++*in_flight_;
    const uint64_t epoch = AppendEpoch();
    // After `then`, the callback touches nothing of the runtime: whoever waited for the answer
    // may destroy it at once (the count it drops is shared).
    log_.AppendAsync(std::string(S::kTopic), key, std::move(values),
                     [this, in_flight = in_flight_, epoch,
                      then = std::move(then)](Result<AppendResult> appended) mutable {
                       if (!appended) {
                         stale_ = true;  // the model holds events the log does not
                       } else {
                         RecordAppended(*appended, epoch);
                       }
                       then(std::move(appended));
                       --*in_flight;
                     });
  }

  uint64_t AppendEpoch() {
    std::lock_guard positions(positions_mu_);
    return append_epoch_;
  }

  // Records that the log holds an append of this process, enqueued in `epoch`; any thread.
  // One enqueued before the latest load began may be missing from the model: it is stale.
  void RecordAppended(const AppendResult& at, uint64_t epoch) {
    std::lock_guard positions(positions_mu_);
    if (epoch != append_epoch_) {
      stale_ = true;
      return;
    }
    const auto p = static_cast<size_t>(at.partition);
    if (p >= positions_.next.size()) return;
    positions_.next[p] = std::max(positions_.next[p], at.last_offset + 1);
    positions_.last[p] = std::max(positions_.last[p], at.last_offset);
    changed_since_snapshot_ = true;
  }

  S stream_;  // its functions run under mu_
  EventLog& log_;
  Clock& clock_;

  std::mutex serial_;  // kAfterAppend: one command at a time, from decision to fold
  mutable std::shared_mutex mu_;
  Model model_;  // guarded by mu_
  SnapshotStore* const snapshots_;
  LoadReport last_load_;  // guarded by mu_
  std::atomic<bool> changed_since_snapshot_{true};
  int64_t unsupported_ = 0;  // records the last load skipped as too new; guarded by mu_
  std::mutex positions_mu_;
  Positions positions_;  // where the log is after what the model holds; guarded by positions_mu_
  uint64_t append_epoch_ = 0;  // loads begun; guarded by positions_mu_
  std::atomic<bool> stale_{false};
  std::atomic<bool> loaded_{false};
  std::atomic<uint64_t> generation_{1};
  const std::shared_ptr<std::atomic<int64_t>> in_flight_ =
      std::make_shared<std::atomic<int64_t>>(0);
  // kIdempotent only; after in_flight_, which it counts in.
  std::optional<IdempotentAnswers<Answer>> answers_;
};

}  // namespace keel

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
// The stream's functions run under the runtime's lock and must not call back into it.
//
// Thread-safety: all methods may be called from any thread. A pipelined stream's `done` runs
// on a log thread or the caller's (maybe under the lock: it must not block nor call back);
// Read takes the lock shared.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "commands/command_meta.h"
#include "commands/idempotent_answers.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"
#include "infra/event_log.h"
#include "infra/log.h"

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

  // `duplicate_wait`: how long a request waits for the first one with its Idempotency-Key.
  CommandRuntime(S stream, EventLog& log, Clock& clock,
                 std::chrono::milliseconds duplicate_wait = kDuplicateWait)
      : stream_(std::move(stream)), log_(log), clock_(clock) {
    if constexpr (kIdempotent) answers_.emplace(clock, *in_flight_, duplicate_wait);
  }
  CommandRuntime(const CommandRuntime&) = delete;
  CommandRuntime& operator=(const CommandRuntime&) = delete;

  // Folds the stream's whole topic into the write model. Until it has succeeded, commands are
  // refused with kUnavailable.
  Status Load() {
    std::unique_lock lock(mu_);
    auto st = LoadLocked();
    if (st) loaded_ = true;
    return st;
  }
  bool loaded() const { return loaded_.load(); }

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
      lock.unlock();
      auto appended = log_.Append(std::string(S::kTopic), decision->key, Encode(*decision));
      if (!appended) {
        // The log may hold the events after all (an outcome it could not tell): the next
        // command reads it again first.
        stale_ = true;
        return done(Fail(appended.error()));
      }
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
  // Folds the topic into a model; mu_ held. A pipelined stream refolds in place (nothing reads
  // its model outside the lock, and one model in memory is half of two); otherwise the fold
  // is made aside and swapped in whole, so that a read that fails halfway leaves the model as
  // it was, never a past one in which a disabled account or an ended session would work again.
  Status LoadLocked() {
    const std::string topic(S::kTopic);
    Millis horizon = 0;
    if constexpr (kIdempotent) horizon = answers_->Horizon();
    auto fold = [&](Model& model) {
      return log_.ReadAll(topic, [&](const LogRecord& r) {
        auto event = DecodeEvent(r.value);
        // Events the projector will dead-letter carry no state the write side could use.
        if (!event || CheckSupport(*event) != EventSupport::kSupported) return;
        if (!model.Apply(*event)) return;
        if constexpr (kIdempotent) {
          if (event->idempotency_key.empty() || event->recorded_at < horizon) return;
          if (auto answer = stream_.Remembered(model, *event)) {
            answer->position = AppendResult{topic, r.partition, r.offset, r.offset};
            answers_->FoundInLog(event->idempotency_key, *answer, event->recorded_at);
          }
        }
      });
    };
    if constexpr (S::kVisibility == Visibility::kPipelined) {
      model_ = Model();
      if (auto st = fold(model_); !st) return st;
    } else {
      Model fresh;
      if (auto st = fold(fresh); !st) return st;
      model_ = std::move(fresh);
    }
    stream_.Loaded(model_, clock_.NowMillis());
    ++generation_;
    stale_ = false;
    return {};
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
    // After `then`, the callback touches nothing of the runtime: whoever waited for the answer
    // may destroy it at once (the count it drops is shared).
    log_.AppendAsync(std::string(S::kTopic), key, std::move(values),
                     [this, in_flight = in_flight_,
                      then = std::move(then)](Result<AppendResult> appended) mutable {
                       if (!appended) stale_ = true;  // the model holds events the log does not
                       then(std::move(appended));
                       --*in_flight;
                     });
  }

  S stream_;  // its functions run under mu_
  EventLog& log_;
  Clock& clock_;

  std::mutex serial_;  // kAfterAppend: one command at a time, from decision to fold
  mutable std::shared_mutex mu_;
  Model model_;  // guarded by mu_
  std::atomic<bool> stale_{false};
  std::atomic<bool> loaded_{false};
  std::atomic<uint64_t> generation_{1};
  const std::shared_ptr<std::atomic<int64_t>> in_flight_ =
      std::make_shared<std::atomic<int64_t>>(0);
  // kIdempotent only; after in_flight_, which it counts in.
  std::optional<IdempotentAnswers<Answer>> answers_;
};

}  // namespace keel

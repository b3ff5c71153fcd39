// IdempotentAnswers: the answers of a command stream's Idempotency-Keys, for CommandRuntime.
//
// A command whose key already succeeded (appended) in the last 24 hours gets its first answer
// again and appends nothing (the latest `max_remembered` keys of those 24 hours: memory is
// bounded, and a key pushed out decides again); the keys travel in the events, so a reload of the
// stream finds them again (FoundInLog). A request whose key is still in flight waits, without a
// thread, for the first one and gets its answer (success or error), or kUnavailable after
// `duplicate_wait`; more than kMaxDuplicatesPerKey waiting get kResourceExhausted.
//
// `Answer` is a copyable value with a member `std::optional<AppendResult> position`: only an
// answer with a position (its events reached the log) is remembered, as a restart would.
//
// Thread-safety: all methods may be called from any thread. A parked request's `done` runs on
// the thread that settles its key, or on this object's timer thread; it must not block.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "domain/error.h"
#include "domain/time.h"

namespace keel {

template <typename Answer>
class IdempotentAnswers final {
 public:
  using Done = std::function<void(Result<Answer>)>;

  static constexpr Millis kWindow = 24 * 3600 * 1000;
  static constexpr std::chrono::milliseconds kDuplicateWait{10000};
  static constexpr size_t kMaxDuplicatesPerKey = 64;
  // Answers kept at most: a few hundred bytes each, so about 100 MiB.
  static constexpr size_t kMaxRemembered = 200000;

  // `in_flight` counts the parked requests too (the owner's count of unanswered commands).
  IdempotentAnswers(Clock& clock, std::atomic<int64_t>& in_flight,
                    std::chrono::milliseconds duplicate_wait,
                    size_t max_remembered = kMaxRemembered)
      : clock_(clock),
        in_flight_(in_flight),
        duplicate_wait_(duplicate_wait),
        max_remembered_(max_remembered) {
    timer_ = std::thread([this] { ExpireDuplicates(); });
  }
  // Joins the timer thread; requests still parked get kUnavailable.
  ~IdempotentAnswers() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    timer_.join();
    std::vector<Done> parked;
    for (auto& [key, answer] : answers_) {
      for (auto& d : answer.duplicates) parked.push_back(std::move(d.done));
    }
    for (auto& done : parked) done(Fail(Error::Unavailable("The server is shutting down")));
  }
  IdempotentAnswers(const IdempotentAnswers&) = delete;
  IdempotentAnswers& operator=(const IdempotentAnswers&) = delete;

  // f(key, answer, recorded_at) for each key answered within the window, once each (for a
  // snapshot). f runs under this object's lock and must not call back into it.
  template <typename F>
  void ForEachRemembered(F&& f) {
    std::lock_guard lock(mu_);
    const Millis horizon = Horizon();
    std::unordered_set<std::string_view> seen;
    for (auto it = answer_times_.rbegin(); it != answer_times_.rend(); ++it) {
      if (it->first < horizon) continue;
      auto found = answers_.find(it->second);
      if (found == answers_.end() || found->second.pending) continue;
      if (!seen.insert(it->second).second) continue;
      f(it->second, found->second.outcome, it->first);
    }
  }

  // The oldest recorded_at whose key is still answered.
  Millis Horizon() { return clock_.NowMillis() - kWindow; }

  // A request with `key` arrives. Answered already, or parked behind the first request with the
  // key: `done` is taken care of and nullopt returned. Otherwise this request holds the key
  // until it is answered: the returned callback (use it instead of `done`) settles the key.
  std::optional<Done> Begin(const std::string& key, Done done) {
    std::unique_lock lock(mu_);
    auto [it, first] = answers_.try_emplace(key);
    if (!first && !it->second.pending) {
      Answer answer = it->second.outcome;
      lock.unlock();
      done(std::move(answer));
      return std::nullopt;
    }
    if (!first) {
      if (it->second.duplicates.size() >= kMaxDuplicatesPerKey) {
        lock.unlock();
        done(Fail(Error::ResourceExhausted(
            "Too many requests with this Idempotency-Key are waiting for the first; retry later")));
        return std::nullopt;
      }
      // The first request with this key is in flight: this one gets its answer when it has
      // one, on whichever thread that is, or kUnavailable from the timer.
      const uint64_t id = ++last_duplicate_;
      it->second.duplicates.push_back({id, std::move(done)});
      deadlines_.push_back({std::chrono::steady_clock::now() + duplicate_wait_, key, id});
      ++in_flight_;
      if (deadlines_.size() == 1) cv_.notify_all();
      return std::nullopt;
    }
    return Done([this, key, done = std::move(done)](Result<Answer> result) {
      Settle(key, result);
      done(std::move(result));
    });
  }

  // The answer a reload found in the log for `key` while its request is in flight: the
  // effect of an earlier request whose answer was lost (an append whose outcome the log could
  // not tell). The request holding the key answers with it instead of deciding again.
  std::optional<Answer> InLog(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = answers_.find(key);
    if (it == answers_.end()) return std::nullopt;
    return it->second.in_log;
  }

  // A reload met an event with `key`, recorded at `at`, whose command answered `answer`.
  void FoundInLog(const std::string& key, const Answer& answer, Millis at) {
    std::lock_guard lock(mu_);
    auto it = answers_.find(key);
    // A request in flight with this key answers for it (and its duplicates) when it ends,
    // with this answer if it has not decided yet.
    if (it == answers_.end() || !it->second.pending) {
      RememberLocked(key, answer, at);
    } else {
      it->second.in_log = answer;
    }
  }

 private:
  // A request that arrived while the first with its key was in flight.
  struct Duplicate {
    uint64_t id = 0;
    Done done;
  };
  struct Entry {
    bool pending = true;                // the first request is in flight
    Answer outcome;                     // once it is not
    std::vector<Duplicate> duplicates;  // while it is
    std::optional<Answer> in_log;       // see InLog
    Millis remembered_at = 0;           // once it is not
  };
  struct Deadline {
    std::chrono::steady_clock::time_point at;
    std::string key;
    uint64_t id = 0;
  };

  // Keeps the answer of a key for the window; mu_ held.
  void RememberLocked(const std::string& key, const Answer& answer, Millis at) {
    const Millis horizon = Horizon();
    auto forget_oldest = [&] {
      auto it = answers_.find(answer_times_.front().second);
      // Only if this is the key's latest time: a key remembered again is younger than that.
      if (it != answers_.end() && !it->second.pending &&
          it->second.remembered_at == answer_times_.front().first) {
        answers_.erase(it);
      }
      answer_times_.pop_front();
    };
    while (!answer_times_.empty() && answer_times_.front().first < horizon) forget_oldest();
    while (!answer_times_.empty() && answer_times_.size() >= max_remembered_) forget_oldest();
    answers_[key] = {false, answer, {}, {}, at};
    answer_times_.emplace_back(at, key);
  }

  // The first request with `key` has its result: the waiting duplicates get it too, and a
  // success that appended is remembered.
  void Settle(const std::string& key, const Result<Answer>& result) {
    std::vector<Duplicate> duplicates;
    {
      std::lock_guard lock(mu_);
      auto it = answers_.find(key);
      if (it == answers_.end() || !it->second.pending) return;
      duplicates = std::move(it->second.duplicates);
      // Only what reached the log is remembered: that is what a restart remembers too.
      if (result && result->position) {
        RememberLocked(key, *result, clock_.NowMillis());
      } else {
        answers_.erase(it);
      }
    }
    for (Duplicate& d : duplicates) {
      d.done(result);
      --in_flight_;
    }
  }

  // The timer thread: fails the duplicates that waited duplicate_wait_ with kUnavailable.
  void ExpireDuplicates() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (deadlines_.empty()) {
        cv_.wait(lock);
        continue;
      }
      if (std::chrono::steady_clock::now() < deadlines_.front().at) {
        cv_.wait_until(lock, deadlines_.front().at);
        continue;
      }
      const Deadline due = std::move(deadlines_.front());
      deadlines_.pop_front();
      auto it = answers_.find(due.key);
      if (it == answers_.end() || !it->second.pending) continue;  // answered already
      auto& waiting = it->second.duplicates;
      auto found = std::find_if(waiting.begin(), waiting.end(),
                                [&](const Duplicate& d) { return d.id == due.id; });
      if (found == waiting.end()) continue;
      Done done = std::move(found->done);
      waiting.erase(found);
      lock.unlock();
      std::string message =
          "The first request with this Idempotency-Key has not been answered within ";
      message += std::to_string(duplicate_wait_.count());
      message += " ms; retry with the same key";
      done(Fail(Error::Unavailable(std::move(message))));
      --in_flight_;
      lock.lock();
    }
  }

  Clock& clock_;
  std::atomic<int64_t>& in_flight_;
  const std::chrono::milliseconds duplicate_wait_;
  const size_t max_remembered_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> answers_;           // guarded by mu_
  std::deque<std::pair<Millis, std::string>> answer_times_;  // guarded by mu_
  // Of every duplicate parked, oldest first (all wait equally long); guarded by mu_.
  std::deque<Deadline> deadlines_;
  uint64_t last_duplicate_ = 0;  // guarded by mu_
  bool stopping_ = false;        // guarded by mu_
  std::thread timer_;
};

}  // namespace keel

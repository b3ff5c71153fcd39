// FaultyLog: fault injection around a real EventLog. Appends pass through to the log beneath
// until told otherwise: then they fail (appending nothing), or wait until released. Reads are
// the real log's. Failed and held appends are answered on the decorator's own thread, as a
// log answers on its threads. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "infra/event_log.h"

namespace keel {

class FaultyLog final : public EventLog {
 public:
  explicit FaultyLog(EventLog& inner) : inner_(inner) {
    worker_ = std::thread([this] { Run(); });
  }
  // Answers what is still queued, then joins; appends still held are dropped unanswered.
  ~FaultyLog() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  FaultyLog(const FaultyLog&) = delete;
  FaultyLog& operator=(const FaultyLog&) = delete;

  // The next `passing` appends go through; every one after them fails with `error`.
  void FailAppendsAfter(int64_t passing, Error error) {
    std::lock_guard lock(mu_);
    failing_ = true;
    passing_ = passing;
    error_ = std::move(error);
  }
  // Appends go through again (undoes FailAppendsAfter).
  void PassAppends() {
    std::lock_guard lock(mu_);
    failing_ = false;
  }
  // The next append alone waits for Release or ReleaseFailing; later ones go on.
  void HoldNextAppend() {
    std::lock_guard lock(mu_);
    hold_next_ = true;
  }
  // The next append alone fails with `error` (appending nothing).
  void FailNextAppend(Error error) {
    std::lock_guard lock(mu_);
    fail_next_ = std::move(error);
  }
  // Appends from now on wait, in order, for Release or ReleaseFailing.
  void HoldAppends() {
    std::lock_guard lock(mu_);
    holding_ = true;
  }
  // Passes the held appends to the log, in order, and holds no more.
  void Release() {
    std::vector<Held> held;
    {
      std::lock_guard lock(mu_);
      holding_ = false;
      held.swap(held_);
    }
    for (Held& h : held) inner_.AppendAsync(h.topic, h.key, std::move(h.values), std::move(h.done));
  }
  // Fails the held appends with `error` (nothing is appended), and holds no more.
  void ReleaseFailing(const Error& error) {
    std::lock_guard lock(mu_);
    holding_ = false;
    for (Held& h : held_) {
      answers_.push_back([done = std::move(h.done), error] { done(Fail(error)); });
    }
    held_.clear();
    cv_.notify_all();
  }
  // Passes the held appends to the log, in order, but tells each caller `error` once its
  // append is durable: an answer lost on its way (a timeout after the broker wrote it).
  void ReleaseLosingAnswers(const Error& error) {
    std::vector<Held> held;
    {
      std::lock_guard lock(mu_);
      holding_ = false;
      held.swap(held_);
    }
    for (Held& h : held) {
      inner_.AppendAsync(
          h.topic, h.key, std::move(h.values),
          [done = std::move(h.done), error](Result<AppendResult>) { done(Fail(error)); });
    }
  }
  size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }

  int32_t PartitionCount() const override { return inner_.PartitionCount(); }
  void AppendAsync(const std::string& topic, const std::string& key,
                   std::vector<std::string> values, AppendCallback done) override {
    {
      std::lock_guard lock(mu_);
      if (holding_ || std::exchange(hold_next_, false)) {
        held_.push_back({topic, key, std::move(values), std::move(done)});
        return;
      }
      if (fail_next_) {
        answers_.push_back([done = std::move(done), error = *std::exchange(fail_next_, {})] {
          done(Fail(error));
        });
        cv_.notify_all();
        return;
      }
      if (failing_ && passing_-- <= 0) {
        answers_.push_back([done = std::move(done), error = error_] { done(Fail(error)); });
        cv_.notify_all();
        return;
      }
    }
    inner_.AppendAsync(topic, key, std::move(values), std::move(done));
  }
  Result<int64_t> EndOffset(const std::string& topic, int32_t partition) override {
    return inner_.EndOffset(topic, partition);
  }
  Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) override {
    return inner_.OpenReader(topic, starts);
  }

 private:
  struct Held {
    std::string topic;
    std::string key;
    std::vector<std::string> values;
    AppendCallback done;
  };

  void Run() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !answers_.empty(); });
      if (answers_.empty()) return;  // stopping, and all answered
      std::function<void()> answer = std::move(answers_.front());
      answers_.pop_front();
      lock.unlock();
      answer();
      lock.lock();
    }
  }

  EventLog& inner_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool failing_ = false;                       // guarded by mu_
  int64_t passing_ = 0;                        // guarded by mu_
  Error error_;                                // guarded by mu_
  bool holding_ = false;                       // guarded by mu_
  bool hold_next_ = false;                     // guarded by mu_
  std::optional<Error> fail_next_;             // guarded by mu_
  std::vector<Held> held_;                     // guarded by mu_
  std::deque<std::function<void()>> answers_;  // guarded by mu_; run by worker_
  bool stopping_ = false;                      // guarded by mu_
  std::thread worker_;
};

}  // namespace keel

// AnswerWaiter: what a pass of a process manager (the level keeper, the referral keeper) uses to
// wait for the answers of the commands it sent to CommandService. Shared with the callbacks: a
// pass that Stop cuts short leaves some still to come, and they must find it alive.
//
// Thread-safety: the callbacks from any thread; Wait and tally from the pass's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "commands/command_service.h"

namespace keel {

class AnswerWaiter final {
 public:
  struct Tally {
    size_t appended = 0;   // commands that appended events
    size_t unchanged = 0;  // that appended nothing (done already)
    size_t failed = 0;     // refused or not appended
    std::vector<std::string> failed_ids;
    size_t waiting = 0;  // not answered yet
  };

  // The `done` of one more command, named `id` in failed_ids.
  static CommandService::Done Expect(const std::shared_ptr<AnswerWaiter>& w, std::string id) {
    {
      std::lock_guard lock(w->mu_);
      ++w->tally_.waiting;
    }
    return [w, id = std::move(id)](Result<CommandOutcome> out) {
      std::lock_guard lock(w->mu_);
      if (!out) {
        ++w->tally_.failed;
        w->tally_.failed_ids.push_back(id);
      } else if (out->position) {
        ++w->tally_.appended;
      } else {
        ++w->tally_.unchanged;
      }
      if (--w->tally_.waiting == 0) w->cv_.notify_all();
    };
  }

  // Every answer, unless `stopping` turns true first (asked every second: a Kafka produce may take
  // minutes to time out, and what is unanswered is sent again by a later pass, decided once).
  // The tally, with `waiting` the answers given up on.
  Tally Wait(const std::function<bool()>& stopping) {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return tally_.waiting == 0; })) {
      if (stopping()) break;
    }
    return tally_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Tally tally_;  // guarded by mu_
};

}  // namespace keel

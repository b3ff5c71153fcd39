// BlockingWork: the few threads that do what a request needs and an HTTP thread must not wait
// for: Argon2id (tens of milliseconds and 64 MiB per password), the identity provider's code
// exchange and keys (a network round trip), and the user commands' appends, which wait until
// their events are durable. A route posts the job and returns; the job answers through the
// request's HttpResponder. So a burst of sign-ins queues here while health checks, reads and
// commands keep every HTTP thread.
//
// Bounded: past `max_queued` jobs waiting, or `max_per_key` jobs of one key (a client address)
// waiting, Post refuses with kUnavailable (the route answers 503 with Retry-After),
// so a flood of sign-ins costs the server a refusal, not memory, and one address cannot take
// every place. The
// threads run at a lower CPU priority (nice +5): a password hash yields the core to a read.
//
// Thread-safety: Post and Stop from any thread; Stop not from a job.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "domain/error.h"

namespace keel {

class BlockingWork final {
 public:
  struct Options {
    std::string name = "blocking";  // thread names: name-0, name-1, ...
    int threads = 2;
    size_t max_queued = 256;
    size_t max_per_key = 0;  // 0: no per-key bound
  };

  explicit BlockingWork(Options options);
  ~BlockingWork();  // Stop()s
  BlockingWork(const BlockingWork&) = delete;
  BlockingWork& operator=(const BlockingWork&) = delete;

  // Queues `run`. `drop` is called instead (on the thread calling Stop) if the work is still
  // queued when Stop comes: it answers the request that is waiting. kUnavailable when the queue
  // is full or stopped; neither function is called then.
  Status Post(std::function<void()> run, std::function<void()> drop, std::string key = "");

  // Drops what is queued, lets the running jobs finish, joins. Idempotent.
  void Stop();

  size_t queued() const;

 private:
  struct Job {
    std::function<void()> run;
    std::function<void()> drop;
    std::string key;
  };
  void Release(const std::string& key);  // mu_ held
  void Loop(int index);

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> queue_;  // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::unordered_map<std::string, size_t> per_key_;  // waiting; guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace keel

#include "api/blocking_work.h"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "infra/log.h"

namespace keel {

BlockingWork::BlockingWork(Options options) : options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) {
    threads_.emplace_back([this, i] { Loop(i); });
  }
}

BlockingWork::~BlockingWork() { Stop(); }

Status BlockingWork::Post(std::function<void()> run, std::function<void()> drop, std::string key) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Fail(Error::Unavailable("The server is shutting down"));
    if (queue_.size() >= options_.max_queued) {
      return Fail(Error::Unavailable("Too many requests of this kind are waiting; retry shortly"));
    }
    if (options_.max_per_key > 0 && !key.empty()) {
      size_t& held = per_key_[key];
      if (held >= options_.max_per_key) {
        return Fail(Error::Unavailable(
            "Too many requests of this kind from this address are in progress; retry shortly"));
      }
      ++held;
    } else {
      key.clear();
    }
    queue_.push_back({std::move(run), std::move(drop), std::move(key)});
  }
  ready_.notify_one();
  return {};
}

void BlockingWork::Stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    dropped.swap(queue_);
  }
  ready_.notify_all();
  for (auto& job : dropped) {
    if (job.drop) job.drop();
    std::lock_guard lock(mu_);
    Release(job.key);
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::lock_guard lock(mu_);
  threads_.clear();
}

size_t BlockingWork::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void BlockingWork::Loop(int index) {
  const std::string name = (options_.name + "-" + std::to_string(index)).substr(0, 15);
  pthread_setname_np(pthread_self(), name.c_str());
  // Per thread on Linux: a lower priority for this thread alone. Lowering needs no privilege.
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 5) != 0) {
    Log(LogLevel::kWarn, "blocking work keeps normal CPU priority", {{"thread", name}});
  }
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
      Release(job.key);
    }
    try {
      job.run();
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "blocking work threw", {{"thread", name}, {"error", e.what()}});
    }
  }
}

void BlockingWork::Release(const std::string& key) {
  if (key.empty()) return;
  auto it = per_key_.find(key);
  if (it != per_key_.end() && --it->second == 0) per_key_.erase(it);
}

}  // namespace keel

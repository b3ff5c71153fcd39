#include "commands/wake_loop.h"

namespace keel {

void WakeLoop::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
    changed_ = true;
  }
  thread_ = std::thread([this] { Loop(); });
}

void WakeLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void WakeLoop::Wake() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  wake_.notify_all();
}

bool WakeLoop::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

void WakeLoop::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    changed_ = false;
    lock.unlock();
    pass_();
    lock.lock();
    if (stop_ || changed_) continue;
    wake_.wait_for(lock, interval_);
  }
}

}  // namespace keel

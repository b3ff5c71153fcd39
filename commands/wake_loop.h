// WakeLoop: the thread of a process manager (the campaign launcher, the dispatcher). It runs a
// pass at Start, again soon after each Wake, and at least every `interval`; Stop lets the pass in
// progress finish (it may ask `stopping()` to cut it short) and joins the thread.
//
// Thread-safety: Start and Stop from one thread; Wake and stopping from any, the pass included.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace keel {

class WakeLoop final {
 public:
  WakeLoop(std::chrono::milliseconds interval, std::function<void()> pass)
      : interval_(interval), pass_(std::move(pass)) {}
  ~WakeLoop() { Stop(); }
  WakeLoop(const WakeLoop&) = delete;
  WakeLoop& operator=(const WakeLoop&) = delete;

  void Start();
  void Stop();  // idempotent
  // Another pass soon (at once when none is running).
  void Wake();
  // Whether Stop has been asked for (false before the first Start).
  bool stopping() const;

 private:
  void Loop();

  const std::chrono::milliseconds interval_;
  const std::function<void()> pass_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool changed_ = false;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace keel

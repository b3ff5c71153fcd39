// The write side's registry (issue 14): what App starts and stops on the command side, each
// registered by one line where App wires it, instead of lists written out in App's start and
// stop.
// - Command streams (a service over a CommandRuntime: Load, in_flight) are loaded in
//   registration order before anything is decided; at shutdown their commands in flight are
//   awaited.
// - Process managers (Start, Stop) are started in registration order once every stream has
//   loaded, and stopped in the reverse order, in two waves around that wait: kBeforeCommands
//   ones append commands of their own, and a pass of theirs in progress ends once its appends
//   are answered; kAfterCommands ones leave what they were doing to the next start.
// Not thread-safe: registered, loaded, started and stopped from App's thread. The registry
// holds references: what it names must outlive its Stop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "domain/error.h"

namespace keel {

class WriteSide final {
 public:
  enum class StopWave { kBeforeCommands, kAfterCommands };

  template <class Stream>
  void AddStream(Stream& stream) {
    streams_.push_back({[&stream] { return stream.Load(); },
                        [&stream] { return static_cast<int64_t>(stream.in_flight()); }});
  }
  template <class Manager>
  void AddProcessManager(Manager& manager, StopWave wave) {
    managers_.push_back({[&manager] { manager.Start(); }, [&manager] { manager.Stop(); }, wave});
  }
  // Something stopped with a wave that starts on its own (a client whose Stop ends its work).
  void AddStoppable(std::function<void()> stop, StopWave wave) {
    managers_.push_back({nullptr, std::move(stop), wave});
  }

  // Every stream, in order; the first failure ends it.
  Status LoadStreams() const {
    for (const Stream& s : streams_) {
      if (auto st = s.load(); !st) return st;
    }
    return {};
  }
  void StartProcessManagers() const {
    for (const Manager& m : managers_) {
      if (m.start) m.start();
    }
  }
  int64_t in_flight() const {
    int64_t n = 0;
    for (const Stream& s : streams_) n += s.in_flight();
    return n;
  }
  // The first wave, the streams' commands in flight awaited until `deadline`, the second wave.
  void Stop(std::chrono::steady_clock::time_point deadline) const {
    StopWaveOf(StopWave::kBeforeCommands);
    while (in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    StopWaveOf(StopWave::kAfterCommands);
  }

 private:
  struct Stream {
    std::function<Status()> load;
    std::function<int64_t()> in_flight;
  };
  struct Manager {
    std::function<void()> start;  // none: it starts on its own
    std::function<void()> stop;
    StopWave wave;
  };
  void StopWaveOf(StopWave wave) const {
    for (auto it = managers_.rbegin(); it != managers_.rend(); ++it) {
      if (it->wave == wave) it->stop();
    }
  }

  std::vector<Stream> streams_;
  std::vector<Manager> managers_;
};

}  // namespace keel

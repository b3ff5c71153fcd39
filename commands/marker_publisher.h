// MarkerPublisher: places the partition markers (domain/partition_markers.h) on every partition
// of the customers stream: a ClockTicked at every tick interval, and SegmentRulesPublished for
// each segment version it has not published yet (at start every segment is published once
// again: a crash between a segment's event and its markers loses nothing; the membership
// projector ignores versions it has folded already). Ticks are appended only while an active
// segment's rules depend on time.
//
// A marker that fails to append is retried at the next wake. Markers are facts about time and
// about the segments stream, so two processes publishing both is harmless.
//
// Thread-safety: Start/Stop from one thread; the rest from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "domain/error.h"
#include "domain/ids.h"
#include "domain/partition_markers.h"
#include "domain/segment.h"
#include "domain/time.h"
#include "infra/event_log.h"

namespace keel {

class MarkerPublisher final {
 public:
  struct Options {
    // Between two ticks; zero: no ticks (tests tick by hand).
    std::chrono::milliseconds tick_interval{60000};
    // Between retries of markers that failed to append.
    std::chrono::milliseconds retry_interval{1000};
  };
  // `segments`: every segment as the write side knows it now (SegmentService::Segments).
  MarkerPublisher(EventLog& log, Clock& clock, IdGenerator& ids, Options options,
                  std::function<std::vector<Segment>()> segments);
  ~MarkerPublisher();  // Stop()s
  MarkerPublisher(const MarkerPublisher&) = delete;
  MarkerPublisher& operator=(const MarkerPublisher&) = delete;

  // Starts the thread: publishes every segment, then ticks and publishes changes.
  void Start();
  void Stop();
  // A segment changed: the thread publishes it soon.
  void SegmentsChanged();

  // Appends ClockTicked at the clock's time to every partition. For the thread and tests.
  Status Tick();
  // Publishes every segment whose current version this publisher has not published.
  Status PublishSegments();
  // Appends a launched campaign's CampaignAudienceRequested to every partition, after the
  // rules of every segment known now (so that each partition resolves the audience with the
  // rules its campaign was launched under).
  Status RequestAudience(const AudienceRequest& request);

 private:
  Status PublishSegmentsLocked();  // publish_mu_ held
  // Appends one event to every partition; the first failure is returned.
  Status AppendToEveryPartition(const EventEnvelope& event);
  void Loop();
  // Whether an active segment's rules depend on time (the thread's; remembered per version).
  bool AnySegmentDependsOnTime();

  EventLog& log_;
  Clock& clock_;
  IdGenerator& ids_;
  const Options options_;
  const std::function<std::vector<Segment>()> segments_;
  std::vector<std::string> keys_;                                    // a key of each partition
  std::map<std::string, std::pair<int64_t, bool>> depends_on_time_;  // the thread's: id → version

  std::mutex publish_mu_;                     // one publication at a time
  std::map<std::string, int64_t> published_;  // guarded by publish_mu_: segment → version

  std::mutex mu_;
  std::condition_variable wake_;
  bool changed_ = false;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace keel

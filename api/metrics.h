// Metrics: Keel's Prometheus metrics (prometheus-cpp), rendered in the text format at
// GET /metrics. Request and command metrics are recorded as they happen; projection, process
// and store figures are gathered when scraped. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace keel {

struct ProjectionStatus;

class Metrics final {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One HTTP request answered: `route` is the route's pattern ("unmatched" when none).
  void Request(std::string_view method, std::string_view route, int status, double seconds);
  // One command decided: accepted (its events are durable, or it changed nothing) or rejected.
  void Command(std::string_view type, bool accepted);
  void EventsAppended(std::string_view topic, int64_t count);
  // Freshness: seconds from an event's recording (when its command was decided, before it
  // was acknowledged) to the commit that made it visible in a live read model.
  void EventVisible(std::string_view projection, double seconds);

  // Sources read at each scrape.
  // `describe` reports a projection's status now, or nullopt when it cannot.
  void WatchProjection(std::function<std::optional<ProjectionStatus>()> describe);
  // keel_memory_bytes{kind=`kind`}: RocksDB's memtables and cache, an in-memory view, …
  void WatchMemory(std::string kind, std::function<uint64_t()> bytes);

  // The text exposition format.
  std::string Render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

// Metrics: Keel's Prometheus metrics (prometheus-cpp), rendered in the text format at
// GET /metrics. Request and command metrics are recorded as they happen; projection, process
// and store figures are gathered when scraped. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

struct ProjectionStatus;

// The dispatcher's figures, read at each scrape: messages waiting (not yet dispatched from
// Running campaigns: the backlog; handed to the vendor client and not yet answered), message
// outcomes and the vendor client's requests, since the process started.
struct DispatchFigures {
  uint64_t backlog = 0, in_client = 0;
  uint64_t accepted = 0, duplicates = 0, rejected = 0, gave_up = 0;
  uint64_t requests = 0, retries = 0, throttled = 0, timeouts = 0, server_errors = 0;
};

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

  // Delivery receipts recorded: `lag_seconds` from the vendor's occurredAt to now, per receipt.
  void ReceiptsRecorded(const std::vector<double>& lag_seconds);

  // Sources read at each scrape.
  // `describe` reports a projection's status now, or nullopt when it cannot.
  void WatchProjection(std::function<std::optional<ProjectionStatus>()> describe);
  // keel_memory_bytes{kind=`kind`}: RocksDB's memtables and cache, an in-memory view, …
  void WatchMemory(std::string kind, std::function<uint64_t()> bytes);
  // keel_dispatch_*: the dispatcher's figures (none without a vendor).
  void WatchDispatch(std::function<DispatchFigures()> figures);

  // The text exposition format.
  std::string Render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

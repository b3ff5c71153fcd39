#include "api/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "domain/time.h"
#include "projections/projector_runner.h"

namespace keel {
namespace {

// Every Metrics gets an id never used again, so that the per-thread caches below can never
// hand a metric of a destroyed registry to a new one.
std::atomic<uint64_t> next_instance{1};

uint64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

}  // namespace

struct Metrics::Impl {
  const uint64_t instance = next_instance.fetch_add(1);
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter()
          .Name("keel_http_requests_total")
          .Help("HTTP requests answered, by route pattern, method and status")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram()
          .Name("keel_http_request_duration_seconds")
          .Help("Time from a request's arrival to its answer, by route pattern and method")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& commands =
      prometheus::BuildCounter()
          .Name("keel_commands_total")
          .Help("Commands by type and outcome (accepted or rejected)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& appended =
      prometheus::BuildCounter()
          .Name("keel_events_appended_total")
          .Help("Events appended to the log, by topic")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& freshness =
      prometheus::BuildHistogram()
          .Name("keel_projection_freshness_seconds")
          .Help("From an event's recording (its command's decision) to its commit in a live read model")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& position =
      prometheus::BuildGauge()
          .Name("keel_projection_position")
          .Help("Next offset a projection will apply, by projection and partition")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& lag_events =
      prometheus::BuildGauge()
          .Name("keel_projection_lag_events")
          .Help("Events waiting for a projection, by projection and partition")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& lag_seconds =
      prometheus::BuildGauge()
          .Name("keel_projection_lag_seconds")
          .Help("Age of the oldest event waiting for a projection, by projection and partition")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& rate =
      prometheus::BuildGauge()
          .Name("keel_projection_events_per_second")
          .Help("Events a projection applied per second, recently")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& applied =
      prometheus::BuildGauge()
          .Name("keel_projection_events_applied")
          .Help("Events a projection has applied since its read model was built")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& dead =
      prometheus::BuildGauge()
          .Name("keel_projection_dead_lettered")
          .Help("Events a projection could not apply and dead-lettered")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& stalled =
      prometheus::BuildGauge()
          .Name("keel_projection_stalled")
          .Help("1 while a projection has events waiting and commits nothing")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& memory =
      prometheus::BuildGauge()
          .Name("keel_memory_bytes")
          .Help("Memory: the process's resident set, RocksDB's memtables and block cache, and the in-memory audience columns")
          .Register(*registry);

  prometheus::Family<prometheus::Gauge>& dispatch_queue =
      prometheus::BuildGauge()
          .Name("keel_dispatch_queue_depth")
          .Help(
              "Messages waiting: backlog (of Running campaigns, not yet dispatched) and "
              "in_client (handed to the vendor client, not yet answered)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& dispatch_messages =
      prometheus::BuildGauge()
          .Name("keel_dispatch_messages")
          .Help(
              "Messages answered by the vendor since the start, by outcome (accepted, "
              "duplicate, rejected, gave_up)")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& dispatch_requests =
      prometheus::BuildGauge()
          .Name("keel_dispatch_vendor_requests")
          .Help(
              "Requests to the vendor since the start, by kind (sent, retries, throttled, "
              "timeouts, server_errors)")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& receipt_lag =
      prometheus::BuildHistogram()
          .Name("keel_receipt_lag_seconds")
          .Help("From a delivery receipt's occurredAt (the vendor's) to its recording")
          .Register(*registry);
  std::mutex mu;
  std::vector<std::function<DispatchFigures()>> dispatch_sources;             // guarded by mu
  std::vector<std::function<std::optional<ProjectionStatus>()>> projections;  // guarded by mu
  std::vector<std::pair<std::string, std::function<uint64_t()>>> memory_sources;  // guarded by mu

  // Family::Add locks and hashes; a per-thread cache keeps that off the request path.
  template <typename Metric, typename... Extra>
  Metric& Cached(prometheus::Family<Metric>& family, const std::string& key,
                 const prometheus::Labels& labels, Extra&&... extra) {
    thread_local std::unordered_map<std::string, void*> cache;
    const std::string full = std::to_string(instance) + '\x1f' + key;
    auto it = cache.find(full);
    if (it != cache.end()) return *static_cast<Metric*>(it->second);
    Metric& metric = family.Add(labels, std::forward<Extra>(extra)...);
    cache.emplace(full, &metric);
    return metric;
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::Request(std::string_view method, std::string_view route, int status, double seconds) {
  const std::string m(method), r(route), s = std::to_string(status);
  impl_->Cached(impl_->requests, "r\x1f" + m + '\x1f' + r + '\x1f' + s,
                {{"method", m}, {"route", r}, {"status", s}})
      .Increment();
  impl_->Cached(impl_->latency, "l\x1f" + m + '\x1f' + r, {{"method", m}, {"route", r}},
                prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5})
      .Observe(seconds);
}

void Metrics::Command(std::string_view type, bool accepted) {
  const std::string t(type), outcome = accepted ? "accepted" : "rejected";
  impl_->Cached(impl_->commands, "c\x1f" + t + '\x1f' + outcome, {{"type", t}, {"outcome", outcome}})
      .Increment();
}

void Metrics::EventVisible(std::string_view projection, double seconds) {
  const std::string p(projection);
  impl_->Cached(impl_->freshness, "f\x1f" + p, {{"projection", p}},
                prometheus::Histogram::BucketBoundaries{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05,
                                                        0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
      .Observe(seconds);
}

void Metrics::EventsAppended(std::string_view topic, int64_t count) {
  const std::string t(topic);
  impl_->Cached(impl_->appended, "a\x1f" + t, {{"topic", t}}).Increment(static_cast<double>(count));
}

void Metrics::WatchProjection(std::function<std::optional<ProjectionStatus>()> describe) {
  std::lock_guard lock(impl_->mu);
  impl_->projections.push_back(std::move(describe));
}

void Metrics::WatchMemory(std::string kind, std::function<uint64_t()> bytes) {
  std::lock_guard lock(impl_->mu);
  impl_->memory_sources.emplace_back(std::move(kind), std::move(bytes));
}

void Metrics::WatchDispatch(std::function<DispatchFigures()> figures) {
  std::lock_guard lock(impl_->mu);
  impl_->dispatch_sources.push_back(std::move(figures));
}

void Metrics::ReceiptsRecorded(const std::vector<double>& lag_seconds) {
  auto& histogram =
      impl_->Cached(impl_->receipt_lag, "receipt_lag", {},
                    prometheus::Histogram::BucketBoundaries{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                            2.5, 5, 10, 30, 60, 300});
  for (double lag : lag_seconds) histogram.Observe(lag);
}

std::string Metrics::Render() {
  std::lock_guard lock(impl_->mu);
  for (const auto& source : impl_->dispatch_sources) {
    const DispatchFigures f = source();
    auto set = [](prometheus::Family<prometheus::Gauge>& family, const char* label,
                  const char* value, uint64_t n) {
      family.Add({{label, value}}).Set(static_cast<double>(n));
    };
    set(impl_->dispatch_queue, "stage", "backlog", f.backlog);
    set(impl_->dispatch_queue, "stage", "in_client", f.in_client);
    set(impl_->dispatch_messages, "outcome", "accepted", f.accepted);
    set(impl_->dispatch_messages, "outcome", "duplicate", f.duplicates);
    set(impl_->dispatch_messages, "outcome", "rejected", f.rejected);
    set(impl_->dispatch_messages, "outcome", "gave_up", f.gave_up);
    set(impl_->dispatch_requests, "kind", "sent", f.requests);
    set(impl_->dispatch_requests, "kind", "retries", f.retries);
    set(impl_->dispatch_requests, "kind", "throttled", f.throttled);
    set(impl_->dispatch_requests, "kind", "timeouts", f.timeouts);
    set(impl_->dispatch_requests, "kind", "server_errors", f.server_errors);
  }
  for (const auto& describe : impl_->projections) {
    auto status = describe();
    if (!status) continue;  // the log is unreachable; the last values stay
    const prometheus::Labels named{{"projection", status->name}};
    impl_->rate.Add(named).Set(status->events_per_second);
    impl_->applied.Add(named).Set(static_cast<double>(status->counters.events_applied));
    impl_->dead.Add(named).Set(static_cast<double>(status->counters.dead_lettered));
    impl_->stalled.Add(named).Set(status->state == "stalled" ? 1 : 0);
    for (const auto& p : status->partitions) {
      const prometheus::Labels labels{{"projection", status->name},
                                      {"partition", std::to_string(p.partition)}};
      impl_->position.Add(labels).Set(static_cast<double>(p.position));
      impl_->lag_events.Add(labels).Set(static_cast<double>(p.lag));
      impl_->lag_seconds.Add(labels).Set(p.lag_seconds);
    }
  }
  impl_->memory.Add({{"kind", "process_resident"}}).Set(static_cast<double>(ResidentBytes()));
  for (const auto& [kind, bytes] : impl_->memory_sources) {
    impl_->memory.Add({{"kind", kind}}).Set(static_cast<double>(bytes()));
  }
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace keel

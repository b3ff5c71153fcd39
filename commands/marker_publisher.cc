#include "commands/marker_publisher.h"

#include <future>

#include "domain/partition_markers.h"
#include "domain/segment.h"
#include "domain/segment_rules.h"
#include "domain/topics.h"
#include "infra/log.h"

namespace keel {

MarkerPublisher::MarkerPublisher(EventLog& log, Clock& clock, IdGenerator& ids, Options options,
                                 std::function<std::vector<Segment>()> segments)
    : log_(log), clock_(clock), ids_(ids), options_(options), segments_(std::move(segments)) {
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    keys_.push_back(KeyForPartition(p, log_.PartitionCount()));
  }
}

MarkerPublisher::~MarkerPublisher() { Stop(); }

void MarkerPublisher::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  changed_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void MarkerPublisher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void MarkerPublisher::SegmentsChanged() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  wake_.notify_all();
}

Status MarkerPublisher::AppendToEveryPartition(const EventEnvelope& event) {
  const std::string value = EncodeEvent(event);
  // All at once, then waited for: one round trip, not one per partition.
  std::vector<std::future<Result<AppendResult>>> appended;
  for (const auto& key : keys_) {
    auto promise = std::make_shared<std::promise<Result<AppendResult>>>();
    appended.push_back(promise->get_future());
    log_.AppendAsync(std::string(kCustomersTopic), key, {value},
                     [promise](Result<AppendResult> r) { promise->set_value(std::move(r)); });
  }
  Status first;
  for (auto& f : appended) {
    auto r = f.get();
    if (!r && first) first = Fail(r.error());
  }
  return first;
}

Status MarkerPublisher::Tick() {
  const Millis now = clock_.NowMillis();
  return AppendToEveryPartition(
      MakeMarker(kClockTicked, "clock", EncodeClockTicked(now), now, ids_.NewId()));
}

Status MarkerPublisher::PublishSegments() {
  std::lock_guard lock(publish_mu_);
  return PublishSegmentsLocked();
}

Status MarkerPublisher::PublishSegmentsLocked() {
  for (const Segment& segment : segments_()) {
    auto known = published_.find(segment.id);
    if (known != published_.end() && known->second >= segment.version) continue;
    PublishedRules rules{segment.id, segment.version, std::nullopt};
    if (!segment.archived) rules.rules_json = segment.rules_json;
    const Millis now = clock_.NowMillis();
    EventEnvelope marker = MakeMarker(kSegmentRulesPublished, segment.id,
                                      EncodePublishedRules(rules), now, ids_.NewId());
    marker.schema_version = 1;
    if (rules.rules_json) {
      // Rules the write model accepted: they parse (else the newer version, to be safe).
      auto tree = ParseSegmentRulesJson(*rules.rules_json);
      marker.schema_version = tree ? RulesSchemaVersion(*tree) : kSegmentRulesVersion;
    }
    auto st = AppendToEveryPartition(marker);
    if (!st) return st;
    published_[segment.id] = segment.version;
  }
  return {};
}

Status MarkerPublisher::RequestAudience(const AudienceRequest& request) {
  // Under the publication lock: no new rules can land between the request's markers, so every
  // partition resolves the audience with the same rules.
  std::lock_guard lock(publish_mu_);
  if (auto st = PublishSegmentsLocked(); !st) return st;
  const Millis now = clock_.NowMillis();
  return AppendToEveryPartition(MakeMarker(kCampaignAudienceRequested, request.campaign_id,
                                           EncodeAudienceRequest(request), now, ids_.NewId()));
}

bool MarkerPublisher::AnySegmentDependsOnTime() {
  for (const Segment& segment : segments_()) {
    if (segment.archived) continue;
    auto& known = depends_on_time_[segment.id];
    if (known.first != segment.version) {
      auto rules = ParseSegmentRulesJson(segment.rules_json);
      known = {segment.version, rules && DependsOnTime(*rules)};
    }
    if (known.second) return true;
  }
  return false;
}

void MarkerPublisher::Loop() {
  using clock = std::chrono::steady_clock;
  const bool ticking = options_.tick_interval.count() > 0;
  auto next_tick = clock::now() + options_.tick_interval;
  bool retry = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    const bool publish = changed_ || retry;
    changed_ = false;
    const bool tick = ticking && clock::now() >= next_tick;
    lock.unlock();
    if (tick) next_tick = clock::now() + options_.tick_interval;
    if (publish) {
      auto st = PublishSegments();
      retry = !st;
      if (!st) Log(LogLevel::kWarn, "segment rules not published", {{"error", st.error().message}});
    }
    // Time matters only to rules that depend on it: without any, no tick is appended.
    if (tick && AnySegmentDependsOnTime()) {
      if (auto st = Tick(); !st) {
        Log(LogLevel::kWarn, "clock tick not appended", {{"error", st.error().message}});
      }
    }
    lock.lock();
    if (stop_ || changed_) continue;
    auto until = ticking ? next_tick : clock::time_point::max();
    if (retry) until = std::min(until, clock::now() + options_.retry_interval);
    if (until == clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, until);
    }
  }
}

}  // namespace keel

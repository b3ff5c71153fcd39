#include "api/membership_bench.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <vector>

#include "domain/automation.h"
#include "domain/customer.h"
#include "domain/ids.h"
#include "domain/order.h"
#include "domain/partition_markers.h"
#include "domain/segment_rules.h"
#include "domain/topics.h"
#include "infra/embedded_log.h"
#include "infra/rocks_store.h"
#include "projections/campaign_audience/campaign_audience_projector.h"
#include "projections/membership/membership_projector.h"
#include "projections/projection_set.h"

namespace keel {
namespace {

constexpr Millis kDay = 86'400'000;
constexpr int32_t kPartitions = 8;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The process's resident set (kind "VmRSS") or its peak so far ("VmHWM"), in MiB.
int64_t MemoryMiB(std::string_view kind) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with(kind)) return std::atoll(line.c_str() + kind.size() + 1) / 1024;
  }
  return 0;
}

class Appender {
 public:
  Appender(EventLog& log, IdGenerator& ids) : log_(log), ids_(ids) {}
  void Add(const std::string& key, EventEnvelope e) {
    e.event_id = ids_.NewId();
    e.schema_version = CurrentSchemaVersion(e.type);
    e.actor = "bench-membership";
    e.correlation_id = e.event_id;
    auto promise = std::make_shared<std::promise<Status>>();
    pending_.push_back(promise->get_future());
    log_.AppendAsync(std::string(kCustomersTopic), key, {EncodeEvent(e)},
                     [promise](Result<AppendResult> r) {
                       promise->set_value(r ? Status() : Status(Fail(r.error())));
                     });
    if (pending_.size() >= 4096) Drain();
  }
  Status Drain() {
    Status first;
    for (auto& f : pending_) {
      auto st = f.get();
      if (!st && first) first = st;
    }
    pending_.clear();
    if (!first) failed_ = first;
    return failed_;
  }
  void Marker(std::string_view type, const std::string& payload, Millis at) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      Add(KeyForPartition(p, kPartitions), MakeMarker(type, "bench", payload, at, ""));
    }
  }

 private:
  EventLog& log_;
  IdGenerator& ids_;
  std::vector<std::future<Status>> pending_;
  Status failed_;
};

// A rule of segment `i`: the first `time_segments` depend on time.
std::string RulesOf(int i, int time_segments) {
  std::string n = std::to_string(i);
  if (i < time_segments) {
    if (i % 2 == 0) {
      return R"({"field":"lastVisit","op":"in_last_days","value":)" + std::to_string(30 + 10 * i) +
             "}";
    }
    return R"({"and":[{"field":"inactive_days","op":">=","value":)" + std::to_string(60 + 10 * i) +
           R"(},{"field":"visits","op":">","value":1}]})";
  }
  // Spending tiers above what the orders reach: a segment an order rarely moves anyone across,
  // so that the figure is what evaluating every segment at every event costs.
  return R"({"and":[{"field":"totalSpending","op":">","value":)" + std::to_string(2000 + 100 * i) +
         R"(},{"field":"visits","op":">=","value":)" + std::to_string(i % 5) + "}]}";
}

}  // namespace

Status RunMembershipBench(const MembershipBenchOptions& o) {
  std::error_code ec;
  std::filesystem::remove_all(o.dir, ec);
  auto log = EmbeddedLog::Open({.dir = o.dir + "/log", .partitions = kPartitions, .fsync = false});
  if (!log) return Fail(log.error());
  auto store = RocksStore::Open(o.dir + "/store", ProjectionSet::Tables());
  if (!store) return Fail(store.error());
  ProjectionSet set(**log, **store, false, {.workers = 2});
  SystemClock clock;
  UuidV7Generator ids(clock, 17);
  Appender append(**log, ids);
  std::mt19937_64 rng(5);
  const Millis t0 = 1'780'000'000'000;

  auto fold = [&](const char* what, int64_t events) -> Status {
    const auto started = std::chrono::steady_clock::now();
    if (auto st = append.Drain(); !st) return st;
    if (auto st = set.RunToEnd(nullptr); !st) return st;
    const double s = Seconds(started);
    std::printf("%s: %.3f s", what, s);
    if (events > 0) std::printf(" (%.0f events/s)", static_cast<double>(events) / s);
    std::printf("\n");
    std::fflush(stdout);
    return {};
  };

  std::vector<std::string> customers;
  customers.reserve(static_cast<size_t>(o.customers));
  for (int64_t i = 0; i < o.customers; ++i) {
    EventEnvelope e;
    e.type = std::string(kCustomerRegistered);
    e.aggregate_type = std::string(kCustomerAggregate);
    e.aggregate_id = ids.NewId();
    e.aggregate_version = 1;
    e.occurred_at = e.recorded_at = t0;
    CustomerFields f = WithDefaults({.name = "Customer " + std::to_string(i),
                                     .email = "c" + std::to_string(i) + "@bench.example"});
    f.visits = static_cast<int64_t>(rng() % 10);
    // Last visits spread evenly over 400 days: a day moves a quarter of a percent of each
    // time-relative segment's customers across its threshold.
    f.last_visit = std::optional<Millis>(t0 - static_cast<Millis>(rng() % (400 * kDay)));
    // Birthdays spread over the year: a day's run reaches about 1/365 of the customers.
    f.birth_date = std::optional<std::string>(
        FormatIso8601(static_cast<Millis>(rng() % (35 * 365)) * kDay).substr(0, 10));
    e.payload = EncodeCustomerFields(f);
    customers.push_back(e.aggregate_id);
    append.Add(e.aggregate_id, std::move(e));
  }
  if (auto st = fold("customers registered", o.customers); !st) return st;

  int64_t order_number = 0;
  auto orders = [&](Millis at) {
    for (int64_t i = 0; i < o.orders; ++i) {
      Order order;
      order.id = ids.NewId();
      order.customer_id = customers[rng() % customers.size()];
      order.order_date = at - static_cast<Millis>(rng() % (30 * kDay));
      order.amount_cents = 100 + static_cast<int64_t>(rng() % 100'000);
      order.created_at = at;
      EventEnvelope e;
      e.type = std::string(kOrderPlaced);
      e.aggregate_type = std::string(kOrderAggregate);
      e.aggregate_id = order.id;
      e.aggregate_version = 1;
      e.occurred_at = e.recorded_at = at;
      e.payload = EncodeOrderPlaced(order);
      append.Add(order.customer_id, std::move(e));
      ++order_number;
    }
  };
  // The orders are appended first, then folded: the rate is the projection's alone.
  orders(t0 + 1000);
  if (auto st = append.Drain(); !st) return st;
  const auto no_segments = std::chrono::steady_clock::now();
  if (auto st = fold("orders, no segment", o.orders); !st) return st;
  const double without = static_cast<double>(o.orders) / Seconds(no_segments);

  Millis at = t0 + 2000;
  double publish_seconds = 0;
  for (int i = 0; i < o.segments; ++i) {
    auto tree = ParseSegmentRulesJson(RulesOf(i, o.time_segments));
    if (!tree) return Fail(tree.error());
    PublishedRules rules{"bench-segment-" + std::to_string(i), 1, EncodeSegmentRules(*tree)};
    append.Marker(kSegmentRulesPublished, EncodePublishedRules(rules), ++at);
    if (i == 0) {
      const auto started = std::chrono::steady_clock::now();
      if (auto st = fold("one segment published (every customer re-evaluated)", 0); !st) return st;
      publish_seconds = Seconds(started);
    }
  }
  if (auto st = fold("the other segments published", 0); !st) return st;

  orders(t0 + 3000);
  if (auto st = append.Drain(); !st) return st;
  const auto with_segments = std::chrono::steady_clock::now();
  if (auto st = fold("orders, with the segments", o.orders); !st) return st;
  const double with = static_cast<double>(o.orders) / Seconds(with_segments);

  // Ticks on the live runner (as the server runs it: no flush per batch), timed from the
  // append until every partition has folded its tick.
  if (auto st = set.Start(); !st) return st;
  ProjectorRunner* runner = set.RunnerOfTopic(kCustomersTopic);
  // Seconds from appending `e` to every partition until every partition folded it.
  auto everywhere = [&](EventEnvelope e) -> Result<double> {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::pair<int32_t, int64_t>> positions;
    for (int32_t p = 0; p < kPartitions; ++p) {
      e.event_id = ids.NewId();
      auto r = (*log)->Append(std::string(kCustomersTopic), KeyForPartition(p, kPartitions),
                              {EncodeEvent(e)});
      if (!r) return Fail(r.error());
      positions.emplace_back(r->partition, r->last_offset);
    }
    for (auto [p, offset] : positions) {
      if (!runner->WaitFor(p, offset, std::chrono::minutes(10))) {
        return Fail(Error::Unavailable("A " + e.type + " was not folded in time"));
      }
    }
    return Seconds(started);
  };
  auto tick = [&](Millis when, const char* what) -> Result<double> {
    auto s = everywhere(MakeMarker(kClockTicked, "bench", EncodeClockTicked(when), when, ""));
    if (!s) return Fail(s.error());
    std::printf("%s: %.1f ms\n", what, *s * 1000);
    return *s;
  };
  auto minute = tick(t0 + 60'000, "a tick one minute on");
  if (!minute) return Fail(minute.error());
  auto day = tick(t0 + kDay, "a tick one day on");
  if (!day) return Fail(day.error());

  // Automated runs (domain/automation.h): a birthday run the day after (about 1/365 due), then
  // an inactivity run 100 days on (60 days: every customer due, the first run over an idle
  // base), timed like the ticks from the append of each partition's request until all folded.
  auto run = [&](std::string campaign, Occasion occasion, int64_t days, Millis when,
                 const char* what) -> Result<std::pair<double, int64_t>> {
    AudienceRequest request{campaign, "", "Hi {{firstName}}", "email", 0, occasion, days, when};
    const int64_t rss_before = MemoryMiB("VmRSS");
    auto folded = everywhere(
        MakeMarker(kCampaignAudienceRequested, campaign, EncodeAudienceRequest(request), when, ""));
    if (!folded) return Fail(folded.error());
    const double s = *folded;
    auto audience = QueryCampaignAudience(**store, campaign, kPartitions);
    if (!audience) return Fail(audience.error());
    if (!*audience) return Fail(Error::Internal("The run's audience was not resolved"));
    std::printf("%s: %.1f ms, %lld queued, RSS %lld MiB before, peak so far %lld MiB\n", what,
                s * 1000, static_cast<long long>((*audience)->queued),
                static_cast<long long>(rss_before), static_cast<long long>(MemoryMiB("VmHWM")));
    std::fflush(stdout);
    return std::pair{s, (*audience)->queued};
  };
  const int64_t peak_before_runs = MemoryMiB("VmHWM");
  auto birthday = run("bench-birthday", Occasion::kBirthday, 0, t0 + kDay, "a birthday run");
  if (!birthday) return Fail(birthday.error());
  auto inactivity = run("bench-inactivity", Occasion::kInactivity, kDefaultInactivityDays,
                        t0 + 100 * kDay, "an inactivity run, every customer due");
  if (!inactivity) return Fail(inactivity.error());

  // Memberships that flipped at the day tick: history entries recorded at its time.
  int64_t flips = 0, members = 0;
  for (int i = 0; i < o.segments; ++i) {
    const std::string prefix = "bench-segment-" + std::to_string(i) + "/";
    auto st = (*store)->Scan(kSegmentHistoryTable, prefix, prefix + OrderedTime(t0 + kDay),
                             [&](std::string_view, std::string_view) {
                               ++flips;
                               return true;
                             });
    if (!st) return st;
    auto count = (*store)->Scan(kSegmentMembersTable, prefix, prefix,
                                [&](std::string_view, std::string_view) {
                                  ++members;
                                  return true;
                                });
    if (!count) return count;
  }
  const double pairs = static_cast<double>(o.customers) * o.segments;
  std::printf("RESULT ingest_without %.0f\n", without);
  std::printf("RESULT ingest_with %.0f\n", with);
  std::printf("RESULT publish_ms %.0f\n", publish_seconds * 1000);
  std::printf("RESULT tick_minute_ms %.1f\n", *minute * 1000);
  std::printf("RESULT tick_day_ms %.1f\n", *day * 1000);
  std::printf("RESULT tick_day_flips %lld\n", static_cast<long long>(flips));
  std::printf("RESULT tick_day_flip_percent %.3f\n", 100.0 * static_cast<double>(flips) / pairs);
  std::printf("RESULT members %lld\n", static_cast<long long>(members));
  std::printf("RESULT peak_before_runs_mib %lld\n", static_cast<long long>(peak_before_runs));
  std::printf("RESULT peak_after_runs_mib %lld\n", static_cast<long long>(MemoryMiB("VmHWM")));
  std::printf("RESULT birthday_ms %.1f\n", birthday->first * 1000);
  std::printf("RESULT birthday_queued %lld\n", static_cast<long long>(birthday->second));
  std::printf("RESULT inactivity_ms %.1f\n", inactivity->first * 1000);
  std::printf("RESULT inactivity_queued %lld\n", static_cast<long long>(inactivity->second));
  return {};
}

}  // namespace keel

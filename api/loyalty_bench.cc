#include "api/loyalty_bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "domain/customer.h"
#include "domain/loyalty.h"
#include "projections/loyalty/rfm_columns.h"

namespace keel {
namespace {

constexpr Millis kDay = 86'400'000;

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since)
      .count();
}

int64_t PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;  // kilobytes on Linux
}

// A customer as the customers projection would hand it over: a 36-character id, a third
// without orders, the others with a skewed number of orders, spend and recency.
Customer Synthetic(int64_t i, std::mt19937_64& rng, Millis now) {
  Customer c;
  char id[40];
  std::snprintf(id, sizeof id, "0190%04x-%04x-7%03x-8%03x-%012llx", static_cast<unsigned>(i >> 16),
                static_cast<unsigned>(i & 0xffff), static_cast<unsigned>(rng() % 4096),
                static_cast<unsigned>(rng() % 4096),
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  c.id = id;
  c.version = 1;
  c.is_active = rng() % 50 != 0;
  if (rng() % 3 == 0) return c;
  std::geometric_distribution<int64_t> orders(0.15);
  c.stats.order_count = 1 + orders(rng);
  c.stats.order_cents = c.stats.order_count * static_cast<int64_t>(1000 + rng() % 60000);
  c.stats.last_order_at =
      now - static_cast<Millis>(rng() % 720) * kDay - static_cast<Millis>(rng() % kDay);
  return c;
}

}  // namespace

Status RunLoyaltyBench(const LoyaltyBenchOptions& options) {
  const Millis now = SystemClock().NowMillis();
  std::mt19937_64 rng(options.seed);
  // No interval between two computations of the cut points: the bench times each one.
  RfmColumns view{std::chrono::milliseconds(0)};
  auto start = std::chrono::steady_clock::now();
  // Each customer's recorded standing is what the fixed ladders give at `now` (as after a keeper
  // pass), but for one in a hundred, recorded one monetary score off: what the level keeper's
  // next pass finds.
  const LoyaltySettings defaults;
  const RfmCuts cuts_now = FixedCuts(defaults, DayNumber(now));
  view.StartLoad(static_cast<size_t>(options.customers));
  for (int64_t i = 0; i < options.customers; ++i) {
    Customer c = Synthetic(i, rng, now);
    const RfmScores scores{
        ScoreOf(c.stats.last_order_at ? DayNumber(*c.stats.last_order_at) : kNoOrderDay,
                cuts_now.recency_day),
        ScoreOf(c.stats.order_count, cuts_now.frequency),
        ScoreOf(TotalSpendingCents(c), cuts_now.monetary)};
    c.standing = StandingOf(scores, LevelOf(scores, defaults.level_tenths));
    c.standing_version = 1;
    if (i % 100 == 0) c.standing.monetary = static_cast<uint8_t>(c.standing.monetary % 5 + 1);
    view.Loaded(c);
  }
  view.FinishLoad({});
  std::printf("customers %lld\n", static_cast<long long>(options.customers));
  std::printf("load_ms %.0f\n", Ms(start));
  std::printf("view_mib %.1f\n", static_cast<double>(view.MemoryBytes()) / (1 << 20));

  // The level keeper's scan: every customer's standing at `now` against the recorded one (1 %
  // differ), and a day later (recency moves for some more).
  for (const auto& [name, at] :
       {std::pair{"keeper_scan", now}, std::pair{"keeper_scan_next_day", now + kDay}}) {
    std::vector<double> ms;
    size_t found = 0;
    for (int r = 0; r < options.rounds; ++r) {
      start = std::chrono::steady_clock::now();
      found = view.ChangedStandings(defaults, at, static_cast<size_t>(options.customers))
                  .changes.size();
      ms.push_back(Ms(start));
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%s_ms %.1f (min %.1f, max %.1f over %zu) changed %zu\n", name, ms[ms.size() / 2],
                ms.front(), ms.back(), ms.size(), found);
  }

  std::vector<uint8_t> levels;
  auto report = [&](const char* name, std::vector<double>& ms, const RfmColumns::Summary& summary) {
    std::sort(ms.begin(), ms.end());
    std::printf(
        "%s_ms %.1f (min %.1f, max %.1f over %zu) levels %lld/%lld/%lld/%lld%s\n", name,
        ms[ms.size() / 2], ms.front(), ms.back(), ms.size(),
        static_cast<long long>(summary.per_level[0]), static_cast<long long>(summary.per_level[1]),
        static_cast<long long>(summary.per_level[2]), static_cast<long long>(summary.per_level[3]),
        summary.thresholds.quintile ? " (quintile cut points)" : "");
  };

  // A settings change: other level bounds each round, fixed ladders.
  LoyaltySettings settings;
  std::vector<double> fixed_ms;
  RfmColumns::Summary summary;
  for (int r = 0; r < options.rounds; ++r) {
    settings.level_tenths = {26 - r % 3, 36, 46};
    start = std::chrono::steady_clock::now();
    summary = view.Levels(settings, now, &levels);
    fixed_ms.push_back(Ms(start));
  }
  report("rescore_fixed", fixed_ms, summary);

  // Quintile mode after a change of the data: one customer's order, then the full re-score
  // (the cut points are computed again).
  settings.mode = LoyaltyMode::kQuintile;
  std::vector<double> cold_ms, warm_ms;
  for (int r = 0; r < options.rounds; ++r) {
    Customer changed = Synthetic(r, rng, now);
    view.Apply({changed});
    start = std::chrono::steady_clock::now();
    summary = view.Levels(settings, now, &levels);
    cold_ms.push_back(Ms(start));
  }
  report("rescore_quintile_after_data_change", cold_ms, summary);
  // Quintile mode after a settings change: the cut points cached.
  for (int r = 0; r < options.rounds; ++r) {
    settings.level_tenths = {26, 36 - r % 3, 46};
    start = std::chrono::steady_clock::now();
    summary = view.Levels(settings, now, &levels);
    warm_ms.push_back(Ms(start));
  }
  report("rescore_quintile_after_settings_change", warm_ms, summary);
  std::printf("quintile_computations %lld\n", static_cast<long long>(view.quintile_computations()));
  std::printf("peak_rss_mib %lld\n", static_cast<long long>(PeakRssMiB()));
  return {};
}

}  // namespace keel

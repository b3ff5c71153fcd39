// RfmColumns: loaded and kept current like every customer view; levels, quintiles with ties,
// the guard, the cache of the cut points.
#include "projections/loyalty/rfm_columns.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

namespace keel {
namespace {

constexpr Millis kDay = 86'400'000;
constexpr Millis kNow = 20'000 * kDay + 12 * 3'600'000;  // noon UTC on day 20000

// A customer who ordered `orders` times, last `days_ago` days ago (none: never), for `cents`.
Customer Make(const std::string& id, int64_t orders, std::optional<int64_t> days_ago, int64_t cents,
              bool active = true) {
  Customer c;
  c.id = id;
  c.name = id;
  c.email = id + "@x.io";
  c.version = 1;
  c.is_active = active;
  c.stats.order_count = orders;
  c.stats.order_cents = cents;
  if (days_ago) c.stats.last_order_at = kNow - *days_ago * kDay;
  return c;
}

void LoadAll(RfmColumns& view, const std::vector<Customer>& customers) {
  view.StartLoad(customers.size());
  for (const auto& c : customers) view.Loaded(c);
  view.FinishLoad({});
  ASSERT_TRUE(view.ready());
}

TEST(RfmColumnsTest, FixedLaddersScoreAndCountEveryLevel) {
  RfmColumns view;
  LoadAll(view, {
                    Make("plat", 25, 1, 1'500'000),    // 5 5 5
                    Make("gold", 12, 20, 600'000),     // 4 4 4
                    Make("silv", 6, 60, 150'000),      // 3 3 3
                    Make("bron", 3, 120, 60'000),      // 2 2 2
                    Make("none", 0, std::nullopt, 0),  // 1 1 1
                });
  const LoyaltySettings fixed;
  auto gold = view.Of("gold", fixed, kNow);
  ASSERT_TRUE(gold);
  EXPECT_EQ(gold->scores, (RfmScores{4, 4, 4}));
  EXPECT_EQ(gold->level, LoyaltyLevel::kGold);
  EXPECT_EQ(view.Of("none", fixed, kNow)->level, LoyaltyLevel::kBronze);
  EXPECT_EQ(view.Of("silv", fixed, kNow)->level, LoyaltyLevel::kSilver);
  EXPECT_FALSE(view.Of("ghost", fixed, kNow));
  std::vector<uint8_t> levels;
  auto summary = view.Levels(fixed, kNow, &levels);
  EXPECT_EQ(summary.customers, 5);
  EXPECT_EQ(summary.per_level, (std::array<int64_t, 4>{2, 1, 1, 1}));
  EXPECT_EQ(levels, (std::vector<uint8_t>{3, 2, 1, 0, 0}));
  EXPECT_FALSE(summary.thresholds.quintile);
  EXPECT_FALSE(summary.thresholds.fell_back);
  EXPECT_EQ(summary.thresholds.customers_with_orders, 4);
  // Time passes: 100 days later the platinum customer's last order is 101 days old.
  auto later = view.Of("plat", fixed, kNow + 100 * kDay);
  EXPECT_EQ(later->scores, (RfmScores{2, 5, 5}));
  EXPECT_EQ(later->level, LoyaltyLevel::kGold);  // 4.0
}

TEST(RfmColumnsTest, ChangesAreAppliedAndLevelsFollow) {
  RfmColumns view;
  LoadAll(view, {Make("a", 1, 200, 100)});
  const LoyaltySettings fixed;
  EXPECT_EQ(view.Of("a", fixed, kNow)->level, LoyaltyLevel::kBronze);
  view.Apply({Make("a", 30, 0, 2'000'000), Make("b", 3, 5, 60'000)});
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(view.Of("a", fixed, kNow)->level, LoyaltyLevel::kPlatinum);
  EXPECT_EQ(view.Of("b", fixed, kNow)->scores, (RfmScores{5, 2, 2}));
  // Deactivated: still scored, no longer counted.
  view.Apply({Make("a", 30, 0, 2'000'000, /*active=*/false)});
  auto summary = view.Levels(fixed, kNow);
  EXPECT_EQ(summary.customers, 1);
  EXPECT_EQ(summary.per_level, (std::array<int64_t, 4>{0, 1, 0, 0}));
  EXPECT_EQ(summary.thresholds.customers_with_orders, 1);
  EXPECT_EQ(view.Of("a", fixed, kNow)->level, LoyaltyLevel::kPlatinum);
}

TEST(RfmColumnsTest, ChangesWhileLoadingAreKeptAndNoneBeforeALoad) {
  RfmColumns view;
  view.Apply({Make("early", 1, 1, 100)});  // the store holds it; the load reads it
  EXPECT_FALSE(view.ready());
  view.StartLoad(1);
  view.Loaded(Make("a", 1, 1, 100));
  view.Apply({Make("a", 20, 1, 1'000'000), Make("b", 1, 1, 100)});
  view.FinishLoad({});
  EXPECT_EQ(view.size(), 2u);
  EXPECT_EQ(view.Of("a", LoyaltySettings{}, kNow)->scores, (RfmScores{5, 5, 5}));
  EXPECT_FALSE(view.Of("early", LoyaltySettings{}, kNow));

  RfmColumns broken;
  broken.StartLoad(0);
  broken.FinishLoad(Fail(Error::Internal("scan failed")));
  EXPECT_FALSE(broken.ready());
}

TEST(RfmColumnsTest, QuintilesAreTieAwareAndCachedUntilTheDataChanges) {
  RfmColumns view{std::chrono::milliseconds(0)};
  std::vector<Customer> customers;
  // Ten customers with orders: frequencies 1,1,1,1,1,1,2,3,4,5 (six tied at 1); distinct
  // recencies and spends; and two without orders.
  const int64_t orders[] = {1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
  for (int i = 0; i < 10; ++i) {
    customers.push_back(Make("c" + std::to_string(i), orders[i], 100 - 10 * i, 10'000 * (i + 1)));
  }
  customers.push_back(Make("n1", 0, std::nullopt, 0));
  customers.push_back(Make("n2", 0, std::nullopt, 0));
  LoadAll(view, customers);
  LoyaltySettings quintile;
  quintile.mode = LoyaltyMode::kQuintile;
  quintile.quintile_min_customers = 10;
  auto summary = view.Levels(quintile, kNow);
  EXPECT_TRUE(summary.thresholds.quintile);
  EXPECT_FALSE(summary.thresholds.fell_back);
  EXPECT_EQ(summary.thresholds.customers_with_orders, 10);
  // The six tied at one order all score 2; nobody scores 1 or 3 on frequency.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(view.Of("c" + std::to_string(i), quintile, kNow)->scores.frequency, 2) << i;
  }
  EXPECT_EQ(view.Of("c6", quintile, kNow)->scores.frequency, 4);
  EXPECT_EQ(view.Of("c9", quintile, kNow)->scores.frequency, 5);
  // Distinct values: two customers per score.
  std::vector<int> recency, monetary;
  for (int i = 0; i < 10; ++i) {
    auto s = view.Of("c" + std::to_string(i), quintile, kNow)->scores;
    recency.push_back(s.recency);
    monetary.push_back(s.monetary);
  }
  EXPECT_EQ(recency, (std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  EXPECT_EQ(monetary, (std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  // The served ladders: recency in days (c8 ordered 20 days ago: at most 20 days earns 5).
  const ServedLadders served = LaddersOf(summary.thresholds.cuts, DayNumber(kNow));
  EXPECT_EQ(served.recency_days[0], 20);
  EXPECT_EQ(served.frequency_orders[0], 4);
  EXPECT_EQ(served.frequency_orders[2], 2);  // score 3's cut is score 4's: nobody scores 3
  EXPECT_EQ(served.monetary_cents[3], 30'000);
  // Without orders: 1 on each; the levels count every active customer.
  EXPECT_EQ(view.Of("n1", quintile, kNow)->scores, (RfmScores{1, 1, 1}));
  int64_t counted = 0;
  for (int64_t n : summary.per_level) counted += n;
  EXPECT_EQ(counted, 12);

  // Computed once for any number of reads, settings and days; again after a change.
  const int64_t computed = view.quintile_computations();
  LoyaltySettings other = quintile;
  other.level_tenths = {20, 30, 40};
  view.Levels(other, kNow + 5 * kDay);
  view.Of("c3", quintile, kNow);
  EXPECT_EQ(view.quintile_computations(), computed);
  view.Apply({Make("c0", 9, 0, 1'000'000)});
  EXPECT_EQ(view.Of("c0", quintile, kNow)->scores, (RfmScores{5, 5, 5}));
  EXPECT_EQ(view.quintile_computations(), computed + 1);
}

TEST(RfmColumnsTest, QuintilesAreComputedAgainAtMostOncePerInterval) {
  RfmColumns view{std::chrono::hours(1)};
  view.StartLoad(0);
  for (int i = 0; i < 10; ++i) view.Loaded(Make("c" + std::to_string(i), i + 1, i, 1000 * (i + 1)));
  view.FinishLoad({});
  LoyaltySettings quintile;
  quintile.mode = LoyaltyMode::kQuintile;
  quintile.quintile_min_customers = 5;
  ASSERT_TRUE(view.Of("c9", quintile, kNow));
  EXPECT_EQ(view.quintile_computations(), 1);
  EXPECT_TRUE(view.Levels(quintile, kNow).thresholds.current);
  // A change of the data within the interval: the last cut points serve, nothing is sorted.
  view.Apply({Make("c0", 9, 0, 1'000'000)});
  ASSERT_TRUE(view.Of("c0", quintile, kNow));
  EXPECT_FALSE(view.Levels(quintile, kNow).thresholds.current);  // served as stale
  EXPECT_EQ(view.quintile_computations(), 1);
}

TEST(RfmColumnsTest, BelowTheGuardQuintileModeFallsBackToTheFixedLadders) {
  RfmColumns view;
  LoadAll(view, {Make("a", 12, 20, 600'000), Make("b", 1, 1, 100)});
  LoyaltySettings quintile;
  quintile.mode = LoyaltyMode::kQuintile;  // needs 100 customers with orders by default
  auto summary = view.Levels(quintile, kNow);
  EXPECT_FALSE(summary.thresholds.quintile);
  EXPECT_TRUE(summary.thresholds.fell_back);
  EXPECT_EQ(summary.thresholds.cuts, FixedCuts(quintile, DayNumber(kNow)));
  EXPECT_EQ(view.Of("a", quintile, kNow)->scores, (RfmScores{4, 4, 4}));
  EXPECT_EQ(view.quintile_computations(), 0);
  quintile.quintile_min_customers = 2;
  EXPECT_TRUE(view.Levels(quintile, kNow).thresholds.quintile);
}

// A re-score of 100,000 customers after a settings change, both modes: the ctest-sized version
// of `keel bench-loyalty` (a million customers).
TEST(RfmColumnsTest, AFullRescoreOf100kCustomersIsQuick) {
  RfmColumns view;
  view.StartLoad(100'000);
  for (int i = 0; i < 100'000; ++i) {
    view.Loaded(Make("c" + std::to_string(i), i % 37,
                     i % 11 == 0 ? std::nullopt : std::optional<int64_t>(i % 400),
                     (i * 7919) % 2'000'000));
  }
  view.FinishLoad({});
  for (LoyaltyMode mode : {LoyaltyMode::kFixed, LoyaltyMode::kQuintile}) {
    LoyaltySettings s;
    s.mode = mode;
    const auto start = std::chrono::steady_clock::now();
    std::vector<uint8_t> levels;
    auto summary = view.Levels(s, kNow, &levels);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s: %.1f ms\n", std::string(LoyaltyModeName(mode)).c_str(), ms);
    int64_t total = 0;
    for (int64_t n : summary.per_level) total += n;
    EXPECT_EQ(total, 100'000);
    EXPECT_EQ(levels.size(), 100'000u);
  }
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

TEST(RfmColumnsTest, ChangedStandingsAreThoseThatDifferFromTheRecordedOnes) {
  RfmColumns view;
  Customer gold = Make("gold", 12, 20, 600'000);  // 4 4 4, recorded already
  gold.standing = {4, 4, 4, LoyaltyLevel::kGold};
  gold.standing_version = 1;
  LoadAll(view, {gold, Make("plat", 25, 1, 1'500'000), Make("none", 0, std::nullopt, 0),
                 Make("silv", 6, 60, 150'000, /*active=*/false)});
  const LoyaltySettings fixed;
  auto changed = view.ChangedStandings(fixed, kNow, 10);
  EXPECT_EQ(changed.customers, 4u);
  EXPECT_FALSE(changed.more);
  // "none" stands where nothing recorded stands (1 1 1 Bronze); an inactive customer is compared
  // too.
  ASSERT_EQ(changed.changes.size(), 2u);
  EXPECT_EQ(changed.changes[0].id, "plat");
  EXPECT_EQ(changed.changes[0].standing, (LoyaltyStanding{5, 5, 5, LoyaltyLevel::kPlatinum}));
  EXPECT_EQ(changed.changes[1].id, "silv");
  EXPECT_EQ(changed.changes[1].standing, (LoyaltyStanding{3, 3, 3, LoyaltyLevel::kSilver}));

  auto capped = view.ChangedStandings(fixed, kNow, 1);
  ASSERT_EQ(capped.changes.size(), 1u);
  EXPECT_TRUE(capped.more);

  // Recorded, they are no longer changes; time moves recency, and the change comes back.
  Customer plat = Make("plat", 25, 1, 1'500'000);
  plat.standing = {5, 5, 5, LoyaltyLevel::kPlatinum};
  plat.standing_version = 1;
  Customer silv = Make("silv", 6, 60, 150'000, false);
  silv.standing = {3, 3, 3, LoyaltyLevel::kSilver};
  silv.standing_version = 1;
  view.Apply({plat, silv});
  EXPECT_TRUE(view.ChangedStandings(fixed, kNow, 10).changes.empty());
  // A recorded standing alone does not make the quintile cut points of another generation.
  LoyaltySettings quintile;
  quintile.mode = LoyaltyMode::kQuintile;
  quintile.quintile_min_customers = 1;
  RfmColumns cached{std::chrono::milliseconds(0)};
  LoadAll(cached, {Make("a", 3, 5, 1000), Make("b", 5, 2, 9000)});
  cached.Levels(quintile, kNow);
  const int64_t computed = cached.quintile_computations();
  Customer a = Make("a", 3, 5, 1000);
  a.standing = {3, 1, 1, LoyaltyLevel::kBronze};
  a.standing_version = 1;
  cached.Apply({a});
  cached.Levels(quintile, kNow);
  EXPECT_EQ(cached.quintile_computations(), computed);
  cached.Apply({Make("a", 4, 5, 1000)});  // an order: the inputs change
  cached.Levels(quintile, kNow);
  EXPECT_EQ(cached.quintile_computations(), computed + 1);
  // Frozen cut points: the keeper's, whatever the live ones are.
  const RfmCuts none_reached{{kUnreachableCut, kUnreachableCut, kUnreachableCut, kUnreachableCut},
                             {kUnreachableCut, kUnreachableCut, kUnreachableCut, kUnreachableCut},
                             {kUnreachableCut, kUnreachableCut, kUnreachableCut, kUnreachableCut}};
  auto frozen = view.ChangedStandings(fixed, kNow, 10, &none_reached);
  ASSERT_EQ(frozen.changes.size(), 3u);  // all but "none" now differ from 1 1 1 Bronze
  EXPECT_EQ(frozen.changes[0].standing, LoyaltyStanding{});

  auto later = view.ChangedStandings(fixed, kNow + 10 * kDay, 10);
  ASSERT_EQ(later.changes.size(), 1u);  // plat: 11 days (4); gold: 30 days, silv: 70, unchanged
  EXPECT_EQ(later.changes[0].id, "plat");
  EXPECT_EQ(later.changes[0].standing, (LoyaltyStanding{4, 5, 5, LoyaltyLevel::kPlatinum}));
}

}  // namespace
}  // namespace keel

#include "domain/loyalty.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

namespace keel {
namespace {

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

EventEnvelope Changed(int64_t version, std::string payload) {
  EventEnvelope e;
  e.type = std::string(kLoyaltySettingsChanged);
  e.aggregate_type = std::string(kLoyaltyAggregate);
  e.aggregate_id = std::string(kLoyaltySettingsId);
  e.aggregate_version = version;
  e.occurred_at = 1'800'000'000'000 + version;
  e.actor = "admin-1";
  e.payload = std::move(payload);
  return e;
}

// The score of each value under the cut points.
std::vector<int> Scores(const std::vector<int64_t>& values, const CutPoints& cuts) {
  std::vector<int> out;
  for (int64_t v : values) out.push_back(ScoreOf(v, cuts));
  return out;
}

CutPoints Cuts(std::vector<int64_t> values) { return QuintileCuts(values); }

TEST(LoyaltySettingsTest, TheDefaultsAreTheIssues) {
  const LoyaltySettings s;
  EXPECT_EQ(s.mode, LoyaltyMode::kFixed);
  EXPECT_EQ(EncodeLoyaltySettings(s),
            R"({"mode":"fixed","recencyDays":[7,30,90,180],"frequencyOrders":[20,11,6,3],)"
            R"("monetarySpend":[10000.00,5001.00,1001.00,501.00],)"
            R"("levels":{"silver":2.6,"gold":3.6,"platinum":4.6},"quintileMinCustomers":100})");
}

TEST(LoyaltySettingsTest, APatchChangesOnlyWhatItNames) {
  auto patch = ParseLoyaltySettingsPatch(
      R"({"mode":"quintile","monetarySpend":[2000,1000.5,100,0.01],"levels":{"platinum":4.9,"silver":2,"gold":3.5}})");
  ASSERT_TRUE(patch) << patch.error().message;
  const LoyaltySettings s = Patched(LoyaltySettings{}, *patch);
  EXPECT_EQ(s.mode, LoyaltyMode::kQuintile);
  EXPECT_EQ(s.monetary_cents, (std::array<int64_t, 4>{200000, 100050, 10000, 1}));
  EXPECT_EQ(s.level_tenths, (std::array<int64_t, 3>{20, 35, 49}));
  EXPECT_EQ(s.recency_days, LoyaltySettings{}.recency_days);
  EXPECT_EQ(s.frequency_orders, LoyaltySettings{}.frequency_orders);
  EXPECT_EQ(s.quintile_min_customers, 100);
}

TEST(LoyaltySettingsTest, EveryBadFieldIsNamed) {
  auto bad = ParseLoyaltySettingsPatch(
      R"({"mode":"median","recencyDays":[7,30,30,180],"frequencyOrders":[20,11,6],)"
      R"("monetarySpend":[100,50,-1,"x"],"levels":{"silver":2.6,"gold":2.6,"platinum":4.6},)"
      R"("quintileMinCustomers":0,"colour":"red"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message, "Validation failed");
  EXPECT_EQ(Fields(bad.error()),
            (std::vector<std::string>{"mode", "recencyDays[2]", "frequencyOrders",
                                      "monetarySpend[2]", "monetarySpend[3]", "levels.gold",
                                      "quintileMinCustomers", "colour"}));
  EXPECT_EQ(bad.error().field_errors[1].message,
            "Must be greater than the one before it (a ladder strictly increasing)");
  EXPECT_EQ(bad.error().field_errors[5].message, "Must be greater than levels.silver");
}

TEST(LoyaltySettingsTest, BoundsAreTenthsFrom1Point1To5AndComplete) {
  auto missing = ParseLoyaltySettingsPatch(R"({"levels":{"silver":2.6,"gold":3.6}})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(Fields(missing.error()), (std::vector<std::string>{"levels.platinum"}));
  auto fine =
      ParseLoyaltySettingsPatch(R"({"levels":{"silver":2.65,"gold":1.0,"platinum":5.1,"x":1}})");
  ASSERT_FALSE(fine);
  EXPECT_EQ(Fields(fine.error()), (std::vector<std::string>{"levels.silver", "levels.gold",
                                                            "levels.platinum", "levels.x"}));
  EXPECT_TRUE(ParseLoyaltySettingsPatch(R"({"levels":{"silver":1.1,"gold":3,"platinum":5.0}})"));
  auto ladder = ParseLoyaltySettingsPatch(R"({"frequencyOrders":[3,6,11,20]})");
  ASSERT_FALSE(ladder);
  EXPECT_EQ(Fields(ladder.error()), (std::vector<std::string>{"frequencyOrders[1]"}));
  auto cents = ParseLoyaltySettingsPatch(R"({"monetarySpend":[100.001,50,20,10]})");
  ASSERT_FALSE(cents);
  EXPECT_EQ(Fields(cents.error()), (std::vector<std::string>{"monetarySpend[0]"}));
}

TEST(LoyaltySettingsTest, NothingToChangeAndNotAnObjectAreRefused) {
  auto empty = ParseLoyaltySettingsPatch("{}");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(empty.error().field_errors.empty());
  EXPECT_FALSE(ParseLoyaltySettingsPatch("[1]"));
  EXPECT_FALSE(ParseLoyaltySettingsPatch("{nope"));
}

TEST(LoyaltySettingsTest, EncodeDecodeRoundTripsAndTheFoldFollowsVersions) {
  LoyaltySettings s;
  s.mode = LoyaltyMode::kQuintile;
  s.recency_days = {1, 2, 3, 36500};
  s.monetary_cents = {kMaxMonetaryCents, 3, 2, 1};
  s.level_tenths = {11, 12, 50};
  s.quintile_min_customers = 7;
  auto decoded = DecodeLoyaltySettings(EncodeLoyaltySettings(s));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, s);

  LoyaltySettingsState state;
  ASSERT_TRUE(ApplyLoyaltyEvent(state, Changed(1, EncodeLoyaltySettings(s))));
  EXPECT_EQ(state.version, 1);
  EXPECT_EQ(state.settings, s);
  EXPECT_EQ(state.updated_by, "admin-1");
  auto round = LoyaltyStateFromJson(LoyaltyStateToJson(state));
  ASSERT_TRUE(round) << round.error().message;
  EXPECT_EQ(*round, state);

  // A version that does not follow, a payload a PUT would refuse, another type: data loss,
  // and the state stays.
  auto skipped = ApplyLoyaltyEvent(state, Changed(3, EncodeLoyaltySettings(s)));
  ASSERT_FALSE(skipped);
  EXPECT_EQ(skipped.error().code, ErrorCode::kDataLoss);
  auto bad = ApplyLoyaltyEvent(state, Changed(2, R"({"mode":"fixed"})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  std::string wrong = EncodeLoyaltySettings(s);
  wrong.replace(wrong.find("[1,2,3,36500]"), 13, "[1,2,2,36500]");
  EXPECT_FALSE(ApplyLoyaltyEvent(state, Changed(2, wrong)));
  EventEnvelope other = Changed(2, EncodeLoyaltySettings(s));
  other.type = "ProjectCreated";
  EXPECT_FALSE(ApplyLoyaltyEvent(state, other));
  EXPECT_EQ(state.version, 1);
  EXPECT_EQ(state.settings, s);
}

TEST(LoyaltyScoreTest, FixedLaddersScoreEveryStep) {
  const LoyaltySettings s;
  const int64_t today = 20000;
  const RfmCuts cuts = FixedCuts(s, today);
  // Days since the last order: ≤ 7 → 5, ≤ 30 → 4, ≤ 90 → 3, ≤ 180 → 2, else 1.
  std::map<int64_t, int> recency = {{0, 5},  {7, 5},  {8, 4},   {30, 4},  {31, 3},
                                    {90, 3}, {91, 2}, {180, 2}, {181, 1}, {5000, 1}};
  for (auto [days, score] : recency) {
    EXPECT_EQ(ScoreOf(today - days, cuts.recency_day), score) << days << " days";
  }
  EXPECT_EQ(ScoreOf(kNoOrderDay, cuts.recency_day), 1);
  // An order dated after today is as recent as one today.
  EXPECT_EQ(ScoreOf(today + 3, cuts.recency_day), 5);
  std::map<int64_t, int> frequency = {{0, 1},  {2, 1},  {3, 2},  {5, 2},  {6, 3},
                                      {10, 3}, {11, 4}, {19, 4}, {20, 5}, {999, 5}};
  for (auto [orders, score] : frequency) {
    EXPECT_EQ(ScoreOf(orders, cuts.frequency), score) << orders << " orders";
  }
  std::map<int64_t, int> monetary = {{0, 1},         {50'099, 1},       {50'100, 2},  {100'099, 2},
                                     {100'100, 3},   {500'099, 3},      {500'100, 4}, {999'999, 4},
                                     {1'000'000, 5}, {9'999'999'999, 5}};
  for (auto [cents, score] : monetary) {
    EXPECT_EQ(ScoreOf(cents, cuts.monetary), score) << cents << " cents";
  }
  const ServedLadders served = LaddersOf(cuts, today);
  EXPECT_EQ(served.recency_days[0], 7);
  EXPECT_EQ(served.recency_days[3], 180);
  EXPECT_EQ(served.frequency_orders[1], 11);
  EXPECT_EQ(served.monetary_cents[2], 100'100);
}

TEST(LoyaltyScoreTest, LevelsCompareTheAverageExactly) {
  const std::array<int64_t, 3> bounds = {26, 36, 46};
  auto level = [&](int r, int f, int m) { return LevelOf({r, f, m}, bounds); };
  EXPECT_EQ(level(1, 1, 1), LoyaltyLevel::kBronze);
  EXPECT_EQ(level(3, 2, 2), LoyaltyLevel::kBronze);    // 2.33
  EXPECT_EQ(level(3, 3, 2), LoyaltyLevel::kSilver);    // 2.67
  EXPECT_EQ(level(4, 3, 3), LoyaltyLevel::kSilver);    // 3.33
  EXPECT_EQ(level(4, 4, 3), LoyaltyLevel::kGold);      // 3.67
  EXPECT_EQ(level(5, 4, 4), LoyaltyLevel::kGold);      // 4.33
  EXPECT_EQ(level(5, 5, 4), LoyaltyLevel::kPlatinum);  // 4.67
  EXPECT_EQ(level(5, 5, 5), LoyaltyLevel::kPlatinum);
  // On the bound exactly: an average of 3.0 against a bound of 3.0 reaches it (9 × 10 = 3 × 30),
  // where a double average could have landed on 2.9999….
  EXPECT_EQ(LevelOf({3, 3, 3}, {30, 40, 50}), LoyaltyLevel::kSilver);
  EXPECT_EQ(LevelOf({2, 3, 3}, {27, 40, 50}), LoyaltyLevel::kBronze);  // 2.666… < 2.7
  EXPECT_EQ(LoyaltyLevelName(LoyaltyLevel::kPlatinum), "Platinum");
}

TEST(QuintileCutsTest, DistinctValuesSplitIntoFifths) {
  std::vector<int64_t> values;
  for (int64_t v = 1; v <= 10; ++v) values.push_back(v * 10);
  const CutPoints cuts = Cuts(values);
  EXPECT_EQ(cuts, (CutPoints{30, 50, 70, 90}));
  EXPECT_EQ(Scores(values, cuts), (std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}));
  // Five customers: one per score, whatever the order they came in.
  EXPECT_EQ(Cuts({500, 100, 300, 200, 400}), (CutPoints{200, 300, 400, 500}));
}

TEST(QuintileCutsTest, EqualValuesAlwaysGetEqualScores) {
  // Six customers at 1 order straddle the first two fifths: all of them score 2 (their
  // mid-rank is 0.3), and nobody scores 1.
  const std::vector<int64_t> values = {1, 1, 1, 1, 1, 1, 2, 3, 4, 5};
  const CutPoints cuts = Cuts(values);
  EXPECT_EQ(Scores(values, cuts), (std::vector<int>{2, 2, 2, 2, 2, 2, 4, 4, 5, 5}));
  // Any random multiset: equal values, equal scores; a larger value never scores less; each
  // score holds at most the customers of its fifth plus those tied across its edges.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<int64_t> v(1 + rng() % 300);
    const int64_t spread = 1 + static_cast<int64_t>(rng() % 20);
    for (auto& x : v) x = static_cast<int64_t>(rng() % static_cast<uint64_t>(spread));
    const CutPoints c = Cuts(v);
    std::map<int64_t, int> score_of;
    for (int64_t x : v) {
      const int s = ScoreOf(x, c);
      auto [it, inserted] = score_of.emplace(x, s);
      ASSERT_EQ(it->second, s);
      ASSERT_GE(s, 1);
      ASSERT_LE(s, 5);
    }
    int last = 0;
    for (auto [x, s] : score_of) {
      ASSERT_GE(s, last) << x;
      last = s;
    }
  }
}

TEST(QuintileCutsTest, CountedAndSortedValuesGiveTheSameCuts) {
  // Narrow ranges are counted, wide ones sorted: spread the same multiset wide (× 10^12, which
  // keeps the order and the ties) and the cut points spread with it.
  std::mt19937_64 rng(11);
  for (int round = 0; round < 100; ++round) {
    std::vector<int64_t> narrow(1 + rng() % 500);
    const uint64_t spread = 1 + rng() % 40;
    for (auto& x : narrow) x = static_cast<int64_t>(rng() % spread) - 20;
    std::vector<int64_t> wide;
    for (int64_t x : narrow) wide.push_back(x * 1'000'000'000'000);
    CutPoints expected = Cuts(narrow);
    for (auto& c : expected) {
      if (c != kUnreachableCut) c *= 1'000'000'000'000;
    }
    ASSERT_EQ(Cuts(wide), expected) << round;
  }
  // The extremes of int64 in one multiset.
  EXPECT_EQ(Cuts({INT64_MIN, INT64_MAX - 1, 0, 5, 5}), (CutPoints{0, 5, 5, INT64_MAX - 1}));
}

TEST(QuintileCutsTest, AllEqualFewAndNone) {
  // Everyone alike: the middle score for all, no cut below it, nobody reaches 4.
  const CutPoints same = Cuts({7, 7, 7, 7});
  EXPECT_EQ(same, (CutPoints{7, 7, kUnreachableCut, kUnreachableCut}));
  EXPECT_EQ(ScoreOf(7, same), 3);
  EXPECT_EQ(ScoreOf(6, same), 1);  // a value below the base (a customer without orders)
  // One customer: the middle score.
  EXPECT_EQ(ScoreOf(42, Cuts({42})), 3);
  // Two: the quarter and the three-quarter mark.
  const CutPoints two = Cuts({1, 9});
  EXPECT_EQ(ScoreOf(1, two), 2);
  EXPECT_EQ(ScoreOf(9, two), 4);
  // None: every cut unreachable, every value scores 1.
  const CutPoints none = Cuts({});
  EXPECT_EQ(none, (CutPoints{kUnreachableCut, kUnreachableCut, kUnreachableCut, kUnreachableCut}));
  EXPECT_EQ(ScoreOf(1'000'000, none), 1);
  const ServedLadders served = LaddersOf({none, same, two}, 100);
  EXPECT_FALSE(served.recency_days[0]);
  EXPECT_FALSE(served.frequency_orders[0]);  // score 5: nobody
  EXPECT_EQ(served.frequency_orders[2], 7);  // score 3
  EXPECT_EQ(served.monetary_cents[1], 9);    // score 4
}

TEST(LoyaltyDayTest, DaysAreUtcCalendarDays) {
  EXPECT_EQ(DayNumber(0), 0);
  EXPECT_EQ(DayNumber(86'399'999), 0);
  EXPECT_EQ(DayNumber(86'400'000), 1);
  EXPECT_EQ(DayNumber(-1), -1);
  EXPECT_EQ(DayNumber(-86'400'000), -1);
  EXPECT_EQ(DayNumber(-86'400'001), -2);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

EventEnvelope StandingEvent(std::string_view type, std::string payload) {
  EventEnvelope e;
  e.type = std::string(type);
  e.aggregate_type = std::string(kCustomerStandingAggregate);
  e.aggregate_id = "c1";
  e.aggregate_version = 1;
  e.payload = std::move(payload);
  return e;
}

TEST(LoyaltyStandingTest, AChangeRoundTripsAndNamesItsKind) {
  const LoyaltyStanding bronze;  // where a customer nothing was recorded for stands
  EXPECT_EQ(bronze, (LoyaltyStanding{1, 1, 1, LoyaltyLevel::kBronze}));
  const LoyaltyStanding gold{4, 4, 5, LoyaltyLevel::kGold};
  const LoyaltyStanding gold2{5, 4, 4, LoyaltyLevel::kGold};
  EXPECT_EQ(StandingEventType(bronze, gold), kCustomerLevelChanged);
  EXPECT_EQ(StandingEventType(gold, gold2), kCustomerScoresChanged);
  EXPECT_EQ(EncodeStandingChange(bronze, gold),
            R"({"level":"Gold","recency":4,"frequency":4,"monetary":5,"previousLevel":"Bronze"})");
  auto back = DecodeStandingChange(
      StandingEvent(kCustomerLevelChanged, EncodeStandingChange(bronze, gold)));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, gold);
  auto scores = DecodeStandingChange(
      StandingEvent(kCustomerScoresChanged, EncodeStandingChange(gold, gold2)));
  ASSERT_TRUE(scores) << scores.error().message;
  EXPECT_EQ(*scores, gold2);
  EXPECT_EQ(StandingOf({4, 4, 5}, LoyaltyLevel::kGold), gold);
  EXPECT_EQ(ParseLoyaltyLevel("Platinum"), LoyaltyLevel::kPlatinum);
  EXPECT_EQ(ParseLoyaltyLevel("gold"), std::nullopt);
}

TEST(LoyaltyStandingTest, ABadChangeIsDataLoss) {
  const LoyaltyStanding gold{4, 4, 5, LoyaltyLevel::kGold};
  // The type must say what the payload says: a level change with the same level is refused.
  EXPECT_EQ(
      DecodeStandingChange(StandingEvent(kCustomerLevelChanged, EncodeStandingChange(gold, gold)))
          .error()
          .code,
      ErrorCode::kDataLoss);
  EXPECT_FALSE(DecodeStandingChange(
      StandingEvent(kCustomerScoresChanged, EncodeStandingChange(LoyaltyStanding{}, gold))));
  for (const char* payload :
       {R"({"level":"Gold","recency":0,"frequency":4,"monetary":5,"previousLevel":"Bronze"})",
        R"({"level":"Gold","recency":4,"frequency":6,"monetary":5,"previousLevel":"Bronze"})",
        R"({"level":"Gold","recency":4,"frequency":4,"previousLevel":"Bronze"})",
        R"({"level":"Iron","recency":4,"frequency":4,"monetary":5,"previousLevel":"Bronze"})",
        R"({"level":"Gold","recency":4,"frequency":4,"monetary":5,"previousLevel":null})",
        R"({"level":"Gold","recency":4,"frequency":4,"monetary":5,"previousLevel":"Tin"})",
        "not json"}) {
    auto d = DecodeStandingChange(StandingEvent(kCustomerLevelChanged, payload));
    ASSERT_FALSE(d) << payload;
    EXPECT_EQ(d.error().code, ErrorCode::kDataLoss) << payload;
  }
  EventEnvelope other = StandingEvent(kCustomerLevelChanged, EncodeStandingChange({}, gold));
  other.aggregate_type = "customer";
  EXPECT_FALSE(DecodeStandingChange(other));
}

}  // namespace
}  // namespace keel

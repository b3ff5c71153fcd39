#include "commands/standing_commands.h"

#include <gtest/gtest.h>

#include "commands/write_model.h"

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

constexpr Millis kNow = 1'700'000'000'000;
constexpr LoyaltyStanding kGold{4, 4, 5, LoyaltyLevel::kGold};

class StandingCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fold(DecideRegister(state_.customers, {"c1", {.name = "A", .email = "a@x.io"}}, Meta(), ids_));
    Fold(DecideRegister(state_.customers, {"c2", {.name = "B", .email = "b@x.io"}}, Meta(), ids_));
    earnable_.push_back(LevelPromotion("gold-gift", LoyaltyLevel::kGold));
    earnable_.push_back(LevelPromotion("plat-gift", LoyaltyLevel::kPlatinum));
    Promotion first = LevelPromotion("first", LoyaltyLevel::kGold);
    first.definition.condition = PromotionCondition{};  // first_purchase: not for level changes
    earnable_.push_back(first);
  }
  static Promotion LevelPromotion(std::string id, LoyaltyLevel level) {
    Promotion p;
    p.id = std::move(id);
    p.definition.title = "Gift";
    p.definition.reward_value = 500;
    p.definition.duration_days = 30;
    p.definition.condition.type = ConditionType::kCustomerLevel;
    p.definition.condition.level = level;
    p.version = 1;
    return p;
  }
  CommandMeta Meta(Millis now = kNow) { return {.now = now, .actor = "system:levels"}; }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) ASSERT_TRUE(state_.Apply(e)) << e.type;
  }
  Result<std::vector<EventEnvelope>> Record(const std::string& id, LoyaltyStanding standing,
                                            Millis now = kNow) {
    auto events = DecideRecordStanding(state_.customers, state_.assignments, earnable_,
                                       {id, standing}, Meta(now), ids_);
    if (events) Fold(events);
    return events;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  WriteModel state_;
  std::vector<Promotion> earnable_;
};

TEST_F(StandingCommandsTest, ALevelChangeIsRecordedOnceWithThePromotionsOfTheNewLevel) {
  auto first = Record("c1", kGold);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  const EventEnvelope& e = (*first)[0];
  EXPECT_EQ(e.type, kCustomerLevelChanged);
  EXPECT_EQ(e.aggregate_type, kCustomerStandingAggregate);
  EXPECT_EQ(e.aggregate_id, "c1");
  EXPECT_EQ(e.aggregate_version, 1);
  EXPECT_EQ(e.actor, "system:levels");
  auto assigned = DecodePromotionAssigned((*first)[1]);
  ASSERT_TRUE(assigned) << assigned.error().message;
  EXPECT_EQ(assigned->promotion_id, "gold-gift");
  EXPECT_EQ(assigned->customer_id, "c1");
  EXPECT_EQ(assigned->reason, kCustomerLevelAssignment);
  EXPECT_EQ(state_.customers.Find("c1")->standing, kGold);
  EXPECT_EQ(state_.customers.Find("c1")->standing_version, 1);

  // The same standing again (a keeper that retries, a second keeper): nothing.
  auto again = Record("c1", kGold);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  // Scores alone: CustomerScoresChanged, the next version, no promotion.
  auto scores = Record("c1", {5, 4, 4, LoyaltyLevel::kGold});
  ASSERT_TRUE(scores);
  ASSERT_EQ(scores->size(), 1u);
  EXPECT_EQ((*scores)[0].type, kCustomerScoresChanged);
  EXPECT_EQ((*scores)[0].aggregate_version, 2);
  // Down and back up while the first gift is open: no second gift.
  Fold(DecideRecordStanding(state_.customers, state_.assignments, earnable_,
                            {"c1", {3, 3, 3, LoyaltyLevel::kSilver}}, Meta(), ids_));
  auto back = Record("c1", kGold);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].type, kCustomerLevelChanged);
  // Platinum earns its own.
  auto platinum = Record("c1", {5, 5, 5, LoyaltyLevel::kPlatinum});
  ASSERT_TRUE(platinum);
  ASSERT_EQ(platinum->size(), 2u);
  EXPECT_EQ(DecodePromotionAssigned((*platinum)[1])->promotion_id, "plat-gift");
}

TEST_F(StandingCommandsTest, AnInactiveCustomerIsRecordedButEarnsNothing) {
  Fold(DecideDeactivate(state_.customers, {"c2", std::nullopt}, Meta(), ids_));
  auto events = Record("c2", kGold);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, kCustomerLevelChanged);
}

TEST_F(StandingCommandsTest, AnInactivePromotionIsNotEarned) {
  earnable_[0].definition.is_active = false;
  ASSERT_FALSE(earnable_[0].is_active());
  auto events = Record("c1", kGold);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 1u);
}

TEST_F(StandingCommandsTest, AnUnknownCustomerOrABadStandingIsRefused) {
  auto unknown = Record("nobody", kGold);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  auto bad = Record("c1", {0, 4, 4, LoyaltyLevel::kGold});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(state_.customers.Find("c1")->standing_version, 0);
}

}  // namespace
}  // namespace keel

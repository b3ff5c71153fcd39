#include "commands/promotion_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class PromotionCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta() { return {.now = 1000, .actor = "u1", .correlation_id = "req"}; }
  static PromotionInput Input(std::string title = "Ten off") {
    PromotionInput in;
    in.title = std::move(title);
    in.reward_type = RewardType::kPercentage;
    in.reward_value = 1000;
    return in;
  }
  Result<std::vector<EventEnvelope>> Fold(Result<std::vector<EventEnvelope>> events) {
    if (events) {
      for (const auto& e : *events) EXPECT_TRUE(model_.Apply(e));
    }
    return events;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  PromotionWriteModel model_;
};

TEST_F(PromotionCommandsTest, CreateRefusesATakenId) {
  auto created = DecideCreatePromotion(model_, "pr1", Input(), Meta(), ids_);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->type, kPromotionCreated);
  EXPECT_EQ(created->aggregate_type, kPromotionAggregate);
  EXPECT_EQ(created->aggregate_version, 1);
  EXPECT_EQ(created->actor, "u1");
  ASSERT_TRUE(model_.Apply(*created));
  ASSERT_NE(model_.Find("pr1"), nullptr);
  EXPECT_EQ(model_.Find("pr1")->definition, Input());

  auto again = DecideCreatePromotion(model_, "pr1", Input(), Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(PromotionCommandsTest, ReplaceChangesOnlyWhatDiffersAndChecksTheVersion) {
  ASSERT_TRUE(model_.Apply(*DecideCreatePromotion(model_, "pr1", Input(), Meta(), ids_)));
  auto unchanged = Fold(DecideReplacePromotion(model_, "pr1", Input(), 1, Meta(), ids_));
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->empty());
  auto renamed = Fold(DecideReplacePromotion(model_, "pr1", Input("Twenty off"), 1, Meta(), ids_));
  ASSERT_TRUE(renamed);
  ASSERT_EQ(renamed->size(), 1u);
  EXPECT_EQ((*renamed)[0].type, kPromotionUpdated);
  EXPECT_EQ((*renamed)[0].payload, R"({"title":"Twenty off"})");
  EXPECT_EQ(model_.Find("pr1")->version, 2);

  auto stale = DecideReplacePromotion(model_, "pr1", Input("Late"), 1, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  auto missing = DecideReplacePromotion(model_, "nope", Input(), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "Promotion nope not found");
}

TEST_F(PromotionCommandsTest, AtMostFiftyPromotionsAnOrderEarnsAreActiveAtOnce) {
  auto create = [&](const std::string& id, const PromotionInput& in) -> Status {
    auto e = DecideCreatePromotion(model_, id, in, Meta(), ids_);
    if (!e) return Fail(e.error());
    EXPECT_TRUE(model_.Apply(*e));
    return {};
  };
  for (size_t i = 0; i < kMaxEarnablePromotions; ++i) {
    ASSERT_TRUE(create("pr" + std::to_string(i), Input()));
  }
  auto over = create("one-too-many", Input());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(model_.Find("one-too-many"), nullptr);
  // customer_level and referral ones are earned automatically too (at a level change, at a
  // referred customer's first order): refused as well.
  for (ConditionType type : {ConditionType::kCustomerLevel, ConditionType::kReferral}) {
    PromotionInput earned = Input();
    earned.condition.type = type;
    auto over_too = create("over-too", earned);
    ASSERT_FALSE(over_too);
    EXPECT_EQ(over_too.error().code, ErrorCode::kFailedPrecondition);
  }
  // Not earned automatically (inactive): no limit.
  PromotionInput inactive = Input();
  inactive.is_active = false;
  inactive.condition.type = ConditionType::kReferral;
  ASSERT_TRUE(create("inactive", inactive));
  // Activating one is refused; replacing an earnable one is not.
  auto activate = DecideReplacePromotion(model_, "inactive", Input(), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(activate);
  EXPECT_EQ(activate.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(
      Fold(DecideReplacePromotion(model_, "pr0", Input("Renamed"), std::nullopt, Meta(), ids_)));
  // One deactivated makes room.
  ASSERT_TRUE(Fold(DecideDeactivatePromotion(model_, "pr1", std::nullopt, Meta(), ids_)));
  EXPECT_TRUE(
      Fold(DecideReplacePromotion(model_, "inactive", Input(), std::nullopt, Meta(), ids_)));
}

TEST_F(PromotionCommandsTest, DeactivateOnceThenNothing) {
  ASSERT_TRUE(model_.Apply(*DecideCreatePromotion(model_, "pr1", Input(), Meta(), ids_)));
  auto stale = DecideDeactivatePromotion(model_, "pr1", 2, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  auto off = Fold(DecideDeactivatePromotion(model_, "pr1", 1, Meta(), ids_));
  ASSERT_TRUE(off);
  ASSERT_EQ(off->size(), 1u);
  EXPECT_EQ((*off)[0].type, kPromotionDeactivated);
  EXPECT_FALSE(model_.Find("pr1")->is_active());
  auto again = DecideDeactivatePromotion(model_, "pr1", std::nullopt, Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  // A replace with isActive true activates it again.
  auto back = Fold(DecideReplacePromotion(model_, "pr1", Input(), 2, Meta(), ids_));
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].payload, R"({"isActive":true})");
  EXPECT_TRUE(model_.Find("pr1")->is_active());
}

}  // namespace
}  // namespace keel

#include "commands/promotion_assignment_commands.h"

#include <gtest/gtest.h>

#include "commands/write_model.h"

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

constexpr Millis kNow = 1'700'000'000'000;
constexpr Millis kDay = 86'400'000;

class AssignmentCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fold(DecideRegister(state_.customers, {"c1", {.name = "A", .email = "a@x.io"}}, Meta(), ids_));
    Fold(DecideRegister(state_.customers, {"c2", {.name = "B", .email = "b@x.io"}}, Meta(), ids_));
    promotion_.id = "pr1";
    promotion_.definition.title = "Ten off";
    promotion_.definition.reward_value = 1000;
    promotion_.definition.duration_days = 10;
    promotion_.version = 1;
  }
  CommandMeta Meta(Millis now = kNow) { return {.now = now, .actor = "tester"}; }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) ASSERT_TRUE(state_.Apply(e));
  }
  // Decides and, when decided, folds the assignment as the command service does.
  Result<AssignmentDecision> Assign(const std::string& customer, Millis now = kNow,
                                    std::optional<Promotion> promotion = std::nullopt) {
    Result<std::optional<Promotion>> found(promotion ? promotion : std::optional(promotion_));
    auto d = DecideAssignPromotion(state_.customers, state_.assignments, found, {"pr1", customer},
                                   "a" + std::to_string(++n_), Meta(now), ids_);
    if (d) Fold(d->events);
    return d;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  WriteModel state_;
  Promotion promotion_;
  int n_ = 0;
};

TEST_F(AssignmentCommandsTest, AnAssignmentIsAnEventOfTheCustomersStream) {
  auto d = Assign("c1");
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_EQ(d->events.size(), 1u);
  const EventEnvelope& e = d->events[0];
  EXPECT_EQ(e.type, kPromotionAssigned);
  EXPECT_EQ(e.aggregate_type, kPromotionAssignmentAggregate);
  EXPECT_EQ(e.aggregate_id, "a1");
  EXPECT_EQ(e.aggregate_version, 1);
  EXPECT_EQ(d->assignment.customer_id, "c1");
  EXPECT_EQ(d->assignment.reason, "manual");
  EXPECT_EQ(d->assignment.expires_at, kNow + 10 * kDay);
  EXPECT_EQ(d->assignment.assigned_by, "tester");
  const auto* entry = state_.assignments.Find("a1");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->customer_id, "c1");
  EXPECT_EQ(entry->promotion_id, "pr1");
}

TEST_F(AssignmentCommandsTest, ASecondOpenAssignmentIsRefusedUntilTheFirstExpires) {
  ASSERT_TRUE(Assign("c1"));
  auto twice = Assign("c1", kNow + kDay);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(twice.error().message.find("already holds promotion pr1, unused and unexpired"),
            std::string::npos)
      << twice.error().message;
  EXPECT_TRUE(Assign("c2", kNow + kDay)) << "another customer may have it";
  EXPECT_TRUE(Assign("c1", kNow + 10 * kDay)) << "once expired, it may be given again";
  // a2 was refused, a3 is c2's: a4 is c1's open one now.
  EXPECT_EQ(state_.assignments.OpenAssignment("c1", "pr1", kNow + 10 * kDay), "a4");
  EXPECT_EQ(state_.assignments.OpenAssignment("c1", "pr1", kNow), "a1");
}

TEST_F(AssignmentCommandsTest, UnknownOrInactiveThingsAreNamed) {
  auto field_of = [](const Result<AssignmentDecision>& d) {
    return !d && d.error().field_errors.size() == 1 ? d.error().field_errors[0].field : "";
  };
  EXPECT_EQ(field_of(Assign("nope")), "customerId");
  Promotion off = promotion_;
  off.definition.is_active = false;
  auto inactive = Assign("c1", kNow, off);
  EXPECT_EQ(field_of(inactive), "promotionId");
  EXPECT_EQ(inactive.error().field_errors[0].message, "Promotion pr1 is inactive");
  Fold(DecideDeactivate(state_.customers, {"c2", std::nullopt}, Meta(), ids_));
  EXPECT_EQ(field_of(Assign("c2")), "customerId");

  const Result<std::optional<Promotion>> none(std::optional<Promotion>{});
  auto missing = DecideAssignPromotion(state_.customers, state_.assignments, none, {"pr9", "c1"},
                                       "x", Meta(), ids_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "Promotion pr9 not found");
  const Result<std::optional<Promotion>> loading = Fail(Error::Unavailable("loading"));
  auto later = DecideAssignPromotion(state_.customers, state_.assignments, loading, {"pr1", "c1"},
                                     "x", Meta(), ids_);
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(state_.assignments.Find("x"), nullptr);
}

TEST_F(AssignmentCommandsTest, TheSnapshotFormRestoresTheSameModel) {
  ASSERT_TRUE(Assign("c1"));
  ASSERT_TRUE(Assign("c2"));
  ASSERT_TRUE(Assign("c1", kNow + 11 * kDay));
  SnapshotWriter out;
  state_.assignments.Save(out);
  const std::string bytes = out.bytes();
  SnapshotReader in(bytes);
  AssignmentWriteModel restored;
  ASSERT_TRUE(restored.Restore(in));
  EXPECT_TRUE(restored.SameAs(state_.assignments));
  EXPECT_EQ(restored.OpenAssignment("c1", "pr1", kNow + 11 * kDay), "a3");
  SnapshotReader again(bytes);
  EXPECT_FALSE(restored.Restore(again)) << "only into an empty model";
}

TEST_F(AssignmentCommandsTest, ARedemptionTakesTheRewardTheAssignmentCarries) {
  promotion_.definition.reward_type = RewardType::kFixedAmount;
  promotion_.definition.reward_value = 2500;
  ASSERT_TRUE(Assign("c1"));
  promotion_.definition.reward_value = 1;  // a later change of the promotion changes nothing
  auto half = DecideRedemption(state_.assignments, "a1", "c1", 10'000, kNow);
  ASSERT_TRUE(half) << half.error().message;
  EXPECT_EQ(half->assignment_id, "a1");
  EXPECT_EQ(half->promotion_id, "pr1");
  EXPECT_EQ(half->reward_type, RewardType::kFixedAmount);
  EXPECT_EQ(half->reward_value, 2500);
  EXPECT_EQ(half->discount_cents, 2500);
  auto capped = DecideRedemption(state_.assignments, "a1", "c1", 1999, kNow);
  ASSERT_TRUE(capped);
  EXPECT_EQ(capped->discount_cents, 1999);
}

TEST_F(AssignmentCommandsTest, ARedemptionIsRefusedForAnotherCustomerAUsedOrAnExpiredOne) {
  ASSERT_TRUE(Assign("c1"));  // expires 10 days on
  auto field_of = [](const Result<OrderPromotion>& r) {
    return r ? std::string("decided") : r.error().field_errors.at(0).field;
  };
  EXPECT_EQ(field_of(DecideRedemption(state_.assignments, "a1", "c2", 100, kNow)),
            "promotionAssignmentId");
  EXPECT_EQ(field_of(DecideRedemption(state_.assignments, "zz", "c1", 100, kNow)),
            "promotionAssignmentId");
  EXPECT_EQ(field_of(DecideRedemption(state_.assignments, "a1", "c1", 100, kNow + 10 * kDay)),
            "promotionAssignmentId");
  EXPECT_EQ(field_of(DecideRedemption(state_.assignments, "a1", "c1", 100, kNow + 10 * kDay - 1)),
            "decided");
  EXPECT_TRUE(state_.assignments.CheckRedeemable("a1", "c1"));
  EXPECT_EQ(state_.assignments.CheckRedeemable("a1", "c2").error().code, ErrorCode::kDataLoss);
  state_.assignments.MarkUsed("a1");
  EXPECT_EQ(state_.assignments.CheckRedeemable("a1", "c1").error().code, ErrorCode::kDataLoss);
  auto used = DecideRedemption(state_.assignments, "a1", "c1", 100, kNow);
  ASSERT_FALSE(used);
  EXPECT_EQ(used.error().field_errors.at(0).message,
            "Promotion assignment a1 was used already (by another order)");
  // Used, it no longer stands in the way of another assignment of the promotion.
  EXPECT_FALSE(state_.assignments.OpenAssignment("c1", "pr1", kNow));
}

TEST_F(AssignmentCommandsTest, TheSnapshotKeepsTheRewardAndWhetherItWasUsed) {
  promotion_.definition.reward_type = RewardType::kFixedAmount;
  promotion_.definition.reward_value = 777;
  ASSERT_TRUE(Assign("c1"));
  ASSERT_TRUE(Assign("c2"));
  state_.assignments.MarkUsed("a2");
  SnapshotWriter out;
  state_.assignments.Save(out);
  const std::string bytes = out.bytes();
  SnapshotReader in(bytes);
  AssignmentWriteModel restored;
  ASSERT_TRUE(restored.Restore(in));
  EXPECT_TRUE(restored.SameAs(state_.assignments));
  EXPECT_EQ(restored.Find("a1")->reward_type, RewardType::kFixedAmount);
  EXPECT_EQ(restored.Find("a1")->reward_value, 777);
  EXPECT_FALSE(restored.Find("a1")->used);
  EXPECT_TRUE(restored.Find("a2")->used);
}

// A promotion an order may earn: `type` with `amount` (minimum_purchase), active or not.
Promotion Earnable(const std::string& id, ConditionType type, int64_t amount = 0,
                   bool active = true) {
  Promotion p;
  p.id = id;
  p.definition.title = "Earned " + id;
  p.definition.reward_value = 500;
  p.definition.condition.type = type;
  p.definition.condition.amount_cents = amount;
  p.definition.is_active = active;
  p.version = 1;
  return p;
}

TEST_F(AssignmentCommandsTest, AnOrderEarnsEachPromotionWhoseConditionItMeetsOnce) {
  const std::vector<Promotion> earnable = {
      Earnable("first", ConditionType::kFirstPurchase),
      Earnable("hundred", ConditionType::kMinimumPurchase, 10'000),
      Earnable("off", ConditionType::kMinimumPurchase, 1, /*active=*/false),
  };
  auto earned = [&](int64_t amount, OrderStatus status = OrderStatus::kPending) {
    Order o;
    o.customer_id = "c1";
    o.amount_cents = amount;
    o.status = status;
    auto events = DecideEarnedAssignments(state_.assignments, earnable,
                                          *state_.customers.Find("c1"), o, Meta(), ids_);
    std::vector<std::string> reasons;
    for (const auto& e : events) {
      auto a = DecodePromotionAssigned(e);
      EXPECT_TRUE(a) << a.error().message;
      if (!a) continue;
      EXPECT_EQ(a->customer_id, "c1");
      EXPECT_EQ(a->assigned_at, kNow);
      reasons.push_back(a->promotion_id + ":" + a->reason);
    }
    return std::pair(reasons, events);
  };
  // Placed Cancelled: nothing, whatever it meets.
  EXPECT_TRUE(earned(50'000, OrderStatus::kCancelled).first.empty());
  // A first order under the minimum: the first purchase's only (the inactive one never).
  auto [first, first_events] = earned(9'999);
  EXPECT_EQ(first, (std::vector<std::string>{"first:first_purchase"}));
  Fold(first_events);
  // The minimum is met at the amount itself.
  auto [minimum, minimum_events] = earned(10'000);
  EXPECT_EQ(minimum, (std::vector<std::string>{"hundred:minimum_purchase"}));
  Fold(minimum_events);
  // Held unused: not again. After an order (so no longer the first), nothing.
  Order placed;
  placed.customer_id = "c1";
  placed.amount_cents = 9'999;
  placed.order_date = kNow;
  ASSERT_TRUE(state_.customers.ApplyOrder(PlacementWithoutItems(placed)));
  EXPECT_TRUE(earned(20'000).first.empty());
  // Once the held one is used, a qualifying order earns it again.
  auto held = state_.assignments.OpenAssignment("c1", "hundred", kNow);
  ASSERT_TRUE(held);
  state_.assignments.MarkUsed(*held);
  EXPECT_EQ(earned(20'000).first, (std::vector<std::string>{"hundred:minimum_purchase"}));
}

}  // namespace
}  // namespace keel

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
    for (const auto& e : *events) {
      auto st = state_.Apply(e);
      ASSERT_TRUE(st) << st.error().message;
      folded_.push_back(e);
    }
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
  std::vector<EventEnvelope> folded_;  // by Fold
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

TEST_F(AssignmentCommandsTest, ACustomersEntriesSurviveTheModelGrowingAndMoving) {
  // The per-customer lists point into the map by id: thousands of folds (rehashes) and a move
  // must leave every one answering for its own assignment. (The map's nodes never move, so this
  // guards a later change of the containers; the sanitizer build reads every pointer.)
  AssignmentWriteModel model;
  for (int i = 0; i < 3000; ++i) {
    PromotionAssignment a;
    a.id = "as-" + std::to_string(i);
    a.customer_id = "c" + std::to_string(i % 7);
    a.promotion_id = "p" + std::to_string(i);
    a.reward_value = 100;
    ASSERT_TRUE(model.Apply(a));
  }
  AssignmentWriteModel moved = std::move(model);
  for (int i = 0; i < 3000; i += 97) {
    auto open = moved.OpenAssignment("c" + std::to_string(i % 7), "p" + std::to_string(i), kNow);
    ASSERT_TRUE(open) << i;
    EXPECT_EQ(*open, "as-" + std::to_string(i));
  }
  moved.MarkUsed("as-97");
  EXPECT_FALSE(moved.OpenAssignment("c6", "p97", kNow));
  EXPECT_FALSE(moved.OpenAssignment("c5", "p97", kNow)) << "another customer's";
  SnapshotWriter out;
  moved.Save(out);
  SnapshotReader in(out.bytes());
  AssignmentWriteModel restored;
  ASSERT_TRUE(restored.Restore(in));
  EXPECT_TRUE(in.done());
  EXPECT_TRUE(restored.SameAs(moved));
  EXPECT_TRUE(moved.SameAs(restored));
  restored.MarkUsed("as-0");
  EXPECT_FALSE(restored.SameAs(moved));

  // The same assignments of one customer folded in another order: not the same model (the
  // order is what a snapshot restores), though the maps by id are equal.
  PromotionAssignment first;
  first.id = "x1";
  first.customer_id = "c1";
  first.promotion_id = "p1";
  first.reward_value = 100;
  PromotionAssignment second = first;
  second.id = "x2";
  AssignmentWriteModel one_two;
  AssignmentWriteModel two_one;
  ASSERT_TRUE(one_two.Apply(first) && one_two.Apply(second));
  ASSERT_TRUE(two_one.Apply(second) && two_one.Apply(first));
  EXPECT_FALSE(one_two.SameAs(two_one));
  EXPECT_FALSE(two_one.SameAs(one_two));
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

class ReferralTest : public AssignmentCommandsTest {
 protected:
  void SetUp() override {
    AssignmentCommandsTest::SetUp();
    // c3 and c4 were referred by the referrer (ids look like ids); c2 by nobody.
    Fold(DecideRegister(state_.customers, {referrer_, {.name = "Ref", .email = "ref@x.io"}}, Meta(),
                        ids_));
    for (const char* id : {"c3", "c4"}) {
      CustomerFields fields{.name = std::string("R") + id, .email = std::string(id) + "@x.io"};
      fields.referred_by = std::optional<std::string>(referrer_);
      Fold(DecideRegister(state_.customers, {id, fields}, Meta(), ids_));
    }
  }
  EventEnvelope Placed(const std::string& order_id, const std::string& customer,
                       OrderStatus status = OrderStatus::kPending) {
    return NewEvent(kOrderAggregate, kOrderPlaced, order_id, 1,
                    EncodeOrderPlaced(OrderOf(order_id, customer, status)), Meta(), ids_);
  }
  static Order OrderOf(const std::string& order_id, const std::string& customer,
                       OrderStatus status) {
    Order o;
    o.id = order_id;
    o.customer_id = customer;
    o.amount_cents = 1000;
    o.order_date = kNow;
    o.status = status;
    return o;
  }
  // An order decided as the command service does (with the referral it qualifies, if any) and
  // folded: its events.
  std::vector<EventEnvelope> Place(const std::string& order_id, const std::string& customer,
                                   OrderStatus status = OrderStatus::kPending,
                                   const std::vector<Promotion>* earnable = nullptr) {
    std::vector<EventEnvelope> events{Placed(order_id, customer, status)};
    if (auto q = DecideReferralQualified(earnable ? *earnable : earnable_,
                                         *state_.customers.Find(customer),
                                         OrderOf(order_id, customer, status), Meta(), ids_)) {
      events.push_back(std::move(*q));
    }
    for (const EventEnvelope& e : events) EXPECT_TRUE(state_.Apply(e));
    return events;
  }
  // The decision's events as "type:promotion:customer:reason" (assignments) or "type:referred".
  std::vector<std::string> Credit(const std::string& referred,
                                  const std::vector<Promotion>& earnable, bool fold = true) {
    auto d = DecideCreditReferral(state_.customers, state_.assignments, earnable, referred, Meta(),
                                  ids_);
    std::vector<std::string> out;
    for (const EventEnvelope& e : d.events) {
      if (e.type == kPromotionAssigned) {
        auto a = DecodePromotionAssigned(e);
        EXPECT_TRUE(a) << a.error().message;
        if (a)
          out.push_back(e.type + ":" + a->promotion_id + ":" + a->customer_id + ":" + a->reason);
      } else {
        auto c = DecodeReferral(e);
        EXPECT_TRUE(c) << c.error().message;
        if (c) {
          EXPECT_EQ(c->referrer_id, d.referrer_id);
          out.push_back(e.type + ":" + c->referred_id + ":" + c->order_id);
        }
      }
      if (fold) {
        EXPECT_TRUE(state_.Apply(e));
      }
    }
    return out;
  }
  const std::string referrer_ = ids_.NewId();
  const std::vector<Promotion> earnable_ = {
      Earnable("ref", ConditionType::kReferral),
      Earnable("first", ConditionType::kFirstPurchase),
      Earnable("off", ConditionType::kReferral, 0, /*active=*/false),
  };
};

TEST_F(ReferralTest, AReferredFirstOrderLeavesTheReferralPendingUntilItIsCreditedOnce) {
  EXPECT_TRUE(state_.assignments.PendingReferrals(10).empty());
  const auto first = Place("o1", "c3");
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[1].type, kReferralQualified);
  EXPECT_EQ(first[1].aggregate_id, "c3");
  EXPECT_EQ(Place("o2", "c3").size(), 1u);  // not the first: nothing more
  EXPECT_EQ(state_.assignments.PendingReferrals(10), std::vector<std::string>{"c3"});
  const auto* pending = state_.assignments.FindPendingReferral("c3");
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(*pending, (AssignmentWriteModel::PendingReferral{referrer_, "o1"}));

  // The referrer earns the active referral promotions (not the others), with the credit first.
  EXPECT_EQ(Credit("c3", earnable_),
            (std::vector<std::string>{"ReferralCredited:c3:o1",
                                      "PromotionAssigned:ref:" + referrer_ + ":referral"}));
  EXPECT_TRUE(state_.assignments.PendingReferrals(10).empty());
  EXPECT_TRUE(state_.assignments.OpenAssignment(referrer_, "ref", kNow));
  // Credited once: a retry, or a second keeper, decides nothing.
  EXPECT_TRUE(Credit("c3", earnable_).empty());
  EXPECT_TRUE(Credit("c2", earnable_).empty());  // never pending

  // A second referred customer's first order: credited, but the referrer holds "ref" unused.
  Place("o3", "c4");
  EXPECT_EQ(Credit("c4", earnable_), std::vector<std::string>{"ReferralCredited:c4:o3"});
}

TEST_F(ReferralTest, OnlyAReferredCustomersFirstOrderNotPlacedCancelledQualifies) {
  EXPECT_EQ(Place("o1", "c2").size(), 1u);  // nobody referred c2
  EXPECT_EQ(Place("o2", "c3", OrderStatus::kCancelled).size(), 1u);
  EXPECT_EQ(Place("o3", "c3").size(), 1u);  // c3's first order was o2
  // No active referral promotion when the order is placed: nothing to qualify for.
  const std::vector<Promotion> none = {Earnable("first", ConditionType::kFirstPurchase),
                                       Earnable("off", ConditionType::kReferral, 0, false)};
  EXPECT_EQ(Place("o4", "c4", OrderStatus::kPending, &none).size(), 1u);
  EXPECT_TRUE(state_.assignments.PendingReferrals(10).empty());
}

TEST_F(ReferralTest, OrdersFromALogBeforeReferralsQualifyNothing) {
  // A log written before referrals has OrderPlaced alone: folding it leaves nothing to credit
  // (no backfill of old referrals at the first start of this build).
  ASSERT_TRUE(state_.Apply(Placed("o1", "c3")));
  EXPECT_TRUE(state_.assignments.PendingReferrals(10).empty());
}

TEST_F(ReferralTest, AnInactiveReferrerIsCreditedWithNothing) {
  Place("o1", "c3");
  Fold(DecideDeactivate(state_.customers, {referrer_}, Meta(), ids_));
  EXPECT_EQ(Credit("c3", earnable_), std::vector<std::string>{"ReferralCredited:c3:o1"});
  EXPECT_TRUE(state_.assignments.PendingReferrals(10).empty());
}

TEST_F(ReferralTest, TheCreditFoldsBeforeOrAfterTheOrderToTheSameModel) {
  // A load folds partition by partition: the referrer's (with the credit) may come first.
  const std::vector<EventEnvelope> order = Place("o1", "c3");
  auto d =
      DecideCreditReferral(state_.customers, state_.assignments, earnable_, "c3", Meta(), ids_);
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].aggregate_version, 2);
  for (const EventEnvelope& e : d.events) ASSERT_TRUE(state_.Apply(e));

  WriteModel credit_first;
  for (const EventEnvelope& e : folded_) ASSERT_TRUE(credit_first.Apply(e));  // the customers
  for (const EventEnvelope& e : d.events) ASSERT_TRUE(credit_first.Apply(e));
  for (const EventEnvelope& e : order) ASSERT_TRUE(credit_first.Apply(e));
  EXPECT_TRUE(credit_first.assignments.PendingReferrals(10).empty());
  EXPECT_TRUE(credit_first.SameAs(state_));
  // A referral credited twice, or qualified twice, is not a log this model folds.
  auto twice = state_.Apply(d.events[0]);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kDataLoss);
  WriteModel qualified_twice;
  for (const EventEnvelope& e : folded_) ASSERT_TRUE(qualified_twice.Apply(e));
  ASSERT_TRUE(qualified_twice.Apply(order[1]));
  auto again = qualified_twice.Apply(order[1]);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel

// CustomerPromotionsProjector: each assignment is filed under its customer; a list pages newest
// first and judges the status at the time asked.
#include "projections/customer_promotions/customer_promotions_projector.h"

#include <gtest/gtest.h>

#include "domain/order.h"
#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;
constexpr Millis kDay = 86'400'000;

class CustomerPromotionsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(const std::string& id, const std::string& customer, std::optional<int64_t> days,
              Millis at) {
    Promotion p;
    p.id = "pr1";
    p.definition.title = "Ten off";
    p.definition.reward_value = 1000;
    p.definition.duration_days = days;
    auto a = NewAssignment(id, p, customer, "manual", at, "u1");
    EventEnvelope e;
    e.type = std::string(kPromotionAssigned);
    e.aggregate_type = std::string(kPromotionAssignmentAggregate);
    e.aggregate_id = id;
    e.aggregate_version = 1;
    e.occurred_at = at;
    e.actor = "u1";
    e.payload = EncodePromotionAssigned(a);
    std::vector<StoreWrite> writes;
    auto st = projector_.Apply(e, {0, at, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  // An OrderPlaced of `customer` (at offset `at`) redeeming `assignment` if any.
  Status PlaceOrder(const std::string& order_id, const std::string& customer,
                    std::optional<std::string> assignment, Millis at) {
    keel::Order o;
    o.customer_id = customer;
    o.order_date = at;
    o.amount_cents = 900;
    if (assignment) {
      o.promotion = OrderPromotion{*assignment, "pr1", RewardType::kPercentage, 1000, 100};
    }
    EventEnvelope e;
    e.event_id = "e-" + order_id;
    e.type = std::string(kOrderPlaced);
    e.aggregate_type = std::string(kOrderAggregate);
    e.aggregate_id = order_id;
    e.aggregate_version = 1;
    e.occurred_at = at;
    e.payload = EncodeOrderPlaced(o);
    std::vector<StoreWrite> writes;
    auto st = projector_.Apply(e, {0, at, ""}, view_, writes);
    if (st) {
      if (!assignment) {
        EXPECT_TRUE(writes.empty());
      }
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  std::vector<std::string> Ids(CustomerPromotionQuery q, int64_t* total = nullptr) {
    auto page = QueryCustomerPromotions(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& a : page->items) ids.push_back(a.id);
    if (total) *total = page->total;
    return ids;
  }

  CustomerPromotionsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(CustomerPromotionsProjectorTest, ACustomersAssignmentsAreListedWithTheirStatus) {
  ASSERT_TRUE(Fold("a1", "c1", 5, kNow));
  ASSERT_TRUE(Fold("a2", "c1", std::nullopt, kNow + 1));
  ASSERT_TRUE(Fold("a3", "c10", 5, kNow + 2));  // a customer whose id extends c1's
  int64_t total = 0;
  EXPECT_EQ(Ids({.customer_id = "c1", .now = kNow}, &total),
            (std::vector<std::string>{"a2", "a1"}));
  EXPECT_EQ(total, 2);
  EXPECT_EQ(
      Ids({.customer_id = "c1", .status = AssignmentStatus::kExpired, .now = kNow + 5 * kDay}),
      (std::vector<std::string>{"a1"}));
  EXPECT_EQ(
      Ids({.customer_id = "c1", .status = AssignmentStatus::kAvailable, .now = kNow + 5 * kDay}),
      (std::vector<std::string>{"a2"}));
  EXPECT_EQ(Ids({.customer_id = "c1", .page = 2, .limit = 1, .now = kNow}, &total),
            (std::vector<std::string>{"a1"}));
  EXPECT_EQ(total, 2);
  EXPECT_TRUE(Ids({.customer_id = "c2", .now = kNow}).empty());
  // The same assignment twice is data loss.
  auto twice = Fold("a1", "c1", 5, kNow);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kDataLoss);
}

TEST_F(CustomerPromotionsProjectorTest, AListReadsAtMostItsCapAndSaysItWasCutShort) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Fold("a" + std::to_string(i), "c1", 5, kNow + i));
  auto capped = QueryCustomerPromotions(store_, {.customer_id = "c1", .limit = 2, .now = kNow}, 3);
  ASSERT_TRUE(capped) << capped.error().message;
  EXPECT_TRUE(capped->truncated);
  EXPECT_EQ(capped->total, 3);  // the matches among the three read
  ASSERT_EQ(capped->items.size(), 2u);
  EXPECT_EQ(capped->items[0].id, "a4");
  auto whole = QueryCustomerPromotions(store_, {.customer_id = "c1", .limit = 2, .now = kNow}, 5);
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_FALSE(whole->truncated);
  EXPECT_EQ(whole->total, 5);
}

TEST_F(CustomerPromotionsProjectorTest, AnOrderThatRedeemsAnAssignmentMarksItUsedByThatOrder) {
  ASSERT_TRUE(Fold("a1", "c1", 5, kNow));
  ASSERT_TRUE(Fold("a2", "c1", 5, kNow + 1));
  ASSERT_TRUE(PlaceOrder("o0", "c1", std::nullopt, kNow + 2));  // redeems nothing, writes nothing
  ASSERT_TRUE(PlaceOrder("o1", "c1", "a1", kNow + 3));
  auto page = QueryCustomerPromotions(store_, {.customer_id = "c1", .now = kNow + 4});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->items.size(), 2u);
  const PromotionAssignment& used = page->items[1];
  EXPECT_EQ(used.id, "a1");
  EXPECT_EQ(used.used_at, kNow + 3);
  EXPECT_EQ(used.order_id, "o1");
  EXPECT_EQ(used.StatusAt(kNow + 4), AssignmentStatus::kUsed);
  EXPECT_NE(AssignmentToJson(used, kNow + 4).find(R"("orderId":"o1","status":"used")"),
            std::string::npos);
  EXPECT_FALSE(page->items[0].used_at);
  EXPECT_EQ(Ids({.customer_id = "c1", .status = AssignmentStatus::kUsed, .now = kNow + 4}),
            (std::vector<std::string>{"a1"}));
  // Used twice, another customer's or unknown: data loss (the commands never decide it).
  EXPECT_EQ(PlaceOrder("o2", "c1", "a1", kNow + 5).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(PlaceOrder("o3", "c2", "a2", kNow + 6).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(PlaceOrder("o4", "c1", "zz", kNow + 7).error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel

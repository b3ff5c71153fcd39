// CustomerPromotionsProjector: each assignment is filed under its customer; a list pages newest
// first and judges the status at the time asked.
#include "projections/customer_promotions/customer_promotions_projector.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace keel

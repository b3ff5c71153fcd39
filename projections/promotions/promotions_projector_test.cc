// PromotionsProjector: each promotion's document follows its events; lists filter, search and
// page.
#include "projections/promotions/promotions_projector.h"

#include <gtest/gtest.h>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class PromotionsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(std::string_view type, const std::string& id, int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e =
        MakeTestEvent(type, kPromotionAggregate, id, version, std::move(payload), kNow + version);
    e.actor = "u1";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  static PromotionInput Input(const std::string& title) {
    PromotionInput in;
    in.title = title;
    in.reward_type = RewardType::kFixedAmount;
    in.reward_value = 500;
    in.condition = {ConditionType::kMinimumPurchase, 5000, LoyaltyLevel::kBronze};
    return in;
  }
  void Create(const std::string& id, const std::string& title) {
    ASSERT_TRUE(Fold(kPromotionCreated, id, 1, EncodePromotionCreated(Input(title))));
  }
  std::vector<std::string> Ids(const PromotionListQuery& q, int64_t* total = nullptr) {
    auto page = QueryPromotions(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& p : page->items) ids.push_back(p.id);
    if (total) *total = page->total;
    return ids;
  }

  PromotionsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(PromotionsProjectorTest, EventsAreFoldedAndServed) {
  Create("pr1", "Welcome");
  ASSERT_TRUE(Fold(kPromotionUpdated, "pr1", 2, R"({"title":"Welcome back","durationDays":14})"));
  ASSERT_TRUE(Fold(kPromotionDeactivated, "pr1", 3, "{}"));
  auto p = QueryPromotion(store_, "pr1");
  ASSERT_TRUE(p);
  ASSERT_TRUE(*p);
  EXPECT_EQ((*p)->definition.title, "Welcome back");
  EXPECT_EQ((*p)->definition.duration_days, 14);
  EXPECT_EQ((*p)->definition.condition.amount_cents, 5000);
  EXPECT_FALSE((*p)->is_active());
  EXPECT_EQ((*p)->version, 3);
  EXPECT_EQ((*p)->created_by, "u1");
  auto none = QueryPromotion(store_, "nope");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  // A version that does not follow is refused as data loss, and nothing is written.
  auto gap = Fold(kPromotionUpdated, "pr1", 5, R"({"title":"X"})");
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ((*QueryPromotion(store_, "pr1"))->version, 3);
}

TEST_F(PromotionsProjectorTest, ListsFilterSearchTheTitleAndPage) {
  Create("pr1", "Summer Sale");
  Create("pr2", "Welcome");
  Create("pr3", "summer gold");
  ASSERT_TRUE(Fold(kPromotionDeactivated, "pr2", 2, "{}"));
  int64_t total = 0;
  EXPECT_EQ(Ids({}, &total), (std::vector<std::string>{"pr3", "pr2", "pr1"}));
  EXPECT_EQ(total, 3);
  EXPECT_EQ(Ids({.search = "SUMMER"}), (std::vector<std::string>{"pr3", "pr1"}));
  EXPECT_EQ(Ids({.is_active = false}), (std::vector<std::string>{"pr2"}));
  EXPECT_EQ(Ids({.is_active = true, .search = "sale"}), (std::vector<std::string>{"pr1"}));
  EXPECT_EQ(Ids({.page = 2, .limit = 2}, &total), (std::vector<std::string>{"pr1"}));
  EXPECT_EQ(total, 3);
}

}  // namespace
}  // namespace keel

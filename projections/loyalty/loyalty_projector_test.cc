// LoyaltyProjector: the settings record follows the stream; a bad event is refused.
#include "projections/loyalty/loyalty_projector.h"

#include <gtest/gtest.h>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

class LoyaltyProjectorTest : public ::testing::Test {
 protected:
  Status Fold(int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e =
        MakeTestEvent(kLoyaltySettingsChanged, kLoyaltyAggregate, std::string(kLoyaltySettingsId),
                      version, std::move(payload), 1'800'000'000'000 + version);
    e.actor = "admin";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }

  LoyaltyProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(LoyaltyProjectorTest, TheDefaultsUntilTheFirstChangeThenEachChange) {
  auto none = QueryLoyaltySettings(store_);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->version, 0);
  EXPECT_EQ(none->settings, LoyaltySettings{});
  LoyaltySettings quintile;
  quintile.mode = LoyaltyMode::kQuintile;
  ASSERT_TRUE(Fold(1, EncodeLoyaltySettings(quintile)));
  LoyaltySettings wider = quintile;
  wider.recency_days = {1, 10, 100, 1000};
  ASSERT_TRUE(Fold(2, EncodeLoyaltySettings(wider)));
  auto now = QueryLoyaltySettings(store_);
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(now->version, 2);
  EXPECT_EQ(now->settings, wider);
  EXPECT_EQ(now->updated_by, "admin");
  EXPECT_EQ(now->updated_at, 1'800'000'000'002);
}

TEST_F(LoyaltyProjectorTest, ABadEventIsDataLossAndChangesNothing) {
  ASSERT_TRUE(Fold(1, EncodeLoyaltySettings(LoyaltySettings{})));
  auto gap = Fold(3, EncodeLoyaltySettings(LoyaltySettings{}));
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kDataLoss);
  auto bad = Fold(2, R"({"mode":"quintile"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(QueryLoyaltySettings(store_)->version, 1);
}

}  // namespace
}  // namespace keel

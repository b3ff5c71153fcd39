// CustomerHistoryProjector: one entry per customer event, pointing into the log; none for the
// events of other aggregates (an order's are found through its record).
#include "projections/customer_history/history_projector.h"

#include <gtest/gtest.h>

#include "domain/customer.h"
#include "domain/order.h"
#include "projections/counters.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

TEST(CustomerHistoryProjectorTest, ACustomerEventIsAnEntryPointingIntoTheLog) {
  CustomerHistoryProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(
      projector.Apply(MakeTestEvent(kCustomerDeactivated, kCustomerAggregate, "c1", 2, "{}", 1),
                      {5, 812, ""}, view, writes));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].table, kCustomerEventsTable);
  EXPECT_EQ(writes[0].key, "c1/" + Digits20(812));
  EXPECT_EQ(writes[0].value, "5");
}

TEST(CustomerHistoryProjectorTest, AnOrderEventHasNoEntryOfItsOwn) {
  CustomerHistoryProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(MakeTestEvent(kOrderPlaced, kOrderAggregate, "o1", 1, "{}", 1),
                              {0, 1, ""}, view, writes));
  EXPECT_TRUE(writes.empty());
}

}  // namespace
}  // namespace keel

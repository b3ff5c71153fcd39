// CustomerHistoryProjector: one entry per customer event, pointing into the log; none for the
// events of other aggregates (an order's are found through its record).
#include "projections/customer_history/history_projector.h"

#include <gtest/gtest.h>

#include "domain/customer.h"
#include "domain/order.h"
#include "domain/transaction.h"
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

TEST(CustomerHistoryProjectorTest, APaymentIsAnEntryOfTheCustomerItNames) {
  CustomerHistoryProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  Transaction t{.id = "t1", .customer_id = "c1", .amount_cents = -100, .transaction_date = 1};
  ASSERT_TRUE(projector.Apply(MakeTestEvent(kTransactionRecorded, kTransactionAggregate, "t1", 1,
                                            EncodeTransactionRecorded(t), 1),
                              {3, 40, ""}, view, writes));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].key, "c1/" + Digits20(40));
  EXPECT_EQ(writes[0].value, "3");
  auto bad =
      projector.Apply(MakeTestEvent(kTransactionRecorded, kTransactionAggregate, "t2", 1, "{}", 1),
                      {3, 41, ""}, view, writes);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel

// OrdersProjector: an order's record, its two index entries and the count, as each order event
// leaves them; an event that does not follow the order is refused.
#include "projections/orders/orders_projector.h"

#include <gtest/gtest.h>

#include "domain/order.h"
#include "projections/counters.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr char kOrderId[] = "018f0000-0000-8000-8000-0000000000bb";

Order AnOrder() {
  Order o;
  o.customer_id = "c1";
  o.order_date = 1'700'000'000'000;
  o.amount_cents = 1234;
  o.items = {{"S", "Sock", 2, 617}};
  return o;
}

TEST(OrdersProjectorTest, APlacementWritesTheRecordItsIndexEntriesAndTheCount) {
  OrdersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  const Order order = AnOrder();
  auto placed = MakeTestEvent(kOrderPlaced, kOrderAggregate, kOrderId, 1, EncodeOrderPlaced(order),
                              order.order_date);
  ASSERT_TRUE(projector.Apply(placed, {3, 40, ""}, view, writes));
  view.Commit(writes);

  std::vector<LogPosition> events;
  auto stored = DecodeOrderRecord(*view.At(kOrdersTable, kOrderId), &events);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->customer_id, "c1");
  EXPECT_EQ(stored->amount_cents, 1234);
  EXPECT_EQ(stored->items, order.items);
  EXPECT_EQ(events, (std::vector<LogPosition>{{3, 40}}));
  EXPECT_EQ(view.At(kOrdersByCustomerTable, "c1/" + Digits20(order.order_date) + "/" + kOrderId),
            "Pending");
  EXPECT_EQ(view.At(kOrdersByDateTable, Digits20(order.order_date) + "/" + kOrderId), "Pending");
  EXPECT_EQ(view.At(kProjectionMetaTable, PartitionCounterKey(kOrderCountPrefix, 3)), "1");
}

TEST(OrdersProjectorTest, AStatusChangeRewritesTheRecordAndListsBothEvents) {
  OrdersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  Order order = AnOrder();
  ASSERT_TRUE(projector.Apply(MakeTestEvent(kOrderPlaced, kOrderAggregate, kOrderId, 1,
                                            EncodeOrderPlaced(order), order.order_date),
                              {0, 1, ""}, view, writes));
  view.Commit(writes);
  writes.clear();
  order.id = kOrderId;
  ASSERT_TRUE(projector.Apply(
      MakeTestEvent(kOrderStatusChanged, kOrderAggregate, kOrderId, 2,
                    EncodeOrderStatusChanged(order, OrderStatus::kCancelled), order.order_date),
      {0, 7, ""}, view, writes));
  view.Commit(writes);
  std::vector<LogPosition> events;
  auto stored = DecodeOrderRecord(*view.At(kOrdersTable, kOrderId), &events);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->status, OrderStatus::kCancelled);
  EXPECT_EQ(events, (std::vector<LogPosition>{{0, 1}, {0, 7}}));
  EXPECT_EQ(view.At(kOrdersByDateTable, Digits20(order.order_date) + "/" + kOrderId), "Cancelled");
  // A status change places nothing.
  EXPECT_EQ(view.At(kProjectionMetaTable, PartitionCounterKey(kOrderCountPrefix, 0)), "1");
}

TEST(OrdersProjectorTest, AStatusChangeOfAnUnknownOrderIsRefused) {
  OrdersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  Order order = AnOrder();
  order.id = kOrderId;
  auto st = projector.Apply(
      MakeTestEvent(kOrderStatusChanged, kOrderAggregate, kOrderId, 2,
                    EncodeOrderStatusChanged(order, OrderStatus::kCancelled), order.order_date),
      {0, 1, ""}, view, writes);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
}

TEST(OrdersProjectorTest, IgnoresCustomerEvents) {
  OrdersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(
      projector.Apply(MakeTestEvent(kCustomerDeactivated, kCustomerAggregate, "c1", 2, "{}", 1),
                      {0, 1, ""}, view, writes));
  EXPECT_TRUE(writes.empty());
}

}  // namespace
}  // namespace keel

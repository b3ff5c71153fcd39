// CustomersProjector: a customer's records and indexes as its events leave them, its figures as
// its orders move them. (What it hands the in-memory index: tests/projector_runner_test.cc,
// which needs a store to load the index from.)
#include "projections/customers/customers_projector.h"

#include <gtest/gtest.h>

#include "domain/order.h"
#include "projections/counters.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr char kId[] = "018f0000-0000-7000-8000-0000000000aa";
constexpr Millis kAt = 1'700'000'000'000;

EventEnvelope Registered(std::string name = "Ada") {
  return MakeTestEvent(kCustomerRegistered, kCustomerAggregate, kId, 1,
                       EncodeCustomerFields(WithDefaults({.name = name, .email = "ada@x.io"})),
                       kAt);
}

EventEnvelope Placed(std::string customer_id, int64_t cents, const char* order_id) {
  Order o;
  o.customer_id = std::move(customer_id);
  o.order_date = kAt;
  o.amount_cents = cents;
  return MakeTestEvent(kOrderPlaced, kOrderAggregate, order_id, 1, EncodeOrderPlaced(o), kAt);
}

TEST(CustomersProjectorTest, ARegistrationWritesTheProfileFiguresIndexesAndCount) {
  CustomersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(Registered(), {2, 9, ""}, view, writes));
  view.Commit(writes);
  auto profile = CustomerFromJson(*view.At(kCustomersTable, kId));
  ASSERT_TRUE(profile);
  EXPECT_EQ(profile->name, "Ada");
  EXPECT_EQ(view.At(kCustomersByEmailTable, "ada@x.io"), kId);
  EXPECT_EQ(view.At(kCustomersByCreatedTable, Digits20(kAt) + "/" + kId), "");
  EXPECT_EQ(view.At(kProjectionMetaTable, PartitionCounterKey(kCustomerCountPrefix, 2)), "1");
  EXPECT_TRUE(view.At(kCustomerFiguresTable, kId));
  EXPECT_EQ(projector.index(), nullptr);  // not serving: no index
}

TEST(CustomersProjectorTest, AnOrderMovesTheFiguresAlone) {
  CustomersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(Registered(), {0, 0, ""}, view, writes));
  view.Commit(writes);
  writes.clear();
  ASSERT_TRUE(projector.Apply(Placed(kId, 1234, "o1"), {0, 1, ""}, view, writes));
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].table, kCustomerFiguresTable);
  Customer c;
  ASSERT_TRUE(DecodeCustomerFigures(*writes[0].value, c));
  EXPECT_EQ(c.stats.order_count, 1);
  EXPECT_EQ(c.stats.order_cents, 1234);
}

TEST(CustomersProjectorTest, AnOrderOfAnUnknownCustomerIsRefused) {
  CustomersProjector projector;
  MapStateView view;
  std::vector<StoreWrite> writes;
  auto st = projector.Apply(Placed("nobody", 100, "o1"), {0, 1, ""}, view, writes);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(writes.empty());
}

}  // namespace
}  // namespace keel

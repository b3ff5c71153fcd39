// CustomersProjector: a customer's records and indexes as its events leave them, its figures as
// its orders move them, and the in-memory views of a serving generation: loaded together, fed
// at commit. (More on what it hands the index: tests/projector_runner_test.cc.)
#include "projections/customers/customers_projector.h"

#include <gtest/gtest.h>

#include "domain/order.h"
#include "projections/counters.h"
#include "projections/customers/customer_queries.h"
#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
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
  EXPECT_EQ(view.At(kCustomersByEmailTable, CustomerEmailKey("ada@x.io", kId)), "");
  EXPECT_EQ(view.At(kCustomersByCreatedTable, Digits20(kAt) + "/" + kId), "");
  EXPECT_EQ(view.At(kProjectionMetaTable, PartitionCounterKey(kCustomerCountPrefix, 2)), "1");
  EXPECT_TRUE(view.At(kCustomerFiguresTable, kId));
  EXPECT_EQ(projector.index(), nullptr);  // not serving: no index
}

TEST(CustomersProjectorTest, AnEmailThatMovedKeepsItsNewHolderInAnyFoldOrder) {
  // Decided: A takes a@, A moves to c@, B takes a@. Folded with B's partition read first, A's
  // move comes last: it must drop only A's own entry.
  constexpr char kA[] = "018f0000-0000-7000-8000-00000000000a";
  constexpr char kB[] = "018f0000-0000-7000-8000-00000000000b";
  auto registered = [](const char* id, const char* email) {
    return MakeTestEvent(kCustomerRegistered, kCustomerAggregate, id, 1,
                         EncodeCustomerFields(WithDefaults({.name = "N", .email = email})), kAt);
  };
  const EventEnvelope moved =
      MakeTestEvent(kCustomerUpdated, kCustomerAggregate, kA, 2,
                    EncodeCustomerFields({.email = std::string("c@x.io")}), kAt + 1);
  CustomersProjector projector;
  MapStateView view;
  MapReadStore store;
  int64_t offset = 0;
  for (const EventEnvelope& e : {registered(kB, "a@x.io"), registered(kA, "a@x.io"), moved}) {
    std::vector<StoreWrite> writes;
    ASSERT_TRUE(projector.Apply(e, {e.aggregate_id == kA ? 0 : 1, offset++, ""}, view, writes));
    view.Commit(writes);
    ASSERT_TRUE(store.Write(writes));
  }
  auto holder = [&](const char* email) -> std::string {
    CustomerListQuery q;
    q.email = email;
    auto page = QueryCustomers(store, nullptr, q);
    EXPECT_TRUE(page) << page.error().message;
    return page && page->ids.size() == 1 ? page->ids[0] : std::string("none");
  };
  EXPECT_EQ(holder("a@x.io"), kB);
  EXPECT_EQ(holder("c@x.io"), kA);
  EXPECT_EQ(holder("b@x.io"), "none");
}

TEST(CustomersProjectorTest, AStoreOfTheOlderEmailIndexStillAnswersWhileItsSuccessorIsBuilt) {
  MapReadStore store;
  Customer c{.id = kId, .name = "Ada", .email = "ada@x.io", .version = 1};
  store.PutCustomer(c);
  ASSERT_TRUE(store.Write({{kCustomersByEmailTable, "ada@x.io", kId},     // format 3: email → id
                           {kCustomersByEmailTable, "old@x.io", kId}}));  // a stale entry
  CustomerListQuery q;
  q.email = "ada@x.io";
  auto page = QueryCustomers(store, nullptr, q);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->ids.size(), 1u);
  EXPECT_EQ(page->ids[0], kId);
  q.email = "old@x.io";  // checked against the profile
  page = QueryCustomers(store, nullptr, q);
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->ids.empty());
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

TEST(CustomersProjectorTest, AServingProjectorLoadsBothViewsFromOneScanAndFeedsThemAtCommit) {
  MapReadStore store;
  Customer stored{.id = "stored", .name = "Grace", .email = "grace@x.io", .version = 1};
  store.PutCustomer(stored);
  int scans = 0;
  store.during_scan = [&] { ++scans; };
  CustomersProjector projector(&store);
  ASSERT_NE(projector.index(), nullptr);
  ASSERT_NE(projector.audience(), nullptr);
  ASSERT_TRUE(projector.StartViews(store));
  EXPECT_EQ(scans, 1);
  EXPECT_TRUE(projector.index()->ready());
  EXPECT_TRUE(projector.audience()->ready());
  EXPECT_EQ(projector.audience()->size(), 1u);

  MapStateView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(Registered(), {0, 0, ""}, view, writes));
  RuleNode named_ada;
  named_ada.condition = {.field = RuleField::kName, .op = RuleOp::kEq, .texts = {"ada"}};
  EXPECT_EQ(projector.audience()->Count(named_ada, kAt, 1).count, 0);  // not before the commit
  projector.Committed({0});
  AudienceColumns::Audience audience = projector.audience()->Count(named_ada, kAt, 1);
  EXPECT_EQ(audience.count, 1);
  EXPECT_EQ(audience.sample, std::vector<std::string>{kId});
  EXPECT_EQ(projector.index()->size(), 2u);
}

}  // namespace
}  // namespace keel

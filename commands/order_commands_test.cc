#include "commands/order_commands.h"

#include <gtest/gtest.h>

#include <map>

#include "commands/write_model.h"

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class OrderCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fold(DecideRegister(state_.customers, {"c1", {.name = "A", .email = "a@x.io"}}, Meta(), ids_));
    Fold(DecideRegister(state_.customers, {"c2", {.name = "B", .email = "b@x.io"}}, Meta(), ids_));
  }
  CommandMeta Meta() { return {.now = 5000, .actor = "tester"}; }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) {
      auto applied = state_.Apply(e);
      ASSERT_TRUE(applied) << applied.error().message;
    }
  }
  Result<OrderDecision> Place(OrderInput in, Millis now = 5000) {
    CommandMeta meta = Meta();
    meta.now = now;
    auto d = DecidePlaceOrder(state_.customers, state_.orders, {std::move(in)}, meta, ids_, lookup_,
                              &state_.assignments);
    if (d) Fold(d->events);
    return d;
  }
  // Gives `customer` promotion `promotion_id` (`type`, `value` in hundredths; expiring
  // `days` after 5000 if any): the assignment's id.
  std::string Give(const std::string& customer, RewardType type, int64_t value,
                   std::optional<int> days = std::nullopt,
                   const std::string& promotion_id = "pr1") {
    Promotion p;
    p.id = promotion_id;
    p.definition.title = "Reward";
    p.definition.reward_type = type;
    p.definition.reward_value = value;
    p.definition.duration_days = days;
    p.version = 1;
    const std::string id = "as" + std::to_string(++assignments_made_);
    auto d = DecideAssignPromotion(state_.customers, state_.assignments,
                                   Result<std::optional<Promotion>>(std::optional(p)),
                                   {promotion_id, customer}, id, Meta(), ids_);
    EXPECT_TRUE(d) << d.error().message;
    if (d) Fold(d->events);
    return id;
  }
  int assignments_made_ = 0;
  Result<std::vector<EventEnvelope>> Change(const std::string& id, OrderStatus to) {
    auto events = DecideChangeOrderStatus(state_.orders, {id, to, std::nullopt}, Meta(), ids_);
    if (events) Fold(events);
    return events;
  }

  void AddProduct(const std::string& id, const std::string& sku, int64_t price_cents,
                  int64_t tax_rate_bp, bool active = true) {
    Product& p = products_[id];
    p.id = id;
    p.sku = sku;
    p.name = "Name of " + sku;
    p.price_cents = price_cents;
    p.tax_rate_bp = tax_rate_bp;
    p.is_active = active;
    p.version = 1;
  }
  // An item {productId, quantity} as ParseOrderInput gives it.
  static OrderItem ByProduct(const std::string& id, int64_t qty) {
    OrderItem it;
    it.product_id = id;
    it.qty = qty;
    return it;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  WriteModel state_;
  std::map<std::string, Product> products_;
  std::vector<std::string> looked_up_;
  ProductLookup lookup_ = [this](const std::string& id) -> Result<std::optional<Product>> {
    looked_up_.push_back(id);
    auto it = products_.find(id);
    if (it == products_.end()) return std::optional<Product>();
    return std::optional<Product>(it->second);
  };
};

TEST_F(OrderCommandsTest, PlacementMovesTheCustomersStats) {
  auto d = Place({.customer_id = "c1", .amount_cents = 1500});
  ASSERT_TRUE(d);
  ASSERT_EQ(d->events.size(), 1u);
  const auto& e = d->events[0];
  EXPECT_EQ(e.type, kOrderPlaced);
  EXPECT_EQ(e.aggregate_type, kOrderAggregate);
  EXPECT_EQ(e.aggregate_id, d->order_id);
  EXPECT_EQ(state_.orders.Find(d->order_id)->order_date, 5000);  // defaults to now
  const Customer* c = state_.customers.Find("c1");
  EXPECT_EQ(TotalSpendingCents(*c), 1500);
  EXPECT_EQ(c->stats.order_count, 1);
  EXPECT_EQ(c->version, 1);  // orders are their own aggregates
}

TEST_F(OrderCommandsTest, UnknownOrInactiveCustomerIsRefusedNamingCustomerId) {
  auto d = Place({.customer_id = "nobody", .amount_cents = 1});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(d.error().field_errors.size(), 1u);
  EXPECT_EQ(d.error().field_errors[0].field, "customerId");

  Fold(DecideDeactivate(state_.customers, {"c2", std::nullopt}, Meta(), ids_));
  d = Place({.customer_id = "c2", .amount_cents = 1});
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().field_errors[0].message.find("inactive"), std::string::npos);
}

// A date more than a day ahead of the clock is refused (it would hold the customer's recency at
// its best score); a day ahead (a client's time zone) is taken.
TEST_F(OrderCommandsTest, AnOrderDateMoreThanADayAheadIsRefusedNamingOrderDate) {
  OrderInput ahead{.customer_id = "c1", .amount_cents = 1};
  ahead.order_date = Meta().now + kMaxOrderDateAhead + 1;
  auto d = Place(ahead);
  ASSERT_FALSE(d);
  ASSERT_EQ(d.error().field_errors.size(), 1u);
  EXPECT_EQ(d.error().field_errors[0].field, "orderDate");
  EXPECT_EQ(state_.customers.Find("c1")->stats.order_count, 0);

  OrderInput tomorrow{.customer_id = "c1", .amount_cents = 1};
  tomorrow.order_date = Meta().now + kMaxOrderDateAhead;
  ASSERT_TRUE(Place(tomorrow));
  EXPECT_EQ(state_.customers.Find("c1")->stats.order_count, 1);
}

TEST_F(OrderCommandsTest, ReSentExternalIdIsADuplicate) {
  auto first = Place({.customer_id = "c1", .amount_cents = 100, .external_id = "X-1"});
  ASSERT_TRUE(first);
  auto again = Place({.customer_id = "c1", .amount_cents = 100, .external_id = "X-1"});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  EXPECT_TRUE(again->events.empty());
  EXPECT_EQ(again->order_id, first->order_id);
  EXPECT_EQ(state_.customers.Find("c1")->stats.order_count, 1);

  auto other = Place({.customer_id = "c2", .amount_cents = 100, .external_id = "X-1"});
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(OrderCommandsTest, StatusFollowsTheStateMachine) {
  auto d = Place({.customer_id = "c1", .amount_cents = 700});
  const std::string id = d->order_id;
  EXPECT_EQ(Change(id, OrderStatus::kDelivered).error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(Change(id, OrderStatus::kShipped));
  auto cancel = Change(id, OrderStatus::kCancelled);
  ASSERT_FALSE(cancel);
  EXPECT_EQ(cancel.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(cancel.error().message.find("from Shipped to Cancelled"), std::string::npos);
  auto same = Change(id, OrderStatus::kShipped);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto stale = DecideChangeOrderStatus(state_.orders, {id, OrderStatus::kDelivered, 1}, Meta(), ids_);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_EQ(Change("missing", OrderStatus::kShipped).error().code, ErrorCode::kNotFound);
}

TEST_F(OrderCommandsTest, CancellationTakesTheAmountBackOut) {
  auto a = Place({.customer_id = "c1", .amount_cents = 700});
  Place({.customer_id = "c1", .amount_cents = 300});
  ASSERT_TRUE(Change(a->order_id, OrderStatus::kCancelled));
  const Customer* c = state_.customers.Find("c1");
  EXPECT_EQ(TotalSpendingCents(*c), 300);
  EXPECT_EQ(c->stats.order_count, 1);
  EXPECT_EQ(AverageOrderCents(*c), 300);
}

// A customer's total spending (baseline plus orders not cancelled) stops at
// kMaxCustomerSpendingCents: a placement or a baseline that would pass it is refused naming the
// field, and appends nothing; what does not count towards it (a cancelled order) still goes in.
TEST_F(OrderCommandsTest, TotalSpendingStopsAtTheCustomerMaximum) {
  static_assert(kMaxCustomerSpendingCents % kMaxCents == 0);
  const int64_t orders = kMaxCustomerSpendingCents / kMaxCents - 1;
  Fold(DecideUpdate(state_.customers, {"c1", {.total_spending_cents = kMaxCents}}, Meta(), ids_));
  for (int64_t i = 0; i < orders; ++i) {
    ASSERT_TRUE(Place({.customer_id = "c1", .amount_cents = kMaxCents})) << i;
  }
  const Customer* c = state_.customers.Find("c1");
  ASSERT_EQ(TotalSpendingCents(*c), kMaxCustomerSpendingCents);
  const CustomerStats full = c->stats;

  auto over = Place({.customer_id = "c1", .amount_cents = 1});
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(over.error().field_errors.size(), 1u);
  EXPECT_EQ(over.error().field_errors[0].field, "orderAmount");
  EXPECT_EQ(state_.customers.Find("c1")->stats, full);
  auto by_email = Place({.customer_email = "a@x.io", .amount_cents = kMaxCents});
  ASSERT_FALSE(by_email);
  EXPECT_EQ(by_email.error().field_errors[0].field, "orderAmount");

  auto cancelled =
      Place({.customer_id = "c1", .amount_cents = kMaxCents, .status = OrderStatus::kCancelled});
  ASSERT_TRUE(cancelled) << cancelled.error().message;
  EXPECT_EQ(TotalSpendingCents(*state_.customers.Find("c1")), kMaxCustomerSpendingCents);

  // The baseline may go down, and up again to the maximum, not past it.
  Fold(DecideUpdate(state_.customers, {"c1", {.total_spending_cents = 0}}, Meta(), ids_));
  ASSERT_TRUE(Place({.customer_id = "c1", .amount_cents = kMaxCents - 1}));
  auto raise = DecideUpdate(state_.customers, {"c1", {.total_spending_cents = 2}}, Meta(), ids_);
  ASSERT_FALSE(raise);
  EXPECT_EQ(raise.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(raise.error().field_errors.size(), 1u);
  EXPECT_EQ(raise.error().field_errors[0].field, "totalSpending");
  Fold(DecideUpdate(state_.customers, {"c1", {.total_spending_cents = 1}}, Meta(), ids_));
  EXPECT_EQ(TotalSpendingCents(*state_.customers.Find("c1")), kMaxCustomerSpendingCents);
  auto replace =
      DecideUpdate(state_.customers, {"c1", {.name = "A", .email = "a@x.io"}, /*replace=*/true},
                   Meta(), ids_);  // the baseline returns to 0
  ASSERT_TRUE(replace) << replace.error().message;

  // 10,000 orders of 1e18 - 1 cents: 99999999999999.9999 on average, rounded up.
  EXPECT_EQ(AverageOrderCents(*state_.customers.Find("c1")), kMaxCents);
}

TEST_F(OrderCommandsTest, VisitsCount) {
  Fold(DecideRecordVisit(state_.customers, {"c1", 77}, Meta(), ids_));
  Fold(DecideRecordVisit(state_.customers, {"c1", std::nullopt}, Meta(), ids_));
  const Customer* c = state_.customers.Find("c1");
  EXPECT_EQ(TotalVisits(*c), 2);
  EXPECT_EQ(LastVisit(*c), 5000);
  EXPECT_EQ(c->version, 3);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// Order ids of imported logs need not be Keel's lowercase UUIDs: an uppercase UUID and the
// same id in lowercase are two orders, and any other text is an id too.
TEST_F(OrderCommandsTest, OrderIdsOfAnyFormAreKeptApart) {
  const std::string lower = "018f0000-0000-8000-8000-00000000abcd";
  const std::string upper = "018F0000-0000-8000-8000-00000000ABCD";
  const std::string text = "order-1";
  const std::string bad_dash = "018f0000x0000-8000-8000-00000000abcd";
  int64_t cents = 100;
  for (const std::string& id : {lower, upper, text, bad_dash}) {
    EventEnvelope e;
    e.event_id = id + "-e";
    e.type = std::string(kOrderPlaced);
    e.schema_version = CurrentSchemaVersion(e.type);
    e.aggregate_type = std::string(kOrderAggregate);
    e.aggregate_id = id;
    e.aggregate_version = 1;
    Order o;
    o.customer_id = "c1";
    o.order_date = 1;
    o.amount_cents = cents++;
    e.payload = EncodeOrderPlaced(o);
    ASSERT_TRUE(state_.Apply(e)) << id;
  }
  EXPECT_EQ(state_.orders.size(), 4u);
  EXPECT_EQ(state_.orders.Find(lower)->amount_cents, 100);
  EXPECT_EQ(state_.orders.Find(upper)->amount_cents, 101);
  EXPECT_EQ(state_.orders.Find(text)->amount_cents, 102);
  EXPECT_EQ(state_.orders.Find(bad_dash)->amount_cents, 103);
  EXPECT_EQ(state_.orders.Find("018f0000-0000-8000-8000-00000000abce"), nullptr);
  auto shipped = Change(upper, OrderStatus::kShipped);
  ASSERT_TRUE(shipped) << shipped.error().message;
  EXPECT_EQ(state_.orders.Find(upper)->status, OrderStatus::kShipped);
  EXPECT_EQ(state_.orders.Find(lower)->status, OrderStatus::kPending);
}

TEST_F(OrderCommandsTest, ACustomerMayBeNamedByEmail) {
  auto d = Place({.customer_email = "b@x.io", .amount_cents = 250});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->customer_id, "c2");
  EXPECT_EQ(*state_.orders.Find(d->order_id)->customer_id, "c2");
  auto unknown = Place({.customer_email = "nobody@x.io", .amount_cents = 250});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().field_errors[0].field, "customerEmail");
  EXPECT_FALSE(ParseOrderInput(R"({"customerId":"c1","customerEmail":"b@x.io","orderAmount":1})"));
  EXPECT_EQ(ParseOrderInput(R"({"customerEmail":" B@X.io ","orderAmount":1})")->customer_email, "b@x.io");
}

TEST_F(OrderCommandsTest, ItemsByProductArePricedFromTheProductAndRecorded) {
  AddProduct("p1", "W-1", 1000, 750);  // 10.00 at 7.5%
  AddProduct("p2", "P-2", 99, 1925);   // 0.99 at 19.25%
  auto d = Place({.customer_id = "c1",
                  .items = {ByProduct("p1", 3), ByProduct("p2", 1), {"A", "Apple", 2, 50}}});
  ASSERT_TRUE(d) << d.error().message;
  // 3 × 10.00 + 2.25 tax, 0.99 + 0.19 (0.190575 rounded), 2 × 0.50 without tax.
  const int64_t total = 3000 + 225 + 99 + 19 + 100;
  ASSERT_TRUE(d->placed);
  EXPECT_EQ(d->placed->amount_cents, total);
  ASSERT_EQ(d->placed->items.size(), 3u);
  EXPECT_EQ(d->placed->items[0], PricedItem(products_["p1"], 3));
  EXPECT_EQ(d->placed->items[1], PricedItem(products_["p2"], 1));
  EXPECT_EQ(d->placed->items[2], (OrderItem{"A", "Apple", 2, 50}));
  // The event records the prices and rates: what is folded later needs no product.
  auto change = DecodeOrderChange(d->events.at(0));
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(change->items, d->placed->items);
  EXPECT_EQ(change->amount_cents, total);
  EXPECT_EQ(TotalSpendingCents(*state_.customers.Find("c1")), total);

  // An amount given must be that sum.
  auto wrong = Place({.customer_id = "c1", .amount_cents = 3000, .items = {ByProduct("p1", 3)}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(wrong.error().field_errors.size(), 1u);
  EXPECT_EQ(wrong.error().field_errors[0].field, "orderAmount");
  EXPECT_NE(wrong.error().field_errors[0].message.find("32.25"), std::string::npos);
  auto right = Place({.customer_id = "c1", .amount_cents = 3225, .items = {ByProduct("p1", 3)}});
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(right->placed->amount_cents, 3225);
}

TEST_F(OrderCommandsTest, AnOrderByProductIsWrittenAsV2AndOthersAsV1) {
  AddProduct("p1", "W-1", 1000, 750);
  auto by_product = Place({.customer_id = "c1", .items = {ByProduct("p1", 1)}});
  ASSERT_TRUE(by_product) << by_product.error().message;
  EXPECT_EQ(by_product->events.at(0).schema_version, 2);  // a build before it skips it as newer
  auto by_sku = Place({.customer_id = "c1", .amount_cents = 100, .items = {{"A", "Apple", 2, 50}}});
  ASSERT_TRUE(by_sku) << by_sku.error().message;
  EXPECT_EQ(by_sku->events.at(0).schema_version, 1);  // as before
  // Both fold: a v1 OrderPlaced reads as a v2 one without products.
  for (const auto* d : {&*by_product, &*by_sku}) {
    auto decoded = DecodeEvent(EncodeEvent(d->events.at(0)));
    ASSERT_TRUE(decoded) << decoded.error().message;
    auto change = DecodeOrderChange(*decoded);
    EXPECT_TRUE(change) << change.error().message;
  }
}

TEST_F(OrderCommandsTest, ItemsByProductMayNotGrowTheEventPastItsLimit) {
  // A thousand items whose product has a long name of four-byte characters: about 0.8 MB
  // written out from a body of about 60 KB.
  AddProduct("p1", "W-1", 1, 0);
  std::string name;
  for (int i = 0; i < 200; ++i) name += "\U0001F600";
  products_["p1"].name = name;
  OrderInput input{.customer_id = "c1"};
  for (int i = 0; i < 1000; ++i) input.items.push_back(ByProduct("p1", 1));
  auto d = Place(input);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(d.error().field_errors.size(), 1u);
  EXPECT_EQ(d.error().field_errors[0].field, "items");
  input.items.resize(100);  // a tenth of it is fine
  EXPECT_TRUE(Place(input));
}

TEST_F(OrderCommandsTest, UnknownOrInactiveProductsAreFieldErrorsAndDecideNothing) {
  AddProduct("p1", "W-1", 1000, 0);
  AddProduct("gone", "G-1", 500, 0, /*active=*/false);
  const int64_t spent = TotalSpendingCents(*state_.customers.Find("c1"));
  auto d = Place({.customer_id = "c1",
                  .items = {ByProduct("nope", 1), ByProduct("p1", 1), ByProduct("gone", 2)}});
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(d.error().field_errors.size(), 2u);
  EXPECT_EQ(d.error().field_errors[0].field, "items[0].productId");
  EXPECT_EQ(d.error().field_errors[0].message, "No product with id nope");
  EXPECT_EQ(d.error().field_errors[1].field, "items[2].productId");
  EXPECT_EQ(d.error().field_errors[1].message, "Product gone is inactive and cannot be ordered");
  EXPECT_EQ(state_.orders.size(), 0u);
  EXPECT_EQ(TotalSpendingCents(*state_.customers.Find("c1")), spent);
  // A free product alone makes an order worth nothing.
  AddProduct("free", "F-1", 0, 2000);
  auto nothing = Place({.customer_id = "c1", .items = {ByProduct("free", 5)}});
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().field_errors.at(0).field, "items");
}

TEST_F(OrderCommandsTest, AReSentOrderIsADuplicateWhateverItsProductsBecame) {
  AddProduct("p1", "W-1", 1000, 0);
  auto first = Place({.customer_id = "c1", .items = {ByProduct("p1", 1)}, .external_id = "X-9"});
  ASSERT_TRUE(first) << first.error().message;
  products_["p1"].is_active = false;
  looked_up_.clear();
  auto again = Place({.customer_id = "c1", .items = {ByProduct("p1", 1)}, .external_id = "X-9"});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->duplicate);
  EXPECT_TRUE(looked_up_.empty());  // not priced: nothing is placed
}

TEST_F(OrderCommandsTest, ItemsByProductNeedTheCatalogue) {
  auto without =
      DecidePlaceOrder(state_.customers, state_.orders,
                       {{.customer_id = "c1", .items = {ByProduct("p1", 1)}}}, Meta(), ids_);
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().code, ErrorCode::kUnavailable);
  ProductLookup loading = [](const std::string&) -> Result<std::optional<Product>> {
    return Fail(Error::Unavailable("Products are not loaded yet; retry shortly"));
  };
  auto d = DecidePlaceOrder(state_.customers, state_.orders,
                            {{.customer_id = "c1", .items = {ByProduct("p1", 1)}}}, Meta(), ids_,
                            loading);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kUnavailable);
  // Orders without items by product never look a product up.
  auto plain = DecidePlaceOrder(state_.customers, state_.orders,
                                {{.customer_id = "c1", .amount_cents = 5}}, Meta(), ids_, loading);
  EXPECT_TRUE(plain) << plain.error().message;
}

TEST_F(OrderCommandsTest, ARedeemedPercentageIsTakenOffTheGrossRoundedHalfUp) {
  const std::string as = Give("c1", RewardType::kPercentage, 1250);  // 12.50%
  // 1.01 × 12.5% = 0.12625: 0.13 off, 0.88 left.
  auto d = Place({.customer_id = "c1", .amount_cents = 101, .promotion_assignment_id = as});
  ASSERT_TRUE(d) << d.error().message;
  ASSERT_TRUE(d->placed->promotion);
  EXPECT_EQ(d->placed->amount_cents, 88);
  EXPECT_EQ(d->placed->promotion->discount_cents, 13);
  EXPECT_EQ(d->placed->promotion->promotion_id, "pr1");
  const EventEnvelope& e = d->events.at(0);
  EXPECT_EQ(e.schema_version, 3);  // a build before redemption skips it as newer
  EXPECT_NE(e.payload.find("\"orderAmount\":0.88"), std::string::npos) << e.payload;
  EXPECT_NE(e.payload.find("\"grossAmount\":1.01"), std::string::npos) << e.payload;
  EXPECT_NE(e.payload.find("\"discount\":0.13"), std::string::npos) << e.payload;
  // The event, as the log gives it back, folds to the same order and marks the assignment used.
  auto decoded = DecodeEvent(EncodeEvent(e));
  ASSERT_TRUE(decoded) << decoded.error().message;
  auto change = DecodeOrderChange(*decoded);
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(change->amount_cents, 88);
  EXPECT_EQ(change->promotion, d->placed->promotion);
  EXPECT_TRUE(state_.assignments.Find(as)->used);
  EXPECT_EQ(state_.customers.Find("c1")->stats.order_cents, 88);
  EXPECT_EQ(state_.orders.Find(d->order_id)->amount_cents, 88);
}

TEST_F(OrderCommandsTest, AFixedAmountTakesAtMostTheGrossAndMayLeaveNothing) {
  const std::string small = Give("c1", RewardType::kFixedAmount, 500, std::nullopt, "pr1");
  const std::string large = Give("c1", RewardType::kFixedAmount, 5000, std::nullopt, "pr2");
  auto part = Place({.customer_id = "c1", .amount_cents = 2000, .promotion_assignment_id = small});
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->placed->amount_cents, 1500);
  EXPECT_EQ(part->placed->promotion->discount_cents, 500);
  auto whole = Place({.customer_id = "c1", .amount_cents = 2000, .promotion_assignment_id = large});
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->placed->amount_cents, 0);
  EXPECT_EQ(whole->placed->promotion->discount_cents, 2000);
  auto change = DecodeOrderChange(whole->events.at(0));
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(change->amount_cents, 0);
  const Customer* c = state_.customers.Find("c1");
  EXPECT_EQ(c->stats.order_count, 2);
  EXPECT_EQ(c->stats.order_cents, 1500);
  // An order worth nothing after its discount can still be cancelled (its events fold).
  ASSERT_TRUE(Change(whole->order_id, OrderStatus::kCancelled));
  EXPECT_EQ(state_.customers.Find("c1")->stats.order_count, 1);
  EXPECT_TRUE(state_.assignments.Find(large)->used) << "a cancellation gives nothing back";
}

TEST_F(OrderCommandsTest, TheGrossIsTheItemsSumOrTheAmountGiven) {
  AddProduct("p1", "W-1", 1000, 750);  // 10.75 each with tax
  const std::string as = Give("c1", RewardType::kPercentage, 1000);
  auto wrong = Place({.customer_id = "c1",
                      .amount_cents = 2000,
                      .items = {ByProduct("p1", 2)},
                      .promotion_assignment_id = as});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().field_errors.at(0).field, "orderAmount");
  EXPECT_FALSE(state_.assignments.Find(as)->used);
  auto right = Place({.customer_id = "c1",
                      .amount_cents = 2150,
                      .items = {ByProduct("p1", 2)},
                      .promotion_assignment_id = as});
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(right->placed->amount_cents, 2150 - 215);
}

TEST_F(OrderCommandsTest, ARedemptionIsRefusedNamingPromotionAssignmentId) {
  const std::string theirs = Give("c2", RewardType::kPercentage, 1000);
  const std::string expiring = Give("c1", RewardType::kPercentage, 1000, 1, "pr1");
  const std::string once = Give("c1", RewardType::kPercentage, 1000, std::nullopt, "pr2");
  ASSERT_TRUE(Place({.customer_id = "c1", .amount_cents = 100, .promotion_assignment_id = once}));
  const size_t orders = state_.orders.size();
  auto refused = [&](const std::string& id, Millis now) {
    auto d = Place({.customer_id = "c1", .amount_cents = 100, .promotion_assignment_id = id}, now);
    EXPECT_FALSE(d);
    if (d) return std::string();
    EXPECT_EQ(d.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(d.error().field_errors.size(), 1u);
    EXPECT_EQ(d.error().field_errors.at(0).field, "promotionAssignmentId");
    return d.error().field_errors.at(0).message;
  };
  // Unknown and another customer's read alike, whether it exists or not.
  EXPECT_EQ(refused("nope", 5000), "Promotion assignment nope is not one of customer c1's");
  EXPECT_EQ(refused(theirs, 5000),
            "Promotion assignment " + theirs + " is not one of customer c1's");
  EXPECT_NE(refused(once, 5000).find("was used already"), std::string::npos);
  // Expired at expiresAt itself, not a millisecond later.
  const Millis expires = 5000 + 86'400'000;
  EXPECT_NE(refused(expiring, expires).find("expired at 1970-01-02T00:00:05"), std::string::npos);
  EXPECT_EQ(state_.orders.size(), orders) << "nothing decided";
  EXPECT_FALSE(state_.assignments.Find(expiring)->used);
  EXPECT_FALSE(state_.assignments.Find(theirs)->used);
  // A millisecond before it expires, it is taken.
  EXPECT_TRUE(Place({.customer_id = "c1", .amount_cents = 100, .promotion_assignment_id = expiring},
                    expires - 1));
}

TEST_F(OrderCommandsTest, AReSentOrderThatRedeemedIsADuplicateNotARefusal) {
  const std::string as = Give("c1", RewardType::kFixedAmount, 300);
  OrderInput in{.customer_id = "c1",
                .amount_cents = 1000,
                .external_id = "ext-1",
                .promotion_assignment_id = as};
  auto first = Place(in);
  ASSERT_TRUE(first) << first.error().message;
  auto again = Place(in);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->duplicate);
  EXPECT_TRUE(again->events.empty());
  EXPECT_EQ(state_.orders.Find(first->order_id)->amount_cents, 700);
}

}  // namespace
}  // namespace keel

#include "domain/order.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace keel {
namespace {

EventEnvelope OrderEvent(std::string_view type, const std::string& id, int64_t version,
                         std::string payload, Millis at) {
  EventEnvelope e;
  e.event_id = "e-" + id + "-" + std::to_string(version);
  e.type = std::string(type);
  e.aggregate_type = std::string(kOrderAggregate);
  e.aggregate_id = id;
  e.aggregate_version = version;
  e.occurred_at = at;
  e.recorded_at = at;
  e.payload = std::move(payload);
  return e;
}

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

TEST(OrderInputTest, AcceptsTheSeedFields) {
  auto in = ParseOrderInput(
      R"({"customerId":"c1","orderDate":"2026-03-01T10:00:00Z","orderAmount":12.5,"status":"Shipped","orderId":" ext-1 "})");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->customer_id, "c1");
  EXPECT_EQ(in->amount_cents, 1250);
  EXPECT_EQ(in->status, OrderStatus::kShipped);
  EXPECT_EQ(in->order_date, ParseIso8601("2026-03-01T10:00:00Z"));
  EXPECT_EQ(in->external_id, "ext-1");
}

TEST(OrderInputTest, AmountDefaultsToTheSumOfItems) {
  auto in = ParseOrderInput(
      R"({"customerId":"c1","items":[{"sku":"A","name":"Apple","qty":3,"price":0.5},{"sku":"B","name":"Pear","qty":1,"price":2}]})");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->amount_cents, 350);
  ASSERT_EQ(in->items.size(), 2u);
  EXPECT_EQ(in->items[0], (OrderItem{"A", "Apple", 3, 50}));
  EXPECT_EQ(in->status, OrderStatus::kPending);
  EXPECT_FALSE(in->order_date);
}

TEST(OrderInputTest, AmountMustEqualTheItems) {
  auto in = ParseOrderInput(
      R"({"customerId":"c1","orderAmount":4,"items":[{"sku":"A","name":"Apple","qty":3,"price":0.5}]})");
  ASSERT_FALSE(in);
  EXPECT_EQ(Fields(in.error()), std::vector<std::string>{"orderAmount"});
  EXPECT_NE(in.error().field_errors[0].message.find("1.50"), std::string::npos);
}

TEST(OrderInputTest, ItemsMayNameAProductAndAQuantity) {
  auto in = ParseOrderInput(
      R"({"customerId":"c1","items":[{"productId":" p1 ","quantity":2},{"qty":1,"productId":"p2"},)"
      R"({"sku":"A","name":"Apple","qty":3,"price":0.5}]})");
  ASSERT_TRUE(in) << in.error().message;
  ASSERT_EQ(in->items.size(), 3u);
  OrderItem p1;
  p1.product_id = "p1";
  p1.qty = 2;
  EXPECT_EQ(in->items[0], p1);
  EXPECT_TRUE(AwaitsPricing(in->items[0]));
  EXPECT_EQ(in->items[1].product_id, "p2");
  EXPECT_EQ(in->items[1].qty, 1);
  EXPECT_EQ(in->items[2], (OrderItem{"A", "Apple", 3, 50}));
  EXPECT_FALSE(AwaitsPricing(in->items[2]));
  EXPECT_TRUE(in->HasItemsToPrice());
  EXPECT_EQ(in->amount_cents, 0);  // the command sums them once priced

  auto given = ParseOrderInput(
      R"({"customerId":"c1","orderAmount":12.34,"items":[{"productId":"p1","quantity":1}]})");
  ASSERT_TRUE(given) << given.error().message;
  EXPECT_EQ(given->amount_cents, 1234);  // checked by the command against the priced items

  auto bad = ParseOrderInput(
      R"({"customerId":"c1","items":[{"productId":"p1"},{"productId":"p1","quantity":1,"qty":1},)"
      R"({"productId":"p1","quantity":1,"price":3,"taxRate":5,"colour":"red"},)"
      R"({"productId":"","quantity":0},{"sku":"A","name":"A","qty":1,"price":1,"taxRate":5}]})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Fields(bad.error()),
            (std::vector<std::string>{"items[0].quantity", "items[1].qty", "items[2].price",
                                      "items[2].taxRate", "items[2].colour", "items[3].productId",
                                      "items[3].quantity", "items[4].taxRate"}));
  EXPECT_EQ(bad.error().field_errors[2].message,
            "Taken from the product: give productId and quantity only");
  EXPECT_EQ(bad.error().field_errors[4].message, "Unknown field");
  EXPECT_EQ(bad.error().field_errors[7].message, "Unknown field");  // a rate is the product's
}

TEST(OrderItemsTest, TaxIsRoundedHalfUpOnEachLine) {
  Product p;
  p.id = "p1";
  p.sku = "SKU-1";
  p.name = "Pen";
  p.price_cents = 10;
  p.tax_rate_bp = 500;  // 5%: half a cent on one pen
  const OrderItem pen = PricedItem(p, 1);
  EXPECT_EQ(pen.sku, "SKU-1");
  EXPECT_EQ(pen.name, "Pen");
  EXPECT_EQ(pen.qty, 1);
  EXPECT_EQ(pen.price_cents, 10);
  EXPECT_EQ(pen.product_id, "p1");
  EXPECT_EQ(pen.tax_rate_bp, 500);
  EXPECT_EQ(OrderItemsTotal({pen}), 11);
  // Per line: two lines of one pen are 22; one line of two pens 21.
  EXPECT_EQ(OrderItemsTotal({pen, pen}), 22);
  EXPECT_EQ(OrderItemsTotal({PricedItem(p, 2)}), 21);
  p.price_cents = 333;
  p.tax_rate_bp = 1925;  // 999 × 19.25% = 192.3075
  EXPECT_EQ(OrderItemsTotal({PricedItem(p, 3)}), 999 + 192);
  p.tax_rate_bp = 0;
  EXPECT_EQ(OrderItemsTotal({PricedItem(p, 3), OrderItem{"A", "Apple", 2, 50}}), 999 + 100);
  p.price_cents = kMaxCents;
  p.tax_rate_bp = kMaxTaxRateBasisPoints;
  EXPECT_EQ(OrderItemsTotal({PricedItem(p, 1)}), std::nullopt);  // past the maximum with its tax
  p.tax_rate_bp = 0;
  EXPECT_EQ(OrderItemsTotal({PricedItem(p, 1)}), kMaxCents);
}

TEST(OrderTest, ItemsByProductKeepTheirProductAndRateInTheEventAndOthersAreWrittenAsBefore) {
  Order o;
  o.customer_id = "c1";
  o.order_date = 0;
  o.amount_cents = 150;
  o.items = {{"A", "Apple", 3, 50}};
  // An event of an order without items by product is byte for byte what it was.
  EXPECT_EQ(EncodeOrderPlaced(o),
            R"({"customerId":"c1","orderDate":"1970-01-01T00:00:00.000Z","orderAmount":1.50,)"
            R"("status":"Pending","items":[{"sku":"A","name":"Apple","qty":3,"price":0.50}]})");
  Product p;
  p.id = "p1";
  p.sku = "W-1";
  p.name = "Widget";
  p.price_cents = 1250;
  p.tax_rate_bp = 1925;
  o.items.push_back(PricedItem(p, 2));
  o.amount_cents = *OrderItemsTotal(o.items);
  const std::string payload = EncodeOrderPlaced(o);
  EXPECT_NE(
      payload.find(
          R"({"sku":"W-1","name":"Widget","qty":2,"price":12.50,"productId":"p1","taxRate":19.25})"),
      std::string::npos)
      << payload;
  auto change = DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, payload, 5));
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(change->items, o.items);
  Order folded;
  ASSERT_TRUE(ApplyOrderChange(folded, OrderEvent(kOrderPlaced, "o1", 1, payload, 5), *change));
  auto served = OrderFromJson(OrderToJson(folded));
  ASSERT_TRUE(served) << served.error().message;
  EXPECT_EQ(served->items, o.items);
  // A recorded rate out of range is data loss, never a guess.
  std::string bad = payload;
  bad.replace(bad.find("19.25"), 5, "100.01");
  EXPECT_EQ(DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, bad, 5)).error().code,
            ErrorCode::kDataLoss);
}

TEST(OrderInputTest, ListsEveryViolation) {
  auto in = ParseOrderInput(
      R"({"orderAmount":0,"status":"Lost","orderDate":"yesterday","colour":"red","items":[{"sku":"","qty":0,"price":-1,"extra":1}]})");
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(in.error()),
            (std::vector<std::string>{"orderAmount", "status", "orderDate", "colour", "items[0].sku",
                                      "items[0].qty", "items[0].price", "items[0].extra",
                                      "items[0].name", "customerId"}));
}

TEST(OrderInputTest, NeedsAnAmountOrItems) {
  auto in = ParseOrderInput(R"({"customerId":"c1"})");
  ASSERT_FALSE(in);
  EXPECT_EQ(Fields(in.error()), std::vector<std::string>{"orderAmount"});
  EXPECT_FALSE(ParseOrderInput(R"({"customerId":"c1","orderAmount":1.005})"));
  EXPECT_FALSE(ParseOrderInput(R"([1])"));
  EXPECT_FALSE(ParseOrderInput(R"({"customerId":"c1","items":[{"sku":"A","name":"A","qty":1,"price":0}]})"));
}

// An amount is a whole number of cents, at any magnitude up to the maximum: a third decimal is
// refused, never rounded away.
TEST(OrderInputTest, AmountsAreWholeCentsOrRefused) {
  auto amount = [](std::string_view text) {
    return ParseOrderInput(R"({"customerId":"c1","orderAmount":)" + std::string(text) + "}");
  };
  for (const char* bad : {"12345.678", "0.001", "1.005", "99999999.999", "999999999999.999",
                          "1000000000000.001", "123456789.123", "0.125"}) {
    auto in = amount(bad);
    ASSERT_FALSE(in) << bad << " became " << in->amount_cents;
    EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(Fields(in.error()), std::vector<std::string>{"orderAmount"}) << bad;
  }
  EXPECT_EQ(amount("12345.678").error().field_errors[0].message,
            "Amount must have at most two decimal places");
  EXPECT_EQ(amount("1000000000000.001").error().field_errors[0].message,
            "Must be greater than 0 and at most 1000000000000");
  for (auto [text, cents] :
       std::initializer_list<std::pair<const char*, int64_t>>{{"12345.67", 1234567},
                                                              {"0.29", 29},
                                                              {"0.01", 1},
                                                              {"12345.670", 1234567},
                                                              {"1e2", 10000},
                                                              {"1.5e-1", 15},
                                                              {"999999999999.99", 99999999999999},
                                                              {"1000000000000", kMaxCents},
                                                              {"1000000000000.00", kMaxCents}}) {
    auto in = amount(text);
    ASSERT_TRUE(in) << text << ": " << in.error().message;
    EXPECT_EQ(in->amount_cents, cents) << text;
  }
  auto price = ParseOrderInput(
      R"({"customerId":"c1","items":[{"sku":"A","name":"A","qty":1,"price":12345.678}]})");
  ASSERT_FALSE(price);
  EXPECT_EQ(Fields(price.error()), std::vector<std::string>{"items[0].price"});
}

// A date that the event codec could not write back (years 0 or 10000 once the offset is
// applied) is refused as input, with the field named.
TEST(OrderInputTest, OrderDateIsRefusedOutsideYearsOneTo9999) {
  for (const char* date :
       {"0000-01-01T00:00:00+00:01", "0001-01-01T00:00:00+00:01", "9999-12-31T23:30:00-01:00"}) {
    auto in = ParseOrderInput(R"({"customerId":"c1","orderAmount":1,"orderDate":")" +
                              std::string(date) + "\"}");
    ASSERT_FALSE(in) << date;
    EXPECT_EQ(Fields(in.error()), std::vector<std::string>{"orderDate"}) << date;
  }
  for (const char* date : {"0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z",
                           "0001-01-01T05:00:00+05:00", "9999-12-31T12:00:00-11:59"}) {
    auto in = ParseOrderInput(R"({"customerId":"c1","orderAmount":1,"orderDate":")" +
                              std::string(date) + "\"}");
    ASSERT_TRUE(in) << date << ": " << in.error().message;
    Order o{.customer_id = "c1", .order_date = *in->order_date, .amount_cents = 1};
    auto change = DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, EncodeOrderPlaced(o), 1));
    ASSERT_TRUE(change) << date << ": " << change.error().message;
    EXPECT_EQ(change->order_date, *in->order_date) << date;
  }
}

TEST(OrderStatusTest, FollowsTheSeedStateMachine) {
  using S = OrderStatus;
  EXPECT_TRUE(IsAllowedTransition(S::kPending, S::kShipped));
  EXPECT_TRUE(IsAllowedTransition(S::kShipped, S::kDelivered));
  EXPECT_TRUE(IsAllowedTransition(S::kPending, S::kCancelled));
  EXPECT_FALSE(IsAllowedTransition(S::kShipped, S::kCancelled));
  EXPECT_FALSE(IsAllowedTransition(S::kDelivered, S::kCancelled));
  EXPECT_FALSE(IsAllowedTransition(S::kPending, S::kDelivered));
  EXPECT_FALSE(IsAllowedTransition(S::kCancelled, S::kPending));
  EXPECT_FALSE(IsAllowedTransition(S::kDelivered, S::kShipped));
  EXPECT_EQ(ParseOrderStatusInput(R"({"status":"Delivered"})"), S::kDelivered);
  EXPECT_FALSE(ParseOrderStatusInput(R"({"status":"delivered"})"));
  EXPECT_FALSE(ParseOrderStatusInput(R"({})"));
}

TEST(OrderInputTest, TakesAPromotionAssignmentId) {
  auto in =
      ParseOrderInput(R"({"customerId":"c1","orderAmount":10.5,"promotionAssignmentId":" as-1 "})");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->promotion_assignment_id, "as-1");
  EXPECT_EQ(in->amount_cents, 1050);  // the gross: the command takes the discount off
  auto bad = ParseOrderInput(R"({"customerId":"c1","orderAmount":1,"promotionAssignmentId":7})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(Fields(bad.error()), std::vector<std::string>{"promotionAssignmentId"});
  auto empty = ParseOrderInput(R"({"customerId":"c1","orderAmount":1,"promotionAssignmentId":""})");
  ASSERT_FALSE(empty);
  EXPECT_EQ(Fields(empty.error()), std::vector<std::string>{"promotionAssignmentId"});
}

TEST(RewardDiscountTest, APercentageRoundsHalfUpAndAFixedAmountStopsAtTheGross) {
  EXPECT_EQ(RewardDiscount(RewardType::kPercentage, 1000, 1999), 200);  // 199.9 → 200
  EXPECT_EQ(RewardDiscount(RewardType::kPercentage, 1250, 101), 13);    // 12.625 → 13
  EXPECT_EQ(RewardDiscount(RewardType::kPercentage, 1000, 5), 1);       // 0.5 → 1
  EXPECT_EQ(RewardDiscount(RewardType::kPercentage, 1000, 4), 0);       // 0.4 → 0
  EXPECT_EQ(RewardDiscount(RewardType::kPercentage, 10'000, kMaxCents), kMaxCents);
  EXPECT_EQ(RewardDiscount(RewardType::kFixedAmount, 500, 2000), 500);
  EXPECT_EQ(RewardDiscount(RewardType::kFixedAmount, 5000, 2000), 2000);
}

TEST(OrderTest, ARedeemedOrderRecordsItsPromotionAndFoldsItsNetAmount) {
  Order placed;
  placed.customer_id = "c1";
  placed.order_date = 1'700'000'000'000;
  placed.amount_cents = 0;  // the whole 20.00 taken off
  placed.items = {{"S", "Sock", 2, 1000}};
  placed.promotion =
      OrderPromotion{"as-1", "pr-1", RewardType::kFixedAmount, 5000, /*discount_cents=*/2000};
  const std::string payload = EncodeOrderPlaced(placed);
  EXPECT_NE(payload.find(R"("orderAmount":0.00,)"), std::string::npos) << payload;
  EXPECT_NE(payload.find(R"("grossAmount":20.00,"promotion":{"assignmentId":"as-1",)"
                         R"("promotionId":"pr-1","rewardType":"FIXED_AMOUNT","rewardValue":50.00,)"
                         R"("discount":20.00})"),
            std::string::npos)
      << payload;
  auto change = DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, payload, 5));
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(change->amount_cents, 0);
  EXPECT_EQ(change->promotion, placed.promotion);
  OrderChange without_items = *change;
  without_items.items.clear();
  EXPECT_EQ(PlacementWithoutItems(placed), without_items);
  Order o;
  ASSERT_TRUE(ApplyOrderChange(o, OrderEvent(kOrderPlaced, "o1", 1, payload, 5), *change));
  EXPECT_EQ(o.promotion, placed.promotion);
  auto back = OrderFromJson(OrderToJson(o));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);
  CustomerStats stats;
  ASSERT_TRUE(ApplyOrderToStats(stats, *change));
  EXPECT_EQ(stats.order_count, 1);
  EXPECT_EQ(stats.order_cents, 0);

  // The gross less the discount must be the amount; 0 is an amount only after a discount.
  std::string wrong = payload;
  wrong.replace(wrong.find("\"grossAmount\":20"), 16, "\"grossAmount\":21");
  EXPECT_EQ(DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, wrong, 5)).error().code,
            ErrorCode::kDataLoss);
  placed.promotion.reset();
  EXPECT_EQ(DecodeOrderChange(OrderEvent(kOrderPlaced, "o1", 1, EncodeOrderPlaced(placed), 5))
                .error()
                .code,
            ErrorCode::kDataLoss);
}

TEST(OrderTest, EventsRoundTripAndFold) {
  Order placed;
  placed.customer_id = "c1";
  placed.order_date = 1'700'000'000'000;
  placed.amount_cents = 999;
  placed.items = {{"S", "Sock", 1, 999}};
  placed.external_id = "x-7";
  auto e1 = OrderEvent(kOrderPlaced, "o1", 1, EncodeOrderPlaced(placed), 5);
  auto c1 = DecodeOrderChange(e1);
  ASSERT_TRUE(c1) << c1.error().message;
  // The change a decision folds straight away is the decoded one, items aside.
  OrderChange without_items = *c1;
  without_items.items.clear();
  EXPECT_EQ(PlacementWithoutItems(placed), without_items);
  placed.external_id.reset();
  placed.status = OrderStatus::kDelivered;
  auto c0 = DecodeOrderChange(OrderEvent(kOrderPlaced, "o0", 1, EncodeOrderPlaced(placed), 5));
  ASSERT_TRUE(c0);
  c0->items.clear();
  EXPECT_EQ(PlacementWithoutItems(placed), *c0);
  placed.external_id = "x-7";
  placed.status = OrderStatus::kPending;
  Order o;
  ASSERT_TRUE(ApplyOrderChange(o, e1, *c1));
  EXPECT_EQ(o.id, "o1");
  EXPECT_EQ(o.items, placed.items);
  EXPECT_EQ(o.external_id, "x-7");
  EXPECT_EQ(o.version, 1);

  auto e2 = OrderEvent(kOrderStatusChanged, "o1", 2, EncodeOrderStatusChanged(o, OrderStatus::kShipped), 6);
  auto c2 = DecodeOrderChange(e2);
  ASSERT_TRUE(c2);
  ASSERT_TRUE(ApplyOrderChange(o, e2, *c2));
  EXPECT_EQ(o.status, OrderStatus::kShipped);
  EXPECT_EQ(o.updated_at, 6);

  auto back = OrderFromJson(OrderToJson(o));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);

  // A change from a status the order is not in, or out of version order, is data loss.
  auto stale = OrderEvent(kOrderStatusChanged, "o1", 3, e2.payload, 7);
  EXPECT_EQ(ApplyOrderChange(o, stale, *c2).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(ApplyOrderChange(o, e2, *c2).error().code, ErrorCode::kDataLoss);
}

TEST(OrderTest, CustomerRecordRoundTripsWithStats) {
  Customer c;
  c.id = "c1";
  c.name = "Ada";
  c.email = "ada@example.com";
  c.total_spending_cents = 1000;
  c.visits = 2;
  c.last_visit = 50;
  c.created_at = 1;
  c.updated_at = 2;
  c.version = 3;
  c.stats = {.order_count = 2, .order_cents = 301, .recorded_visits = 1, .first_order_at = 10,
             .last_order_at = 90, .last_activity = 90, .revision = 4};
  auto back = CustomerFromJson(CustomerToJson(c));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(TotalSpendingCents(c), 1301);
  EXPECT_EQ(TotalVisits(c), 5);
  EXPECT_EQ(LastVisit(c), 90);
  EXPECT_EQ(AverageOrderCents(c), 151);  // 150.5 rounds up
}

// The stats fold never overflows: an order that would take the customer's count or cents past
// int64 is refused (kDataLoss: the write side refuses such orders long before) and changes
// nothing; the served figures saturate instead of wrapping.
TEST(CustomerStatsTest, OverflowIsRefusedAndTheFiguresNeverWrap) {
  CustomerStats stats{.order_count = 3, .order_cents = INT64_MAX - 10};
  const CustomerStats before = stats;
  OrderChange placed{.customer_id = "c", .amount_cents = 11, .order_date = 5, .placed = true};
  auto st = ApplyOrderToStats(stats, placed);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(stats, before);
  placed.amount_cents = 10;
  ASSERT_TRUE(ApplyOrderToStats(stats, placed));
  EXPECT_EQ(stats.order_cents, INT64_MAX);
  EXPECT_EQ(stats.order_count, 4);

  OrderChange cancelled{.customer_id = "c",
                        .amount_cents = 10,
                        .order_date = 5,
                        .status = OrderStatus::kCancelled,
                        .from = OrderStatus::kPending};
  CustomerStats low{.order_count = 1, .order_cents = INT64_MIN + 5};
  const CustomerStats low_before = low;
  ASSERT_FALSE(ApplyOrderToStats(low, cancelled));
  EXPECT_EQ(low, low_before);
  CustomerStats counted{.order_count = INT64_MAX, .order_cents = 0};
  placed.amount_cents = 1;
  ASSERT_FALSE(ApplyOrderToStats(counted, placed));

  Customer c;
  c.total_spending_cents = kMaxCents;
  c.visits = 1'000'000'000'000;
  c.stats = {.order_count = 3, .order_cents = INT64_MAX, .recorded_visits = INT64_MAX};
  EXPECT_EQ(TotalSpendingCents(c), INT64_MAX);
  EXPECT_EQ(TotalVisits(c), INT64_MAX);
  EXPECT_EQ(AverageOrderCents(c), INT64_MAX / 3);  // .33 rounds down
  c.stats.order_count = 2;
  EXPECT_EQ(AverageOrderCents(c), INT64_MAX / 2 + 1);  // x.5 rounds up
  c.stats.order_count = 1;
  EXPECT_EQ(AverageOrderCents(c), INT64_MAX);
  c.stats.order_count = INT64_MAX;
  EXPECT_EQ(AverageOrderCents(c), 1);
  c.stats.order_cents = INT64_MAX / 2;
  EXPECT_EQ(AverageOrderCents(c), 0);  // just under a half
  c.stats.order_cents = INT64_MAX / 2 + 1;
  EXPECT_EQ(AverageOrderCents(c), 1);  // a half rounds up
}

// Property: any sequence of orders (some placed cancelled, some with earlier dates),
// cancellations, other status changes and visits folds into the stats a brute-force
// recomputation from the event list gives.
TEST(CustomerStatsProperty, FoldEqualsRecomputationFromTheEvents) {
  std::mt19937_64 rng(20261121);
  for (int round = 0; round < 300; ++round) {
    Customer folded;
    folded.id = "c";
    folded.version = 1;  // registered
    folded.total_spending_cents = static_cast<int64_t>(rng() % 100000);
    folded.visits = static_cast<int64_t>(rng() % 5);
    if (rng() % 2) folded.last_visit = static_cast<Millis>(rng() % 1'000'000);
    const Customer baseline = folded;

    std::vector<EventEnvelope> events;
    std::map<std::string, Order> orders;  // the write side's view, to decide legal changes
    const int steps = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < steps; ++i) {
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 5 || orders.empty()) {
        Order o;
        o.customer_id = "c";
        o.order_date = static_cast<Millis>(rng() % 2'000'000);
        o.amount_cents = 1 + static_cast<int64_t>(rng() % 50000);
        o.status = static_cast<OrderStatus>(rng() % 4);
        const std::string id = "o" + std::to_string(orders.size());
        events.push_back(OrderEvent(kOrderPlaced, id, 1, EncodeOrderPlaced(o), i));
        o.id = id;
        o.version = 1;
        orders[id] = o;
      } else if (kind < 8) {
        auto it = orders.begin();
        std::advance(it, static_cast<long>(rng() % orders.size()));
        Order& o = it->second;
        const auto to = static_cast<OrderStatus>(rng() % 4);
        if (!IsAllowedTransition(o.status, to)) continue;
        events.push_back(OrderEvent(kOrderStatusChanged, o.id, o.version + 1,
                                    EncodeOrderStatusChanged(o, to), i));
        o.status = to;
        ++o.version;
      } else {
        EventEnvelope v;
        v.type = std::string(kCustomerVisitRecorded);
        v.aggregate_type = std::string(kCustomerAggregate);
        v.aggregate_id = "c";
        v.aggregate_version = folded.version + 1 + static_cast<int64_t>(std::count_if(
            events.begin(), events.end(), [](auto& e) { return e.type == kCustomerVisitRecorded; }));
        v.occurred_at = i;
        v.payload = EncodeVisit(static_cast<Millis>(rng() % 3'000'000));
        events.push_back(v);
      }
    }

    for (const auto& e : events) {
      if (e.aggregate_type == kOrderAggregate) {
        auto change = DecodeOrderChange(e);
        ASSERT_TRUE(change) << change.error().message;
        ASSERT_TRUE(ApplyOrderToStats(folded.stats, *change));
      } else {
        ASSERT_TRUE(ApplyCustomerEvent(folded, e));
      }
    }

    // Brute force: the final status of every order, from the whole list.
    std::map<std::string, std::pair<OrderStatus, int64_t>> final_status;
    std::optional<Millis> first, last, activity = baseline.last_visit;
    int64_t visits = 0;
    for (const auto& e : events) {
      auto change = DecodeOrderChange(e);
      if (e.type == kOrderPlaced) {
        final_status[e.aggregate_id] = {change->status, change->amount_cents};
        first = std::min(first.value_or(change->order_date), change->order_date);
        last = std::max(last.value_or(change->order_date), change->order_date);
        activity = std::max(activity.value_or(change->order_date), change->order_date);
      } else if (e.type == kOrderStatusChanged) {
        final_status[e.aggregate_id].first = change->status;
      } else {
        ++visits;
        activity = std::max(activity.value_or(*DecodeVisit(e.payload)), *DecodeVisit(e.payload));
      }
    }
    int64_t count = 0, cents = 0;
    for (const auto& [id, s] : final_status) {
      if (s.first == OrderStatus::kCancelled) continue;
      ++count;
      cents += s.second;
    }
    ASSERT_EQ(folded.stats.order_count, count) << "round " << round;
    ASSERT_EQ(TotalSpendingCents(folded), baseline.total_spending_cents + cents);
    ASSERT_EQ(TotalVisits(folded), baseline.visits + visits + count);
    ASSERT_EQ(folded.stats.first_order_at, first);
    ASSERT_EQ(folded.stats.last_order_at, last);
    ASSERT_EQ(LastVisit(folded), activity);
    ASSERT_EQ(AverageOrderCents(folded), count ? (cents + count / 2) / count : 0);
    auto back = CustomerFromJson(CustomerToJson(folded));
    ASSERT_TRUE(back);
    ASSERT_EQ(*back, folded);
  }
}

}  // namespace
}  // namespace keel

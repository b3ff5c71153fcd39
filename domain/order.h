// The order aggregate (seeds 000, 001, 002): its state, its events, the validation of input,
// the status state machine, and what an order event does to its customer's stats. Pure; value
// types.
//
// Orders are keyed by their customer: every order event travels on the customer's stream
// (same topic, same partition), so a customer's profile, orders and stats fold in one order.
// Each event carries what the customer's stats need (customer id, amount, order date), so the
// stats fold never has to look an order up.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/product.h"
#include "domain/promotion.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kOrderAggregate = "order";
inline constexpr std::string_view kOrderPlaced = "OrderPlaced";
inline constexpr std::string_view kOrderStatusChanged = "OrderStatusChanged";
// OrderPlaced v2: items may name a product (productId, taxRate). A v1 payload is a v2 payload
// without them, so lifting it changes nothing. An order without such items is still written as
// v1, byte for byte as before; one with them is v2, so that a build before them skips it as
// newer (and keeps no snapshot past it) instead of dead-lettering it.
// OrderPlaced v3: the order redeemed a promotion its customer held (grossAmount, promotion;
// orderAmount is then what is left after the discount, 0 or more). Only such an order is
// written as v3, for the same reason; a v2 payload is a v3 payload without them.
inline constexpr int kOrderPlacedVersion = 3;
// The most an OrderPlaced payload with items by product may take (their skus and names are the
// products'): well within a Kafka record (about 1,000,000 bytes with the envelope).
inline constexpr size_t kMaxPricedOrderBytes = 768 * 1024;
// How far after the command's clock an orderDate may lie (a day: the client's time zone). A later
// date would hold the customer's recency at its best score until that day came.
inline constexpr Millis kMaxOrderDateAhead = 24 * 3600 * 1000;

enum class OrderStatus { kPending, kShipped, kDelivered, kCancelled };

std::string_view OrderStatusName(OrderStatus status);  // "Pending", ...
std::optional<OrderStatus> ParseOrderStatus(std::string_view name);

// Seed 000's state machine: Pending → Shipped → Delivered; Cancelled only from Pending.
bool IsAllowedTransition(OrderStatus from, OrderStatus to);

// An order line. Given by the client as {sku, name, qty, price}, or by product (issue 16) as
// {productId, quantity}: then the command takes sku, name, price and tax rate from the product
// as it is at order time (PricedItem) and the order records them, so a later change of the
// product never changes the order. Until priced, an item by product holds only product_id and
// qty (an empty sku).
struct OrderItem {
  std::string sku;
  std::string name;
  int64_t qty = 0;
  int64_t price_cents = 0;                               // the unit price, without tax
  std::optional<std::string> product_id = std::nullopt;  // items by product only
  std::optional<int64_t> tax_rate_bp = std::nullopt;     // basis points; items by product only
  bool operator==(const OrderItem&) const = default;
};

// An item by product not priced yet (ParseOrderInput's form of {productId, quantity}).
inline bool AwaitsPricing(const OrderItem& item) { return item.product_id && item.sku.empty(); }
// `qty` of `product` as it is now: its sku, name, price and tax rate recorded in the item.
OrderItem PricedItem(const Product& product, int64_t qty);
// What the items come to: for each line qty × price, plus its tax qty × price × rate rounded
// half up to the cent (per line; items by sku carry none). nullopt past kMaxCents.
std::optional<int64_t> OrderItemsTotal(const std::vector<OrderItem>& items);

// The promotion an order redeemed (issue 16): the customer's assignment, the reward it carried
// and what it took off the order's gross amount (the items' sum, or the orderAmount given).
struct OrderPromotion {
  std::string assignment_id;
  std::string promotion_id;
  RewardType reward_type = RewardType::kPercentage;
  int64_t reward_value = 0;    // hundredths, as the assignment had it
  int64_t discount_cents = 0;  // at most the gross amount (0: a percentage of a few cents)
  bool operator==(const OrderPromotion&) const = default;
};

// What a reward takes off `gross_cents`: a percentage (in hundredths of a percent) of it,
// rounded half up to the cent; a fixed amount, at most the gross.
int64_t RewardDiscount(RewardType type, int64_t reward_value, int64_t gross_cents);

struct Order {
  std::string id;
  std::string customer_id;
  std::optional<std::string> external_id;  // the client's own order id, unique
  Millis order_date = 0;
  int64_t amount_cents = 0;  // net of the promotion's discount, if any
  OrderStatus status = OrderStatus::kPending;
  std::vector<OrderItem> items;
  std::optional<OrderPromotion> promotion;  // gross = amount_cents + its discount
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Order&) const = default;
};

// A validated POST /orders body. `amount_cents` is final (the items' sum when only items were
// given), except with items by product: then it is the amount given (which the command checks
// against the priced items' sum), or 0 when none was, and the command takes the sum.
struct OrderInput {
  std::string customer_id;
  // Instead of the id, for imports from systems that do not know Keel's ids; the command
  // resolves it. Normalised.
  std::optional<std::string> customer_email;
  std::optional<Millis> order_date;  // default: now
  int64_t amount_cents = 0;
  OrderStatus status = OrderStatus::kPending;
  std::vector<OrderItem> items;
  std::optional<std::string> external_id;
  // The customer's promotion assignment this order redeems; amount_cents is then the gross.
  std::optional<std::string> promotion_assignment_id;

  bool HasItemsToPrice() const;
};

// Validates a body: customerId (required; or customerEmail instead), orderDate, orderAmount
// (> 0; optional when items are given, and then it must equal their sum), status, items, each
// {sku, name, qty, price} or {productId, quantity (or qty)}, orderId (the client's id),
// promotionAssignmentId (orderAmount and the items are then the gross, before the discount).
// Unknown fields are named; every violation is listed.
Result<OrderInput> ParseOrderInput(std::string_view body);
// The same from an already parsed element (bulk ingestion parses each record once).
Result<OrderInput> ParseOrderInput(simdjson::dom::element record);

// Validates a PATCH /orders/:id/status body {"status": "..."}.
Result<OrderStatus> ParseOrderStatusInput(std::string_view body);

// One order event, decoded once and folded into both the order and its customer's stats.
struct OrderChange {
  std::string customer_id;
  int64_t amount_cents = 0;
  Millis order_date = 0;
  // OrderPlaced
  OrderStatus status = OrderStatus::kPending;
  std::vector<OrderItem> items;
  std::optional<std::string> external_id;
  std::optional<OrderPromotion> promotion;  // amount_cents is net of its discount
  // OrderStatusChanged
  OrderStatus from = OrderStatus::kPending;
  bool placed = false;  // true for OrderPlaced

  bool operator==(const OrderChange&) const = default;
};

std::string EncodeOrderPlaced(const Order& order);
std::string EncodeOrderStatusChanged(const Order& order, OrderStatus to);
// kDataLoss when the payload is not a valid order event of `event.type`.
Result<OrderChange> DecodeOrderChange(const EventEnvelope& event);
// What DecodeOrderChange makes of the OrderPlaced of `order` (EncodeOrderPlaced), without its
// items: for a fold that keeps none (the write model), straight from the decision.
OrderChange PlacementWithoutItems(const Order& order);

// The order fold; kDataLoss when the event does not follow the order's state.
Status ApplyOrderChange(Order& order, const EventEnvelope& event, const OrderChange& change);
// What the order event does to its customer's stats (the customer must exist). kDataLoss, and
// `stats` unchanged, when a count or sum would pass int64 (the commands keep a customer's
// spending within kMaxCustomerSpendingCents, so only an imported log can hold such an order).
Status ApplyOrderToStats(CustomerStats& stats, const OrderChange& change);

std::string OrderToJson(const Order& order);
// What never changes after placement beyond the figures, as JSON members: "orderId":…,"items":[…].
// Kept pre-rendered by the write model, which holds every order in memory.
std::string OrderDetailsMembers(const Order& order);
// OrderToJson of an order whose details are pre-rendered; `order.items` and
// `order.external_id` are ignored.
std::string OrderToJson(const Order& order, std::string_view details_members);
Result<Order> OrderFromJson(std::string_view json);

}  // namespace keel

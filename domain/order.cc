#include "domain/order.h"

#include <algorithm>

#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/numbers.h"
#include "domain/text.h"

namespace keel {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

constexpr size_t kMaxItems = 1000;
constexpr int64_t kMaxQty = 1'000'000;

constexpr std::pair<OrderStatus, std::string_view> kStatusNames[] = {
    {OrderStatus::kPending, "Pending"},
    {OrderStatus::kShipped, "Shipped"},
    {OrderStatus::kDelivered, "Delivered"},
    {OrderStatus::kCancelled, "Cancelled"},
};

bool IsNumber(element v) {
  return v.type() == element_type::INT64 || v.type() == element_type::UINT64 ||
         v.type() == element_type::DOUBLE;
}

// A required string of 1..max code points after trimming; appends an error otherwise.
std::optional<std::string> ReadText(element v, std::string_view field, size_t max,
                                    std::vector<FieldError>& errors) {
  if (v.type() != element_type::STRING) {
    errors.push_back({std::string(field), "Expected a string, got " + std::string(json::TypeName(v))});
    return std::nullopt;
  }
  std::string_view s = TrimSpace(v.get_string().value_unsafe());
  const size_t len = Utf8Length(s);
  if (len < 1 || len > max) {
    errors.push_back({std::string(field), "Must be 1 to " + std::to_string(max) + " characters"});
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<int64_t> ReadAmount(element v, std::string_view field, bool allow_zero,
                                  std::vector<FieldError>& errors) {
  if (!IsNumber(v)) {
    errors.push_back({std::string(field), "Expected a number, got " + std::string(json::TypeName(v))});
    return std::nullopt;
  }
  auto out_of_range = [&] {
    errors.push_back(
        {std::string(field), allow_zero ? "Must be between 0 and 1000000000000"
                                        : "Must be greater than 0 and at most 1000000000000"});
    return std::nullopt;
  };
  // The range first: a huge number is too large, whatever its decimals.
  const double units = v.get_double().value_unsafe();
  if (!(units >= 0 && units <= static_cast<double>(kMaxCents / 100))) return out_of_range();
  auto cents = json::ToCents(v);
  if (!cents) {
    errors.push_back({std::string(field), "Amount must have at most two decimal places"});
    return std::nullopt;
  }
  if ((!allow_zero && *cents == 0) || *cents > kMaxCents) return out_of_range();
  return cents;
}

// Where items come from: a request (by sku, name, qty and price, or by productId and quantity)
// or what Keel recorded (events and records: sku, name, qty, price, and productId and taxRate
// for an item ordered by product).
enum class ItemSource { kRequest, kRecorded };

std::optional<int64_t> ReadQty(element v, const std::string& field,
                               std::vector<FieldError>& errors) {
  auto n = json::ToInt(v);
  if (!n || *n < 1 || *n > kMaxQty) {
    errors.push_back({field, "Must be an integer from 1 to " + std::to_string(kMaxQty)});
    return std::nullopt;
  }
  return n;
}

// {productId, quantity} (or qty) of a request.
void ReadProductItem(simdjson::dom::object fields, const std::string& at, OrderItem& it,
                     std::vector<FieldError>& errors) {
  bool has_quantity = false, has_qty = false;
  for (auto [key, value] : fields) {
    const std::string field = at + "." + std::string(key);
    if (key == "productId") {
      if (auto s = ReadText(value, field, 100, errors)) it.product_id = std::move(*s);
    } else if (key == "quantity" || key == "qty") {
      (key == "qty" ? has_qty : has_quantity) = true;
      if (auto n = ReadQty(value, field, errors)) it.qty = *n;
    } else if (key == "sku" || key == "name" || key == "price" || key == "taxRate") {
      errors.push_back({field, "Taken from the product: give productId and quantity only"});
    } else {
      errors.push_back({field, "Unknown field"});
    }
  }
  if (has_quantity && has_qty) errors.push_back({at + ".qty", "Give quantity or qty, not both"});
  if (!has_quantity && !has_qty) errors.push_back({at + ".quantity", "Required"});
}

void ReadItems(element v, ItemSource source, std::vector<OrderItem>& out,
               std::vector<FieldError>& errors) {
  if (v.type() != element_type::ARRAY) {
    errors.push_back({"items", "Expected an array, got " + std::string(json::TypeName(v))});
    return;
  }
  size_t index = 0;
  const simdjson::dom::array array = v.get_array().value_unsafe();
  for (element item : array) {
    const std::string at = "items[" + std::to_string(index++) + "]";
    if (index > kMaxItems) {
      errors.push_back({"items", "At most " + std::to_string(kMaxItems) + " items per order"});
      return;
    }
    if (item.type() != element_type::OBJECT) {
      errors.push_back({at, "Expected an object, got " + std::string(json::TypeName(item))});
      continue;
    }
    OrderItem it;
    bool has_sku = false, has_name = false, has_qty = false, has_price = false;
    const size_t errors_before = errors.size();
    const simdjson::dom::object fields = item.get_object().value_unsafe();
    if (source == ItemSource::kRequest && !item.at_key("productId").error()) {
      ReadProductItem(fields, at, it, errors);
      if (errors.size() == errors_before) out.push_back(std::move(it));
      continue;
    }
    for (auto [key, value] : fields) {
      const std::string field = at + "." + std::string(key);
      if (key == "sku") {
        has_sku = true;
        if (auto s = ReadText(value, field, 100, errors)) it.sku = std::move(*s);
      } else if (key == "name") {
        has_name = true;
        if (auto s = ReadText(value, field, 200, errors)) it.name = std::move(*s);
      } else if (key == "qty") {
        has_qty = true;
        if (auto n = ReadQty(value, field, errors)) it.qty = *n;
      } else if (key == "price") {
        has_price = true;
        if (auto c = ReadAmount(value, field, /*allow_zero=*/true, errors)) it.price_cents = *c;
      } else if (source == ItemSource::kRecorded && key == "productId") {
        if (auto s = ReadText(value, field, 100, errors)) it.product_id = std::move(*s);
      } else if (source == ItemSource::kRecorded && key == "taxRate") {
        auto rate = IsNumber(value) ? json::ToCents(value) : std::nullopt;
        if (!rate || *rate < 0 || *rate > kMaxTaxRateBasisPoints) {
          errors.push_back({field, "Must be a rate from 0 to 100"});
        } else {
          it.tax_rate_bp = *rate;
        }
      } else {
        errors.push_back({field, "Unknown field"});
      }
    }
    if (!has_sku) errors.push_back({at + ".sku", "Required"});
    if (!has_name) errors.push_back({at + ".name", "Required"});
    if (!has_qty) errors.push_back({at + ".qty", "Required"});
    if (!has_price) errors.push_back({at + ".price", "Required"});
    if (errors.size() == errors_before) out.push_back(std::move(it));
  }
}

void WriteItems(JsonWriter& w, const std::vector<OrderItem>& items) {
  w.Key("items").BeginArray();
  for (const auto& it : items) {
    w.BeginObject();
    w.Key("sku").String(it.sku);
    w.Key("name").String(it.name);
    w.Key("qty").Int(it.qty);
    w.Key("price").Cents(it.price_cents);
    // Only on items by product, so that every other item is written as before.
    if (it.product_id) w.Key("productId").String(*it.product_id);
    if (it.tax_rate_bp) w.Key("taxRate").Cents(*it.tax_rate_bp);
    w.EndObject();
  }
  w.EndArray();
}

// Items as stored in events and records: already validated once, so any defect is data loss.
Result<std::vector<OrderItem>> DecodeItems(element v) {
  std::vector<OrderItem> items;
  std::vector<FieldError> errors;
  ReadItems(v, ItemSource::kRecorded, items, errors);
  if (!errors.empty()) {
    return Fail(Error::DataLoss("Invalid order item '" + errors[0].field + "': " + errors[0].message));
  }
  return items;
}

Result<OrderStatus> DecodeStatus(element obj, std::string_view key) {
  std::string_view s;
  if (obj.at_key(key).get(s)) return Fail(Error::DataLoss("Order field '" + std::string(key) + "' missing"));
  auto status = ParseOrderStatus(s);
  if (!status) return Fail(Error::DataLoss("Unknown order status '" + std::string(s) + "'"));
  return *status;
}

Result<int64_t> DecodeCents(element obj, std::string_view key) {
  element v;
  if (obj.at_key(key).get(v)) return Fail(Error::DataLoss("Order field '" + std::string(key) + "' missing"));
  auto cents = json::ToCents(v);
  if (!cents) return Fail(Error::DataLoss("Order field '" + std::string(key) + "' is not an amount"));
  return *cents;
}

Result<Millis> DecodeTime(element obj, std::string_view key) {
  std::string_view s;
  if (obj.at_key(key).get(s)) return Fail(Error::DataLoss("Order field '" + std::string(key) + "' missing"));
  auto t = ParseIso8601(s);
  if (!t) return Fail(Error::DataLoss("Order field '" + std::string(key) + "' is not a datetime"));
  return *t;
}

// "grossAmount":…,"promotion":{…}, after the items (only for an order that redeemed one).
void WritePromotion(JsonWriter& w, const Order& o) {
  if (!o.promotion) return;
  const OrderPromotion& p = *o.promotion;
  w.Key("grossAmount").Cents(o.amount_cents + p.discount_cents);
  w.Key("promotion").BeginObject();
  w.Key("assignmentId").String(p.assignment_id);
  w.Key("promotionId").String(p.promotion_id);
  w.Key("rewardType").String(RewardTypeName(p.reward_type));
  w.Key("rewardValue").Cents(p.reward_value);
  w.Key("discount").Cents(p.discount_cents);
  w.EndObject();
}

// What WritePromotion wrote, checked against the net `amount`: none when absent; kDataLoss when
// it is not a promotion that leaves `amount` of its gross.
Result<std::optional<OrderPromotion>> DecodePromotion(element obj, int64_t amount) {
  element p;
  if (obj.at_key("promotion").get(p)) return std::optional<OrderPromotion>();
  auto lost = [](std::string_view why) {
    std::string message = "Order promotion: ";
    message += why;
    return Fail(Error::DataLoss(std::move(message)));
  };
  if (p.type() != element_type::OBJECT) return lost("not an object");
  OrderPromotion out;
  std::string_view s;
  if (p.at_key("assignmentId").get(s) || s.empty()) return lost("assignmentId missing");
  out.assignment_id = std::string(s);
  if (p.at_key("promotionId").get(s) || s.empty()) return lost("promotionId missing");
  out.promotion_id = std::string(s);
  std::optional<RewardType> type;
  if (!p.at_key("rewardType").get(s)) type = ParseRewardType(s);
  if (!type) return lost("rewardType is not a reward");
  out.reward_type = *type;
  auto value = DecodeCents(p, "rewardValue");
  auto discount = DecodeCents(p, "discount");
  auto gross = DecodeCents(obj, "grossAmount");
  if (!value || !discount || !gross) return lost("an amount is missing");
  const int64_t max = *type == RewardType::kPercentage ? kMaxPercentageReward : kMaxCents;
  if (*value <= 0 || *value > max) return lost("rewardValue out of range");
  if (*gross <= 0 || *gross > kMaxCents || *discount < 0 || *discount > *gross ||
      *gross - *discount != amount) {
    return lost("grossAmount less discount is not orderAmount");
  }
  out.reward_value = *value;
  out.discount_cents = *discount;
  return std::optional<OrderPromotion>(std::move(out));
}

}  // namespace

int64_t RewardDiscount(RewardType type, int64_t reward_value, int64_t gross_cents) {
  if (type == RewardType::kFixedAmount) return std::min(reward_value, gross_cents);
  // gross <= kMaxCents (1e14) and the rate <= 1e4 hundredths of a percent: below 2^63.
  return (gross_cents * reward_value + 5'000) / 10'000;
}

OrderItem PricedItem(const Product& product, int64_t qty) {
  OrderItem it;
  it.sku = product.sku;
  it.name = product.name;
  it.qty = qty;
  it.price_cents = product.price_cents;
  it.product_id = product.id;
  it.tax_rate_bp = product.tax_rate_bp;
  return it;
}

std::optional<int64_t> OrderItemsTotal(const std::vector<OrderItem>& items) {
  int64_t total = 0;
  for (const auto& it : items) {
    if (it.price_cents != 0 && it.qty > kMaxCents / it.price_cents) return std::nullopt;
    const int64_t net = it.qty * it.price_cents;
    // net <= 1e14 and the rate <= 1e4 basis points: the product stays below 2^63.
    const int64_t tax = it.tax_rate_bp ? (net * *it.tax_rate_bp + 5'000) / 10'000 : 0;
    total += net + tax;
    if (total > kMaxCents) return std::nullopt;
  }
  return total;
}

bool OrderInput::HasItemsToPrice() const {
  return std::any_of(items.begin(), items.end(), AwaitsPricing);
}

std::string_view OrderStatusName(OrderStatus status) {
  for (const auto& [s, name] : kStatusNames) {
    if (s == status) return name;
  }
  return "Unknown";
}

std::optional<OrderStatus> ParseOrderStatus(std::string_view name) {
  for (const auto& [s, n] : kStatusNames) {
    if (n == name) return s;
  }
  return std::nullopt;
}

bool IsAllowedTransition(OrderStatus from, OrderStatus to) {
  switch (from) {
    case OrderStatus::kPending: return to == OrderStatus::kShipped || to == OrderStatus::kCancelled;
    case OrderStatus::kShipped: return to == OrderStatus::kDelivered;
    case OrderStatus::kDelivered:
    case OrderStatus::kCancelled: return false;
  }
  return false;
}

Result<OrderInput> ParseOrderInput(std::string_view body) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  return ParseOrderInput(*doc);
}

Result<OrderInput> ParseOrderInput(element doc) {
  if (doc.type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  OrderInput in;
  std::vector<FieldError> errors;
  bool has_customer = false, has_email = false, has_items = false;
  std::optional<int64_t> amount;
  const simdjson::dom::object fields = doc.get_object().value_unsafe();
  for (auto [key, value] : fields) {
    if (key == "customerId") {
      has_customer = true;
      if (auto s = ReadText(value, "customerId", 100, errors)) in.customer_id = std::move(*s);
    } else if (key == "customerEmail") {
      has_email = true;
      std::string_view s;
      if (value.get(s)) {
        errors.push_back({"customerEmail", "Expected a string, got " + std::string(json::TypeName(value))});
      } else {
        in.customer_email = NormaliseEmail(s);
      }
    } else if (key == "orderDate") {
      if (value.type() != element_type::STRING) {
        errors.push_back({"orderDate", "Expected an ISO-8601 datetime string, got " +
                                           std::string(json::TypeName(value))});
        continue;
      }
      auto t = ParseIso8601(value.get_string().value_unsafe());
      if (!t) {
        errors.push_back({"orderDate", std::string(kInvalidDatetimeMessage)});
        continue;
      }
      in.order_date = *t;
    } else if (key == "orderAmount") {
      amount = ReadAmount(value, "orderAmount", /*allow_zero=*/false, errors);
      if (!amount) amount = -1;  // given, but invalid: no second error about it
    } else if (key == "status") {
      std::string_view s;
      if (value.get(s) || !ParseOrderStatus(s)) {
        errors.push_back({"status", "Must be one of Pending, Shipped, Delivered, Cancelled"});
        continue;
      }
      in.status = *ParseOrderStatus(s);
    } else if (key == "items") {
      has_items = true;
      ReadItems(value, ItemSource::kRequest, in.items, errors);
    } else if (key == "orderId") {
      if (auto s = ReadText(value, "orderId", 100, errors)) in.external_id = std::move(*s);
    } else if (key == "promotionAssignmentId") {
      if (auto s = ReadText(value, "promotionAssignmentId", 100, errors)) {
        in.promotion_assignment_id = std::move(*s);
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (has_customer && has_email) {
    errors.push_back({"customerEmail", "Give customerId or customerEmail, not both"});
  } else if (!has_customer && !has_email) {
    errors.push_back({"customerId", "customerId (or customerEmail) is required"});
  }
  const bool items_ok = has_items && std::none_of(errors.begin(), errors.end(), [](auto& e) {
                          return e.field.starts_with("items");
                        });
  if (items_ok && in.HasItemsToPrice()) {
    // Their sum is known once the command has priced them.
    if (!amount) amount = 0;
  } else if (items_ok) {
    auto total = OrderItemsTotal(in.items);
    if (!total) {
      errors.push_back({"items", "The items add up to more than 1000000000000"});
    } else if (amount && *amount > 0 && *amount != *total) {
      errors.push_back({"orderAmount", "Must equal the sum of the items (" +
                                           FormatCents(*total) + ")"});
    } else if (!amount && *total == 0) {
      errors.push_back({"items", "The items add up to 0; an order must be worth more"});
    } else if (!amount) {
      amount = *total;
    }
  } else if (!amount && !has_items) {
    errors.push_back({"orderAmount", "orderAmount is required (or items to sum)"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  in.amount_cents = *amount;
  return in;
}

Result<OrderStatus> ParseOrderStatusInput(std::string_view body) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  std::vector<FieldError> errors;
  std::optional<OrderStatus> status;
  const simdjson::dom::object fields = doc->get_object().value_unsafe();
  for (auto [key, value] : fields) {
    if (key == "status") {
      std::string_view s;
      if (value.get(s) || !ParseOrderStatus(s)) {
        errors.push_back({"status", "Must be one of Pending, Shipped, Delivered, Cancelled"});
      } else {
        status = ParseOrderStatus(s);
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!status && errors.empty()) errors.push_back({"status", "status is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return *status;
}

std::string EncodeOrderPlaced(const Order& o) {
  JsonWriter w;
  w.BeginObject();
  w.Key("customerId").String(o.customer_id);
  w.Key("orderDate").String(FormatIso8601(o.order_date));
  w.Key("orderAmount").Cents(o.amount_cents);
  w.Key("status").String(OrderStatusName(o.status));
  WriteItems(w, o.items);
  if (o.external_id) w.Key("orderId").String(*o.external_id);
  WritePromotion(w, o);
  w.EndObject();
  return w.Take();
}

std::string EncodeOrderStatusChanged(const Order& o, OrderStatus to) {
  JsonWriter w;
  w.BeginObject();
  w.Key("customerId").String(o.customer_id);
  w.Key("from").String(OrderStatusName(o.status));
  w.Key("to").String(OrderStatusName(to));
  w.Key("orderAmount").Cents(o.amount_cents);
  w.Key("orderDate").String(FormatIso8601(o.order_date));
  w.EndObject();
  return w.Take();
}

OrderChange PlacementWithoutItems(const Order& o) {
  OrderChange c;
  c.customer_id = o.customer_id;
  c.amount_cents = o.amount_cents;
  c.order_date = o.order_date;
  c.status = o.status;
  c.external_id = o.external_id;
  c.promotion = o.promotion;
  c.placed = true;
  return c;
}

Result<OrderChange> DecodeOrderChange(const EventEnvelope& event) {
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Error::DataLoss("Event payload is not an object"));
  OrderChange c;
  std::string_view s;
  if (doc->at_key("customerId").get(s) || s.empty()) {
    return Fail(Error::DataLoss("Order event without customerId"));
  }
  c.customer_id = s;
  auto amount = DecodeCents(*doc, "orderAmount");
  if (!amount) return Fail(amount.error());
  // 0 only for an order whose promotion took its whole amount (checked with the promotion), and
  // for its status changes.
  if (*amount < 0 || *amount > kMaxCents) return Fail(Error::DataLoss("Order amount out of range"));
  c.amount_cents = *amount;
  auto date = DecodeTime(*doc, "orderDate");
  if (!date) return Fail(date.error());
  c.order_date = *date;
  if (event.type == kOrderPlaced) {
    c.placed = true;
    auto status = DecodeStatus(*doc, "status");
    if (!status) return Fail(status.error());
    c.status = *status;
    element items;
    if (!doc->at_key("items").get(items)) {
      auto decoded = DecodeItems(items);
      if (!decoded) return Fail(decoded.error());
      c.items = std::move(*decoded);
    }
    if (!doc->at_key("orderId").get(s)) c.external_id = std::string(s);
    auto promotion = DecodePromotion(*doc, c.amount_cents);
    if (!promotion) return Fail(promotion.error());
    c.promotion = std::move(*promotion);
    if (c.amount_cents == 0 && !c.promotion) {
      return Fail(Error::DataLoss("Order amount out of range"));
    }
  } else if (event.type == kOrderStatusChanged) {
    auto from = DecodeStatus(*doc, "from");
    if (!from) return Fail(from.error());
    auto to = DecodeStatus(*doc, "to");
    if (!to) return Fail(to.error());
    c.from = *from;
    c.status = *to;
  } else {
    return Fail(Error::DataLoss("Not an order event: " + event.type));
  }
  return c;
}

Status ApplyOrderChange(Order& o, const EventEnvelope& e, const OrderChange& c) {
  if (auto st = CheckNextVersion(e, o.version); !st) return st;
  if (c.placed) {
    o = Order{};
    o.id = e.aggregate_id;
    o.customer_id = c.customer_id;
    o.external_id = c.external_id;
    o.order_date = c.order_date;
    o.amount_cents = c.amount_cents;
    o.items = c.items;
    o.promotion = c.promotion;
    o.created_at = e.occurred_at;
  } else {
    if (o.version == 0) return Fail(Error::DataLoss("Status change of an unknown order"));
    if (o.status != c.from || o.customer_id != c.customer_id) {
      return Fail(Error::DataLoss("Status change of order " + o.id + " from " +
                                  std::string(OrderStatusName(c.from)) + " but it is " +
                                  std::string(OrderStatusName(o.status))));
    }
  }
  o.status = c.status;
  o.updated_at = e.occurred_at;
  o.version = e.aggregate_version;
  return {};
}

Status ApplyOrderToStats(CustomerStats& stats, const OrderChange& c) {
  const bool counted_before = !c.placed && c.from != OrderStatus::kCancelled;
  const bool counted_after = c.status != OrderStatus::kCancelled;
  CustomerStats s = stats;
  if (c.placed) {
    s.first_order_at = std::min(s.first_order_at.value_or(c.order_date), c.order_date);
    s.last_order_at = std::max(s.last_order_at.value_or(c.order_date), c.order_date);
    s.last_activity = std::max(s.last_activity.value_or(c.order_date), c.order_date);
  }
  std::optional<int64_t> count = s.order_count, cents = s.order_cents, revision = s.revision;
  if (counted_after && !counted_before) {
    count = CheckedAdd(s.order_count, 1);
    cents = CheckedAdd(s.order_cents, c.amount_cents);
  } else if (counted_before && !counted_after) {
    count = CheckedSub(s.order_count, 1);
    cents = CheckedSub(s.order_cents, c.amount_cents);
  }
  if (c.placed || counted_before != counted_after) revision = CheckedAdd(s.revision, 1);
  if (!count || !cents || !revision) {
    return Fail(Error::DataLoss("Order of " + FormatCents(c.amount_cents) +
                                " would take customer " + c.customer_id +
                                "'s figures past int64 cents"));
  }
  s.order_count = *count;
  s.order_cents = *cents;
  s.revision = *revision;
  stats = s;
  return {};
}

std::string OrderDetailsMembers(const Order& o) {
  JsonWriter w;
  w.BeginObject();
  w.Key("orderId");
  o.external_id ? w.String(*o.external_id) : w.Null();
  WriteItems(w, o.items);
  WritePromotion(w, o);
  w.EndObject();
  std::string out = w.Take();
  return out.substr(1, out.size() - 2);
}

std::string OrderToJson(const Order& o) { return OrderToJson(o, OrderDetailsMembers(o)); }

std::string OrderToJson(const Order& o, std::string_view details_members) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(o.id);
  w.Key("customerId").String(o.customer_id);
  w.Key("orderDate").String(FormatIso8601(o.order_date));
  w.Key("orderAmount").Cents(o.amount_cents);
  w.Key("status").String(OrderStatusName(o.status));
  w.RawMembers(details_members);
  w.Key("createdAt").String(FormatIso8601(o.created_at));
  w.Key("updatedAt").String(FormatIso8601(o.updated_at));
  w.Key("version").Int(o.version);
  w.EndObject();
  return w.Take();
}

Result<Order> OrderFromJson(std::string_view text) {
  auto doc = json::Parse(text, "Order record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  Order o;
  std::string_view s;
  if (doc->at_key("id").get(s)) return Fail(Error::DataLoss("Order record without id"));
  o.id = s;
  if (doc->at_key("customerId").get(s)) return Fail(Error::DataLoss("Order record without customerId"));
  o.customer_id = s;
  if (!doc->at_key("orderId").get(s)) o.external_id = std::string(s);
  auto date = DecodeTime(*doc, "orderDate");
  if (!date) return Fail(date.error());
  o.order_date = *date;
  auto amount = DecodeCents(*doc, "orderAmount");
  if (!amount) return Fail(amount.error());
  o.amount_cents = *amount;
  auto status = DecodeStatus(*doc, "status");
  if (!status) return Fail(status.error());
  o.status = *status;
  element items;
  if (doc->at_key("items").get(items)) return Fail(Error::DataLoss("Order record without items"));
  auto decoded = DecodeItems(items);
  if (!decoded) return Fail(decoded.error());
  o.items = std::move(*decoded);
  auto promotion = DecodePromotion(*doc, o.amount_cents);
  if (!promotion) return Fail(promotion.error());
  o.promotion = std::move(*promotion);
  auto created = DecodeTime(*doc, "createdAt");
  if (!created) return Fail(created.error());
  o.created_at = *created;
  auto updated = DecodeTime(*doc, "updatedAt");
  if (!updated) return Fail(updated.error());
  o.updated_at = *updated;
  if (doc->at_key("version").get(o.version)) return Fail(Error::DataLoss("Order record without version"));
  return o;
}

}  // namespace keel

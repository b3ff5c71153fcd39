#include "commands/order_commands.h"

#include <algorithm>

#include "commands/date_limits.h"
#include "domain/json.h"

namespace keel {

std::optional<OrderWriteModel::Uuid> OrderWriteModel::ParseUuid(std::string_view id) {
  // One pass: the dashes in their places, 32 lowercase hex digits (uppercase spells the same
  // id; such an id is kept as text, so that the two stay apart).
  if (id.size() != 36) return std::nullopt;
  Uuid u;
  int nibbles = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      continue;
    }
    uint64_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    uint64_t& half = nibbles < 16 ? u.hi : u.lo;
    half = (half << 4) | v;
    ++nibbles;
  }
  return u;
}

OrderWriteModel::Entry* OrderWriteModel::FindMutable(std::string_view id,
                                                     const std::optional<Uuid>& uuid) {
  if (uuid) {
    auto it = by_uuid_.find(*uuid);
    return it == by_uuid_.end() ? nullptr : &it->second;
  }
  auto it = by_name_.find(std::string(id));
  return it == by_name_.end() ? nullptr : &it->second;
}

const OrderWriteModel::Entry* OrderWriteModel::Find(std::string_view id) const {
  return const_cast<OrderWriteModel*>(this)->FindMutable(id, ParseUuid(id));
}

namespace {

// The figures of an entry as an Order (no details), for the shared fold and JSON writer.
Order Head(std::string_view id, const OrderWriteModel::Entry& e) {
  Order o;
  o.id = std::string(id);
  o.customer_id = *e.customer_id;
  o.order_date = e.order_date;
  o.amount_cents = e.amount_cents;
  o.status = e.status;
  o.created_at = e.created_at;
  o.updated_at = e.updated_at;
  o.version = e.version;
  return o;
}

}  // namespace

Status OrderWriteModel::Apply(const EventEnvelope& event, const OrderChange& change,
                              const std::string* customer_id) {
  const std::optional<Uuid> uuid = ParseUuid(event.aggregate_id);  // once for both lookups
  Entry* existing = FindMutable(event.aggregate_id, uuid);
  Order o = existing ? Head(event.aggregate_id, *existing) : Order{};
  if (auto st = ApplyOrderChange(o, event, change); !st) return st;
  Entry next;
  next.customer_id = existing ? existing->customer_id : customer_id;
  next.amount_cents = o.amount_cents;
  next.order_date = o.order_date;
  next.created_at = o.created_at;
  next.updated_at = o.updated_at;
  next.version = static_cast<int32_t>(o.version);
  next.status = o.status;
  if (existing) {
    next.has_external_id = existing->has_external_id;
    next.external_id = std::move(existing->external_id);
    *existing = std::move(next);
    return {};
  }
  next.has_external_id = o.external_id.has_value();
  next.external_id = o.external_id.value_or("");
  if (uuid) {
    by_uuid_.emplace(*uuid, std::move(next));
  } else {
    by_name_.emplace(event.aggregate_id, std::move(next));
  }
  return {};
}

std::string OrderWriteModel::ToJson(std::string_view id, const Entry& entry) {
  std::string details = "\"orderId\":";
  if (entry.has_external_id) {
    AppendJsonString(details, entry.external_id);
  } else {
    details += "null";
  }
  details += ",\"items\":null";
  return OrderToJson(Head(id, entry), details);
}

std::string OrderIdForExternalId(std::string_view external_id) {
  return DeriveUuid("keel.order.external-id", external_id);
}

namespace {

// `in`'s items, those by product priced as their products are now, and the order's amount.
Result<std::pair<std::vector<OrderItem>, int64_t>> PriceItems(const OrderInput& in,
                                                              const ProductLookup& products) {
  std::vector<OrderItem> items;
  items.reserve(in.items.size());
  std::vector<FieldError> errors;
  for (size_t i = 0; i < in.items.size(); ++i) {
    const OrderItem& item = in.items[i];
    if (!AwaitsPricing(item)) {
      items.push_back(item);
      continue;
    }
    if (!products) return Fail(Error::Unavailable("Products cannot be looked up; retry shortly"));
    auto product = products(*item.product_id);
    if (!product) return Fail(product.error());
    std::string field = "items[" + std::to_string(i) + "].productId";
    if (!*product) {
      errors.push_back({std::move(field), "No product with id " + *item.product_id});
    } else if (!(*product)->is_active) {
      errors.push_back(
          {std::move(field), "Product " + *item.product_id + " is inactive and cannot be ordered"});
    } else {
      items.push_back(PricedItem(**product, item.qty));
    }
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  auto total = OrderItemsTotal(items);
  if (!total) {
    return Fail(Error::Validation({{"items", "The items add up to more than 1000000000000"}}));
  }
  if (in.amount_cents == 0) {
    if (*total == 0) {
      return Fail(
          Error::Validation({{"items", "The items add up to 0; an order must be worth more"}}));
    }
    return std::pair(std::move(items), *total);
  }
  if (in.amount_cents != *total) {
    return Fail(
        Error::Validation({{"orderAmount", "Must equal the sum of the items with their tax (" +
                                               FormatCents(*total) + ")"}}));
  }
  return std::pair(std::move(items), *total);
}

}  // namespace

Result<OrderDecision> DecidePlaceOrder(const CustomerWriteModel& customers,
                                       const OrderWriteModel& orders, const PlaceOrder& cmd,
                                       const CommandMeta& meta, IdGenerator& ids,
                                       const ProductLookup& products,
                                       const AssignmentWriteModel* assignments) {
  const OrderInput& in = cmd.input;
  const Customer* customer = nullptr;
  const char* field = "customerId";
  if (in.customer_email) {
    field = "customerEmail";
    customer = customers.FindByEmail(*in.customer_email);
    if (!customer) {
      return Fail(Error::Validation({{field, "No customer with email " + *in.customer_email}}));
    }
  } else {
    customer = customers.Find(in.customer_id);
    if (!customer) {
      return Fail(Error::Validation({{field, "No customer with id " + in.customer_id}}));
    }
  }
  if (!customer->is_active) {
    return Fail(Error::Validation(
        {{field, "Customer " + customer->id + " is inactive and cannot place orders"}}));
  }
  OrderDecision decision;
  decision.order_id = in.external_id ? OrderIdForExternalId(*in.external_id) : ids.NewId();
  decision.customer_id = customer->id;
  if (const OrderWriteModel::Entry* existing = orders.Find(decision.order_id)) {
    if (*existing->customer_id != customer->id) {
      return Fail(Error::AlreadyExists("orderId " + in.external_id.value_or(decision.order_id) +
                                       " is already used by an order of another customer"));
    }
    decision.duplicate = true;
    return decision;
  }
  Order o;
  if (in.HasItemsToPrice()) {
    auto priced = PriceItems(in, products);
    if (!priced) return Fail(priced.error());
    o.items = std::move(priced->first);
    o.amount_cents = priced->second;
  } else {
    o.items = in.items;
    o.amount_cents = in.amount_cents;
  }
  if (in.promotion_assignment_id) {
    static const AssignmentWriteModel kNone;
    auto redeemed =
        DecideRedemption(assignments ? *assignments : kNone, *in.promotion_assignment_id,
                         customer->id, o.amount_cents, meta.now);
    if (!redeemed) return Fail(redeemed.error());
    o.amount_cents -= redeemed->discount_cents;
    o.promotion = std::move(*redeemed);
  }
  if (in.order_date) {
    if (auto st = CheckNotTooFarAhead("orderDate", *in.order_date, meta.now, kMaxOrderDateAhead);
        !st) {
      return Fail(st.error());
    }
  }
  if (in.status != OrderStatus::kCancelled &&
      !WithinSpendingLimit(customer->total_spending_cents, customer->stats.order_cents,
                           o.amount_cents)) {
    return Fail(Error::Validation({{"orderAmount", SpendingLimitMessage()}}));
  }
  o.customer_id = customer->id;
  o.external_id = in.external_id;
  o.order_date = in.order_date.value_or(meta.now);
  o.status = in.status;
  std::string payload = EncodeOrderPlaced(o);
  const bool by_product = std::any_of(o.items.begin(), o.items.end(), [](const OrderItem& item) {
    return item.product_id.has_value();
  });
  if (by_product && payload.size() > kMaxPricedOrderBytes) {
    // Items by product grow by their product's sku and name: the body's limit no longer bounds
    // the event, and a record over the log's limit would be refused only after the decision.
    std::string message = "The items, priced, take ";
    message += std::to_string(payload.size());
    message += " bytes written out; at most ";
    message += std::to_string(kMaxPricedOrderBytes);
    return Fail(Error::Validation({{"items", std::move(message)}}));
  }
  decision.events.push_back(
      NewEvent(kOrderAggregate, kOrderPlaced, decision.order_id, 1, std::move(payload), meta, ids));
  // The oldest version that holds the order, so that a build before a member skips only the
  // orders that have it.
  if (!o.promotion) decision.events.back().schema_version = by_product ? 2 : 1;
  o.id = decision.order_id;
  o.created_at = o.updated_at = meta.now;
  o.version = 1;
  decision.placed = std::move(o);
  return decision;
}

Result<std::vector<EventEnvelope>> DecideChangeOrderStatus(const OrderWriteModel& orders,
                                                           const ChangeOrderStatus& cmd,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids) {
  const OrderWriteModel::Entry* o = orders.Find(cmd.id);
  if (!o) return Fail(Error::NotFound("Order " + cmd.id + " not found"));
  if (auto st = CheckExpectedVersion("Order", cmd.id, o->version, cmd.expected_version); !st) {
    return Fail(st.error());
  }
  std::vector<EventEnvelope> events;
  if (o->status == cmd.to) return events;
  if (!IsAllowedTransition(o->status, cmd.to)) {
    std::string why = cmd.to == OrderStatus::kCancelled
                          ? "an order can be cancelled only before it ships"
                          : "orders go Pending → Shipped → Delivered";
    return Fail(Error::FailedPrecondition("Cannot change order " + cmd.id + " from " +
                                          std::string(OrderStatusName(o->status)) + " to " +
                                          std::string(OrderStatusName(cmd.to)) + ": " + why));
  }
  events.push_back(NewEvent(kOrderAggregate, kOrderStatusChanged, cmd.id, o->version + 1,
                            EncodeOrderStatusChanged(Head(cmd.id, *o), cmd.to), meta, ids));
  return events;
}

}  // namespace keel

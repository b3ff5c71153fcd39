// Order commands: the orders' write-side state and the pure decide functions. No I/O; the
// caller serialises access and appends the events under the order's customer key.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "commands/customer_commands.h"
#include "domain/order.h"

namespace keel {

struct PlaceOrder {
  OrderInput input;
};

struct ChangeOrderStatus {
  std::string id;
  OrderStatus to = OrderStatus::kPending;
  std::optional<int64_t> expected_version;
};

// Every order's current state, consistent with the log. Not thread-safe.
class OrderWriteModel {
 public:
  OrderWriteModel() { orders_.reserve(1 << 20); }
  const Order* Find(std::string_view id) const;
  Status Apply(const EventEnvelope& event, const OrderChange& change);
  size_t size() const { return orders_.size(); }

 private:
  std::unordered_map<std::string, Order> orders_;
};

// The id of the order a client calls `external_id`: the same for every re-send, so that a
// re-sent order is recognised without an index of external ids.
std::string OrderIdForExternalId(std::string_view external_id);

// What a placement decided: the events (none when the order with this external id exists
// already; `existing_id` then names it) and the customer whose stream they belong on.
struct OrderDecision {
  std::string order_id;
  bool duplicate = false;
  std::vector<EventEnvelope> events;
};

// kInvalidArgument naming customerId for an unknown or inactive customer; kAlreadyExists when
// the external id belongs to another customer's order.
Result<OrderDecision> DecidePlaceOrder(const CustomerWriteModel& customers,
                                       const OrderWriteModel& orders, const PlaceOrder& cmd,
                                       const CommandMeta& meta, IdGenerator& ids);
// kNotFound; kAborted for a stale expected version; kFailedPrecondition for a transition the
// state machine forbids (the message names both states). No events when the order is in
// `to` already.
Result<std::vector<EventEnvelope>> DecideChangeOrderStatus(const OrderWriteModel& orders,
                                                           const ChangeOrderStatus& cmd,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids);

}  // namespace keel

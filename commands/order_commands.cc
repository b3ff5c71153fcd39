#include "commands/order_commands.h"

namespace keel {

const Order* OrderWriteModel::Find(std::string_view id) const {
  auto it = orders_.find(std::string(id));
  return it == orders_.end() ? nullptr : &it->second;
}

Status OrderWriteModel::Apply(const EventEnvelope& event, const OrderChange& change) {
  auto [it, inserted] = orders_.try_emplace(event.aggregate_id);
  if (auto st = ApplyOrderChange(it->second, event, change); !st) {
    if (inserted) orders_.erase(it);
    return st;
  }
  return {};
}

std::string OrderIdForExternalId(std::string_view external_id) {
  return DeriveUuid("keel.order.external-id", external_id);
}

Result<OrderDecision> DecidePlaceOrder(const CustomerWriteModel& customers,
                                       const OrderWriteModel& orders, const PlaceOrder& cmd,
                                       const CommandMeta& meta, IdGenerator& ids) {
  const OrderInput& in = cmd.input;
  const Customer* customer = customers.Find(in.customer_id);
  if (!customer) {
    return Fail(Error::Validation({{"customerId", "No customer with id " + in.customer_id}}));
  }
  if (!customer->is_active) {
    return Fail(Error::Validation(
        {{"customerId", "Customer " + in.customer_id + " is inactive and cannot place orders"}}));
  }
  OrderDecision decision;
  decision.order_id = in.external_id ? OrderIdForExternalId(*in.external_id) : ids.NewId();
  if (const Order* existing = orders.Find(decision.order_id)) {
    if (existing->customer_id != in.customer_id) {
      return Fail(Error::AlreadyExists("orderId " + in.external_id.value_or(decision.order_id) +
                                       " is already used by an order of another customer"));
    }
    decision.duplicate = true;
    return decision;
  }
  Order o;
  o.customer_id = in.customer_id;
  o.external_id = in.external_id;
  o.order_date = in.order_date.value_or(meta.now);
  o.amount_cents = in.amount_cents;
  o.status = in.status;
  o.items = in.items;
  decision.events.push_back(NewEvent(kOrderAggregate, kOrderPlaced, decision.order_id, 1,
                                     EncodeOrderPlaced(o), meta, ids));
  return decision;
}

Result<std::vector<EventEnvelope>> DecideChangeOrderStatus(const OrderWriteModel& orders,
                                                           const ChangeOrderStatus& cmd,
                                                           const CommandMeta& meta,
                                                           IdGenerator& ids) {
  const Order* o = orders.Find(cmd.id);
  if (!o) return Fail(Error::NotFound("Order " + cmd.id + " not found"));
  if (cmd.expected_version && *cmd.expected_version != o->version) {
    return Fail(Error::Aborted("Order " + cmd.id + " is at version " + std::to_string(o->version) +
                               ", not " + std::to_string(*cmd.expected_version) +
                               "; re-read it and retry"));
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
                            EncodeOrderStatusChanged(*o, cmd.to), meta, ids));
  return events;
}

}  // namespace keel

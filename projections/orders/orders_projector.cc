#include "projections/orders/orders_projector.h"

#include "projections/counters.h"

namespace keel {

std::string OrderByCustomerKey(const Order& o) {
  return o.customer_id + "/" + Digits20(o.order_date) + "/" + o.id;
}

std::string OrderByDateKey(const Order& o) { return Digits20(o.order_date) + "/" + o.id; }

void AppendOrderWrites(const Order& order, const std::vector<LogPosition>& events,
                       std::vector<StoreWrite>& writes) {
  writes.push_back({kOrdersTable, order.id, EncodeOrderRecord(order, events)});
  const std::string status(OrderStatusName(order.status));
  writes.push_back({kOrdersByCustomerTable, OrderByCustomerKey(order), status});
  writes.push_back({kOrdersByDateTable, OrderByDateKey(order), status});
}

Result<const OrderChange*> OrderChangeOf(const EventEnvelope& event,
                                         const EventPosition& position) {
  struct Last {
    int32_t partition = -1;
    int64_t offset = -1;
    std::string event_id;
    std::string type;
    std::string payload;
    Result<OrderChange> change = Fail(Error::Internal("none yet"));
  };
  thread_local Last last;
  if (last.partition != position.partition || last.offset != position.offset ||
      last.event_id != event.event_id || last.type != event.type || last.payload != event.payload) {
    last.partition = position.partition;
    last.offset = position.offset;
    last.event_id = event.event_id;
    last.type = event.type;
    last.payload = event.payload;
    last.change = DecodeOrderChange(event);
  }
  if (!last.change) return Fail(last.change.error());
  return &*last.change;
}

std::vector<std::string> OrdersProjector::tables() const {
  return {std::string(kOrdersTable), std::string(kOrdersByCustomerTable),
          std::string(kOrdersByDateTable)};
}

Status OrdersProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                              StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kOrderAggregate) return {};
  auto change = OrderChangeOf(event, position);
  if (!change) return Fail(change.error());
  Order order;
  std::vector<LogPosition> events;  // the order's events in the log, this one last
  auto stored = view.Get(kOrdersTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto parsed = DecodeOrderRecord(**stored, &events);
    if (!parsed) return Fail(Error::Internal("Order record unreadable: " + parsed.error().message));
    order = std::move(*parsed);
  }
  if (auto st = ApplyOrderChange(order, event, **change); !st) return st;
  // A customer's history finds this event through the order's record (one key fewer for every
  // order event than an entry of its own).
  events.push_back({position.partition, position.offset});
  AppendOrderWrites(order, events, writes);
  if ((*change)->placed) {
    return BumpCounter(view, PartitionCounterKey(kOrderCountPrefix, position.partition), writes);
  }
  return {};
}

}  // namespace keel

// The orders read model: each order's record (with where its events sit in the log), the
// orders of each customer and all orders by date, and the count. Folded from the order events
// of the customers stream.
// The projector holds no state of its own.
#pragma once

#include <string>
#include <vector>

#include "domain/order.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/orders/order_record.h"
#include "projections/projector.h"

namespace keel {

// id → EncodeOrderRecord (JSON in read models built before it).
inline constexpr std::string_view kOrdersTable = "orders";
// customerId + "/" + orderDate (20 digits) + "/" + orderId → status.
inline constexpr std::string_view kOrdersByCustomerTable = "orders_by_customer";
// orderDate (20 digits) + "/" + orderId → status.
inline constexpr std::string_view kOrdersByDateTable = "orders_by_date";
// Placed orders, one counter per partition under this prefix (kProjectionMetaTable).
inline constexpr std::string_view kOrderCountPrefix = "orders/count/";

// The writes of an order's record (with the log positions of its events) and of its two index
// entries, as the projection makes them (also for the storage benchmark, keel bench-store).
void AppendOrderWrites(const Order& order, const std::vector<LogPosition>& events,
                       std::vector<StoreWrite>& writes);

std::string OrderByCustomerKey(const Order& order);
std::string OrderByDateKey(const Order& order);

// The order event decoded, once for every projector of the group that folds it: the calling
// thread remembers the last one it decoded. kDataLoss as DecodeOrderChange.
Result<const OrderChange*> OrderChangeOf(const EventEnvelope& event, const EventPosition& position);

class OrdersProjector final : public Projector {
 public:
  std::string_view name() const override { return "orders"; }
  // 2: items carry their product and tax rate (issue 16; records of format 3). A store an
  // older build folded is rebuilt: that build dead-letters an order whose items name a product.
  // 3: an order may redeem a promotion (records of format 4). A store an older build folded is
  // rebuilt: that build skips such an order as a newer event.
  int format() const override { return 3; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

}  // namespace keel

// Queries of the orders read model. Thread-safe as the store is.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/order.h"
#include "domain/time.h"
#include "infra/read_store.h"

namespace keel {

struct OrderListQuery {
  int page = 1;
  int limit = 20;
  std::optional<std::string> customer_id;
  // The orders of any of these customers (a sales rep's own); with customer_id, both apply.
  std::optional<std::vector<std::string>> customer_ids;
  std::optional<OrderStatus> status;
  std::optional<Millis> from, to;  // orderDate, inclusive
  bool descending = true;          // by orderDate
};

struct OrderPage {
  std::vector<std::string> items;  // order JSON objects
  int64_t total = 0;
};

// The order's JSON as served, or nullopt.
Result<std::optional<std::string>> QueryOrder(ReadStore& store, std::string_view id);
// The order as stored, or nullopt.
Result<std::optional<Order>> QueryStoredOrder(ReadStore& store, std::string_view id);
Result<OrderPage> QueryOrders(ReadStore& store, const OrderListQuery& query);
Result<int64_t> QueryOrderCount(ReadStore& store);
// The ids of the customer's orders, by orderDate.
Result<std::vector<std::string>> QueryOrderIdsOfCustomer(ReadStore& store,
                                                         std::string_view customer_id);

}  // namespace keel

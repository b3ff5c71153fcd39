#include "projections/orders/order_queries.h"

#include <algorithm>
#include <tuple>

#include "domain/numbers.h"
#include "projections/counters.h"
#include "projections/orders/orders_projector.h"

namespace keel {
namespace {

// The date range's bounds as the order indexes spell dates ("" when open), formatted once per
// query rather than for every key a scan visits.
struct DateBounds {
  std::string from, to;
  explicit DateBounds(const OrderListQuery& q)
      : from(q.from ? Digits20(*q.from) : ""), to(q.to ? Digits20(*q.to) : "") {}
};

}  // namespace

Result<int64_t> QueryOrderCount(ReadStore& store) { return SumCounters(store, kOrderCountPrefix); }

Result<std::vector<std::string>> QueryOrderIdsOfCustomer(ReadStore& store,
                                                         std::string_view customer_id) {
  std::vector<std::string> orders;
  const std::string prefix = std::string(customer_id) + "/";
  auto st =
      store.Scan(kOrdersByCustomerTable, prefix, "", [&](std::string_view key, std::string_view) {
        orders.emplace_back(key.substr(key.rfind('/') + 1));
        return true;
      });
  if (!st) return Fail(st.error());
  return orders;
}

Result<std::optional<Order>> QueryStoredOrder(ReadStore& store, std::string_view id) {
  auto record = store.Get(kOrdersTable, id);
  if (!record) return Fail(record.error());
  if (!*record) return std::optional<Order>();
  auto order = DecodeOrderRecord(**record);
  if (!order) return Fail(order.error());
  return std::optional<Order>(std::move(*order));
}

Result<std::optional<std::string>> QueryOrder(ReadStore& store, std::string_view id) {
  auto order = QueryStoredOrder(store, id);
  if (!order) return Fail(order.error());
  if (!*order) return std::optional<std::string>();
  return std::optional<std::string>(OrderToJson(**order));
}

namespace {

// One index (a customer's, or by date) in orderDate order: the page's ids and the total.
Status QueryIndexedOrders(ReadStore& store, const OrderListQuery& q, OrderPage& page,
                          std::vector<std::string>& ids) {
  const bool unfiltered = !q.customer_id && !q.status && !q.from && !q.to;
  if (unfiltered) {
    auto total = QueryOrderCount(store);
    if (!total) return Fail(total.error());
    page.total = *total;
  }
  const std::string_view table = q.customer_id ? kOrdersByCustomerTable : kOrdersByDateTable;
  const std::string prefix = q.customer_id ? *q.customer_id + "/" : "";
  const std::string status = q.status ? std::string(OrderStatusName(*q.status)) : "";
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  const size_t limit = static_cast<size_t>(q.limit);
  size_t matched = 0;
  const DateBounds bounds(q);
  auto visit = [&](std::string_view key, std::string_view value) {
    const std::string_view date = key.substr(prefix.size(), 20);
    if (q.descending ? (q.from && date < bounds.from) : (q.to && date > bounds.to)) {
      return false;  // past the range
    }
    if (q.status && value != status) return true;
    if (matched++ >= skip && ids.size() < limit) ids.emplace_back(key.substr(key.rfind('/') + 1));
    return !unfiltered || ids.size() < limit;  // filtered: count every match for the total
  };
  Status st;
  if (q.descending) {
    const std::string last = q.to ? prefix + bounds.to + "/\xff" : "";
    st = store.ScanReverse(table, prefix, last, visit);
  } else {
    st = store.Scan(table, prefix, q.from ? prefix + bounds.from : "", visit);
  }
  if (!st) return st;
  if (!unfiltered) page.total = static_cast<int64_t>(matched);
  return {};
}

// The orders of several customers: each customer's index entries in the range, merged in
// orderDate order (then id, so that pages never overlap). O(their orders) per page.
Status QueryOrdersOfCustomers(ReadStore& store, const OrderListQuery& q, OrderPage& page,
                              std::vector<std::string>& ids) {
  struct Hit {
    int64_t date;  // orderDate
    std::string id;
  };
  std::vector<Hit> hits;
  const std::string status = q.status ? std::string(OrderStatusName(*q.status)) : "";
  const DateBounds bounds(q);
  for (const std::string& customer_id : *q.customer_ids) {
    if (q.customer_id && *q.customer_id != customer_id) continue;
    const std::string prefix = customer_id + "/";
    auto st = store.Scan(kOrdersByCustomerTable, prefix, q.from ? prefix + bounds.from : "",
                         [&](std::string_view key, std::string_view value) {
                           const std::string_view date = key.substr(prefix.size(), 20);
                           if (q.to && date > bounds.to) return false;
                           if (q.status && value != status) return true;
                           hits.push_back({ParseInt64(date).value_or(0),
                                           std::string(key.substr(key.rfind('/') + 1))});
                           return true;
                         });
    if (!st) return st;
  }
  auto key = [](const Hit& h) { return std::tie(h.date, h.id); };
  std::sort(hits.begin(), hits.end(), [&](const Hit& a, const Hit& b) {
    return q.descending ? key(b) < key(a) : key(a) < key(b);
  });
  page.total = static_cast<int64_t>(hits.size());
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  for (size_t i = skip; i < hits.size() && ids.size() < static_cast<size_t>(q.limit); ++i) {
    ids.push_back(std::move(hits[i].id));
  }
  return {};
}

}  // namespace

Result<OrderPage> QueryOrders(ReadStore& store, const OrderListQuery& q) {
  OrderPage page;
  std::vector<std::string> ids;
  if (q.customer_ids) {
    if (auto st = QueryOrdersOfCustomers(store, q, page, ids); !st) return Fail(st.error());
  } else if (auto st = QueryIndexedOrders(store, q, page, ids); !st) {
    return Fail(st.error());
  }
  for (const auto& id : ids) {
    auto doc = QueryOrder(store, id);
    if (!doc) return Fail(doc.error());
    if (*doc) page.items.push_back(std::move(**doc));
  }
  return page;
}

}  // namespace keel

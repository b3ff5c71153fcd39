// CustomerProjector: folds the customers stream (customers, their visits, their orders) into
// the customers read model (profile and figures per id, id per email, each customer's event
// history, creation index, count) and the orders read model (order per id, by customer, by
// date, count), and the queries served from them.
// The projector holds no state of its own; queries are thread-safe as the store is.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/customer.h"
#include "domain/order.h"
#include "domain/topics.h"
#include "infra/event_log.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

inline constexpr std::string_view kCustomersTable = "customers";
// id → the customer's figures (baseline and stats; EncodeCustomerFigures), apart from its
// profile in kCustomersTable: an order rewrites 82 bytes instead of the whole document.
inline constexpr std::string_view kCustomerFiguresTable = "customer_figures";
inline constexpr std::string_view kCustomersByEmailTable = "customers_by_email";
inline constexpr std::string_view kCustomerEventsTable = "customer_events";
// createdAt (20 digits of milliseconds) + "/" + id → "": the customers in creation order.
inline constexpr std::string_view kCustomersByCreatedTable = "customers_by_created";
// id → EncodeOrderRecord (JSON in read models built before it).
inline constexpr std::string_view kOrdersTable = "orders";
// customerId + "/" + orderDate (20 digits) + "/" + orderId → status.
inline constexpr std::string_view kOrdersByCustomerTable = "orders_by_customer";
// orderDate (20 digits) + "/" + orderId → status.
inline constexpr std::string_view kOrdersByDateTable = "orders_by_date";

// The writes of an order's record (with the log positions of its events) and of its two index
// entries, as the projection makes them (also for the storage benchmark, keel bench-store).
void AppendOrderWrites(const Order& order, const std::vector<LogPosition>& events,
                       std::vector<StoreWrite>& writes);

class CustomerProjector final : public Projector {
 public:
  std::string_view name() const override { return "customers"; }
  std::string_view topic() const override { return kCustomersTopic; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Discard(const std::vector<int32_t>& partitions) override;

  // Customers remembered per partition; past it, the partition's are forgotten and reread.
  static constexpr size_t kMaxCachedPerPartition = 16384;

 private:
  // Customers as the last Apply left them (committed or in the batch being built), per
  // partition: a partition is folded by one thread at a time. An order event then neither
  // reads nor parses its customer's stored document.
  struct Cache {
    std::unordered_map<std::string, Customer> customers;
  };
  Cache& CacheOf(int32_t partition);
  // The customer as stored (or as the batch left it), remembered from now on; nullptr when
  // there is none.
  Result<Customer*> LoadCustomer(StateView& view, Cache& cache, const std::string& id);
  Status ApplyOrderEvent(const EventEnvelope& event, const EventPosition& position, StateView& view,
                         Cache& cache, std::vector<StoreWrite>& writes);

  std::mutex caches_mu_;
  std::unordered_map<int32_t, std::unique_ptr<Cache>> caches_;  // guarded by caches_mu_
  // caches_ of the first partitions, read without the lock (every event asks for its own).
  static constexpr size_t kFastPartitions = 1024;
  std::array<std::atomic<Cache*>, kFastPartitions> fast_caches_{};
};

enum class CustomerSort {
  kCreatedAt, kTotalSpending, kName, kOrderCount, kVisits, kLastOrderAt, kAverageOrderValue
};

struct CustomerListQuery {
  int page = 1;     // 1-based
  int limit = 20;   // 1..100
  std::optional<std::string> email;          // exact, normalised
  std::optional<std::string> name_contains;  // case-insensitive
  std::optional<bool> is_active;
  std::optional<std::string> owner_id;  // the assigned user; "" for unassigned customers
  // Stats filters, all inclusive.
  std::optional<int64_t> min_total_spending_cents, max_total_spending_cents;
  std::optional<int64_t> min_order_count, max_order_count;
  std::optional<int64_t> min_visits;
  std::optional<Millis> last_order_from, last_order_to;
  CustomerSort sort = CustomerSort::kCreatedAt;
  bool descending = true;

  bool has_stats_filter() const {
    return min_total_spending_cents || max_total_spending_cents || min_order_count ||
           max_order_count || min_visits || last_order_from || last_order_to;
  }
};

struct CustomerPage {
  std::vector<std::string> items;  // customer JSON objects
  int64_t total = 0;               // matching customers over all pages
};

// The customer's JSON as served (profile and figures), or nullopt.
Result<std::optional<std::string>> QueryCustomer(ReadStore& store, std::string_view id);
// Visits every stored customer, with its figures, until `visit` returns false; kDataLoss for a
// record that does not parse.
Status ForEachCustomer(ReadStore& store, const std::function<bool(Customer&&)>& visit);

class CustomerIndex;
// `index`, when given and sound, answers filtered and sorted lists without scanning the store.
Result<CustomerPage> QueryCustomers(ReadStore& store, const CustomerIndex* index,
                                    const CustomerListQuery& query);
// The ids of the customers assigned to `owner_id` (from `index` as QueryCustomers uses it).
Result<std::vector<std::string>> QueryCustomerIdsOwnedBy(ReadStore& store,
                                                         const CustomerIndex* index,
                                                         const std::string& owner_id);
// The customer's events, oldest first, as encoded envelopes; empty for an unknown id. The
// history table points into `log` (the events are read from there, as appended); entries from
// read models built before that hold the envelope itself.
Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, EventLog& log,
                                                     std::string_view id);
// Registered customers, from the projector's counter.
Result<int64_t> QueryCustomerCount(ReadStore& store);

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

}  // namespace keel

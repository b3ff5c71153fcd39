// Queries of the customers read model. Thread-safe as the store is.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/customer.h"
#include "domain/time.h"
#include "infra/read_store.h"

namespace keel {

enum class CustomerSort {
  kCreatedAt,
  kTotalSpending,
  kName,
  kOrderCount,
  kVisits,
  kLastOrderAt,
  kAverageOrderValue
};

struct CustomerListQuery {
  int page = 1;                              // 1-based
  int limit = 20;                            // 1..100
  std::optional<std::string> email;          // exact, normalised
  std::optional<std::string> name_contains;  // case-insensitive
  std::optional<bool> is_active;
  std::optional<std::string> owner_id;  // the assigned user; "" for unassigned customers
  // Seed 002: exact matches (tag: one of the customer's tags, as stored).
  std::optional<CustomerStatus> status;
  std::optional<CustomerType> customer_type;
  std::optional<std::string> tag;
  // Stats filters, all inclusive.
  std::optional<int64_t> min_total_spending_cents, max_total_spending_cents;
  std::optional<int64_t> min_order_count, max_order_count;
  std::optional<int64_t> min_visits;
  std::optional<Millis> last_order_from, last_order_to;
  CustomerSort sort = CustomerSort::kCreatedAt;
  bool descending = true;

  bool has_profile_filter() const { return status || customer_type || tag; }
  bool has_stats_filter() const {
    return min_total_spending_cents || max_total_spending_cents || min_order_count ||
           max_order_count || min_visits || last_order_from || last_order_to;
  }
};

struct CustomerPage {
  std::vector<std::string> items;  // customer JSON objects
  std::vector<std::string> ids;    // their ids, in the same order
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
// Registered customers, from the projector's counter.
Result<int64_t> QueryCustomerCount(ReadStore& store);

}  // namespace keel

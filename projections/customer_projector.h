// CustomerProjector: the customers read model (profile per id, id per email, each customer's
// event history, the customer count), and the queries served from it.
// The projector holds no state of its own; queries are thread-safe as the store is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

inline constexpr std::string_view kCustomersTopic = "keel.customers";
inline constexpr std::string_view kCustomersTable = "customers";
inline constexpr std::string_view kCustomersByEmailTable = "customers_by_email";
inline constexpr std::string_view kCustomerEventsTable = "customer_events";
// createdAt (20 digits of milliseconds) + "/" + id → "": the customers in creation order.
inline constexpr std::string_view kCustomersByCreatedTable = "customers_by_created";

class CustomerProjector final : public Projector {
 public:
  std::string_view name() const override { return "customers"; }
  std::string_view topic() const override { return kCustomersTopic; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
};

enum class CustomerSort { kCreatedAt, kTotalSpending, kName };

struct CustomerListQuery {
  int page = 1;     // 1-based
  int limit = 20;   // 1..100
  std::optional<std::string> email;          // exact, normalised
  std::optional<std::string> name_contains;  // case-insensitive
  std::optional<bool> is_active;
  CustomerSort sort = CustomerSort::kCreatedAt;
  bool descending = true;
};

struct CustomerPage {
  std::vector<std::string> items;  // customer JSON objects
  int64_t total = 0;               // matching customers over all pages
};

// The customer's JSON, or nullopt.
Result<std::optional<std::string>> QueryCustomer(ReadStore& store, std::string_view id);
Result<CustomerPage> QueryCustomers(ReadStore& store, const CustomerListQuery& query);
// The customer's events, oldest first, as encoded envelopes; empty for an unknown id.
Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, std::string_view id);
// Registered customers, from the projector's counter.
Result<int64_t> QueryCustomerCount(ReadStore& store);

}  // namespace keel

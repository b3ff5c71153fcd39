// CustomerIndex: an in-memory, column-like copy of what customer lists filter and sort on
// (name, activity, stats, creation time), so that a filtered or sorted list over every
// customer answers in milliseconds instead of a scan of the store. Loaded from the read model
// once a generation serves (while the projection runs: Apply calls that arrive during the
// load are held and replayed after it), then kept current by the customers the projection's
// batches change, handed over typed (Apply runs after each batch is written and before its
// positions are published, so a read that waited for a position finds the index there too). Until
// it is ready, lists scan the store.
//
// About 120 bytes per customer. Without a loaded index, lists load a transient one from the
// store for the query: one filter and one order for every path.
// Thread-safe: queries share a lock, Apply takes it alone (the load protocol: CustomerView).
#pragma once

#include <atomic>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/time.h"
#include "infra/read_store.h"
#include "projections/customers/customer_queries.h"
#include "projections/customers/customer_view.h"
#include "projections/writer_first_mutex.h"

namespace keel {

class CustomerIndex final : public CustomerView {
 public:
  CustomerIndex() = default;
  CustomerIndex(const CustomerIndex&) = delete;
  CustomerIndex& operator=(const CustomerIndex&) = delete;

  // Every customer in the store's customers table; the index is ready once it returns.
  Status Load(ReadStore& store);
  bool ready() const { return ready_.load() && !broken_.load(); }
  // A load that failed breaks the index for good (queries must then scan the store).
  bool broken() const { return broken_.load(); }

  void StartLoad(size_t expected_customers) override;
  void Loaded(const Customer& customer) override;
  void FinishLoad(const Status& scan) override;
  void Apply(const std::vector<Customer>& changed) override;

  struct Page {
    std::vector<std::string> ids;  // the page, in order
    int64_t total = 0;             // matches over all pages
  };
  // Any query but `email` (the email index answers that).
  Page Query(const CustomerListQuery& query) const;
  // Whether one customer passes the query's filters (name, activity, stats).
  static bool Matches(const CustomerListQuery& query, const Customer& customer);
  size_t size() const;

 private:
  struct Row {
    std::string id;
    std::string name;        // as stored: the name sort is bytewise
    std::string name_lower;  // for "name contains"
    bool is_active = true;
    std::string owner_id;  // "" when unassigned
    int64_t total_spending_cents = 0;
    int64_t visits = 0;
    int64_t order_count = 0;
    int64_t average_order_cents = 0;
    std::optional<Millis> last_order_at;
    Millis created_at = 0;
    CustomerStatus status = CustomerStatus::kCustomer;
    CustomerType customer_type = CustomerType::kPerson;
    std::vector<std::string> tags;
  };
  static Row RowOf(const Customer& customer);
  // `needle`: the query's name filter, lowercased.
  static bool RowMatches(const CustomerListQuery& query, std::string_view needle, const Row& row);
  void Upsert(Row row);  // mu_ held exclusively

  std::atomic<bool> broken_{false};
  std::atomic<bool> ready_{false};
  mutable WriterFirstMutex mu_;  // Apply, from the projection, is not kept waiting by reads
  std::vector<Row> loaded_;   // the loading thread's alone, from StartLoad to FinishLoad
  bool loading_ = false;      // guarded by mu_
  std::vector<Row> pending_;  // guarded by mu_; Apply's changes while loading
  std::vector<Row> rows_;     // guarded by mu_
  std::unordered_map<std::string, size_t> pos_;  // guarded by mu_; id → index in rows_
};

}  // namespace keel

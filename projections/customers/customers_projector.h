// The customers read model: each customer's profile and figures (stats kept current by its
// orders), the email index, the creation index and the count; in a serving generation also the
// in-memory views of every customer (the CustomerIndex of lists, the AudienceColumns of
// segments, the RfmColumns of loyalty levels), loaded from one scan of the store, which the
// projector hands the customers each batch changed. Folded from the customers stream (customer
// events, and order events for the figures).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "domain/customer.h"
#include "domain/topics.h"
#include "projections/audience/audience_columns.h"
#include "projections/customers/customer_index.h"
#include "projections/customers/customer_records.h"
#include "projections/loyalty/rfm_columns.h"
#include "projections/projector.h"

namespace keel {

class CustomersProjector final : public Projector {
 public:
  // `serving_store`: a serving generation's store; the projector then keeps the in-memory
  // views (a generation built from scratch has none).
  explicit CustomersProjector(ReadStore* serving_store = nullptr);

  std::string_view name() const override { return "customers"; }
  // 2: profiles hold "unsubscribed"; 3: profiles hold the seed-002 fields (status, customerType,
  // names, birthDate, address, referredBy, tags), so an older store is rebuilt and serves them;
  // 4: the email index is keyed by email and id (CustomerEmailKey).
  int format() const override { return 4; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Discard(const std::vector<int32_t>& partitions) override;
  void Unapply(int32_t partition, int64_t offset) override;
  void Committed(const std::vector<int32_t>& partitions) override;
  Status StartViews(ReadStore& store) override;

  // For the projectors of the group that fold after this one, on the same thread: the customer
  // as the event at (partition, offset), just applied, left it; nullptr when that event changed
  // no customer (or was refused). Valid until the partition's next event is applied.
  const Customer* Folded(int32_t partition, int64_t offset);
  // The customer `id` as the batch being built leaves it (read through `view` when not
  // remembered); nullptr when there is none. Valid until the partition's next Load or Apply.
  Result<const Customer*> Load(StateView& view, int32_t partition, const std::string& id);

  // The in-memory index of a serving generation; nullptr otherwise. Thread-safe.
  const CustomerIndex* index() const { return index_.get(); }
  // The audience columns of a serving generation; nullptr otherwise. Thread-safe.
  const AudienceColumns* audience() const { return audience_.get(); }
  // The loyalty levels' RFM columns of a serving generation; nullptr otherwise. Thread-safe.
  const RfmColumns* rfm() const { return rfm_.get(); }

  // Customers remembered per partition; past it, the partition's are forgotten and reread.
  static constexpr size_t kMaxCachedPerPartition = 16384;

 private:
  // Per partition (a partition is folded by one thread at a time): customers as the last Apply
  // left them (committed or in the batch being built), so that an order event neither reads
  // nor parses its customer's stored document; and the customers the batch changed, for the
  // views, with the offset of the event that changed each.
  struct Cache {
    std::unordered_map<std::string, Customer> customers;
    std::vector<Customer> changed;
    std::vector<int64_t> changed_at;
    // What Folded answers: the customer the last applied event left, in `customers` or, for
    // a new one not remembered, in `last_new`.
    const Customer* folded = nullptr;
    int64_t folded_at = -1;
    Customer last_new;
  };
  Cache& CacheOf(int32_t partition);
  // The customer as stored (or as the batch left it), remembered from now on; nullptr when
  // there is none.
  Result<Customer*> LoadCustomer(StateView& view, Cache& cache, const std::string& id);
  Status ApplyOrderEvent(const EventEnvelope& event, const EventPosition& position, StateView& view,
                         Cache& cache, std::vector<StoreWrite>& writes);
  // A CustomerLevelChanged or CustomerScoresChanged: the customer's figures record.
  Status ApplyStandingChange(const EventEnvelope& event, const EventPosition& position,
                             StateView& view, Cache& cache, std::vector<StoreWrite>& writes);
  void Changed(Cache& cache, const Customer& customer, int64_t offset);

  const std::unique_ptr<CustomerIndex> index_;
  const std::unique_ptr<AudienceColumns> audience_;
  const std::unique_ptr<RfmColumns> rfm_;
  std::mutex caches_mu_;
  std::unordered_map<int32_t, std::unique_ptr<Cache>> caches_;  // guarded by caches_mu_
  // caches_ of the first partitions, read without the lock (every event asks for its own).
  static constexpr size_t kFastPartitions = 1024;
  std::array<std::atomic<Cache*>, kFastPartitions> fast_caches_{};
};

}  // namespace keel

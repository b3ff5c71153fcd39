#include "projections/customers/customers_projector.h"

#include <algorithm>
#include <cstdio>

#include "domain/partition_markers.h"
#include "domain/promotion_assignment.h"
#include "domain/transaction.h"
#include "projections/counters.h"
#include "projections/orders/orders_projector.h"

namespace keel {

std::string CustomerCreatedKey(const Customer& c) { return Digits20(c.created_at) + "/" + c.id; }

std::string CustomerEmailKey(std::string_view email, std::string_view id) {
  std::string key(email);
  key += '\0';
  key += id;
  return key;
}

CustomersProjector::CustomersProjector(ReadStore* serving_store)
    : index_(serving_store ? std::make_unique<CustomerIndex>() : nullptr),
      audience_(serving_store ? std::make_unique<AudienceColumns>() : nullptr),
      rfm_(serving_store ? std::make_unique<RfmColumns>() : nullptr) {}

std::vector<std::string> CustomersProjector::tables() const {
  return {std::string(kCustomersTable), std::string(kCustomerFiguresTable),
          std::string(kCustomersByEmailTable), std::string(kCustomersByCreatedTable)};
}

CustomersProjector::Cache& CustomersProjector::CacheOf(int32_t partition) {
  const bool fast = partition >= 0 && static_cast<size_t>(partition) < kFastPartitions;
  if (fast) {
    if (Cache* known =
            fast_caches_[static_cast<size_t>(partition)].load(std::memory_order_acquire)) {
      return *known;
    }
  }
  std::lock_guard lock(caches_mu_);
  auto& cache = caches_[partition];
  if (!cache) cache = std::make_unique<Cache>();
  if (fast) {
    fast_caches_[static_cast<size_t>(partition)].store(cache.get(), std::memory_order_release);
  }
  return *cache;
}

void CustomersProjector::Discard(const std::vector<int32_t>& partitions) {
  // Only these partitions' memories, emptied in place: other threads are folding the others.
  for (int32_t partition : partitions) {
    Cache& cache = CacheOf(partition);
    cache.customers.clear();
    cache.changed.clear();
    cache.changed_at.clear();
    cache.folded = nullptr;
    cache.folded_at = -1;
  }
}

void CustomersProjector::Unapply(int32_t partition, int64_t offset) {
  Cache& cache = CacheOf(partition);
  cache.customers.clear();  // read again through the batch, which lacks the event's writes
  cache.folded = nullptr;
  cache.folded_at = -1;
  while (!cache.changed_at.empty() && cache.changed_at.back() == offset) {
    cache.changed.pop_back();
    cache.changed_at.pop_back();
  }
}

void CustomersProjector::Committed(const std::vector<int32_t>& partitions) {
  for (int32_t partition : partitions) {
    Cache& cache = CacheOf(partition);
    if (index_ && !cache.changed.empty()) {
      index_->Apply(cache.changed);
      audience_->Apply(cache.changed);
      rfm_->Apply(cache.changed);
    }
    cache.changed.clear();
    cache.changed_at.clear();
  }
}

Status CustomersProjector::StartViews(ReadStore& store) {
  if (!index_) return {};
  CustomerView* const views[] = {index_.get(), audience_.get(), rfm_.get()};
  return LoadCustomerViews(store, views);
}

void CustomersProjector::Changed(Cache& cache, const Customer& customer, int64_t offset) {
  if (!index_) return;
  cache.changed.push_back(customer);
  cache.changed_at.push_back(offset);
}

Result<Customer*> CustomersProjector::LoadCustomer(StateView& view, Cache& cache,
                                                   const std::string& id) {
  if (auto it = cache.customers.find(id); it != cache.customers.end()) return &it->second;
  auto stored = view.Get(kCustomersTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return nullptr;
  auto parsed = CustomerFromJson(**stored);
  if (!parsed)
    return Fail(Error::Internal("Customer record unreadable: " + parsed.error().message));
  if (auto st = ReadCustomerFigures(view, id, *parsed); !st) {
    return Fail(Error::Internal("Customer figures unreadable: " + st.error().message));
  }
  if (cache.customers.size() >= kMaxCachedPerPartition) cache.customers.clear();
  return &cache.customers.emplace(id, std::move(*parsed)).first->second;
}

Status CustomersProjector::ApplyOrderEvent(const EventEnvelope& event,
                                           const EventPosition& position, StateView& view,
                                           Cache& cache, std::vector<StoreWrite>& writes) {
  auto change = OrderChangeOf(event, position);
  if (!change) return Fail(change.error());
  auto customer = LoadCustomer(view, cache, (*change)->customer_id);
  if (!customer) return Fail(customer.error());
  if (!*customer) {
    return Fail(Error::DataLoss("Order " + event.aggregate_id + " of unknown customer " +
                                (*change)->customer_id));
  }
  Customer& c = **customer;
  CustomerStats stats = c.stats;
  if (auto st = ApplyOrderToStats(stats, **change); !st) return st;
  // From here nothing refuses the event: the remembered customer changes in place (a failed
  // read fails the batch, which discards what is remembered).
  if (stats != c.stats) {
    c.stats = stats;
    writes.push_back({kCustomerFiguresTable, c.id, EncodeCustomerFigures(c)});
    Changed(cache, c, position.offset);
    cache.folded = &c;
    cache.folded_at = position.offset;
  }
  return {};
}

Status CustomersProjector::ApplyStandingChange(const EventEnvelope& event,
                                               const EventPosition& position, StateView& view,
                                               Cache& cache, std::vector<StoreWrite>& writes) {
  auto customer = LoadCustomer(view, cache, event.aggregate_id);
  if (!customer) return Fail(customer.error());
  if (!*customer) {
    return Fail(Error::DataLoss("Standing change of unknown customer " + event.aggregate_id));
  }
  Customer& c = **customer;
  if (auto st = ApplyStandingEvent(c, event); !st) return st;  // all or nothing
  writes.push_back({kCustomerFiguresTable, c.id, EncodeCustomerFigures(c)});
  Changed(cache, c, position.offset);
  cache.folded = &c;
  cache.folded_at = position.offset;
  return {};
}

Status CustomersProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                 StateView& view, std::vector<StoreWrite>& writes) {
  Cache& cache = CacheOf(position.partition);
  cache.folded = nullptr;
  if (event.aggregate_type == kOrderAggregate) {
    return ApplyOrderEvent(event, position, view, cache, writes);
  }
  if (IsPartitionMarker(event)) return {};  // for the membership read model
  if (event.aggregate_type == kCustomerStandingAggregate) {
    return ApplyStandingChange(event, position, view, cache, writes);
  }
  // Payments move no customer figure: the transactions read model has them.
  if (event.aggregate_type == kTransactionAggregate) return {};
  // Nor do the promotions a customer is given: the customer_promotions read model has them.
  if (event.aggregate_type == kPromotionAssignmentAggregate) return {};
  // A referral qualified or credited moves none either (its promotions are assignments).
  if (event.aggregate_type == kCustomerReferralAggregate) return {};
  if (event.aggregate_type != kCustomerAggregate) {
    return Fail(Error::DataLoss("Event of aggregate type '" + event.aggregate_type +
                                "' on the customers topic"));
  }
  auto loaded = LoadCustomer(view, cache, event.aggregate_id);
  if (!loaded) return Fail(loaded.error());
  // A copy: the event may be refused halfway through, and the remembered customer must not
  // change then.
  Customer customer = *loaded ? **loaded : Customer{};
  const std::string old_email = customer.email;
  const bool is_new = customer.version == 0;
  if (auto st = ApplyCustomerEvent(customer, event); !st) return st;

  writes.push_back({kCustomersTable, customer.id, CustomerProfileToJson(customer)});
  writes.push_back({kCustomerFiguresTable, customer.id, EncodeCustomerFigures(customer)});
  if (customer.email != old_email) {
    if (!old_email.empty()) {
      writes.push_back(
          {kCustomersByEmailTable, CustomerEmailKey(old_email, customer.id), std::nullopt});
    }
    writes.push_back({kCustomersByEmailTable, CustomerEmailKey(customer.email, customer.id), ""});
  }
  if (is_new) {
    writes.push_back({kCustomersByCreatedTable, CustomerCreatedKey(customer), ""});
    if (auto st = BumpCounter(view, PartitionCounterKey(kCustomerCountPrefix, position.partition),
                              writes);
        !st) {
      return st;
    }
  }
  Changed(cache, customer, position.offset);
  // A new customer is remembered once an event reads it again (an order, usually). Taking it
  // in at registration, even only while the memory has room, cost a replay of registrations
  // about a fifth of its CPU (lookups in a fuller map, and the memory itself), for one read
  // saved at the customer's first order.
  if (*loaded) {
    **loaded = std::move(customer);
    cache.folded = *loaded;
  } else {
    cache.last_new = std::move(customer);
    cache.folded = &cache.last_new;
  }
  cache.folded_at = position.offset;
  return {};
}

const Customer* CustomersProjector::Folded(int32_t partition, int64_t offset) {
  Cache& cache = CacheOf(partition);
  return cache.folded_at == offset ? cache.folded : nullptr;
}

Result<const Customer*> CustomersProjector::Load(StateView& view, int32_t partition,
                                                 const std::string& id) {
  Cache& cache = CacheOf(partition);
  auto loaded = LoadCustomer(view, cache, id);
  if (!loaded) return Fail(loaded.error());
  return static_cast<const Customer*>(*loaded);
}

}  // namespace keel

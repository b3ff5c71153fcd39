#include "projections/customer_projector.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <tuple>

#include "domain/customer.h"
#include "domain/numbers.h"
#include "domain/text.h"
#include "domain/topics.h"
#include "projections/customer_index.h"

namespace keel {
namespace {

// One counter per partition ("customers/count/00003"): partitions are folded concurrently.
constexpr std::string_view kCountPrefix = "customers/count/";

std::string CountKey(int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "%05d", partition);
  return std::string(kCountPrefix) + p;
}

constexpr std::string_view kOrderCountPrefix = "orders/count/";

std::string OrderCountKey(int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "%05d", partition);
  return std::string(kOrderCountPrefix) + p;
}

std::string Digits20(int64_t n) {
  char v[24];
  std::snprintf(v, sizeof v, "%020lld", static_cast<long long>(std::max<int64_t>(n, 0)));
  return v;
}

// The date range's bounds as the order indexes spell dates ("" when open), formatted once per
// query rather than for every key a scan visits.
struct DateBounds {
  std::string from, to;
  explicit DateBounds(const OrderListQuery& q)
      : from(q.from ? Digits20(*q.from) : ""), to(q.to ? Digits20(*q.to) : "") {}
};

// A customer's history in log order: all of a customer's events share one partition, so the
// offset orders them (orders' events included, which do not move the customer's version).
std::string HistoryKey(std::string_view customer_id, int64_t offset) {
  return std::string(customer_id) + "/" + Digits20(offset);
}

// The history points into the log instead of copying each event (the copy was half of the
// bytes the projection wrote): key customer/offset, value the partition.
StoreWrite HistoryEntry(std::string_view customer_id, const EventPosition& position) {
  return {kCustomerEventsTable, HistoryKey(customer_id, position.offset),
          std::to_string(position.partition)};
}

std::string OrderByCustomerKey(const Order& o) {
  return o.customer_id + "/" + Digits20(o.order_date) + "/" + o.id;
}

std::string OrderByDateKey(const Order& o) { return Digits20(o.order_date) + "/" + o.id; }

Result<int64_t> SumCounters(ReadStore& store, std::string_view prefix) {
  int64_t n = 0;
  auto st = store.Scan(kProjectionMetaTable, prefix, "", [&](std::string_view, std::string_view v) {
    n += ParseInt64(v).value_or(0);
    return true;
  });
  if (!st) return Fail(st.error());
  return n;
}

Status BumpCounter(StateView& view, const std::string& key, std::vector<StoreWrite>& writes) {
  auto count = view.Get(kProjectionMetaTable, key);
  if (!count) return Fail(count.error());
  writes.push_back({kProjectionMetaTable, key,
                    std::to_string((*count ? ParseInt64(**count).value_or(0) : 0) + 1)});
  return {};
}

std::string CreatedKey(const Customer& c) {
  char at[24];
  std::snprintf(at, sizeof at, "%020lld", static_cast<long long>(std::max<Millis>(c.created_at, 0)));
  return std::string(at) + "/" + c.id;
}

// Sets the stored figures of customer `id` on `c`, and says whether there were any; none
// stored leaves those read from the profile (a record of an older read model holds them).
template <typename Store>
Result<bool> ReadFigures(Store& store, std::string_view id, Customer& c) {
  auto figures = store.Get(kCustomerFiguresTable, id);
  if (!figures) return Fail(figures.error());
  if (!*figures) return false;
  if (auto st = DecodeCustomerFigures(**figures, c); !st) return Fail(st.error());
  return true;
}

}  // namespace

std::vector<std::string> CustomerProjector::tables() const {
  return {std::string(kCustomersTable),          std::string(kCustomerFiguresTable),
          std::string(kCustomersByEmailTable),   std::string(kCustomerEventsTable),
          std::string(kCustomersByCreatedTable), std::string(kOrdersTable),
          std::string(kOrdersByCustomerTable),   std::string(kOrdersByDateTable)};
}

CustomerProjector::Cache& CustomerProjector::CacheOf(int32_t partition) {
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

void CustomerProjector::Discard(const std::vector<int32_t>& partitions) {
  // Only these partitions' memories, emptied in place: other threads are folding the others.
  for (int32_t partition : partitions) CacheOf(partition).customers.clear();
}

Result<Customer*> CustomerProjector::LoadCustomer(StateView& view, Cache& cache,
                                                  const std::string& id) {
  if (auto it = cache.customers.find(id); it != cache.customers.end()) return &it->second;
  auto stored = view.Get(kCustomersTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return nullptr;
  auto parsed = CustomerFromJson(**stored);
  if (!parsed) return Fail(Error::Internal("Customer record unreadable: " + parsed.error().message));
  if (auto st = ReadFigures(view, id, *parsed); !st) {
    return Fail(Error::Internal("Customer figures unreadable: " + st.error().message));
  }
  if (cache.customers.size() >= kMaxCachedPerPartition) cache.customers.clear();
  return &cache.customers.emplace(id, std::move(*parsed)).first->second;
}

void AppendOrderWrites(const Order& order, const std::vector<LogPosition>& events,
                       std::vector<StoreWrite>& writes) {
  writes.push_back({kOrdersTable, order.id, EncodeOrderRecord(order, events)});
  const std::string status(OrderStatusName(order.status));
  writes.push_back({kOrdersByCustomerTable, OrderByCustomerKey(order), status});
  writes.push_back({kOrdersByDateTable, OrderByDateKey(order), status});
}

Status CustomerProjector::ApplyOrderEvent(const EventEnvelope& event, const EventPosition& position,
                                          StateView& view, Cache& cache,
                                          std::vector<StoreWrite>& writes) {
  auto change = DecodeOrderChange(event);
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
  if (auto st = ApplyOrderChange(order, event, *change); !st) return st;
  auto customer = LoadCustomer(view, cache, change->customer_id);
  if (!customer) return Fail(customer.error());
  if (!*customer) {
    return Fail(Error::DataLoss("Order " + order.id + " of unknown customer " + change->customer_id));
  }
  Customer& c = **customer;
  CustomerStats stats = c.stats;
  if (auto st = ApplyOrderToStats(stats, *change); !st) return st;
  // From here nothing refuses the event: the remembered customer changes in place (a failed
  // read below fails the batch, which discards what is remembered).
  if (stats != c.stats) {
    c.stats = stats;
    writes.push_back({kCustomerFiguresTable, c.id, EncodeCustomerFigures(c)});
  }
  // The customer's history finds this event through the order's record (one key fewer for
  // every order event than an entry of its own).
  events.push_back({position.partition, position.offset});
  AppendOrderWrites(order, events, writes);
  if (change->placed) return BumpCounter(view, OrderCountKey(position.partition), writes);
  return {};
}

Status CustomerProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                StateView& view, std::vector<StoreWrite>& writes) {
  Cache& cache = CacheOf(position.partition);
  if (event.aggregate_type == kOrderAggregate) {
    return ApplyOrderEvent(event, position, view, cache, writes);
  }
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
      // Only drop the index entry if it still points here (an imported log may reuse emails).
      auto owner = view.Get(kCustomersByEmailTable, old_email);
      if (!owner) return Fail(owner.error());
      if (*owner && **owner == customer.id) {
        writes.push_back({kCustomersByEmailTable, old_email, std::nullopt});
      }
    }
    writes.push_back({kCustomersByEmailTable, customer.email, customer.id});
  }
  // The history serves each record as it was appended: the audit trail shows what was
  // recorded, whatever later upcasting makes of it.
  writes.push_back(HistoryEntry(customer.id, position));
  if (is_new) {
    writes.push_back({kCustomersByCreatedTable, CreatedKey(customer), ""});
    if (auto st = BumpCounter(view, CountKey(position.partition), writes); !st) return st;
  }
  // A new customer is remembered once an event reads it again (an order, usually). Taking it
  // in at registration, even only while the memory has room, cost a replay of registrations
  // about a fifth of its CPU (lookups in a fuller map, and the memory itself), for one read
  // saved at the customer's first order.
  if (*loaded) **loaded = std::move(customer);
  return {};
}

Status ForEachCustomer(ReadStore& store, const std::function<bool(Customer&&)>& visit) {
  Status parse_error;
  auto st = store.Scan(kCustomersTable, "", "", [&](std::string_view key, std::string_view v) {
    auto c = CustomerFromJson(v);
    if (c) {
      if (auto st = ReadFigures(store, key, *c); !st) c = Fail(st.error());
    }
    if (!c) {
      parse_error = Fail(c.error());
      return false;
    }
    return visit(std::move(*c));
  });
  if (!st) return st;
  return parse_error;
}

Result<std::optional<std::string>> QueryCustomer(ReadStore& store, std::string_view id) {
  auto profile = store.Get(kCustomersTable, id);
  if (!profile) return Fail(profile.error());
  if (!*profile) return profile;
  Customer c;
  auto figures = ReadFigures(store, id, c);
  if (!figures) return Fail(figures.error());
  // None: a record of an older read model, which holds its figures itself (a profile without
  // any is served with figures of zero, as the projection reads it).
  if (!*figures && ProfileHoldsFigures(**profile)) return profile;
  auto served = ServedCustomerJson(**profile, c);
  if (!served) return Fail(served.error());
  return std::optional<std::string>(std::move(*served));
}

Result<int64_t> QueryCustomerCount(ReadStore& store) { return SumCounters(store, kCountPrefix); }

Result<int64_t> QueryOrderCount(ReadStore& store) { return SumCounters(store, kOrderCountPrefix); }

namespace {

// From `index`; without a ready one, from one loaded for this query (O(customers)).
Result<CustomerIndex::Page> QueryIndex(ReadStore& store, const CustomerIndex* index,
                                       const CustomerListQuery& q) {
  CustomerIndex transient;
  if (!index || !index->ready()) {
    if (auto st = transient.Load(store); !st) return Fail(st.error());
    index = &transient;
  }
  return index->Query(q);
}

}  // namespace

Result<std::vector<std::string>> QueryCustomerIdsOwnedBy(ReadStore& store,
                                                         const CustomerIndex* index,
                                                         const std::string& owner_id) {
  CustomerListQuery q;
  q.owner_id = owner_id;
  q.limit = std::numeric_limits<int>::max();
  auto found = QueryIndex(store, index, q);
  if (!found) return Fail(found.error());
  return std::move(found->ids);
}

Result<CustomerPage> QueryCustomers(ReadStore& store, const CustomerIndex* index,
                                    const CustomerListQuery& q) {
  CustomerPage page;
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  const size_t limit = static_cast<size_t>(q.limit);

  if (q.email) {
    auto id = store.Get(kCustomersByEmailTable, *q.email);
    if (!id) return Fail(id.error());
    if (!*id) return page;
    auto doc = QueryCustomer(store, **id);
    if (!doc) return Fail(doc.error());
    if (!*doc) return page;
    auto c = CustomerFromJson(**doc);
    if (!c) return Fail(c.error());
    if (CustomerIndex::Matches(q, *c)) {
      page.total = 1;
      if (skip == 0) page.items.push_back(std::move(**doc));
    }
    return page;
  }

  // Unfiltered by creation date, either way: stream the creation index, one page at a time.
  if (!q.name_contains && !q.is_active && !q.owner_id && !q.has_stats_filter() && q.sort == CustomerSort::kCreatedAt) {
    auto total = QueryCustomerCount(store);
    if (!total) return Fail(total.error());
    page.total = *total;
    size_t seen = 0;
    std::vector<std::string> ids;
    auto visit = [&](std::string_view key, std::string_view) {
      if (seen++ >= skip) ids.emplace_back(key.substr(key.find('/') + 1));
      return ids.size() < limit;
    };
    auto st = q.descending ? store.ScanReverse(kCustomersByCreatedTable, "", "", visit)
                           : store.Scan(kCustomersByCreatedTable, "", "", visit);
    if (!st) return Fail(st.error());
    for (const auto& id : ids) {
      auto doc = QueryCustomer(store, id);
      if (!doc) return Fail(doc.error());
      if (*doc) page.items.push_back(std::move(**doc));
    }
    return page;
  }

  // Everything else from the in-memory index.
  auto found = QueryIndex(store, index, q);
  if (!found) return Fail(found.error());
  page.total = found->total;
  for (const auto& id : found->ids) {
    auto doc = QueryCustomer(store, id);
    if (!doc) return Fail(doc.error());
    if (*doc) page.items.push_back(std::move(**doc));
  }
  return page;
}

Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, EventLog& log,
                                                     std::string_view id) {
  // The customer's own events from its history entries; its orders' events from their records
  // (read models built before that have history entries for those too). Served in log order.
  struct Entry {
    int64_t offset;
    int32_t partition;  // -1: an entry that holds the event itself
    std::string event;  // that event
  };
  std::vector<Entry> entries;
  const std::string prefix = std::string(id) + "/";
  Status bad;
  auto st =
      store.Scan(kCustomerEventsTable, prefix, "", [&](std::string_view key, std::string_view v) {
        auto offset = ParseInt64(key.substr(prefix.size()));
        if (!v.empty() && v.front() == '{') {  // a read model built before the history pointed
          entries.push_back({offset.value_or(0), -1, std::string(v)});
          return true;
        }
        auto partition = ParseInt64(v);
        if (!partition || !offset || *partition < 0 || *partition >= log.PartitionCount()) {
          bad = Fail(Error::DataLoss("Unreadable history entry " + std::string(key)));
          return false;
        }
        entries.push_back({*offset, static_cast<int32_t>(*partition), {}});
        return true;
      });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  std::vector<std::string> orders;
  st = store.Scan(kOrdersByCustomerTable, prefix, "", [&](std::string_view key, std::string_view) {
    orders.emplace_back(key.substr(key.rfind('/') + 1));
    return true;
  });
  if (!st) return Fail(st.error());
  std::vector<LogPosition> positions;
  for (const auto& order_id : orders) {
    auto record = store.Get(kOrdersTable, order_id);
    if (!record) return Fail(record.error());
    if (!*record) return Fail(Error::DataLoss("Order " + order_id + " is indexed but not stored"));
    if (auto order = DecodeOrderRecord(**record, &positions); !order) return Fail(order.error());
    for (const LogPosition& at : positions) {
      if (at.partition < 0 || at.partition >= log.PartitionCount() || at.offset < 0) {
        return Fail(Error::DataLoss("Order " + order_id + " points outside the log"));
      }
      entries.push_back({at.offset, at.partition, {}});
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.offset != b.offset ? a.offset < b.offset : a.partition < b.partition;
  });
  entries.erase(std::unique(entries.begin(), entries.end(),
                            [](const Entry& a, const Entry& b) {
                              return a.partition >= 0 && a.offset == b.offset &&
                                     a.partition == b.partition;
                            }),
                entries.end());

  std::vector<std::string> events(entries.size());
  // Per partition (one, unless the log was re-partitioned), the offsets to read (ascending)
  // and the slots of `events` they fill.
  std::map<int32_t, std::pair<std::vector<int64_t>, std::vector<size_t>>> wanted;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].partition < 0) {
      events[i] = std::move(entries[i].event);
      continue;
    }
    auto& [offsets, slots] = wanted[entries[i].partition];
    offsets.push_back(entries[i].offset);
    slots.push_back(i);
  }
  for (auto& [partition, want] : wanted) {
    auto records = log.ReadAt(std::string(kCustomersTopic), partition, want.first);
    if (!records) return Fail(records.error());
    for (size_t i = 0; i < records->size(); ++i)
      events[want.second[i]] = std::move((*records)[i].value);
  }
  return events;
}

}  // namespace keel

namespace keel {

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

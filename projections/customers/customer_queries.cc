#include "projections/customers/customer_queries.h"

#include <limits>
#include <optional>
#include <vector>

#include "projections/counters.h"
#include "projections/customers/customer_index.h"
#include "projections/customers/customer_records.h"

namespace keel {

Status ForEachCustomer(ReadStore& store, const std::function<bool(Customer&&)>& visit) {
  Status parse_error;
  auto st = store.Scan(kCustomersTable, "", "", [&](std::string_view key, std::string_view v) {
    auto c = CustomerFromJson(v);
    if (c) {
      if (auto st = ReadCustomerFigures(store, key, *c); !st) c = Fail(st.error());
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
  auto figures = ReadCustomerFigures(store, id, c);
  if (!figures) return Fail(figures.error());
  // None: a record of an older read model, which holds its figures itself (a profile without
  // any is served with figures of zero, as the projection reads it).
  if (!*figures && ProfileHoldsFigures(**profile)) return profile;
  auto served = ServedCustomerJson(**profile, c);
  if (!served) return Fail(served.error());
  return std::optional<std::string>(std::move(*served));
}

Result<int64_t> QueryCustomerCount(ReadStore& store) {
  return SumCounters(store, kCustomerCountPrefix);
}

namespace {

// At most this many holders of one email are looked at (more only in an imported log).
constexpr size_t kMaxEmailHolders = 16;

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
    // The holders of the email; more than one only when an imported log gave two customers one
    // email: the one updated last answers, as the write side's repair decides.
    std::vector<std::string> holders;
    const std::string prefix = CustomerEmailKey(*q.email, "");
    auto scanned = store.Scan(kCustomersByEmailTable, prefix, prefix,
                              [&](std::string_view key, std::string_view) {
                                holders.emplace_back(key.substr(prefix.size()));
                                return holders.size() < kMaxEmailHolders;
                              });
    if (!scanned) return Fail(scanned.error());
    if (holders.empty()) {
      // A store of format 3 or before (email → id) serves while its successor is rebuilt.
      auto id = store.Get(kCustomersByEmailTable, *q.email);
      if (!id) return Fail(id.error());
      if (*id) holders.push_back(std::move(**id));
    }
    std::optional<Customer> best;
    std::string best_doc;
    for (const auto& id : holders) {
      auto doc = QueryCustomer(store, id);
      if (!doc) return Fail(doc.error());
      if (!*doc) continue;
      auto c = CustomerFromJson(**doc);
      if (!c) return Fail(c.error());
      if (c->email != *q.email) continue;
      if (!best || c->updated_at > best->updated_at) {
        best = std::move(*c);
        best_doc = std::move(**doc);
      }
    }
    if (best && CustomerIndex::Matches(q, *best)) {
      page.total = 1;
      if (skip == 0) {
        page.ids.push_back(best->id);
        page.items.push_back(std::move(best_doc));
      }
    }
    return page;
  }

  // Unfiltered by creation date, either way: stream the creation index, one page at a time.
  if (!q.name_contains && !q.is_active && !q.owner_id && !q.has_stats_filter() &&
      !q.has_profile_filter() && q.sort == CustomerSort::kCreatedAt) {
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
    for (auto& id : ids) {
      auto doc = QueryCustomer(store, id);
      if (!doc) return Fail(doc.error());
      if (*doc) {
        page.items.push_back(std::move(**doc));
        page.ids.push_back(std::move(id));
      }
    }
    return page;
  }

  // Everything else from the in-memory index.
  auto found = QueryIndex(store, index, q);
  if (!found) return Fail(found.error());
  page.total = found->total;
  for (auto& id : found->ids) {
    auto doc = QueryCustomer(store, id);
    if (!doc) return Fail(doc.error());
    if (*doc) {
      page.items.push_back(std::move(**doc));
      page.ids.push_back(std::move(id));
    }
  }
  return page;
}

}  // namespace keel

#include "projections/customer_projector.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "domain/customer.h"
#include "domain/numbers.h"

namespace keel {
namespace {

// One counter per partition ("customers/count/00003"): partitions are folded concurrently.
constexpr std::string_view kCountPrefix = "customers/count/";

std::string CountKey(int32_t partition) {
  char p[16];
  std::snprintf(p, sizeof p, "%05d", partition);
  return std::string(kCountPrefix) + p;
}

std::string EventKey(std::string_view id, int64_t version) {
  char v[24];
  std::snprintf(v, sizeof v, "%020lld", static_cast<long long>(version));
  return std::string(id) + "/" + v;
}

std::string CreatedKey(const Customer& c) {
  char at[24];
  std::snprintf(at, sizeof at, "%020lld", static_cast<long long>(std::max<Millis>(c.created_at, 0)));
  return std::string(at) + "/" + c.id;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
  return out;
}

}  // namespace

std::vector<std::string> CustomerProjector::tables() const {
  return {std::string(kCustomersTable), std::string(kCustomersByEmailTable),
          std::string(kCustomerEventsTable), std::string(kCustomersByCreatedTable)};
}

Status CustomerProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kCustomerAggregate) {
    return Fail(Error::DataLoss("Event of aggregate type '" + event.aggregate_type +
                                "' on the customers topic"));
  }
  Customer customer;
  auto stored = view.Get(kCustomersTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto parsed = CustomerFromJson(**stored);
    if (!parsed) return Fail(Error::Internal("Customer record unreadable: " + parsed.error().message));
    customer = std::move(*parsed);
  }
  const std::string old_email = customer.email;
  const bool is_new = customer.version == 0;
  if (auto st = ApplyCustomerEvent(customer, event); !st) return st;

  writes.push_back({std::string(kCustomersTable), customer.id, CustomerToJson(customer)});
  if (customer.email != old_email) {
    if (!old_email.empty()) {
      // Only drop the index entry if it still points here (an imported log may reuse emails).
      auto owner = view.Get(kCustomersByEmailTable, old_email);
      if (!owner) return Fail(owner.error());
      if (*owner && **owner == customer.id) {
        writes.push_back({std::string(kCustomersByEmailTable), old_email, std::nullopt});
      }
    }
    writes.push_back({std::string(kCustomersByEmailTable), customer.email, customer.id});
  }
  // The history keeps each record as it was appended: the audit trail shows what was recorded,
  // whatever later upcasting makes of it.
  writes.push_back({std::string(kCustomerEventsTable), EventKey(customer.id, customer.version),
                    std::string(position.record)});
  if (is_new) {
    writes.push_back({std::string(kCustomersByCreatedTable), CreatedKey(customer), ""});
    const std::string key = CountKey(position.partition);
    auto count = view.Get(kProjectionMetaTable, key);
    if (!count) return Fail(count.error());
    writes.push_back({std::string(kProjectionMetaTable), key,
                      std::to_string((*count ? ParseInt64(**count).value_or(0) : 0) + 1)});
  }
  return {};
}

Result<std::optional<std::string>> QueryCustomer(ReadStore& store, std::string_view id) {
  return store.Get(kCustomersTable, id);
}

Result<int64_t> QueryCustomerCount(ReadStore& store) {
  int64_t n = 0;
  auto st = store.Scan(kProjectionMetaTable, kCountPrefix, "", [&](std::string_view, std::string_view v) {
    n += ParseInt64(v).value_or(0);
    return true;
  });
  if (!st) return Fail(st.error());
  return n;
}

Result<CustomerPage> QueryCustomers(ReadStore& store, const CustomerListQuery& q) {
  CustomerPage page;
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  const size_t limit = static_cast<size_t>(q.limit);

  if (q.email) {
    auto id = store.Get(kCustomersByEmailTable, *q.email);
    if (!id) return Fail(id.error());
    if (!*id) return page;
    auto doc = store.Get(kCustomersTable, **id);
    if (!doc) return Fail(doc.error());
    if (!*doc) return page;
    auto c = CustomerFromJson(**doc);
    if (!c) return Fail(c.error());
    const bool match = (!q.is_active || c->is_active == *q.is_active) &&
                       (!q.name_contains || Lower(c->name).find(Lower(*q.name_contains)) != std::string::npos);
    if (match) {
      page.total = 1;
      if (skip == 0) page.items.push_back(std::move(**doc));
    }
    return page;
  }

  // Unfiltered by creation date, either way: stream the creation index, one page at a time.
  if (!q.name_contains && !q.is_active && q.sort == CustomerSort::kCreatedAt) {
    auto total = QueryCustomerCount(store);
    if (!total) return Fail(total.error());
    page.total = *total;
    size_t seen = 0;
    std::vector<std::string> ids;
    auto visit = [&](std::string_view key, std::string_view) {
      if (seen++ >= skip) ids.emplace_back(key.substr(key.find('/') + 1));
      return ids.size() < limit;
    };
    auto st = q.descending ? store.ScanReverse(kCustomersByCreatedTable, "", visit)
                           : store.Scan(kCustomersByCreatedTable, "", "", visit);
    if (!st) return Fail(st.error());
    for (const auto& id : ids) {
      auto doc = store.Get(kCustomersTable, id);
      if (!doc) return Fail(doc.error());
      if (*doc) page.items.push_back(std::move(**doc));
    }
    return page;
  }

  // Everything else: one pass over the customers, keeping what matches. O(customers); an
  // in-memory columnar index is the next step for large populations.
  struct Row {
    Customer c;
    std::string json;
  };
  std::vector<Row> rows;
  const std::string needle = q.name_contains ? Lower(*q.name_contains) : "";
  Status parse_error;
  auto st = store.Scan(kCustomersTable, "", "", [&](std::string_view, std::string_view v) {
    auto c = CustomerFromJson(v);
    if (!c) {
      parse_error = Fail(c.error());
      return false;
    }
    if (q.is_active && c->is_active != *q.is_active) return true;
    if (q.name_contains && Lower(c->name).find(needle) == std::string::npos) return true;
    rows.push_back({std::move(*c), std::string(v)});
    return true;
  });
  if (!st) return Fail(st.error());
  if (!parse_error) return Fail(parse_error.error());
  auto less = [&](const Row& a, const Row& b) {
    switch (q.sort) {
      case CustomerSort::kTotalSpending:
        if (a.c.total_spending_cents != b.c.total_spending_cents) {
          return a.c.total_spending_cents < b.c.total_spending_cents;
        }
        break;
      case CustomerSort::kName:
        if (a.c.name != b.c.name) return a.c.name < b.c.name;
        break;
      case CustomerSort::kCreatedAt:
        if (a.c.created_at != b.c.created_at) return a.c.created_at < b.c.created_at;
        break;
    }
    return a.c.id < b.c.id;  // a total order, so that pages never overlap
  };
  if (q.descending) {
    std::stable_sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return less(b, a); });
  } else {
    std::stable_sort(rows.begin(), rows.end(), less);
  }
  page.total = static_cast<int64_t>(rows.size());
  for (size_t i = skip; i < rows.size() && page.items.size() < limit; ++i) {
    page.items.push_back(std::move(rows[i].json));
  }
  return page;
}

Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, std::string_view id) {
  std::vector<std::string> events;
  const std::string prefix = std::string(id) + "/";
  auto st = store.Scan(kCustomerEventsTable, prefix, "", [&](std::string_view, std::string_view v) {
    events.emplace_back(v);
    return true;
  });
  if (!st) return Fail(st.error());
  return events;
}

}  // namespace keel

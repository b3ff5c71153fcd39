#include "projections/customers/customer_index.h"

#include <algorithm>
#include <mutex>

#include "domain/customer.h"
#include "domain/text.h"

namespace keel {

CustomerIndex::Row CustomerIndex::RowOf(const Customer& c) {
  return {c.id,
          c.name,
          AsciiLower(c.name),
          c.is_active,
          c.owner_id.value_or(""),
          TotalSpendingCents(c),
          TotalVisits(c),
          c.stats.order_count,
          AverageOrderCents(c),
          c.stats.last_order_at,
          c.created_at,
          c.status,
          c.customer_type,
          c.details.get().tags};
}

Status CustomerIndex::Load(ReadStore& store) {
  CustomerView* self = this;
  return LoadCustomerViews(store, {&self, 1});
}

void CustomerIndex::StartLoad(size_t expected_customers) {
  loaded_.clear();
  loaded_.reserve(expected_customers);
  std::unique_lock lock(mu_);
  loading_ = true;
  pending_.clear();
}

void CustomerIndex::Loaded(const Customer& c) { loaded_.push_back(RowOf(c)); }

void CustomerIndex::FinishLoad(const Status& scan) {
  std::vector<Row> rows = std::move(loaded_);
  loaded_ = {};
  std::unique_lock lock(mu_);
  loading_ = false;
  if (!scan) {
    broken_ = true;
    pending_.clear();
    return;
  }
  rows_.clear();
  pos_.clear();
  rows_.reserve(rows.size());
  for (auto& row : rows) Upsert(std::move(row));
  for (auto& row : pending_) Upsert(std::move(row));
  pending_.clear();
  ready_ = true;
}

void CustomerIndex::Apply(const std::vector<Customer>& changed) {
  std::unique_lock lock(mu_);
  if (loading_) {
    for (const Customer& c : changed) pending_.push_back(RowOf(c));
  } else if (ready_) {  // before any load, the store holds it and the load will read it
    for (const Customer& c : changed) Upsert(RowOf(c));
  }
}

void CustomerIndex::Upsert(Row row) {
  auto [it, inserted] = pos_.try_emplace(row.id, rows_.size());
  if (inserted) {
    rows_.push_back(std::move(row));
  } else {
    rows_[it->second] = std::move(row);
  }
}

size_t CustomerIndex::size() const {
  std::shared_lock lock(mu_);
  return rows_.size();
}

bool CustomerIndex::RowMatches(const CustomerListQuery& q, std::string_view needle, const Row& r) {
  if (q.is_active && r.is_active != *q.is_active) return false;
  if (q.owner_id && r.owner_id != *q.owner_id) return false;
  if (q.status && r.status != *q.status) return false;
  if (q.customer_type && r.customer_type != *q.customer_type) return false;
  if (q.tag && std::find(r.tags.begin(), r.tags.end(), *q.tag) == r.tags.end()) return false;
  if (q.name_contains && r.name_lower.find(needle) == std::string::npos) return false;
  if (q.min_total_spending_cents && r.total_spending_cents < *q.min_total_spending_cents)
    return false;
  if (q.max_total_spending_cents && r.total_spending_cents > *q.max_total_spending_cents)
    return false;
  if (q.min_order_count && r.order_count < *q.min_order_count) return false;
  if (q.max_order_count && r.order_count > *q.max_order_count) return false;
  if (q.min_visits && r.visits < *q.min_visits) return false;
  if (q.last_order_from && (!r.last_order_at || *r.last_order_at < *q.last_order_from))
    return false;
  if (q.last_order_to && (!r.last_order_at || *r.last_order_at > *q.last_order_to)) return false;
  return true;
}

bool CustomerIndex::Matches(const CustomerListQuery& q, const Customer& customer) {
  return RowMatches(q, q.name_contains ? AsciiLower(*q.name_contains) : "", RowOf(customer));
}

CustomerIndex::Page CustomerIndex::Query(const CustomerListQuery& q) const {
  const std::string needle = q.name_contains ? AsciiLower(*q.name_contains) : "";
  std::shared_lock lock(mu_);
  std::vector<const Row*> matches;
  matches.reserve(rows_.size());
  for (const Row& r : rows_) {
    if (RowMatches(q, needle, r)) matches.push_back(&r);
  }
  // The same order as the store scan: the sort key, then the id, so pages never overlap.
  auto less = [&](const Row* a, const Row* b) {
    switch (q.sort) {
      case CustomerSort::kTotalSpending:
        if (a->total_spending_cents != b->total_spending_cents) {
          return a->total_spending_cents < b->total_spending_cents;
        }
        break;
      case CustomerSort::kName:
        if (a->name != b->name) return a->name < b->name;
        break;
      case CustomerSort::kCreatedAt:
        if (a->created_at != b->created_at) return a->created_at < b->created_at;
        break;
      case CustomerSort::kOrderCount:
        if (a->order_count != b->order_count) return a->order_count < b->order_count;
        break;
      case CustomerSort::kVisits:
        if (a->visits != b->visits) return a->visits < b->visits;
        break;
      case CustomerSort::kAverageOrderValue:
        if (a->average_order_cents != b->average_order_cents) {
          return a->average_order_cents < b->average_order_cents;
        }
        break;
      case CustomerSort::kLastOrderAt:
        if (a->last_order_at != b->last_order_at) return a->last_order_at < b->last_order_at;
        break;
    }
    return a->id < b->id;
  };
  auto order = [&](const Row* a, const Row* b) { return q.descending ? less(b, a) : less(a, b); };
  Page page;
  page.total = static_cast<int64_t>(matches.size());
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  if (skip >= matches.size()) return page;
  const size_t end = std::min(matches.size(), skip + static_cast<size_t>(q.limit));
  std::partial_sort(matches.begin(), matches.begin() + static_cast<long>(end), matches.end(),
                    order);
  for (size_t i = skip; i < end; ++i) page.ids.push_back(matches[i]->id);
  return page;
}

}  // namespace keel

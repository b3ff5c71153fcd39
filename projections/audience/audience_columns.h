// AudienceColumns: a columnar, in-memory copy of the fields segment rules read, for every
// customer, so that an audience count over a million customers answers in milliseconds
// (issue 15). A row per customer, an array per field: the figures (int32 while every value fits,
// int64 from the first that does not), the times as int64 millis (a time a customer lacks holds a
// sentinel no instant Keel takes can equal), isActive and "has a phone" as bits, the owner as a
// code into a dictionary of owner ids, the id packed in 16 bytes (a canonical UUID; any other id
// is kept as text beside), and the case-folded name, email (its domain coded through a
// dictionary) and phone each in an arena of their own, found by offsets; the loyalty level and
// the three RFM scores a byte each (0 while never scored); an id → row hash table. Rows are
// appended in load order, then in the order new customers appear; an updated customer overwrites
// its row. About 147 bytes per customer (MemoryBytes over the million customers of
// audience_columns_test's bench, the standing's four included).
//
// A rule tree is evaluated to a bitset over the rows: each condition compares a whole column
// against constants computed once per query; AND, OR and NOT combine bitsets word by word, and
// the text conditions (contains, startsWith, …) run last, on the rows still in question. From
// `parallel_min_rows` rows up, a query evaluates the two halves of the rows on two threads (the
// caller's and a second one the columns keep). The outcome is EvaluateRules' on every customer
// (domain/segment_rules.h).
//
// Loaded and kept current as a CustomerView (projections/customers/customer_view.h).
// Thread-safe: queries share a lock, Apply and FinishLoad take it alone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/segment_rules.h"
#include "domain/time.h"
#include "infra/read_store.h"
#include "projections/customers/customer_view.h"
#include "projections/writer_first_mutex.h"

namespace keel {

namespace audience_internal {
struct Columns;      // the arrays, in audience_columns.cc
class QueryThreads;  // the second thread and the queries' scratch memory
}  // namespace audience_internal

class AudienceColumns final : public CustomerView {
 public:
  static constexpr size_t kParallelMinRows = 65536;
  // `parallel_min_rows`: from this many rows up, a query uses a second thread.
  explicit AudienceColumns(size_t parallel_min_rows = kParallelMinRows);
  ~AudienceColumns() override;
  AudienceColumns(const AudienceColumns&) = delete;
  AudienceColumns& operator=(const AudienceColumns&) = delete;

  // Every customer in the store's customers table (LoadCustomerViews with this view alone).
  Status Load(ReadStore& store);
  void StartLoad(size_t expected_customers) override;
  void Loaded(const Customer& customer) override;
  void FinishLoad(const Status& scan) override;
  void Apply(const std::vector<Customer>& changed) override;

  // Loaded, and not broken: the queries below answer only then (otherwise they find no one).
  bool ready() const { return ready_.load() && !broken_.load(); }
  // A load failed, or the arena outgrew its 4 GiB of offsets: broken for good.
  bool broken() const { return broken_.load(); }

  struct Audience {
    int64_t count = 0;                // customers matching
    std::vector<std::string> sample;  // the ids of the first matches, in row order
  };
  // The customers matching `rules` at `now`: an exact count and up to `sample_size` ids.
  Audience Count(const RuleNode& rules, Millis now, size_t sample_size) const;
  // The ids of the matches in row order from the `offset`-th, at most `limit`; `total` (if not
  // null) is set to the number of matches.
  std::vector<std::string> Members(const RuleNode& rules, Millis now, size_t offset, size_t limit,
                                   int64_t* total) const;

  // The bytes the columns hold (capacity, not only what is used).
  size_t MemoryBytes() const;
  size_t size() const;  // rows: customers

 private:
  using Columns = audience_internal::Columns;

  // mu_ held (shared or alone): hands `use` the rows that match, as a bitset.
  void Evaluate(const RuleNode& rules, Millis now,
                const std::function<void(std::span<const uint64_t>)>& use) const;

  const size_t parallel_min_rows_;
  const std::unique_ptr<audience_internal::QueryThreads> threads_;
  std::atomic<bool> broken_{false};
  std::atomic<bool> ready_{false};
  // The loading thread's alone, from StartLoad to FinishLoad.
  std::unique_ptr<Columns> loaded_;
  bool load_overflowed_ = false;
  mutable WriterFirstMutex mu_;    // Apply, from the projection, is not kept waiting by reads
  bool loading_ = false;           // guarded by mu_
  std::vector<Customer> pending_;  // guarded by mu_; Apply's changes while loading
  std::unique_ptr<Columns> rows_;  // guarded by mu_
};

}  // namespace keel

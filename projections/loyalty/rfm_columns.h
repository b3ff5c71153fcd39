// RfmColumns: an in-memory, columnar copy of every customer's RFM inputs (issue 16), from which
// loyalty levels are computed at read time: per customer the UTC day of the last order, the
// orders not cancelled, the total spending in cents and whether it is active, each in an array
// (about 70 bytes a customer with its id, the id → row map and the recorded standing). Loaded and
// kept current as a CustomerView (projections/customers/customer_view.h) by the customers
// projector.
//
// Time: recency depends on `now`, which is the query's: a read may take the clock, a projection
// may not (a replay must fold the same read model whatever day it runs), so nothing time-relative
// is stored here, only the last order's day.
//
// For given settings and `now` the view scores every customer and counts the levels (Levels), or
// scores one (Of). The quintile cut points depend only on the data (domain/loyalty.h,
// QuintileCuts: over the active customers with at least one order), so they are computed once
// per change of the data, cached, and shared by every settings and day; the fixed ones cost
// nothing. Only active customers are counted in the levels and the quintile base; a deactivated
// customer is still scored when asked for.
//
// Thread-safety: queries share a lock, Apply and FinishLoad take it alone; the cache has a lock
// of its own, taken under the shared one.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/loyalty.h"
#include "infra/read_store.h"
#include "projections/customers/customer_view.h"
#include "projections/writer_first_mutex.h"

namespace keel {

class RfmColumns final : public CustomerView {
 public:
  // The quintile cut points are computed again at most once per `min_recompute_interval` (a read
  // in between, after a change of the data, is served the last ones computed): while orders flow
  // a read does not pay a full sort of the base each time (about 240 ms at 1M customers).
  explicit RfmColumns(
      std::chrono::milliseconds min_recompute_interval = std::chrono::milliseconds(1000))
      : min_recompute_interval_(min_recompute_interval) {}
  RfmColumns(const RfmColumns&) = delete;
  RfmColumns& operator=(const RfmColumns&) = delete;

  // Every customer in the store's customers table (LoadCustomerViews with this view alone).
  Status Load(ReadStore& store);
  void StartLoad(size_t expected_customers) override;
  void Loaded(const Customer& customer) override;
  void FinishLoad(const Status& scan) override;
  void Apply(const std::vector<Customer>& changed) override;

  // Loaded and not broken (a failed load breaks the view for good): only then do the queries
  // below answer from every customer.
  bool ready() const { return ready_.load() && !broken_.load(); }

  // The cut points in force for `settings` at `now`, and where they come from.
  struct Thresholds {
    RfmCuts cuts;
    bool quintile = false;   // quintiles of the base (false: the fixed ladders)
    bool fell_back = false;  // quintile mode, but the base is below quintile_min_customers
    int64_t customers_with_orders = 0;  // the quintile base: active customers with orders
    // False when the quintile cut points are of older data (computed at most
    // min_recompute_interval ago): the answer says it is stale.
    bool current = true;
  };
  struct Summary {
    Thresholds thresholds;
    int64_t customers = 0;                            // active customers
    std::array<int64_t, kLoyaltyLevels> per_level{};  // active customers per level
  };
  // A full re-score: every customer's scores and level, and the count per level. `levels`, if
  // given, receives each row's level (in row order).
  Summary Levels(const LoyaltySettings& settings, Millis now,
                 std::vector<uint8_t>* levels = nullptr) const;

  struct CustomerLoyalty {
    RfmScores scores;
    LoyaltyLevel level = LoyaltyLevel::kBronze;
  };
  // One customer's; nullopt for an id the view does not hold.
  std::optional<CustomerLoyalty> Of(std::string_view id, const LoyaltySettings& settings,
                                    Millis now) const;

  // A customer whose standing under `settings` at `now` differs from the one recorded
  // (Customer::standing, which the level keeper records: commands/level_keeper.h).
  struct StandingChange {
    std::string id;
    LoyaltyStanding standing;
  };
  struct StandingChanges {
    std::vector<StandingChange> changes;  // at most `max`, in row order
    bool more = false;                    // there were more than `max`
    size_t customers = 0;                 // rows compared
  };
  // Every customer is compared, active or not (a segment may select inactive ones). `cuts`: the
  // cut points to score against (the level keeper freezes the quintile ones for a day); none:
  // those in force now.
  StandingChanges ChangedStandings(const LoyaltySettings& settings, Millis now, size_t max,
                                   const RfmCuts* cuts = nullptr) const;
  // The cut points in force for `settings` at `now`, as Levels uses them.
  Thresholds CutsFor(const LoyaltySettings& settings, Millis now) const;

  size_t size() const;         // rows: customers
  size_t MemoryBytes() const;  // about what the columns hold
  // How many times the quintile cut points were computed (a test sees the cache work).
  int64_t quintile_computations() const { return quintile_computations_.load(); }

 private:
  struct Row {
    std::string id;
    int32_t last_order_day;  // kNoOrder without orders
    int32_t orders;          // held at INT32_MAX
    int64_t spend_cents;
    bool active;
    uint16_t recorded;  // PackStanding of the recorded standing
  };
  // A standing in 11 bits: the three scores (3 bits each) and the level (2 bits).
  static uint16_t PackStanding(const LoyaltyStanding& s);
  static constexpr int32_t kNoOrder = INT32_MIN;
  static Row RowOf(const Customer& c);
  // mu_ held exclusively; whether the RFM inputs changed (or the row is new).
  bool Upsert(const Row& row);
  // mu_ held (shared or alone).
  Thresholds ThresholdsFor(const LoyaltySettings& settings, int64_t today) const;
  CustomerLoyalty Score(size_t row, const RfmCuts& cuts,
                        const std::array<int64_t, 3>& level_tenths) const;

  std::atomic<bool> broken_{false};
  std::atomic<bool> ready_{false};
  std::vector<Row> loaded_;      // the loading thread's alone, from StartLoad to FinishLoad
  mutable WriterFirstMutex mu_;  // Apply, from the projection, is not kept waiting by reads
  bool loading_ = false;         // guarded by mu_
  std::vector<Row> pending_;     // guarded by mu_; Apply's changes while loading
  // The columns; guarded by mu_.
  std::unordered_map<std::string, uint32_t> row_of_;
  std::vector<int32_t> last_order_day_;
  std::vector<int32_t> orders_;
  std::vector<int64_t> spend_cents_;
  std::vector<uint8_t> active_;
  std::vector<uint16_t> recorded_;
  std::vector<const std::string*> id_of_;  // row → its key in row_of_ (nodes never move)
  int64_t with_orders_ = 0;  // guarded by mu_; active rows with orders: the quintile base
  uint64_t generation_ = 1;  // guarded by mu_; bumped by every change of the columns

  // The quintile cut points of generation cached_generation_ (0: none yet).
  mutable std::mutex cache_mu_;
  mutable uint64_t cached_generation_ = 0;  // guarded by cache_mu_
  mutable std::chrono::steady_clock::time_point computed_at_{};  // guarded by cache_mu_
  const std::chrono::milliseconds min_recompute_interval_;
  mutable RfmCuts quintiles_{};             // guarded by cache_mu_
  mutable std::atomic<int64_t> quintile_computations_{0};
};

}  // namespace keel

#include "projections/loyalty/rfm_columns.h"

#include <algorithm>
#include <future>
#include <limits>
#include <shared_mutex>

namespace keel {

namespace {

// The level of each sum of three scores (3 to 15; index it by the sum), computed once a scan
// instead of once a customer: the level depends on the sum alone.
std::array<LoyaltyLevel, 16> LevelsOfSums(const std::array<int64_t, 3>& level_tenths) {
  std::array<LoyaltyLevel, 16> out{};
  for (int sum = 3; sum <= 15; ++sum) {
    out[static_cast<size_t>(sum)] = LevelOf({sum - 2, 1, 1}, level_tenths);
  }
  return out;
}

}  // namespace

RfmColumns::Row RfmColumns::RowOf(const Customer& c) {
  Row row;
  row.id = c.id;
  row.last_order_day = kNoOrder;
  if (c.stats.last_order_at) {
    row.last_order_day = static_cast<int32_t>(DayNumber(*c.stats.last_order_at));
  }
  row.orders = static_cast<int32_t>(
      std::min<int64_t>(c.stats.order_count, std::numeric_limits<int32_t>::max()));
  row.spend_cents = TotalSpendingCents(c);
  row.active = c.is_active;
  row.recorded = PackStanding(c.standing);
  return row;
}

uint16_t RfmColumns::PackStanding(const LoyaltyStanding& s) {
  return static_cast<uint16_t>(s.recency | s.frequency << 3 | s.monetary << 6 |
                               static_cast<unsigned>(s.level) << 9);
}

Status RfmColumns::Load(ReadStore& store) {
  CustomerView* self = this;
  return LoadCustomerViews(store, {&self, 1});
}

void RfmColumns::StartLoad(size_t expected_customers) {
  loaded_.clear();
  loaded_.reserve(expected_customers);
  std::unique_lock lock(mu_);
  loading_ = true;
  pending_.clear();
}

void RfmColumns::Loaded(const Customer& c) { loaded_.push_back(RowOf(c)); }

void RfmColumns::FinishLoad(const Status& scan) {
  std::vector<Row> rows = std::move(loaded_);
  loaded_ = {};
  std::unique_lock lock(mu_);
  loading_ = false;
  if (!scan) {
    broken_ = true;
    pending_.clear();
    return;
  }
  row_of_.clear();
  last_order_day_.clear();
  orders_.clear();
  spend_cents_.clear();
  active_.clear();
  recorded_.clear();
  id_of_.clear();
  with_orders_ = 0;
  row_of_.reserve(rows.size());
  last_order_day_.reserve(rows.size());
  orders_.reserve(rows.size());
  spend_cents_.reserve(rows.size());
  active_.reserve(rows.size());
  recorded_.reserve(rows.size());
  id_of_.reserve(rows.size());
  for (const Row& row : rows) Upsert(row);
  for (const Row& row : pending_) Upsert(row);
  pending_.clear();
  ++generation_;
  ready_ = true;
}

void RfmColumns::Apply(const std::vector<Customer>& changed) {
  std::unique_lock lock(mu_);
  if (loading_) {
    for (const Customer& c : changed) pending_.push_back(RowOf(c));
  } else if (ready_) {  // before any load, the store holds it and the load will read it
    // Only a change of the RFM inputs makes the quintile cut points of another generation: a
    // recorded standing alone does not.
    bool inputs_changed = false;
    for (const Customer& c : changed) inputs_changed |= Upsert(RowOf(c));
    if (inputs_changed) ++generation_;
  }
}

bool RfmColumns::Upsert(const Row& row) {
  auto [it, inserted] = row_of_.try_emplace(row.id, static_cast<uint32_t>(orders_.size()));
  const size_t i = it->second;
  const bool same_inputs = !inserted && last_order_day_[i] == row.last_order_day &&
                           orders_[i] == row.orders && spend_cents_[i] == row.spend_cents &&
                           active_[i] == (row.active ? 1 : 0);
  if (inserted) {
    last_order_day_.push_back(0);
    orders_.push_back(0);
    spend_cents_.push_back(0);
    active_.push_back(0);
    recorded_.push_back(0);
    id_of_.push_back(&it->first);
  } else if (active_[i] && orders_[i] > 0) {
    --with_orders_;
  }
  last_order_day_[i] = row.last_order_day;
  orders_[i] = row.orders;
  spend_cents_[i] = row.spend_cents;
  active_[i] = row.active ? 1 : 0;
  recorded_[i] = row.recorded;
  if (row.active && row.orders > 0) ++with_orders_;
  return !same_inputs;
}

RfmColumns::Thresholds RfmColumns::ThresholdsFor(const LoyaltySettings& settings,
                                                 int64_t today) const {
  Thresholds t;
  t.customers_with_orders = with_orders_;
  if (settings.mode == LoyaltyMode::kFixed || with_orders_ < settings.quintile_min_customers) {
    t.cuts = FixedCuts(settings, today);
    t.fell_back = settings.mode == LoyaltyMode::kQuintile;
    return t;
  }
  t.quintile = true;
  std::lock_guard cache(cache_mu_);
  const auto steady_now = std::chrono::steady_clock::now();
  if (cached_generation_ != generation_ &&
      (cached_generation_ == 0 || steady_now - computed_at_ >= min_recompute_interval_)) {
    std::vector<int64_t> days, orders, spend;
    days.reserve(static_cast<size_t>(with_orders_));
    orders.reserve(static_cast<size_t>(with_orders_));
    spend.reserve(static_cast<size_t>(with_orders_));
    for (size_t i = 0; i < orders_.size(); ++i) {
      if (!active_[i] || orders_[i] <= 0) continue;
      days.push_back(last_order_day_[i]);
      orders.push_back(orders_[i]);
      spend.push_back(spend_cents_[i]);
    }
    // Three sorts of up to a million values: the spend's on a second thread.
    auto monetary = std::async(std::launch::async, [&spend] { return QuintileCuts(spend); });
    quintiles_.recency_day = QuintileCuts(days);
    quintiles_.frequency = QuintileCuts(orders);
    quintiles_.monetary = monetary.get();
    // Stamped once computed: a sort longer than the interval does not make every read sort.
    computed_at_ = std::chrono::steady_clock::now();
    cached_generation_ = generation_;
    ++quintile_computations_;
  }
  t.cuts = quintiles_;
  t.current = cached_generation_ == generation_;
  return t;
}

RfmColumns::CustomerLoyalty RfmColumns::Score(size_t i, const RfmCuts& cuts,
                                              const std::array<int64_t, 3>& level_tenths) const {
  CustomerLoyalty out;
  out.scores.recency = ScoreOf(last_order_day_[i], cuts.recency_day);
  out.scores.frequency = ScoreOf(orders_[i], cuts.frequency);
  out.scores.monetary = ScoreOf(spend_cents_[i], cuts.monetary);
  out.level = LevelOf(out.scores, level_tenths);
  return out;
}

RfmColumns::Summary RfmColumns::Levels(const LoyaltySettings& settings, Millis now,
                                       std::vector<uint8_t>* levels) const {
  std::shared_lock lock(mu_);
  Summary summary;
  summary.thresholds = ThresholdsFor(settings, DayNumber(now));
  const RfmCuts& cuts = summary.thresholds.cuts;
  const auto level_of_sum = LevelsOfSums(settings.level_tenths);
  const size_t n = orders_.size();
  if (levels) levels->resize(n);
  std::array<int64_t, kLoyaltyLevels> per_level{};
  int64_t customers = 0;
  for (size_t i = 0; i < n; ++i) {
    const int sum = ScoreOf(last_order_day_[i], cuts.recency_day) +
                    ScoreOf(orders_[i], cuts.frequency) + ScoreOf(spend_cents_[i], cuts.monetary);
    const auto level = static_cast<uint8_t>(level_of_sum[static_cast<size_t>(sum)]);
    if (levels) (*levels)[i] = level;
    per_level[level] += active_[i];
    customers += active_[i];
  }
  summary.per_level = per_level;
  summary.customers = customers;
  return summary;
}

std::optional<RfmColumns::CustomerLoyalty> RfmColumns::Of(std::string_view id,
                                                          const LoyaltySettings& settings,
                                                          Millis now) const {
  std::shared_lock lock(mu_);
  auto it = row_of_.find(std::string(id));
  if (it == row_of_.end()) return std::nullopt;
  const Thresholds t = ThresholdsFor(settings, DayNumber(now));
  return Score(it->second, t.cuts, settings.level_tenths);
}

RfmColumns::Thresholds RfmColumns::CutsFor(const LoyaltySettings& settings, Millis now) const {
  std::shared_lock lock(mu_);
  return ThresholdsFor(settings, DayNumber(now));
}

RfmColumns::StandingChanges RfmColumns::ChangedStandings(const LoyaltySettings& settings,
                                                         Millis now, size_t max,
                                                         const RfmCuts* frozen) const {
  std::shared_lock lock(mu_);
  StandingChanges out;
  const RfmCuts cuts = frozen ? *frozen : ThresholdsFor(settings, DayNumber(now)).cuts;
  const auto level_of_sum = LevelsOfSums(settings.level_tenths);
  const size_t n = orders_.size();
  out.customers = n;
  for (size_t i = 0; i < n; ++i) {
    const RfmScores scores{ScoreOf(last_order_day_[i], cuts.recency_day),
                           ScoreOf(orders_[i], cuts.frequency),
                           ScoreOf(spend_cents_[i], cuts.monetary)};
    const LoyaltyStanding standing = StandingOf(
        scores,
        level_of_sum[static_cast<size_t>(scores.recency + scores.frequency + scores.monetary)]);
    if (PackStanding(standing) == recorded_[i]) continue;
    if (out.changes.size() == max) {
      out.more = true;
      break;
    }
    out.changes.push_back({*id_of_[i], standing});
  }
  return out;
}

size_t RfmColumns::size() const {
  std::shared_lock lock(mu_);
  return orders_.size();
}

size_t RfmColumns::MemoryBytes() const {
  std::shared_lock lock(mu_);
  size_t bytes = last_order_day_.capacity() * sizeof(int32_t) +
                 orders_.capacity() * sizeof(int32_t) + spend_cents_.capacity() * sizeof(int64_t) +
                 active_.capacity() + recorded_.capacity() * sizeof(uint16_t) +
                 id_of_.capacity() * sizeof(void*);
  for (const auto& [id, row] : row_of_) {
    if (id.capacity() > 15) bytes += id.capacity() + 1;
  }
  // The map: a node (key, value, hash, next) per row and a bucket pointer.
  bytes += row_of_.size() * (sizeof(std::string) + 2 * sizeof(void*) + sizeof(uint32_t) + 8) +
           row_of_.bucket_count() * sizeof(void*);
  return bytes;
}

}  // namespace keel

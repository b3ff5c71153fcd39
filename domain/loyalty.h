// Loyalty levels by RFM (seed 002, issue 16): each customer's recency (days since the last
// order), frequency (orders) and monetary value (spend) are scored 1–5, and the average of the
// three scores gives the level. The settings that say how (a stream of their own, one aggregate),
// their validation and event codec, and the pure scoring. Value types; pure functions.
//
// Scores. Every dimension is scored on a "higher is better" value against four cut points, the
// least value that earns 2, 3, 4 and 5: score = 1 + the cut points the value reaches. Recency's
// value is the UTC day number of the last order (a later day is better); its cut point for a
// ladder step of d days at `today` is today − d, so "at most d days" is "on day today − d or
// later". Days are whole UTC calendar days: an order today is 0 days old, yesterday's 1.
// A customer who never ordered scores 1 on recency. Frequency is the orders not cancelled
// (CustomerStats::order_count), monetary the total spending (baseline plus orders, in cents).
//
// Modes. Fixed: the cut points are the settings' ladders. Quintile: the cut points come from the
// current customer base (the active customers with at least one order; see QuintileCuts), so
// about a fifth of the base earns each score; with fewer such customers than
// `quintile_min_customers` the fixed ladders are used instead, and the answer says so.
//
// Levels. The average of the three scores against three bounds, in tenths: Bronze below
// `silver`, Silver below `gold`, Gold below `platinum`, Platinum from there. Compared exactly, in
// integers: the average reaches a bound b (tenths) when 10 × (R + F + M) ≥ 3 × b.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kLoyaltyAggregate = "loyalty_settings";
// The one aggregate of the keel.loyalty stream, the settings in force.
inline constexpr std::string_view kLoyaltySettingsId = "loyalty-settings";
// The whole settings after the change (EncodeLoyaltySettings).
inline constexpr std::string_view kLoyaltySettingsChanged = "LoyaltySettingsChanged";

enum class LoyaltyMode { kFixed, kQuintile };
enum class LoyaltyLevel { kBronze = 0, kSilver = 1, kGold = 2, kPlatinum = 3 };
inline constexpr int kLoyaltyLevels = 4;

std::string_view LoyaltyModeName(LoyaltyMode mode);     // "fixed", "quintile"
std::string_view LoyaltyLevelName(LoyaltyLevel level);  // "Bronze", …, "Platinum"

// Bounds of what a setting may hold.
inline constexpr int64_t kMaxRecencyDays = 36500;
inline constexpr int64_t kMaxFrequencyOrders = 1'000'000'000;
inline constexpr int64_t kMaxMonetaryCents = 100'000'000'000'000;  // 1e12 currency units
inline constexpr int64_t kMaxQuintileMinCustomers = 100'000'000;

// The ladders are listed from score 5 down to score 2, as the issue writes them.
struct LoyaltySettings {
  LoyaltyMode mode = LoyaltyMode::kFixed;
  // At most this many days since the last order: 5, 4, 3, 2. Strictly increasing, 0 to 36,500.
  std::array<int64_t, 4> recency_days = {7, 30, 90, 180};
  // At least this many orders: 5, 4, 3, 2. Strictly decreasing, 1 to 1e9.
  std::array<int64_t, 4> frequency_orders = {20, 11, 6, 3};
  // At least this much spend, in cents: 5, 4, 3, 2. Strictly decreasing, > 0.
  std::array<int64_t, 4> monetary_cents = {1'000'000, 500'100, 100'100, 50'100};
  // The least average of Silver, Gold and Platinum, in tenths: strictly increasing, 1.1 to 5.0.
  std::array<int64_t, 3> level_tenths = {26, 36, 46};
  // Quintile mode needs at least this many active customers with orders (1 to 1e8).
  int64_t quintile_min_customers = 100;

  bool operator==(const LoyaltySettings&) const = default;
};

// A PUT body: any non-empty subset of {mode, recencyDays, frequencyOrders, monetarySpend,
// levels {silver, gold, platinum}, quintileMinCustomers}; each field given is given whole.
struct LoyaltySettingsPatch {
  std::optional<LoyaltyMode> mode;
  std::optional<std::array<int64_t, 4>> recency_days, frequency_orders, monetary_cents;
  std::optional<std::array<int64_t, 3>> level_tenths;
  std::optional<int64_t> quintile_min_customers;
};

// Every violation with its field ("recencyDays[2]", "levels.gold"), unknown fields by name
// (kInvalidArgument, "Validation failed"); an empty object is kInvalidArgument too.
Result<LoyaltySettingsPatch> ParseLoyaltySettingsPatch(std::string_view body);
LoyaltySettings Patched(LoyaltySettings settings, const LoyaltySettingsPatch& patch);

// {mode, recencyDays, frequencyOrders, monetarySpend, levels: {silver, gold, platinum},
// quintileMinCustomers}: the event payload, and the settings as served.
std::string EncodeLoyaltySettings(const LoyaltySettings& settings);
// Reads what EncodeLoyaltySettings wrote, every field required and checked as a PUT checks it;
// kDataLoss otherwise.
Result<LoyaltySettings> DecodeLoyaltySettings(std::string_view json);

// The settings as the stream's events left them.
struct LoyaltySettingsState {
  LoyaltySettings settings;  // the defaults until the first change
  int64_t version = 0;       // 0: never changed
  Millis updated_at = 0;
  std::string updated_by;

  bool operator==(const LoyaltySettingsState&) const = default;
};

// The fold, shared by the write side and the projector. kDataLoss for a payload
// DecodeLoyaltySettings refuses, a version that does not follow, another event type.
Status ApplyLoyaltyEvent(LoyaltySettingsState& state, const EventEnvelope& event);

// {version, updatedAt, updatedBy, settings}: the read model's record.
std::string LoyaltyStateToJson(const LoyaltySettingsState& state);
Result<LoyaltySettingsState> LoyaltyStateFromJson(std::string_view json);

// --- Scoring -----------------------------------------------------------------------------

// A cut point no value reaches (a score nobody earns in quintile mode).
inline constexpr int64_t kUnreachableCut = std::numeric_limits<int64_t>::max();
// A customer without orders: no day reaches any recency cut.
inline constexpr int64_t kNoOrderDay = std::numeric_limits<int64_t>::min();

// The least value that earns 2, 3, 4, 5 (index 0 is score 2): non-decreasing.
using CutPoints = std::array<int64_t, 4>;

struct RfmCuts {
  CutPoints recency_day;  // UTC day numbers
  CutPoints frequency;    // orders
  CutPoints monetary;     // cents
  bool operator==(const RfmCuts&) const = default;
};

struct RfmScores {
  int recency = 1, frequency = 1, monetary = 1;
  bool operator==(const RfmScores&) const = default;
};

// The UTC day of an instant (floor division: days before 1970 are negative).
int64_t DayNumber(Millis at);

// 1 + the cut points `value` reaches.
inline int ScoreOf(int64_t value, const CutPoints& cuts) {
  return 1 + (value >= cuts[0]) + (value >= cuts[1]) + (value >= cuts[2]) + (value >= cuts[3]);
}

// The settings' ladders as cut points at `today` (a UTC day number).
RfmCuts FixedCuts(const LoyaltySettings& settings, int64_t today);

// The tie-aware quintile cut points of a multiset of values (sorted in place). The rule: each
// distinct value v earns 1 + floor(5 × p), where p = (customers below v + half the customers at
// v) / all customers is v's mid-rank, a fraction in (0, 1); the cut point of score k is the
// least value that earns k or more (kUnreachableCut when none does). So equal values always
// earn the same score (a score is a function of the value); n distinct values split into
// fifths as ranks 20/40/60/80 % would; ties straddling a fifth take the score of their
// middle, which may leave a score unused (all values equal: every customer earns 3). Computed
// in integers: 1 + floor(5 × (2 × below + equal) / (2 × n)). No values: every cut unreachable.
// Values over a narrow range (days, order counts) are counted in linear time, others sorted.
CutPoints QuintileCuts(std::span<int64_t> values);

// The level of three scores under the settings' bounds.
LoyaltyLevel LevelOf(const RfmScores& scores, const std::array<int64_t, 3>& level_tenths);

// Exact, as LoyaltyLevelName writes it; nullopt otherwise.
std::optional<LoyaltyLevel> ParseLoyaltyLevel(std::string_view name);

// --- The recorded standing ---------------------------------------------------------------
//
// The level and the scores are computed at read time (above), but segments, promotions and
// campaigns react to a change of them, and a reaction must replay: the level keeper
// (commands/level_keeper.h) compares every customer's computed standing with the one recorded,
// and records a change as an event on the customers stream, keyed by the customer, aggregate
// kCustomerStandingAggregate (its own version counter, so that the customer's version and
// ETag do not move under a client's If-Match): CustomerLevelChanged when the level changes,
// CustomerScoresChanged when only the scores do. Payload {level, recency, frequency, monetary,
// previousLevel}.
inline constexpr std::string_view kCustomerStandingAggregate = "customer_standing";
inline constexpr std::string_view kCustomerLevelChanged = "CustomerLevelChanged";
inline constexpr std::string_view kCustomerScoresChanged = "CustomerScoresChanged";

// Packed small: the write model holds one per customer. A customer nothing was recorded for
// stands where a customer without orders or spend scores: 1, 1, 1, Bronze (the least average a
// setting may give Silver is 1.1), so that a million new customers need no event each.
struct LoyaltyStanding {
  uint8_t recency = 1, frequency = 1, monetary = 1;  // 1–5
  LoyaltyLevel level = LoyaltyLevel::kBronze;
  bool scored() const { return recency != 0; }  // always, for a valid standing
  bool operator==(const LoyaltyStanding&) const = default;
};
LoyaltyStanding StandingOf(const RfmScores& scores, LoyaltyLevel level);

// The event that takes a customer from `before` to `after` (different): CustomerLevelChanged or
// CustomerScoresChanged.
std::string_view StandingEventType(const LoyaltyStanding& before, const LoyaltyStanding& after);
std::string EncodeStandingChange(const LoyaltyStanding& before, const LoyaltyStanding& after);
// The standing an event records; kDataLoss for another aggregate or type, a payload without
// three scores 1–5 and a known level, or a type that does not match the level change.
Result<LoyaltyStanding> DecodeStandingChange(const EventEnvelope& event);

// Thresholds as served, listed from score 5 down to 2 (null: no value reaches it). Recency in
// days at `today`; monetary in cents.
struct ServedLadders {
  std::array<std::optional<int64_t>, 4> recency_days, frequency_orders, monetary_cents;
};
ServedLadders LaddersOf(const RfmCuts& cuts, int64_t today);

}  // namespace keel

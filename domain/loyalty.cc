#include "domain/loyalty.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kModeNames[] = {"fixed", "quintile"};
constexpr std::string_view kLevelNames[] = {"Bronze", "Silver", "Gold", "Platinum"};
constexpr std::string_view kBoundNames[] = {"silver", "gold", "platinum"};
constexpr Millis kDayMillis = 86'400'000;

std::optional<LoyaltyMode> ParseMode(std::string_view name) {
  if (name == kModeNames[0]) return LoyaltyMode::kFixed;
  if (name == kModeNames[1]) return LoyaltyMode::kQuintile;
  return std::nullopt;
}

// A number with at most one decimal, as tenths; nullopt otherwise.
std::optional<int64_t> ToTenths(element v) {
  if (v.type() == element_type::INT64) {
    const int64_t n = v.get_int64().value_unsafe();
    if (n > 1'000'000 || n < -1'000'000) return std::nullopt;
    return n * 10;
  }
  if (v.type() != element_type::DOUBLE) return std::nullopt;
  const double d = v.get_double().value_unsafe();
  if (!std::isfinite(d) || std::fabs(d) > 1e6) return std::nullopt;
  const double tenths = std::round(d * 10.0);
  if (tenths / 10.0 != d) return std::nullopt;
  return static_cast<int64_t>(tenths);
}

enum class Order { kIncreasing, kDecreasing };

// A ladder of four values, each read by `read` and within [min, max], strictly ordered.
template <typename Read>
std::optional<std::array<int64_t, 4>> ReadLadder(element value, const std::string& field, Read read,
                                                 int64_t min, int64_t max, Order order,
                                                 std::string_view what,
                                                 std::vector<FieldError>& errors) {
  simdjson::dom::array items;
  if (value.get(items) || items.size() != 4) {
    std::string message = "Must be an array of 4 ";
    message += what;
    message += order == Order::kIncreasing ? ", strictly increasing" : ", strictly decreasing";
    message += " (for scores 5, 4, 3 and 2)";
    errors.push_back({field, std::move(message)});
    return std::nullopt;
  }
  std::array<int64_t, 4> ladder{};
  bool ok = true;
  size_t i = 0;
  for (element item : items) {
    std::string at = field + "[" + std::to_string(i) + "]";
    auto n = read(item);
    if (!n || *n < min || *n > max) {
      std::string message = "Must be ";
      message += what;
      errors.push_back({std::move(at), std::move(message)});
      ok = false;
    } else {
      ladder[i] = *n;
    }
    ++i;
  }
  if (!ok) return std::nullopt;
  for (size_t k = 1; k < 4; ++k) {
    const bool in_order =
        order == Order::kIncreasing ? ladder[k] > ladder[k - 1] : ladder[k] < ladder[k - 1];
    if (!in_order) {
      errors.push_back(
          {field + "[" + std::to_string(k) + "]",
           order == Order::kIncreasing
               ? "Must be greater than the one before it (a ladder strictly increasing)"
               : "Must be less than the one before it (a ladder strictly decreasing)"});
      return std::nullopt;
    }
  }
  return ladder;
}

std::optional<std::array<int64_t, 3>> ReadLevels(element value, std::vector<FieldError>& errors) {
  simdjson::dom::object obj;
  if (value.get(obj)) {
    errors.push_back({"levels",
                      "Must be an object {silver, gold, platinum}: the least average "
                      "score of each level, 1.1 to 5.0, strictly increasing"});
    return std::nullopt;
  }
  std::array<std::optional<int64_t>, 3> bounds;
  bool ok = true;
  for (auto [key, v] : obj) {
    size_t k = 0;
    while (k < 3 && kBoundNames[k] != key) ++k;
    std::string field = "levels.";
    field += key;
    if (k == 3) {
      errors.push_back({std::move(field), "Unknown field"});
      ok = false;
      continue;
    }
    auto tenths = ToTenths(v);
    if (!tenths || *tenths < 11 || *tenths > 50) {
      errors.push_back({std::move(field), "Must be a number from 1.1 to 5.0, with one decimal"});
      ok = false;
      continue;
    }
    bounds[k] = *tenths;
  }
  for (size_t k = 0; k < 3; ++k) {
    if (!bounds[k] && ok) {
      std::string field = "levels.";
      field += kBoundNames[k];
      errors.push_back({std::move(field), "Is required"});
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  std::array<int64_t, 3> out{*bounds[0], *bounds[1], *bounds[2]};
  for (size_t k = 1; k < 3; ++k) {
    if (out[k] <= out[k - 1]) {
      std::string field = "levels.";
      field += kBoundNames[k];
      std::string message = "Must be greater than levels.";
      message += kBoundNames[k - 1];
      errors.push_back({std::move(field), std::move(message)});
      return std::nullopt;
    }
  }
  return out;
}

// The fields of a body; `seen` counts those present (an erroneous one too).
Result<LoyaltySettingsPatch> ReadPatch(element doc, std::vector<FieldError>& errors, int& seen,
                                       ErrorCode code) {
  simdjson::dom::object obj;
  if (doc.get(obj)) return Fail(Error{code, "Must be a JSON object", {}});
  LoyaltySettingsPatch p;
  auto whole = [](element v) { return json::ToInt(v); };
  for (auto [key, value] : obj) {
    ++seen;
    if (key == "mode") {
      std::string_view name;
      std::optional<LoyaltyMode> mode;
      if (!value.get(name)) mode = ParseMode(name);
      if (!mode) {
        errors.push_back({"mode", "Must be one of fixed, quintile"});
      } else {
        p.mode = mode;
      }
    } else if (key == "recencyDays") {
      p.recency_days =
          ReadLadder(value, "recencyDays", whole, 0, kMaxRecencyDays, Order::kIncreasing,
                     "whole numbers of days from 0 to 36500", errors);
    } else if (key == "frequencyOrders") {
      p.frequency_orders =
          ReadLadder(value, "frequencyOrders", whole, 1, kMaxFrequencyOrders, Order::kDecreasing,
                     "whole numbers of orders from 1 to 1000000000", errors);
    } else if (key == "monetarySpend") {
      p.monetary_cents = ReadLadder(
          value, "monetarySpend", [](element v) { return json::ToCents(v); }, 1, kMaxMonetaryCents,
          Order::kDecreasing, "amounts over 0 and at most 1000000000000, in whole cents", errors);
    } else if (key == "levels") {
      p.level_tenths = ReadLevels(value, errors);
    } else if (key == "quintileMinCustomers") {
      auto n = json::ToInt(value);
      if (!n || *n < 1 || *n > kMaxQuintileMinCustomers) {
        errors.push_back({"quintileMinCustomers", "Must be a whole number from 1 to 100000000"});
      } else {
        p.quintile_min_customers = n;
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  return p;
}

void WriteTenths(JsonWriter& w, int64_t tenths) {
  std::string text = std::to_string(tenths / 10);
  text += '.';
  text += static_cast<char>('0' + tenths % 10);
  w.Raw(text);
}

}  // namespace

std::string_view LoyaltyModeName(LoyaltyMode mode) { return kModeNames[static_cast<int>(mode)]; }
std::string_view LoyaltyLevelName(LoyaltyLevel level) {
  return kLevelNames[static_cast<int>(level)];
}

std::optional<LoyaltyLevel> ParseLoyaltyLevel(std::string_view name) {
  for (int i = 0; i < kLoyaltyLevels; ++i) {
    const auto level = static_cast<LoyaltyLevel>(i);
    if (LoyaltyLevelName(level) == name) return level;
  }
  return std::nullopt;
}

LoyaltyStanding StandingOf(const RfmScores& scores, LoyaltyLevel level) {
  return LoyaltyStanding{static_cast<uint8_t>(scores.recency),
                         static_cast<uint8_t>(scores.frequency),
                         static_cast<uint8_t>(scores.monetary), level};
}

std::string_view StandingEventType(const LoyaltyStanding& before, const LoyaltyStanding& after) {
  return before.level != after.level ? kCustomerLevelChanged : kCustomerScoresChanged;
}

std::string EncodeStandingChange(const LoyaltyStanding& before, const LoyaltyStanding& after) {
  JsonWriter w;
  w.BeginObject();
  w.Key("level").String(LoyaltyLevelName(after.level));
  w.Key("recency").Int(after.recency);
  w.Key("frequency").Int(after.frequency);
  w.Key("monetary").Int(after.monetary);
  w.Key("previousLevel").String(LoyaltyLevelName(before.level));
  w.EndObject();
  return w.Take();
}

Result<LoyaltyStanding> DecodeStandingChange(const EventEnvelope& event) {
  if (event.aggregate_type != kCustomerStandingAggregate ||
      (event.type != kCustomerLevelChanged && event.type != kCustomerScoresChanged)) {
    return Fail(Error::DataLoss("Not a standing change: " + event.type));
  }
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  auto bad = [] {
    return Fail(Error::DataLoss("Standing change without a valid level and scores"));
  };
  std::string_view level_name;
  if (doc->at_key("level").get(level_name)) return bad();
  const auto level = ParseLoyaltyLevel(level_name);
  if (!level) return bad();
  LoyaltyStanding out;
  out.level = *level;
  for (auto [key, score] :
       {std::pair{"recency", &out.recency}, std::pair{"frequency", &out.frequency},
        std::pair{"monetary", &out.monetary}}) {
    int64_t v = 0;
    if (doc->at_key(key).get(v) || v < 1 || v > 5) return bad();
    *score = static_cast<uint8_t>(v);
  }
  std::string_view previous_name;
  if (doc->at_key("previousLevel").get(previous_name)) return bad();
  const auto previous = ParseLoyaltyLevel(previous_name);
  if (!previous) return bad();
  const bool level_changed = *previous != out.level;
  if (level_changed != (event.type == kCustomerLevelChanged)) {
    return Fail(Error::DataLoss(event.type + " that does not match its previous level"));
  }
  return out;
}

Result<LoyaltySettingsPatch> ParseLoyaltySettingsPatch(std::string_view body) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  std::vector<FieldError> errors;
  int seen = 0;
  auto patch = ReadPatch(*doc, errors, seen, ErrorCode::kInvalidArgument);
  if (!patch) return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (seen == 0) {
    return Fail(Error::InvalidArgument(
        "Nothing to change: send one or more of mode, recencyDays, frequencyOrders, "
        "monetarySpend, levels, quintileMinCustomers"));
  }
  return patch;
}

LoyaltySettings Patched(LoyaltySettings s, const LoyaltySettingsPatch& p) {
  if (p.mode) s.mode = *p.mode;
  if (p.recency_days) s.recency_days = *p.recency_days;
  if (p.frequency_orders) s.frequency_orders = *p.frequency_orders;
  if (p.monetary_cents) s.monetary_cents = *p.monetary_cents;
  if (p.level_tenths) s.level_tenths = *p.level_tenths;
  if (p.quintile_min_customers) s.quintile_min_customers = *p.quintile_min_customers;
  return s;
}

std::string EncodeLoyaltySettings(const LoyaltySettings& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("mode").String(LoyaltyModeName(s.mode));
  w.Key("recencyDays").BeginArray();
  for (int64_t d : s.recency_days) w.Int(d);
  w.EndArray();
  w.Key("frequencyOrders").BeginArray();
  for (int64_t n : s.frequency_orders) w.Int(n);
  w.EndArray();
  w.Key("monetarySpend").BeginArray();
  for (int64_t c : s.monetary_cents) w.Cents(c);
  w.EndArray();
  w.Key("levels").BeginObject();
  for (size_t k = 0; k < 3; ++k) {
    w.Key(kBoundNames[k]);
    WriteTenths(w, s.level_tenths[k]);
  }
  w.EndObject();
  w.Key("quintileMinCustomers").Int(s.quintile_min_customers);
  w.EndObject();
  return w.Take();
}

Result<LoyaltySettings> DecodeLoyaltySettings(std::string_view json) {
  auto doc = json::Parse(json, "Loyalty settings", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::vector<FieldError> errors;
  int seen = 0;
  auto p = ReadPatch(*doc, errors, seen, ErrorCode::kDataLoss);
  if (!p) return Fail(p.error());
  if (!errors.empty()) {
    return Fail(Error::DataLoss("Loyalty settings are invalid at " + errors.front().field + ": " +
                                errors.front().message));
  }
  if (!p->mode || !p->recency_days || !p->frequency_orders || !p->monetary_cents ||
      !p->level_tenths || !p->quintile_min_customers) {
    return Fail(Error::DataLoss("Loyalty settings lack a field"));
  }
  return Patched(LoyaltySettings{}, *p);
}

Status ApplyLoyaltyEvent(LoyaltySettingsState& state, const EventEnvelope& event) {
  if (event.type != kLoyaltySettingsChanged) {
    return Fail(Error::DataLoss("Not a loyalty settings event: " + event.type));
  }
  if (event.aggregate_id != kLoyaltySettingsId) {
    return Fail(Error::DataLoss("Loyalty settings under another id: " + event.aggregate_id));
  }
  if (auto st = CheckNextVersion(event, state.version); !st) return st;
  auto settings = DecodeLoyaltySettings(event.payload);
  if (!settings) return Fail(settings.error());
  state.settings = *settings;
  state.version = event.aggregate_version;
  state.updated_at = event.occurred_at;
  state.updated_by = event.actor;
  return {};
}

std::string LoyaltyStateToJson(const LoyaltySettingsState& state) {
  JsonWriter w;
  w.BeginObject();
  w.Key("version").Int(state.version);
  w.Key("updatedAt").String(FormatIso8601(state.updated_at));
  w.Key("updatedBy").String(state.updated_by);
  w.Key("settings").Raw(EncodeLoyaltySettings(state.settings));
  w.EndObject();
  return w.Take();
}

Result<LoyaltySettingsState> LoyaltyStateFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Loyalty settings record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  int64_t version = 0;
  std::string_view updated_at, updated_by;
  element settings;
  if (doc->at_key("version").get(version) || doc->at_key("updatedAt").get(updated_at) ||
      doc->at_key("updatedBy").get(updated_by) || doc->at_key("settings").get(settings)) {
    return Fail(Error::DataLoss("Loyalty settings record lacks a field"));
  }
  LoyaltySettingsState state;
  state.version = version;
  state.updated_by = std::string(updated_by);
  auto at = ParseIso8601(updated_at);
  if (!at) return Fail(Error::DataLoss("Loyalty settings record has a bad updatedAt"));
  state.updated_at = *at;
  // The settings are decoded from their own text (the parser is shared by this thread).
  auto settings_text = simdjson::to_string(settings);
  auto decoded = DecodeLoyaltySettings(std::string(settings_text));
  if (!decoded) return Fail(decoded.error());
  state.settings = *decoded;
  return state;
}

int64_t DayNumber(Millis at) {
  int64_t day = at / kDayMillis;
  if (at % kDayMillis < 0) --day;
  return day;
}

RfmCuts FixedCuts(const LoyaltySettings& s, int64_t today) {
  RfmCuts cuts;
  for (size_t k = 0; k < 4; ++k) {
    // Index k of the cuts is score k + 2; index 3 − k of the ladders is.
    cuts.recency_day[k] = today - s.recency_days[3 - k];
    cuts.frequency[k] = s.frequency_orders[3 - k];
    cuts.monetary[k] = s.monetary_cents[3 - k];
  }
  return cuts;
}

namespace {

// Sets the cut points from the groups of equal values, visited in increasing order:
// `group(visit)` calls visit(value, count) for each.
template <typename Groups>
CutPoints CutsOfGroups(int64_t n, Groups&& groups) {
  CutPoints cuts;
  cuts.fill(kUnreachableCut);
  int64_t below = 0;
  int next_score = 2;  // the least score whose cut point is not set yet
  groups([&](int64_t v, int64_t equal) {
    const int score = 1 + static_cast<int>((5 * (2 * below + equal)) / (2 * n));
    while (next_score <= score) cuts[static_cast<size_t>(next_score++ - 2)] = v;
    below += equal;
    return next_score <= 5;
  });
  return cuts;
}

}  // namespace

CutPoints QuintileCuts(std::span<int64_t> values) {
  const auto n = static_cast<int64_t>(values.size());
  if (n == 0) return CutPoints{kUnreachableCut, kUnreachableCut, kUnreachableCut, kUnreachableCut};
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const int64_t min = *lo;
  // Values over a narrow range (days, order counts): counted, in linear time. The difference is
  // computed unsigned: the range of any two int64 fits in uint64.
  const uint64_t range = static_cast<uint64_t>(*hi) - static_cast<uint64_t>(min);
  if (range < static_cast<uint64_t>(4 * n + 1024)) {
    std::vector<int64_t> counts(range + 1, 0);
    for (int64_t v : values) ++counts[static_cast<uint64_t>(v) - static_cast<uint64_t>(min)];
    return CutsOfGroups(n, [&](auto&& visit) {
      for (size_t i = 0; i < counts.size(); ++i) {
        if (counts[i] == 0) continue;
        if (!visit(min + static_cast<int64_t>(i), counts[i])) return;
      }
    });
  }
  std::sort(values.begin(), values.end());
  return CutsOfGroups(n, [&](auto&& visit) {
    for (auto at = values.begin(); at != values.end();) {
      const auto end = std::upper_bound(at, values.end(), *at);
      if (!visit(*at, end - at)) return;
      at = end;
    }
  });
}

LoyaltyLevel LevelOf(const RfmScores& s, const std::array<int64_t, 3>& level_tenths) {
  const int64_t sum10 = 10 * static_cast<int64_t>(s.recency + s.frequency + s.monetary);
  int level = 0;
  for (int64_t bound : level_tenths) level += sum10 >= 3 * bound;
  return static_cast<LoyaltyLevel>(level);
}

ServedLadders LaddersOf(const RfmCuts& cuts, int64_t today) {
  ServedLadders out;
  for (size_t i = 0; i < 4; ++i) {
    const size_t k = 3 - i;  // score 5 − i
    if (cuts.recency_day[k] != kUnreachableCut) out.recency_days[i] = today - cuts.recency_day[k];
    if (cuts.frequency[k] != kUnreachableCut) out.frequency_orders[i] = cuts.frequency[k];
    if (cuts.monetary[k] != kUnreachableCut) out.monetary_cents[i] = cuts.monetary[k];
  }
  return out;
}

}  // namespace keel

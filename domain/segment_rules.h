// Segment rules (issue 15): the one rule language of every seed, parsed into one canonical tree,
// and the reference evaluator that defines what a tree means for one customer. Pure.
//
// Shapes accepted (ParseSegmentRules):
// - Seed 000: `rules` is a flat list of conditions; each may carry `logicalOperator` "AND" or
//   "OR" (default "AND"), which joins it to the condition before it (the first one's is
//   ignored). AND binds tighter than OR: `a AND b OR c AND d` is `(a AND b) OR (c AND d)`.
// - Seed 004: `rules` is a flat list and the body has one top-level `logicalOperator` joining
//   them all; the conditions then carry none of their own (both at once is an error).
// - Seed 001: `rules` is a group `{"and": [...]}` / `{"or": [...]}` or one condition, nested
//   freely; `{"not": node}` negates a node.
// A condition is `{field, op | operator, value}`. Field names are the canonical ones of
// RuleFields() or the seeds' aliases (spend, totalSpend, total_spend → totalSpending; numVisits,
// visits_count → visits; lastVisitDate, last_active, last_active_at → lastVisit; loyaltyLevel,
// customerLevel → level).
//
// Values, by the field's type:
// - kMoney: a JSON number in currency units (at most two decimals), held in cents.
// - kCount: an integral JSON number.
// - kTime: an ISO-8601 string with a zone, or a date "YYYY-MM-DD" (midnight UTC); held in
//   milliseconds. `in_last_days` / `not_in_last_days` take a whole number of days, 1 to 36500.
// - kText: a string, 1 to 254 characters; compared case-insensitively (Unicode case folding:
//   FoldCase).
// - kId: a string compared exactly (ownerId).
// - kBool: true or false.
// - kList (tags): a string, 1 to 254 characters, compared with each of the customer's tags
//   case-insensitively (FoldCase).
// - kLevel (level): a loyalty level's name exactly (Bronze, Silver, Gold, Platinum); held as its
//   rank (LoyaltyLevel's value), so that the levels are ordered Bronze < Silver < Gold < Platinum.
// - kScore (recencyScore, frequencyScore, monetaryScore): an integer 1 to 5.
// `in` / `not_in` take an array of 1 to 1000 values of the field's type; `between` an array of
// exactly two, low ≤ high, both ends included; `is_empty` / `is_not_empty` take no value (absent
// or null).
//
// Operators per type:
// - kMoney, kCount: > >= < <= = != in not_in between
// - kTime: > >= < <= = != between in_last_days not_in_last_days is_empty is_not_empty
// - kText: = != contains startsWith endsWith in not_in is_empty is_not_empty
// - kId: = != in not_in is_empty is_not_empty
// - kBool: = !=
// - kList: contains (one of the customer's tags equals the value) is_empty is_not_empty (no tags
//   / some)
// - kLevel, kScore: > >= < <= = != in not_in between is_empty is_not_empty
// `==` is accepted for `=`.
//
// Meaning (EvaluateRules), at the instant `now`:
// - A field a customer has no value for (no phone, never ordered, no owner) matches only
//   `is_empty`, `!=`, `not_in` and `not_in_last_days`; every other operator is false on it.
// - `in_last_days N`: the value is at or after now − N days (future values included).
//   `not_in_last_days N` is its exact complement (a missing value included).
// - `inactive_days`: whole days (rounded down, never below 0) from the latest of the customer's
//   last order and last visit, or from `createdAt` when it has neither, to now.
// - Each field reads the figure the API serves: totalSpending = TotalSpendingCents, visits =
//   TotalVisits, orderCount = stats.order_count, averageOrderValue = AverageOrderCents,
//   lastVisit = LastVisit, lastOrderAt / firstOrderAt = stats.last_order_at / first_order_at,
//   createdAt, name, email, phone, isActive, ownerId; and seed 002's: status and customerType
//   (kId: their names, LEAD … CHURNED, PERSON or COMPANY, exactly; any other value is an error),
//   birthDate (kTime: midnight UTC of the date; empty when unknown) and tags (kList); and the
//   recorded loyalty standing (Customer::standing, domain/loyalty.h): level (kLevel) and
//   recencyScore, frequencyScore, monetaryScore (kScore). Every customer has one: nothing
//   recorded stands at Bronze, 1, 1, 1 (where a customer without orders scores), so `level =
//   Bronze` selects such customers and is_empty nobody. (The evaluators still treat a standing
//   that is not scored() as missing, matching only is_empty, != and not_in; no valid standing is
//   so.) The standing changes only by events, never with time alone.
//
// Limits: at most 200 conditions and groups nested at most 10 deep (a condition at the top is
// at depth 0; each group or `not` around it adds one); an empty group is an error.
// Every violation is reported (kInvalidArgument, field_errors) with the path of the bad part,
// starting from the body: `rules[2].value`, `rules.and[1].or[0].op`, `logicalOperator`. An
// unknown field's message names the closest valid name.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "domain/customer.h"
#include "domain/error.h"
#include "domain/time.h"

namespace keel {

enum class RuleField : uint8_t {
  kTotalSpending,
  kAverageOrderValue,
  kVisits,
  kOrderCount,
  kInactiveDays,
  kLastVisit,
  kLastOrderAt,
  kFirstOrderAt,
  kCreatedAt,
  kName,
  kEmail,
  kPhone,
  kOwnerId,
  kIsActive,
  kStatus,  // seed 002, from here on
  kCustomerType,
  kBirthDate,
  kTags,
  kLevel,  // the recorded loyalty standing, from here on
  kRecencyScore,
  kFrequencyScore,
  kMonetaryScore,
};

enum class RuleType : uint8_t { kMoney, kCount, kTime, kText, kId, kBool, kList, kLevel, kScore };

enum class RuleOp : uint8_t {
  kGt,
  kGe,
  kLt,
  kLe,
  kEq,
  kNe,
  kContains,
  kStartsWith,
  kEndsWith,
  kInLastDays,
  kNotInLastDays,
  kIn,
  kNotIn,
  kBetween,
  kIsEmpty,
  kIsNotEmpty,
};

// The one table of rule fields: a field added by a later issue (level, RFM scores, tags) is a
// row here, a case in EvaluateRules and a column in the audience columns.
struct RuleFieldInfo {
  std::string_view name;  // canonical, as served and stored
  RuleField field;
  RuleType type;
  bool may_be_empty;  // whether a customer may lack a value (phone, lastOrderAt, ownerId, …)
};
std::span<const RuleFieldInfo> RuleFields();
const RuleFieldInfo& RuleFieldOf(RuleField field);
// A canonical name or an alias.
std::optional<RuleField> FindRuleField(std::string_view name);
std::string_view RuleOpName(RuleOp op);  // canonical: ">", "=", "contains", "in_last_days", …
bool RuleOpApplies(RuleOp op, RuleType type);

struct RuleCondition {
  RuleField field = RuleField::kTotalSpending;
  RuleOp op = RuleOp::kEq;
  // The operands of kMoney (cents), kCount, kTime (millis), kLevel (the rank) and kScore fields,
  // and the days of in_last_days / not_in_last_days: one, two for `between` (low, high), any for
  // in / not_in.
  std::vector<int64_t> numbers;
  // The operands of kText and kList (as given; evaluators fold them) and kId fields.
  std::vector<std::string> texts;
  bool flag = false;  // the operand of kBool fields

  bool operator==(const RuleCondition&) const = default;
};

struct RuleNode {
  enum class Kind : uint8_t { kAnd, kOr, kNot, kCondition };
  Kind kind = Kind::kCondition;
  std::vector<RuleNode> children;  // kAnd, kOr: one or more; kNot: exactly one
  RuleCondition condition;         // kCondition

  bool operator==(const RuleNode&) const = default;
};

inline constexpr int kMaxRuleDepth = 10;
inline constexpr int kMaxRuleConditions = 200;

// `rules`: the body's `rules` member; `logical_operator`: the body's top-level
// `logicalOperator` member if it has one (seed 004).
Result<RuleNode> ParseSegmentRules(simdjson::dom::element rules,
                                   std::optional<simdjson::dom::element> logical_operator);
// The same from JSON text holding the rules alone (what EncodeSegmentRules wrote).
Result<RuleNode> ParseSegmentRulesJson(std::string_view rules_json);
// The schema version of an event carrying `rules` (kSegmentRulesVersion in domain/segment.h): 3
// when a condition is on the loyalty standing (RuleField::kLevel and after), else 2 when one is
// on seed 002's other fields (RuleField::kStatus to kTags), else 1.
int RulesSchemaVersion(const RuleNode& rules);

// The canonical JSON of a tree, in the seed-001 shape with canonical field and operator names
// (money in currency units, times in ISO-8601): stored in events, served with a segment, and
// parsed back to an equal tree by ParseSegmentRulesJson.
std::string EncodeSegmentRules(const RuleNode& rules);

// Conditions in the tree (what kMaxRuleConditions counts).
int CountConditions(const RuleNode& rules);
// Whether the tree's outcome for a customer can change with time alone (it has in_last_days,
// not_in_last_days or inactive_days; the level and the scores change only by events).
bool DependsOnTime(const RuleNode& rules);

// Unicode case folding (NFC, then simple + full case folding), for case-insensitive text
// comparison. Valid UTF-8 in, valid UTF-8 out.
std::string FoldCase(std::string_view text);

// The figure `customer` has for a money, count, time, level (its rank) or score field at `now`,
// as every evaluator reads it; nullopt when it has none (or for a field of another type).
std::optional<int64_t> RuleNumberOf(RuleField field, const Customer& customer, Millis now);
// A birthDate (YYYY-MM-DD) as the millis of its midnight UTC; nullopt for anything else.
std::optional<Millis> BirthDateMillis(std::string_view date);
// Where inactive_days counts from: the latest of the last order and the last visit, else
// createdAt.
Millis InactiveSince(const Customer& customer);
// Whole days from `from` to `now`, rounded down, never below 0; exact for any two times.
int64_t WholeDaysSince(Millis from, Millis now);

// The reference evaluator: whether `customer` matches `rules` at `now`. Plain and direct; the
// audience columns must agree with it on every tree and customer.
bool EvaluateRules(const RuleNode& rules, const Customer& customer, Millis now);

}  // namespace keel

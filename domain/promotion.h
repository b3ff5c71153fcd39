// The promotion aggregate (seed 002's promotion rules, issue 16): a reward Keel may give a
// customer (a percentage off an order, or a fixed amount off it) and the condition under which
// it is meant for them. Its events, the validation of input and the one fold that the write side
// and the projector share. Pure; value types.
//
// A promotion travels on its own stream (keel.promotions, keyed by promotion id). Giving one to
// a customer is an event of the customer's stream (domain/promotion_assignment.h), decided
// against the promotion as this stream last acknowledged it.
//
// Amounts are integral hundredths: a FIXED_AMOUNT reward and a minimum_purchase amount in cents,
// a PERCENTAGE reward in hundredths of a percent (1250 = 12.50%). Events and documents carry them
// as JSON numbers with two decimals (JsonWriter::Cents) and are read back exactly.
//
// A promotion is never removed: DELETE deactivates it (PromotionDeactivated), as it does a
// product; a replace (PUT) with isActive true, or without isActive, activates it again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/loyalty.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kPromotionAggregate = "promotion";
// {title, description (null: none), rewardType, rewardValue, condition, durationDays (null: no
// expiry), isActive}: a new promotion.
inline constexpr std::string_view kPromotionCreated = "PromotionCreated";
// The fields a replace changed, each with its new value (any of PromotionCreated's); never empty.
inline constexpr std::string_view kPromotionUpdated = "PromotionUpdated";
// {}: the promotion is no longer given (isActive false).
inline constexpr std::string_view kPromotionDeactivated = "PromotionDeactivated";

inline constexpr size_t kMaxPromotionTitleLength = 200;         // code points, after trimming
inline constexpr size_t kMaxPromotionDescriptionLength = 2000;  // code points, after trimming
inline constexpr int64_t kMaxPercentageReward = 10'000;         // 100.00%, in hundredths
inline constexpr int64_t kMaxPromotionDurationDays = 3650;

enum class RewardType { kPercentage, kFixedAmount };
std::string_view RewardTypeName(RewardType type);  // "PERCENTAGE", "FIXED_AMOUNT"
std::optional<RewardType> ParseRewardType(std::string_view name);

enum class ConditionType { kFirstPurchase, kMinimumPurchase, kCustomerLevel, kReferral };
// "first_purchase", "minimum_purchase", "customer_level", "referral"
std::string_view ConditionTypeName(ConditionType type);

// When a promotion is meant for a customer. Only the member of its type is meaningful; the
// others stay at their defaults (so that == compares conditions).
struct PromotionCondition {
  ConditionType type = ConditionType::kFirstPurchase;
  int64_t amount_cents = 0;                    // minimum_purchase: > 0
  LoyaltyLevel level = LoyaltyLevel::kBronze;  // customer_level

  bool operator==(const PromotionCondition&) const = default;
};

// A promotion's definition, as POST and PUT (a replace) carry it.
struct PromotionInput {
  std::string title;
  std::optional<std::string> description;  // none: absent, null or empty once trimmed
  RewardType reward_type = RewardType::kPercentage;
  int64_t reward_value = 0;  // hundredths: > 0; a percentage at most kMaxPercentageReward
  PromotionCondition condition;
  std::optional<int64_t> duration_days;  // 1..kMaxPromotionDurationDays; none: no expiry
  bool is_active = true;

  bool operator==(const PromotionInput&) const = default;
};

struct Promotion {
  std::string id;
  PromotionInput definition;
  std::string created_by;  // the actor of PromotionCreated
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool is_active() const { return definition.is_active; }
  bool operator==(const Promotion&) const = default;
};

// Validates {title (required, 1–200 once trimmed), description (0–2000, or null), rewardType
// (PERCENTAGE or FIXED_AMOUNT; required), rewardValue (required; above 0 with at most two
// decimals; at most 100 for PERCENTAGE, at most 1,000,000,000,000 for FIXED_AMOUNT), condition
// (required: {"type":"first_purchase"}, {"type":"minimum_purchase","amount":X} with X above 0 and
// at most two decimals, {"type":"customer_level","level":"Bronze|Silver|Gold|Platinum"} or
// {"type":"referral"}), durationDays (an integer 1–3650, or null), isActive (default true)}.
// Unknown fields, also inside condition, are named ("condition.colour"); every violation is
// listed (kInvalidArgument, "Validation failed").
Result<PromotionInput> ParsePromotionInput(std::string_view body);

// Event payloads.
std::string EncodePromotionCreated(const PromotionInput& input);
// Only the fields of `next` that differ from `current`; nullopt when none do.
std::optional<std::string> EncodePromotionUpdated(const Promotion& current,
                                                  const PromotionInput& next);

// The fold. kDataLoss when the payload holds what ParsePromotionInput would refuse, the version
// does not follow, or the promotion does not exist (or already does, for a create).
Status ApplyPromotionEvent(Promotion& promotion, const EventEnvelope& event);

// {type, amount?, level?}
std::string PromotionConditionToJson(const PromotionCondition& condition);
// As served and as the read model stores it: {id, title, description, rewardType, rewardValue,
// condition, durationDays, isActive, createdBy, createdAt, updatedAt, version}.
std::string PromotionToJson(const Promotion& promotion);
// Reads what PromotionToJson wrote; kDataLoss when it does not hold a promotion.
Result<Promotion> PromotionFromJson(std::string_view json);

}  // namespace keel

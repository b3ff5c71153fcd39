// A promotion given to a customer (seed 002's CustomerPromotions, issue 16). Its event, the
// validation of input and the codec that the write side and the projector share. Pure; value
// types.
//
// An assignment travels on its customer's stream (aggregate "promotion_assignment", keyed by
// the customer), as transactions do, so that it is decided against the customer and the
// customer's other assignments under one lock and folded in log order. It carries what the
// customer was given (the promotion's title and reward as they were when assigned), so that a
// later change of the promotion does not change what a customer holds.
//
// An assignment is available until used or past expiresAt; expiry is judged at read time
// against the clock, never folded (a projection takes time from events only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/promotion.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kPromotionAssignmentAggregate = "promotion_assignment";
// {promotionId, customerId, assignmentId, assignedAt, expiresAt (null: never), reason,
// rewardType, rewardValue, title}; the envelope's actor is who assigned it.
inline constexpr std::string_view kPromotionAssigned = "PromotionAssigned";

// Why an assignment was made: by hand through the API, or earned by an order or a level change
// that met the promotion's condition (the condition's type).
inline constexpr std::string_view kManualAssignment = "manual";
inline constexpr std::string_view kFirstPurchaseAssignment = "first_purchase";
inline constexpr std::string_view kMinimumPurchaseAssignment = "minimum_purchase";
inline constexpr std::string_view kCustomerLevelAssignment = "customer_level";
inline constexpr std::string_view kReferralAssignment = "referral";
inline constexpr size_t kMaxAssignmentReasonLength = 50;

enum class AssignmentStatus { kAvailable, kUsed, kExpired };
std::string_view AssignmentStatusName(AssignmentStatus status);  // "available", "used", ...
std::optional<AssignmentStatus> ParseAssignmentStatus(std::string_view name);

struct PromotionAssignment {
  std::string id;
  std::string promotion_id;
  std::string customer_id;
  std::string title;
  RewardType reward_type = RewardType::kPercentage;
  int64_t reward_value = 0;  // hundredths, as the promotion had it
  std::string reason;
  Millis assigned_at = 0;
  std::optional<Millis> expires_at;  // none: never
  std::string assigned_by;           // the actor
  std::optional<Millis> used_at;     // none: not used
  std::optional<std::string> order_id;  // the order that used it

  // Used, expired (at or after expiresAt) or available at `now`.
  AssignmentStatus StatusAt(Millis now) const;
  bool operator==(const PromotionAssignment&) const = default;
};

// A validated POST /promotions/:id/assign body: {customerId} (required, 1–100 characters).
// Unknown fields are named (kInvalidArgument, "Validation failed").
Result<std::string> ParseAssignPromotionInput(std::string_view body);

// The assignment `id` of `promotion` to `customer_id` at `now` by `actor`; it expires
// durationDays after `now`, if the promotion has a duration.
PromotionAssignment NewAssignment(std::string id, const Promotion& promotion,
                                  std::string customer_id, std::string reason, Millis now,
                                  std::string actor);

std::string EncodePromotionAssigned(const PromotionAssignment& assignment);
// The assignment an event records (its id must be the aggregate id; actor from the envelope);
// kDataLoss when it is not a valid PromotionAssigned.
Result<PromotionAssignment> DecodePromotionAssigned(const EventEnvelope& event);

// Referrals (issue 16): the first order of a customer who was referred (referredBy) qualifies
// the referrer for the referral promotions. Aggregate "customer_referral", id the referred
// customer, two events with the same payload {referrerId, referredCustomerId, orderId}:
// - ReferralQualified (version 1), decided with the order and appended with its OrderPlaced,
//   under the referred customer's key;
// - ReferralCredited (version 2), decided later and appended under the referrer's key (the
//   referrer's promotions must be folded in the referrer's partition, where the referrer's
//   orders redeem them), followed in the same append by a PromotionAssigned (reason "referral")
//   for each referral promotion the referrer earned (maybe none).
// The two land in different partitions, so a fold may meet them in either order.
inline constexpr std::string_view kCustomerReferralAggregate = "customer_referral";
inline constexpr std::string_view kReferralQualified = "ReferralQualified";
inline constexpr std::string_view kReferralCredited = "ReferralCredited";

struct Referral {
  std::string referrer_id;
  std::string referred_id;  // the aggregate id
  std::string order_id;     // the referred customer's first order

  bool operator==(const Referral&) const = default;
};

std::string EncodeReferral(const Referral& referral);
// The referral a ReferralQualified or ReferralCredited records; kDataLoss when the event is not
// a valid one (its referredCustomerId must be the aggregate id, its version 1 or 2 by type).
Result<Referral> DecodeReferral(const EventEnvelope& event);

// As stored: {id, promotionId, customerId, title, rewardType, rewardValue, reason, assignedAt,
// expiresAt, assignedBy, usedAt, orderId}; as served, with `status` at `status_at` added.
std::string AssignmentToJson(const PromotionAssignment& assignment,
                             std::optional<Millis> status_at = std::nullopt);
// Reads what AssignmentToJson wrote; kDataLoss when it does not hold an assignment.
Result<PromotionAssignment> AssignmentFromJson(std::string_view json);

}  // namespace keel

// Promotion assignments (issue 16): what the customers stream's write model keeps of them and the
// pure decide function. No I/O; the caller serialises access and appends the events under the
// customer's key, on the customers stream, so that a customer's assignments are decided against
// one model in log order.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands/command_meta.h"
#include "commands/customer_commands.h"
#include "commands/snapshot_codec.h"
#include "domain/promotion_assignment.h"

namespace keel {

// How the customers stream finds a promotion (in the promotions stream): nullopt for none;
// kUnavailable while the promotions are not loaded. Called under the customers stream's lock.
using PromotionLookup =
    std::function<Result<std::optional<Promotion>>(const std::string& promotion_id)>;
// The promotions an order may earn (PromotionService::EarnedAtOrder): kUnavailable while the
// promotions are not loaded. Called under the customers stream's lock, for every order.
using EarnedPromotionsLookup =
    std::function<Result<std::shared_ptr<const std::vector<Promotion>>>()>;

struct AssignPromotion {
  std::string promotion_id;
  std::string customer_id;
};

// Every assignment by id, and each customer's in the order they were made: what a duplicate is
// judged by, and what an order redeems (the reward it carries, and whether it was used). Not
// thread-safe.
class AssignmentWriteModel {
 public:
  AssignmentWriteModel() = default;
  // Not copyable: by_customer_ points into by_id_ (a move takes both along).
  AssignmentWriteModel(const AssignmentWriteModel&) = delete;
  AssignmentWriteModel& operator=(const AssignmentWriteModel&) = delete;
  AssignmentWriteModel(AssignmentWriteModel&&) = default;
  AssignmentWriteModel& operator=(AssignmentWriteModel&&) = default;

  struct Entry {
    std::string customer_id;
    std::string promotion_id;
    std::optional<Millis> expires_at;
    bool used = false;
    RewardType reward_type = RewardType::kPercentage;
    int64_t reward_value = 0;  // hundredths

    bool operator==(const Entry&) const = default;
  };

  const Entry* Find(std::string_view id) const;
  // Whether an order of `customer_id` may fold as redeeming assignment `id`: kDataLoss for an
  // unknown assignment, another customer's, or one used already.
  Status CheckRedeemable(std::string_view id, std::string_view customer_id) const;
  // Marks it used (after CheckRedeemable).
  void MarkUsed(std::string_view id);
  // The id of the customer's assignment of `promotion_id` that is neither used nor expired at
  // `now`, if any, other than `except` (one an order being decided redeems); valid until the
  // next fold. Every order asks it for each promotion it may earn: it reads the customer's
  // entries in place, without a lookup by id or a copy.
  std::optional<std::string_view> OpenAssignment(std::string_view customer_id,
                                                 std::string_view promotion_id, Millis now,
                                                 std::string_view except = {}) const;
  // Folds an assignment; kDataLoss for an id assigned before.
  Status Apply(const PromotionAssignment& assignment);

  // Referrals. A referred customer's first order qualifies their referrer (ReferralQualified,
  // appended with the order); the credit is a later decision on the referrer's key
  // (DecideCreditReferral). A load may fold the referrer's partition before the referred
  // customer's, so either order folds to the same model: a referral credited is never pending
  // again.
  struct PendingReferral {
    std::string referrer_id;
    std::string order_id;  // the referred customer's first order

    bool operator==(const PendingReferral&) const = default;
  };
  // Folds a ReferralQualified (pending, unless credited already) or a ReferralCredited;
  // kDataLoss for a referred customer qualified or credited twice.
  Status ApplyReferral(const EventEnvelope& event);
  const PendingReferral* FindPendingReferral(std::string_view referred_id) const;
  // Up to `max` referred customers whose referral awaits its credit, in id order.
  std::vector<std::string> PendingReferrals(size_t max) const;

  // The snapshot form (write_model_snapshot.cc).
  void Save(SnapshotWriter& out) const;
  bool Restore(SnapshotReader& in);
  bool SameAs(const AssignmentWriteModel& other) const;

 private:
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // A node of by_id_. Nodes never move while nothing is erased, extracted or merged: anything
  // that ever removes an assignment must remove its pointer from by_customer_ too.
  using Held = std::pair<const std::string, Entry>;
  std::unordered_map<std::string, Entry, TextHash, std::equal_to<>> by_id_;
  // Each customer's, as folded.
  std::unordered_map<std::string, std::vector<const Held*>, TextHash, std::equal_to<>> by_customer_;
  std::map<std::string, PendingReferral, std::less<>> pending_referrals_;  // by referred id
  std::unordered_set<std::string> credited_referrals_;                     // referred ids
};

struct AssignmentDecision {
  PromotionAssignment assignment;  // as assigned
  std::vector<EventEnvelope> events;
};

// By hand (reason "manual"). Refuses with
// - kUnavailable when `promotion` could not be looked up (not loaded yet);
// - kNotFound for an unknown promotion;
// - kInvalidArgument naming customerId for an unknown or inactive customer, and promotionId for
//   an inactive promotion;
// - kFailedPrecondition when the customer holds an assignment of the promotion that is neither
//   used nor expired at meta.now.
// The assignment's id is `id`.
Result<AssignmentDecision> DecideAssignPromotion(const CustomerWriteModel& customers,
                                                 const AssignmentWriteModel& assignments,
                                                 const Result<std::optional<Promotion>>& promotion,
                                                 const AssignPromotion& cmd, std::string id,
                                                 const CommandMeta& meta, IdGenerator& ids);

// What an order of `customer_id` worth `gross_cents` gets for redeeming assignment `id` at
// `now`. kInvalidArgument naming promotionAssignmentId for an assignment that is unknown or
// another customer's (one message for both, so that nothing tells whether it exists), used
// already, or expired (expiresAt <= now).
Result<OrderPromotion> DecideRedemption(const AssignmentWriteModel& assignments,
                                        std::string_view id, std::string_view customer_id,
                                        int64_t gross_cents, Millis now);

// Appends to `events` the PromotionAssigned that gives `promotion` to `customer_id` for `reason`
// at meta.now, unless the customer holds an assignment of it that is neither used nor expired
// then (other than `except`, one an order being decided redeems). The id from `ids`. What every
// earned assignment (by an order, a level change, a referral) is made by.
void EarnUnlessHeld(const AssignmentWriteModel& assignments, const Promotion& promotion,
                    const std::string& customer_id, std::string_view reason,
                    const CommandMeta& meta, IdGenerator& ids, std::vector<EventEnvelope>& events,
                    std::string_view except = {});

// What order `order` (just decided, not folded yet) of `customer` (as before it) earns, in
// the same decision: an assignment of each of `earnable` that is active and whose condition it
// meets, first_purchase (the customer never placed an order before, cancelled ones included)
// or minimum_purchase (the order's amount, net of any discount, at least the condition's),
// unless the customer holds an assignment of it that is neither used nor expired at meta.now
// (other than the one the order itself redeems).
// An order placed Cancelled earns nothing. Reason: the condition's type; ids from `ids`.
std::vector<EventEnvelope> DecideEarnedAssignments(const AssignmentWriteModel& assignments,
                                                   const std::vector<Promotion>& earnable,
                                                   const Customer& customer, const Order& order,
                                                   const CommandMeta& meta, IdGenerator& ids);

// What order `order` (just decided, not folded yet) of `customer` (as before it) qualifies: a
// ReferralQualified when it is the first order of a customer with a referrer (`referredBy`; the
// same "first" as first_purchase), not placed Cancelled, while `earnable` holds an active
// referral promotion; none otherwise. The credit follows (DecideCreditReferral).
std::optional<EventEnvelope> DecideReferralQualified(const std::vector<Promotion>& earnable,
                                                     const Customer& customer, const Order& order,
                                                     const CommandMeta& meta, IdGenerator& ids);

// The credit of `referred_id`'s referral (pending in `assignments`), appended under the
// referrer's key (`referrer` gets it): nothing when it is not pending (credited already, by a
// retry or a second keeper). Otherwise a ReferralCredited, then a PromotionAssigned (reason
// "referral") for each active promotion of `earnable` whose condition is referral, when the
// referrer is a known, active customer who does not hold an assignment of it that is neither
// used nor expired at meta.now.
struct ReferralCreditDecision {
  std::string referrer_id;
  std::vector<EventEnvelope> events;
};
ReferralCreditDecision DecideCreditReferral(const CustomerWriteModel& customers,
                                            const AssignmentWriteModel& assignments,
                                            const std::vector<Promotion>& earnable,
                                            const std::string& referred_id, const CommandMeta& meta,
                                            IdGenerator& ids);

}  // namespace keel

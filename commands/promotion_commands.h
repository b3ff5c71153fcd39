// The promotions stream's write model and its pure decide functions: (model, command) → events
// or an error. The model holds every promotion by id (its version for If-Match); PromotionService
// decides each command against it under the runtime's one lock.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/promotion.h"

namespace keel {

// Every promotion, by id. A value type; not thread-safe.
class PromotionWriteModel final {
 public:
  const Promotion* Find(std::string_view id) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  const std::map<std::string, Promotion, std::less<>>& all() const { return promotions_; }

 private:
  std::map<std::string, Promotion, std::less<>> promotions_;
};

// At most this many promotions are earned automatically (active, first_purchase,
// minimum_purchase, customer_level or referral) at once: every order, level change and referral
// is decided against each of them, and appends one assignment per promotion it meets, in its one
// append.
inline constexpr size_t kMaxEarnablePromotions = 50;
// Whether an order, a level change or a referral may earn it (active, first_purchase,
// minimum_purchase, customer_level or referral).
bool EarnedAutomatically(const PromotionInput& definition);

// A new promotion `id`: PromotionCreated. kAlreadyExists for an id taken; kFailedPrecondition
// when it would be earnable beyond kMaxEarnablePromotions.
Result<EventEnvelope> DecideCreatePromotion(const PromotionWriteModel& model, const std::string& id,
                                            const PromotionInput& input, const CommandMeta& meta,
                                            IdGenerator& ids);

// PUT, a replace: PromotionUpdated with the fields that change; none when nothing does (a retry
// appends nothing). kNotFound; kAborted for a stale If-Match; kFailedPrecondition when it would
// become earnable beyond kMaxEarnablePromotions.
Result<std::vector<EventEnvelope>> DecideReplacePromotion(
    const PromotionWriteModel& model, const std::string& id, const PromotionInput& input,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids);

// DELETE: PromotionDeactivated, or none when the promotion is inactive already. kNotFound;
// kAborted for a stale If-Match.
Result<std::vector<EventEnvelope>> DecideDeactivatePromotion(
    const PromotionWriteModel& model, const std::string& id,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

#include "commands/promotion_commands.h"

namespace keel {
namespace {

Result<const Promotion*> FindChecked(const PromotionWriteModel& model, const std::string& id,
                                     std::optional<int64_t> expected_version) {
  const Promotion* p = model.Find(id);
  if (!p) return Fail(Error::NotFound("Promotion " + id + " not found"));
  if (auto st = CheckExpectedVersion("Promotion", id, p->version, expected_version); !st) {
    return Fail(st.error());
  }
  return p;
}

}  // namespace

const Promotion* PromotionWriteModel::Find(std::string_view id) const {
  auto it = promotions_.find(id);
  return it == promotions_.end() ? nullptr : &it->second;
}

Status PromotionWriteModel::Apply(const EventEnvelope& event) {
  Promotion next;
  if (const Promotion* current = Find(event.aggregate_id)) next = *current;
  if (auto st = ApplyPromotionEvent(next, event); !st) return st;
  promotions_[event.aggregate_id] = std::move(next);
  return {};
}

bool EarnedAutomatically(const PromotionInput& definition) {
  return definition.is_active && (definition.condition.type == ConditionType::kFirstPurchase ||
                                  definition.condition.type == ConditionType::kMinimumPurchase ||
                                  definition.condition.type == ConditionType::kCustomerLevel ||
                                  definition.condition.type == ConditionType::kReferral);
}

namespace {

// kFailedPrecondition when `id` defined as `input` would make one earnable promotion too many.
Status CheckEarnableRoom(const PromotionWriteModel& model, const std::string& id,
                         const PromotionInput& input) {
  if (!EarnedAutomatically(input)) return {};
  if (const Promotion* now = model.Find(id); now && EarnedAutomatically(now->definition)) return {};
  size_t earnable = 0;
  for (const auto& [other, p] : model.all()) earnable += EarnedAutomatically(p.definition) ? 1 : 0;
  if (earnable < kMaxEarnablePromotions) return {};
  std::string message = "At most ";
  message += std::to_string(kMaxEarnablePromotions);
  message +=
      " active first_purchase, minimum_purchase, customer_level and referral promotions at once "
      "(each order, level change and referral is decided against every one of them); deactivate "
      "one first";
  return Fail(Error::FailedPrecondition(std::move(message)));
}

}  // namespace

Result<EventEnvelope> DecideCreatePromotion(const PromotionWriteModel& model, const std::string& id,
                                            const PromotionInput& input, const CommandMeta& meta,
                                            IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Promotion " + id + " already exists"));
  if (auto st = CheckEarnableRoom(model, id, input); !st) return Fail(st.error());
  return NewEvent(kPromotionAggregate, kPromotionCreated, id, 1, EncodePromotionCreated(input),
                  meta, ids);
}

Result<std::vector<EventEnvelope>> DecideReplacePromotion(
    const PromotionWriteModel& model, const std::string& id, const PromotionInput& input,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(model, id, expected_version);
  if (!found) return Fail(found.error());
  if (auto st = CheckEarnableRoom(model, id, input); !st) return Fail(st.error());
  std::vector<EventEnvelope> events;
  if (auto updated = EncodePromotionUpdated(**found, input)) {
    events.push_back(NewEvent(kPromotionAggregate, kPromotionUpdated, id, (*found)->version + 1,
                              std::move(*updated), meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideDeactivatePromotion(
    const PromotionWriteModel& model, const std::string& id,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids) {
  auto found = FindChecked(model, id, expected_version);
  if (!found) return Fail(found.error());
  std::vector<EventEnvelope> events;
  if ((*found)->is_active()) {
    events.push_back(NewEvent(kPromotionAggregate, kPromotionDeactivated, id, (*found)->version + 1,
                              "{}", meta, ids));
  }
  return events;
}

}  // namespace keel

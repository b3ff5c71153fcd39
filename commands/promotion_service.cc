#include "commands/promotion_service.h"

namespace keel {

Result<PromotionOutcome> PromotionService::Stream::AnswerFor(const PromotionWriteModel& model,
                                                             const Decision& decision) {
  const Promotion* p = model.Find(decision.key);
  if (!p) {
    return Fail(Error::Internal("Promotion " + decision.key + " is not in the write model"));
  }
  return PromotionOutcome{*p, decision.created, std::nullopt};
}

std::optional<PromotionOutcome> PromotionService::Stream::Remembered(
    const PromotionWriteModel& model, const EventEnvelope& event) {
  const Promotion* p = model.Find(event.aggregate_id);
  if (!p) return std::nullopt;
  return PromotionOutcome{*p, event.type == kPromotionCreated, std::nullopt};
}

void PromotionService::Stream::Loaded(PromotionWriteModel& model, Millis) {
  std::lock_guard lock(service->acknowledged_mu_);
  for (const auto& [id, promotion] : model.all()) {
    Promotion& known = service->acknowledged_[id];
    if (known.version <= promotion.version) known = promotion;
  }
  service->AcknowledgedChanged();
}

void PromotionService::AcknowledgedChanged() {
  auto earned = std::make_shared<std::vector<Promotion>>();
  for (const auto& [id, promotion] : acknowledged_) {
    if (EarnedAutomatically(promotion.definition)) earned->push_back(promotion);
  }
  earned_at_order_ = std::move(earned);
}

std::shared_ptr<const std::vector<Promotion>> PromotionService::EarnedAtOrder() const {
  std::lock_guard lock(acknowledged_mu_);
  return earned_at_order_;
}

PromotionService::PromotionService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{{}, this}, log, clock) {}

Status PromotionService::Load() { return runtime_.Load(); }

PromotionService::Done PromotionService::Acknowledging(Done done) {
  return [this, done = std::move(done)](Result<PromotionOutcome> out) {
    if (out && out->position) {
      std::lock_guard lock(acknowledged_mu_);
      Promotion& known = acknowledged_[out->promotion.id];
      if (known.version < out->promotion.version) {
        known = out->promotion;
        AcknowledgedChanged();
      }
    }
    done(std::move(out));
  };
}

std::optional<Promotion> PromotionService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

void PromotionService::Create(PromotionInput input, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input)](const PromotionWriteModel& model,
                                       const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto event = DecideCreatePromotion(model, id, input, m, ids_);
        if (!event) return Fail(event.error());
        return Decision{id, {std::move(*event)}, true};
      },
      Acknowledging(std::move(done)));
}

void PromotionService::Change(std::string id, CommandMeta meta, DecideChange decide, Done done) {
  runtime_.Execute(
      std::move(meta),
      [id = std::move(id), decide = std::move(decide)](const PromotionWriteModel& model,
                                                       const CommandMeta& m) -> Result<Decision> {
        auto events = decide(model, m);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), false};
      },
      Acknowledging(std::move(done)));
}

void PromotionService::Replace(std::string id, PromotionInput input,
                               std::optional<int64_t> expected_version, CommandMeta meta,
                               Done done) {
  Change(
      id, std::move(meta),
      [this, id, input = std::move(input), expected_version](const PromotionWriteModel& model,
                                                             const CommandMeta& m) {
        return DecideReplacePromotion(model, id, input, expected_version, m, ids_);
      },
      std::move(done));
}

void PromotionService::Deactivate(std::string id, std::optional<int64_t> expected_version,
                                  CommandMeta meta, Done done) {
  Change(
      id, std::move(meta),
      [this, id, expected_version](const PromotionWriteModel& model, const CommandMeta& m) {
        return DecideDeactivatePromotion(model, id, expected_version, m, ids_);
      },
      std::move(done));
}

}  // namespace keel

#include "commands/promotion_assignment_commands.h"

namespace keel {

const AssignmentWriteModel::Entry* AssignmentWriteModel::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : &it->second;
}

std::optional<std::string> AssignmentWriteModel::OpenAssignment(std::string_view customer_id,
                                                                std::string_view promotion_id,
                                                                Millis now) const {
  auto ids = by_customer_.find(std::string(customer_id));
  if (ids == by_customer_.end()) return std::nullopt;
  for (const std::string& id : ids->second) {
    const Entry& e = by_id_.at(id);
    if (e.promotion_id == promotion_id && !e.used && !(e.expires_at && now >= *e.expires_at)) {
      return id;
    }
  }
  return std::nullopt;
}

Status AssignmentWriteModel::Apply(const PromotionAssignment& a) {
  Entry entry{a.customer_id, a.promotion_id, a.expires_at, a.used_at.has_value()};
  if (!by_id_.emplace(a.id, std::move(entry)).second) {
    return Fail(Error::DataLoss("Promotion assignment " + a.id + " was made twice"));
  }
  by_customer_[a.customer_id].push_back(a.id);
  return {};
}

Result<AssignmentDecision> DecideAssignPromotion(const CustomerWriteModel& customers,
                                                 const AssignmentWriteModel& assignments,
                                                 const Result<std::optional<Promotion>>& promotion,
                                                 const AssignPromotion& cmd, std::string id,
                                                 const CommandMeta& meta, IdGenerator& ids) {
  if (!promotion) return Fail(promotion.error());
  if (!*promotion) return Fail(Error::NotFound("Promotion " + cmd.promotion_id + " not found"));
  const Promotion& p = **promotion;
  const Customer* customer = customers.Find(cmd.customer_id);
  if (!customer) {
    std::string message = "No customer with id ";
    message += cmd.customer_id;
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  if (!customer->is_active) {
    std::string message = "Customer ";
    message += customer->id;
    message += " is inactive";
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  if (!p.is_active()) {
    std::string message = "Promotion ";
    message += p.id;
    message += " is inactive";
    return Fail(Error::Validation({{"promotionId", std::move(message)}}));
  }
  if (auto open = assignments.OpenAssignment(customer->id, p.id, meta.now)) {
    std::string message = "Customer ";
    message += customer->id;
    message += " already holds promotion ";
    message += p.id;
    message += ", unused and unexpired (assignment ";
    message += *open;
    message += "); it may be assigned again once that one is used or has expired";
    return Fail(Error::FailedPrecondition(std::move(message)));
  }
  AssignmentDecision d;
  d.assignment = NewAssignment(std::move(id), p, customer->id, std::string(kManualAssignment),
                               meta.now, meta.actor);
  d.events.push_back(NewEvent(kPromotionAssignmentAggregate, kPromotionAssigned, d.assignment.id, 1,
                              EncodePromotionAssigned(d.assignment), meta, ids));
  return d;
}

}  // namespace keel

#include "commands/standing_commands.h"

#include <limits>

#include "domain/promotion_assignment.h"

namespace keel {

Result<std::vector<EventEnvelope>> DecideRecordStanding(const CustomerWriteModel& customers,
                                                        const AssignmentWriteModel& assignments,
                                                        const std::vector<Promotion>& earnable,
                                                        const RecordStanding& cmd,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  const Customer* c = customers.Find(cmd.customer_id);
  if (!c) return Fail(Error::NotFound("Customer " + cmd.customer_id + " not found"));
  const LoyaltyStanding& after = cmd.standing;
  for (uint8_t score : {after.recency, after.frequency, after.monetary}) {
    if (score < 1 || score > 5) {
      return Fail(Error::InvalidArgument("A standing's scores are 1 to 5"));
    }
  }
  std::vector<EventEnvelope> events;
  if (c->standing == after) return events;
  if (c->standing_version == std::numeric_limits<int64_t>::max()) {
    return Fail(Error::FailedPrecondition("Customer " + c->id + " has no standing version left"));
  }
  const std::string_view type = StandingEventType(c->standing, after);
  events.push_back(NewEvent(kCustomerStandingAggregate, type, c->id, c->standing_version + 1,
                            EncodeStandingChange(c->standing, after), meta, ids));
  if (type != kCustomerLevelChanged || !c->is_active) return events;
  for (const Promotion& p : earnable) {
    const PromotionCondition& condition = p.definition.condition;
    if (!p.is_active() || condition.type != ConditionType::kCustomerLevel ||
        condition.level != after.level) {
      continue;
    }
    EarnUnlessHeld(assignments, p, c->id, kCustomerLevelAssignment, meta, ids, events);
  }
  return events;
}

}  // namespace keel

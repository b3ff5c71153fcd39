// The level keeper's command on the customers stream (issue 16): record a customer's loyalty
// standing (domain/loyalty.h) when it differs from the one recorded, with the customer_level
// promotions a new level earns, in one decision. Pure; the caller serialises access.
#pragma once

#include <string>
#include <vector>

#include "commands/command_meta.h"
#include "commands/customer_commands.h"
#include "commands/promotion_assignment_commands.h"
#include "domain/loyalty.h"
#include "domain/promotion.h"

namespace keel {

struct RecordStanding {
  std::string customer_id;
  LoyaltyStanding standing;  // scored
};

// Nothing when the customer holds `cmd.standing` already (a keeper that retries, or two keepers,
// record a change once). Otherwise CustomerLevelChanged (the level changes) or
// CustomerScoresChanged, and after a CustomerLevelChanged of an active customer
// a PromotionAssigned (reason customer_level) for each active promotion of `earnable` whose
// condition is customer_level at the new level, unless the customer holds an assignment of it
// that is neither used nor expired at meta.now. kNotFound for an unknown customer;
// kInvalidArgument for a standing that is not scored.
Result<std::vector<EventEnvelope>> DecideRecordStanding(const CustomerWriteModel& customers,
                                                        const AssignmentWriteModel& assignments,
                                                        const std::vector<Promotion>& earnable,
                                                        const RecordStanding& cmd,
                                                        const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

// The customer history read model: where each of a customer's own events sits in the log, so
// that GET /customers/:id/events serves them, oldest first, exactly as they were appended. Its
// orders' events are found through their order records (the orders read model) instead of an
// entry each; its payments and refunds (TransactionRecorded) have an entry each.
// The projector holds no state of its own.
#pragma once

#include <string>
#include <vector>

#include "domain/topics.h"
#include "infra/event_log.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// customerId + "/" + offset (20 digits) → the partition (an older read model: the envelope).
inline constexpr std::string_view kCustomerEventsTable = "customer_events";

class CustomerHistoryProjector final : public Projector {
 public:
  std::string_view name() const override { return "customer_history"; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kCustomerEventsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// The customer's events, oldest first, as encoded envelopes; empty for an unknown id. The
// history table points into `log` (the events are read from there, as appended); entries from
// read models built before that hold the envelope itself.
Result<std::vector<std::string>> QueryCustomerEvents(ReadStore& store, EventLog& log,
                                                     std::string_view id);

}  // namespace keel

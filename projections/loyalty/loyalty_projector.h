// The loyalty settings read model (issue 16): the settings in force and their version, folded
// from the keel.loyalty stream into one record. The levels themselves are computed at read time
// by the RfmColumns view (rfm_columns.h) from these settings and the query's clock. The
// projector holds no state.
#pragma once

#include <string>
#include <vector>

#include "domain/loyalty.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// kLoyaltySettingsId → LoyaltyStateToJson.
inline constexpr std::string_view kLoyaltySettingsTable = "loyalty_settings";

class LoyaltyProjector final : public Projector {
 public:
  std::string_view name() const override { return "loyalty"; }
  std::vector<std::string_view> topics() const override { return {kLoyaltyTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kLoyaltySettingsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// The settings in force: the defaults at version 0 before the first change. Thread-safe as the
// store is.
Result<LoyaltySettingsState> QueryLoyaltySettings(ReadStore& store);

}  // namespace keel

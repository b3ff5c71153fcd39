#include "projections/loyalty/loyalty_projector.h"

namespace keel {

Status LoyaltyProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                               std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kLoyaltyAggregate) return {};
  LoyaltySettingsState state;
  auto stored = view.Get(kLoyaltySettingsTable, kLoyaltySettingsId);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = LoyaltyStateFromJson(**stored);
    if (!decoded)
      return Fail(
          Error::Internal("Loyalty settings record unreadable: " + decoded.error().message));
    state = std::move(*decoded);
  }
  if (auto st = ApplyLoyaltyEvent(state, event); !st) return st;
  writes.push_back(
      {kLoyaltySettingsTable, std::string(kLoyaltySettingsId), LoyaltyStateToJson(state)});
  return {};
}

Result<LoyaltySettingsState> QueryLoyaltySettings(ReadStore& store) {
  auto stored = store.Get(kLoyaltySettingsTable, kLoyaltySettingsId);
  if (!stored) return Fail(stored.error());
  if (!*stored) return LoyaltySettingsState{};
  return LoyaltyStateFromJson(**stored);
}

}  // namespace keel

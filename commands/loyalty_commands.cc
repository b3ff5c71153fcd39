#include "commands/loyalty_commands.h"

namespace keel {

Status LoyaltyWriteModel::Apply(const EventEnvelope& event) {
  LoyaltySettingsState next = state_;
  if (auto st = ApplyLoyaltyEvent(next, event); !st) return st;
  state_ = std::move(next);
  return {};
}

Result<std::vector<EventEnvelope>> DecideChangeLoyaltySettings(
    const LoyaltyWriteModel& model, const LoyaltySettingsPatch& patch,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids) {
  const LoyaltySettingsState& current = model.state();
  if (expected_version && *expected_version != current.version) {
    std::string message = "The loyalty settings are at version ";
    message += std::to_string(current.version);
    message += ", not ";
    message += std::to_string(*expected_version);
    message += "; re-read them and retry";
    return Fail(Error::Aborted(std::move(message)));
  }
  const LoyaltySettings next = Patched(current.settings, patch);
  std::vector<EventEnvelope> events;
  if (next == current.settings) return events;
  events.push_back(NewEvent(kLoyaltyAggregate, kLoyaltySettingsChanged,
                            std::string(kLoyaltySettingsId), current.version + 1,
                            EncodeLoyaltySettings(next), meta, ids));
  return events;
}

}  // namespace keel

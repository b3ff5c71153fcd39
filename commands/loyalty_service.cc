#include "commands/loyalty_service.h"

namespace keel {

LoyaltyService::LoyaltyService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{}, log, clock) {}

Status LoyaltyService::Load() { return runtime_.Load(); }

void LoyaltyService::Change(LoyaltySettingsPatch patch, std::optional<int64_t> expected_version,
                            CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, patch = std::move(patch), expected_version](const LoyaltyWriteModel& model,
                                                         const CommandMeta& m) -> Result<Decided> {
        auto events = DecideChangeLoyaltySettings(model, patch, expected_version, m, ids_);
        if (!events) return Fail(events.error());
        return Decided{std::string(kLoyaltySettingsId), std::move(*events)};
      },
      std::move(done));
}

}  // namespace keel

// The loyalty stream's write model and its pure decide function (issue 16): the settings in
// force, one aggregate (kLoyaltySettingsId), changed whole by LoyaltySettingsChanged.
#pragma once

#include <optional>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/loyalty.h"

namespace keel {

// A value type; not thread-safe.
class LoyaltyWriteModel final {
 public:
  const LoyaltySettingsState& state() const { return state_; }
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);

 private:
  LoyaltySettingsState state_;
};

// One LoyaltySettingsChanged with the whole settings after `patch`; none when nothing changes.
// kAborted for a stale If-Match (the settings' version; 0 before the first change).
Result<std::vector<EventEnvelope>> DecideChangeLoyaltySettings(
    const LoyaltyWriteModel& model, const LoyaltySettingsPatch& patch,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

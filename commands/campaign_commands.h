// The campaigns stream's write model and its pure decide functions: (model, command) → events
// or an error. A move the state machine does not allow is kFailedPrecondition naming both
// states (domain/campaign.h).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_meta.h"
#include "domain/campaign.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"

namespace keel {

// Every campaign (a value type; not thread-safe).
class CampaignWriteModel final {
 public:
  const Campaign* Find(std::string_view id) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  const std::map<std::string, Campaign, std::less<>>& all() const { return campaigns_; }

 private:
  std::map<std::string, Campaign, std::less<>> campaigns_;
};

// Whether a segment may be targeted: kOk, or the field error's message.
using SegmentCheck = std::optional<std::string>;

// A new campaign `id`: CampaignCreated, then CampaignScheduled or CampaignLaunched when the
// input asks. `segment_refusal`: why its segment cannot be targeted (none: it can).
Result<std::vector<EventEnvelope>> DecideCreateCampaign(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        const CampaignInput& input,
                                                        const SegmentCheck& segment_refusal,
                                                        const CommandMeta& meta, IdGenerator& ids);
// A Draft's new definition; none when nothing changes. kNotFound, kAborted (If-Match),
// kFailedPrecondition (not a Draft).
Result<std::vector<EventEnvelope>> DecideEditCampaign(const CampaignWriteModel& model,
                                                      const std::string& id,
                                                      const CampaignEdit& edit,
                                                      const SegmentCheck& segment_refusal,
                                                      std::optional<int64_t> expected_version,
                                                      const CommandMeta& meta, IdGenerator& ids);
Result<std::vector<EventEnvelope>> DecideScheduleCampaign(const CampaignWriteModel& model,
                                                          const std::string& id, Millis at,
                                                          std::optional<int64_t> expected_version,
                                                          const CommandMeta& meta,
                                                          IdGenerator& ids);
// Launches a Draft or Scheduled campaign (`trigger`: "manual" or "schedule"). The scheduler's
// launch of a campaign that is no longer Scheduled, or not yet due, decides nothing.
Result<std::vector<EventEnvelope>> DecideLaunchCampaign(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        std::string_view trigger,
                                                        const SegmentCheck& segment_refusal,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids);
// Pause (Running → Paused), resume (Paused → Running), cancel (any state not final), fail.
// Asking for the state a campaign is in already decides nothing.
Result<std::vector<EventEnvelope>> DecideMoveCampaign(const CampaignWriteModel& model,
                                                      const std::string& id, CampaignState to,
                                                      std::string_view reason,
                                                      std::optional<int64_t> expected_version,
                                                      const CommandMeta& meta, IdGenerator& ids);
// The launched campaign's audience, once resolved; CampaignCompleted with it when nobody is to
// be sent anything. None for a campaign whose audience is frozen already or that has ended.
Result<std::vector<EventEnvelope>> DecideFreezeAudience(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        const CampaignAudience& audience,
                                                        const CommandMeta& meta, IdGenerator& ids);

// The dispatcher's progress: a chunk the vendor has answered, read after `sent.after`.
// kAborted when the campaign's cursor is not `sent.after` any more (recorded already);
// kFailedPrecondition when the campaign is not Running, Paused or Cancelled (a chunk in flight
// when it was paused or cancelled is recorded) or has no frozen audience.
Result<std::vector<EventEnvelope>> DecideRecordMessagesSent(const CampaignWriteModel& model,
                                                            const std::string& id,
                                                            const MessagesSent& sent,
                                                            const CommandMeta& meta,
                                                            IdGenerator& ids);
// Delivery receipts for a launched campaign's messages (any state once the audience is
// frozen: receipts of messages sent before a cancel still count). None for none.
Result<std::vector<EventEnvelope>> DecideRecordReceipts(
    const CampaignWriteModel& model, const std::string& id,
    const std::vector<DeliveryReceipt>& receipts, const CommandMeta& meta, IdGenerator& ids);
// Running → Sent, once the dispatcher has read that every queued recipient is terminal (the
// receipts are counted on the read side). None for a campaign that is Sent already.
Result<std::vector<EventEnvelope>> DecideCompleteCampaign(const CampaignWriteModel& model,
                                                          const std::string& id,
                                                          const CommandMeta& meta,
                                                          IdGenerator& ids);

}  // namespace keel

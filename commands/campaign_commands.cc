#include "commands/campaign_commands.h"

namespace keel {
namespace {

Result<const Campaign*> FindChecked(const CampaignWriteModel& model, const std::string& id,
                                    std::optional<int64_t> expected_version) {
  const Campaign* c = model.Find(id);
  if (!c) return Fail(Error::NotFound("Campaign " + id + " not found"));
  if (auto st = CheckExpectedVersion("Campaign", id, c->version, expected_version); !st) {
    return Fail(st.error());
  }
  return c;
}

Error SegmentRefused(const std::string& why) { return Error::Validation({{"segmentId", why}}); }

// The event that moves `c` to `to`.
std::string_view MoveType(const Campaign& c, CampaignState to) {
  switch (to) {
    case CampaignState::kRunning:
      return c.state == CampaignState::kPaused ? kCampaignResumed : kCampaignLaunched;
    case CampaignState::kPaused:
      return kCampaignPaused;
    case CampaignState::kCancelled:
      return kCampaignCancelled;
    case CampaignState::kFailed:
      return kCampaignFailed;
    case CampaignState::kSent:
      return kCampaignCompleted;
    case CampaignState::kScheduled:
      return kCampaignScheduled;
    case CampaignState::kDraft:
      break;
  }
  return {};
}

}  // namespace

const Campaign* CampaignWriteModel::Find(std::string_view id) const {
  auto it = campaigns_.find(id);
  return it == campaigns_.end() ? nullptr : &it->second;
}

Status CampaignWriteModel::Apply(const EventEnvelope& event) {
  Campaign next;
  if (const Campaign* c = Find(event.aggregate_id)) next = *c;
  if (auto st = ApplyCampaignEvent(next, event); !st) return st;
  campaigns_[event.aggregate_id] = std::move(next);
  return {};
}

Result<std::vector<EventEnvelope>> DecideCreateCampaign(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        const CampaignInput& input,
                                                        const SegmentCheck& segment_refusal,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Campaign " + id + " already exists"));
  if (segment_refusal) return Fail(SegmentRefused(*segment_refusal));
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kCampaignAggregate, kCampaignCreated, id, 1,
                            EncodeCampaignCreated(input), meta, ids));
  if (input.scheduled_at) {
    events.push_back(NewEvent(kCampaignAggregate, kCampaignScheduled, id, 2,
                              EncodeCampaignScheduled(*input.scheduled_at), meta, ids));
  } else if (input.launch) {
    Campaign draft;
    draft.segment_id = input.segment_id;
    draft.message = input.message;
    draft.occasion = input.occasion;
    events.push_back(NewEvent(
        kCampaignAggregate, kCampaignLaunched, id, 2,
        EncodeCampaignLaunched(draft, input.occasion == Occasion::kNone ? "manual" : "automation"),
        meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideEditCampaign(const CampaignWriteModel& model,
                                                      const std::string& id,
                                                      const CampaignEdit& edit,
                                                      const SegmentCheck& segment_refusal,
                                                      std::optional<int64_t> expected_version,
                                                      const CommandMeta& meta, IdGenerator& ids) {
  auto c = FindChecked(model, id, expected_version);
  if (!c) return Fail(c.error());
  if ((*c)->state != CampaignState::kDraft) {
    return Fail(Error::FailedPrecondition("Campaign " + id + " is " +
                                          std::string(CampaignStateName((*c)->state)) +
                                          "; only a Draft can be edited"));
  }
  Campaign next = **c;
  if (edit.name) next.name = *edit.name;
  if (edit.segment_id) {
    if (*edit.segment_id != next.segment_id && segment_refusal) {
      return Fail(SegmentRefused(*segment_refusal));
    }
    next.segment_id = *edit.segment_id;
  }
  if (edit.message) next.message = *edit.message;
  if (next.name == (*c)->name && next.segment_id == (*c)->segment_id &&
      next.message == (*c)->message) {
    return std::vector<EventEnvelope>{};
  }
  return std::vector<EventEnvelope>{NewEvent(kCampaignAggregate, kCampaignEdited, id,
                                             (*c)->version + 1, EncodeCampaignEdited(next), meta,
                                             ids)};
}

Result<std::vector<EventEnvelope>> DecideScheduleCampaign(const CampaignWriteModel& model,
                                                          const std::string& id, Millis at,
                                                          std::optional<int64_t> expected_version,
                                                          const CommandMeta& meta,
                                                          IdGenerator& ids) {
  auto c = FindChecked(model, id, expected_version);
  if (!c) return Fail(c.error());
  if (!CampaignMayMove((*c)->state, CampaignState::kScheduled)) {
    return Fail(IllegalCampaignMove(**c, CampaignState::kScheduled));
  }
  if ((*c)->state == CampaignState::kScheduled && (*c)->scheduled_at == at) {
    return std::vector<EventEnvelope>{};
  }
  return std::vector<EventEnvelope>{NewEvent(kCampaignAggregate, kCampaignScheduled, id,
                                             (*c)->version + 1, EncodeCampaignScheduled(at), meta,
                                             ids)};
}

Result<std::vector<EventEnvelope>> DecideLaunchCampaign(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        std::string_view trigger,
                                                        const SegmentCheck& segment_refusal,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  auto c = FindChecked(model, id, expected_version);
  if (!c) return Fail(c.error());
  if (trigger == "schedule") {
    // The scheduler acts on what it saw; the campaign may have moved since.
    if ((*c)->state != CampaignState::kScheduled || !(*c)->scheduled_at ||
        *(*c)->scheduled_at > meta.now) {
      return std::vector<EventEnvelope>{};
    }
  } else if (!CampaignMayMove((*c)->state, CampaignState::kRunning) ||
             (*c)->state == CampaignState::kPaused) {
    return Fail(IllegalCampaignMove(**c, CampaignState::kRunning));
  }
  if (segment_refusal) {
    // The scheduler's launch of a campaign whose segment is gone ends it, with the reason, rather
    // than being refused at every pass.
    if (trigger == "schedule") {
      std::string reason = "Not launched at its time: ";
      reason += *segment_refusal;
      return std::vector<EventEnvelope>{NewEvent(kCampaignAggregate, kCampaignFailed, id,
                                                 (*c)->version + 1, EncodeCampaignReason(reason),
                                                 meta, ids)};
    }
    return Fail(
        Error::FailedPrecondition("Campaign " + id + " cannot be launched: " + *segment_refusal));
  }
  return std::vector<EventEnvelope>{NewEvent(kCampaignAggregate, kCampaignLaunched, id,
                                             (*c)->version + 1,
                                             EncodeCampaignLaunched(**c, trigger), meta, ids)};
}

Result<std::vector<EventEnvelope>> DecideMoveCampaign(const CampaignWriteModel& model,
                                                      const std::string& id, CampaignState to,
                                                      std::string_view reason,
                                                      std::optional<int64_t> expected_version,
                                                      const CommandMeta& meta, IdGenerator& ids) {
  auto c = FindChecked(model, id, expected_version);
  if (!c) return Fail(c.error());
  if ((*c)->state == to) return std::vector<EventEnvelope>{};
  // Resuming is the only way a command makes a campaign Running here (launching is another).
  const bool allowed = CampaignMayMove((*c)->state, to) &&
                       (to != CampaignState::kRunning || (*c)->state == CampaignState::kPaused) &&
                       to != CampaignState::kScheduled && to != CampaignState::kSent;
  if (!allowed) return Fail(IllegalCampaignMove(**c, to));
  const std::string payload = (to == CampaignState::kCancelled || to == CampaignState::kFailed)
                                  ? EncodeCampaignReason(reason)
                                  : std::string("{}");
  return std::vector<EventEnvelope>{
      NewEvent(kCampaignAggregate, MoveType(**c, to), id, (*c)->version + 1, payload, meta, ids)};
}

Result<std::vector<EventEnvelope>> DecideFreezeAudience(const CampaignWriteModel& model,
                                                        const std::string& id,
                                                        const CampaignAudience& audience,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  auto c = FindChecked(model, id, std::nullopt);
  if (!c) return Fail(c.error());
  if ((*c)->audience ||
      ((*c)->state != CampaignState::kRunning && (*c)->state != CampaignState::kPaused)) {
    return std::vector<EventEnvelope>{};
  }
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kCampaignAggregate, kCampaignAudienceFrozen, id, (*c)->version + 1,
                            EncodeCampaignAudience(audience), meta, ids));
  if (audience.queued == 0) {
    events.push_back(
        NewEvent(kCampaignAggregate, kCampaignCompleted, id, (*c)->version + 2, "{}", meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideRecordMessagesSent(const CampaignWriteModel& model,
                                                            const std::string& id,
                                                            const MessagesSent& sent,
                                                            const CommandMeta& meta,
                                                            IdGenerator& ids) {
  auto c = FindChecked(model, id, std::nullopt);
  if (!c) return Fail(c.error());
  const CampaignState state = (*c)->state;
  if (!(*c)->audience || (state != CampaignState::kRunning && state != CampaignState::kPaused &&
                          state != CampaignState::kCancelled)) {
    std::string message = "Campaign ";
    message += id;
    message += " is ";
    message += CampaignStateName(state);
    message += "; no messages can be recorded as sent";
    return Fail(Error::FailedPrecondition(std::move(message)));
  }
  if ((*c)->dispatch_cursor != sent.after) {
    std::string message = "Campaign ";
    message += id;
    message += " was dispatched through \"";
    message += (*c)->dispatch_cursor;
    message += "\", not \"";
    message += sent.after;
    message += "\"";
    return Fail(Error::Aborted(std::move(message)));
  }
  if (sent.through <= sent.after) {
    return Fail(Error::InvalidArgument("A chunk must end after the customer it was read after"));
  }
  std::vector<EventEnvelope> events{NewEvent(kCampaignAggregate, kCampaignMessagesSent, id,
                                             (*c)->version + 1, EncodeMessagesSent(sent), meta,
                                             ids)};
  // Messages given up end the campaign in the same append: a crash between the two must not
  // leave it Running with its cursor past recipients that were never sent.
  if (!sent.gave_up.empty() && state != CampaignState::kCancelled) {
    std::string reason = "The vendor did not accept ";
    reason += std::to_string(sent.gave_up.size());
    reason += " messages within the retry budget";
    events.push_back(NewEvent(kCampaignAggregate, kCampaignFailed, id, (*c)->version + 2,
                              EncodeCampaignReason(reason), meta, ids));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideRecordReceipts(
    const CampaignWriteModel& model, const std::string& id,
    const std::vector<DeliveryReceipt>& receipts, const CommandMeta& meta, IdGenerator& ids) {
  auto c = FindChecked(model, id, std::nullopt);
  if (!c) return Fail(c.error());
  if (!(*c)->audience) {
    return Fail(Error::FailedPrecondition("Campaign " + id + " has no messages yet"));
  }
  if (receipts.empty()) return std::vector<EventEnvelope>{};
  return std::vector<EventEnvelope>{NewEvent(kCampaignAggregate, kDeliveryReceiptsRecorded, id,
                                             (*c)->version + 1, EncodeDeliveryReceipts(receipts),
                                             meta, ids)};
}

Result<std::vector<EventEnvelope>> DecideCompleteCampaign(const CampaignWriteModel& model,
                                                          const std::string& id,
                                                          const CommandMeta& meta,
                                                          IdGenerator& ids) {
  auto c = FindChecked(model, id, std::nullopt);
  if (!c) return Fail(c.error());
  if ((*c)->state == CampaignState::kSent) return std::vector<EventEnvelope>{};
  if ((*c)->state != CampaignState::kRunning || !(*c)->audience) {
    return Fail(IllegalCampaignMove(**c, CampaignState::kSent));
  }
  return std::vector<EventEnvelope>{
      NewEvent(kCampaignAggregate, kCampaignCompleted, id, (*c)->version + 1, "{}", meta, ids)};
}

}  // namespace keel

#include "commands/campaign_service.h"

#include <future>

namespace keel {

Result<CampaignOutcome> CampaignService::Stream::AnswerFor(const CampaignWriteModel& model,
                                                           const Decision& decision) {
  const Campaign* c = model.Find(decision.key);
  if (!c) return Fail(Error::Internal("Campaign " + decision.key + " is not in the write model"));
  return CampaignOutcome{*c, decision.created, std::nullopt};
}

std::optional<CampaignOutcome> CampaignService::Stream::Remembered(const CampaignWriteModel& model,
                                                                   const EventEnvelope& event) {
  const Campaign* c = model.Find(event.aggregate_id);
  if (!c) return std::nullopt;
  return CampaignOutcome{*c, event.type == kCampaignCreated, std::nullopt};
}

CampaignService::CampaignService(EventLog& log, Clock& clock, IdGenerator& ids,
                                 SegmentChecker segments)
    : ids_(ids), segments_(std::move(segments)), runtime_(Stream{}, log, clock) {}

Status CampaignService::Load() {
  if (auto st = runtime_.Load(); !st) return st;
  std::lock_guard lock(acknowledged_mu_);
  runtime_.Read([&](const CampaignWriteModel& model) {
    for (const auto& [id, campaign] : model.all()) acknowledged_[id] = campaign;
  });
  return {};
}

CampaignService::Done CampaignService::Notifying(Done done) {
  return [this, done = std::move(done)](Result<CampaignOutcome> out) {
    if (out && out->position) {
      {
        std::lock_guard lock(acknowledged_mu_);
        Campaign& known = acknowledged_[out->campaign.id];
        if (known.version < out->campaign.version) known = out->campaign;
      }
      if (changed_) changed_();
    }
    done(std::move(out));
  };
}

std::vector<Campaign> CampaignService::Campaigns() const {
  std::lock_guard lock(acknowledged_mu_);
  std::vector<Campaign> out;
  out.reserve(acknowledged_.size());
  for (const auto& [id, campaign] : acknowledged_) out.push_back(campaign);
  return out;
}

std::optional<Campaign> CampaignService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

void CampaignService::Refresh(const std::string& id) {
  auto logged = runtime_.ReadAsLogged([&id](const CampaignWriteModel& model) {
    const Campaign* c = model.Find(id);
    return c ? std::optional<Campaign>(*c) : std::nullopt;
  });
  if (!logged || !*logged) return;
  {
    std::lock_guard lock(acknowledged_mu_);
    Campaign& known = acknowledged_[id];
    if (known.version >= (*logged)->version) return;
    known = std::move(**logged);
  }
  if (changed_) changed_();  // as after a command: the launcher and the dispatcher look again
}

void CampaignService::Run(
    std::string id, CommandMeta meta, Done done,
    std::function<Result<std::vector<EventEnvelope>>(const CampaignWriteModel&, const CommandMeta&)>
        decide) {
  runtime_.Execute(
      std::move(meta),
      [id = std::move(id), decide = std::move(decide)](const CampaignWriteModel& model,
                                                       const CommandMeta& m) -> Result<Decision> {
        auto events = decide(model, m);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), false};
      },
      Notifying(std::move(done)));
}

void CampaignService::Create(CampaignInput input, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input)](const CampaignWriteModel& model,
                                       const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto events = DecideCreateCampaign(
            model, id, input, CheckAudience(input.occasion, input.segment_id), m, ids_);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), true};
      },
      Notifying(std::move(done)));
}

void CampaignService::Edit(std::string id, CampaignEdit edit,
                           std::optional<int64_t> expected_version, CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, edit = std::move(edit), expected_version](const CampaignWriteModel& model,
                                                           const CommandMeta& m) {
        SegmentCheck refusal;
        if (edit.segment_id) refusal = segments_(*edit.segment_id);
        return DecideEditCampaign(model, id, edit, refusal, expected_version, m, ids_);
      });
}

void CampaignService::Schedule(std::string id, Millis at, std::optional<int64_t> expected_version,
                               CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, at, expected_version](const CampaignWriteModel& model, const CommandMeta& m) {
        return DecideScheduleCampaign(model, id, at, expected_version, m, ids_);
      });
}

void CampaignService::Launch(std::string id, std::string trigger,
                             std::optional<int64_t> expected_version, CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, trigger = std::move(trigger), expected_version](const CampaignWriteModel& model,
                                                                 const CommandMeta& m) {
        const Campaign* c = model.Find(id);
        SegmentCheck refusal;
        if (c) refusal = CheckAudience(c->occasion, c->segment_id);
        return DecideLaunchCampaign(model, id, trigger, refusal, expected_version, m, ids_);
      });
}

void CampaignService::Move(std::string id, CampaignState to, std::string reason,
                           std::optional<int64_t> expected_version, CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, to, reason = std::move(reason), expected_version](const CampaignWriteModel& model,
                                                                   const CommandMeta& m) {
        return DecideMoveCampaign(model, id, to, reason, expected_version, m, ids_);
      });
}

void CampaignService::FreezeAudience(std::string id, CampaignAudience audience, CommandMeta meta,
                                     Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, audience = std::move(audience)](const CampaignWriteModel& model,
                                                 const CommandMeta& m) {
        return DecideFreezeAudience(model, id, audience, m, ids_);
      });
}

void CampaignService::RecordMessagesSent(std::string id, MessagesSent sent, CommandMeta meta,
                                         Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, sent = std::move(sent)](const CampaignWriteModel& model, const CommandMeta& m) {
        return DecideRecordMessagesSent(model, id, sent, m, ids_);
      });
}

void CampaignService::Complete(std::string id, CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id](const CampaignWriteModel& model, const CommandMeta& m) {
        return DecideCompleteCampaign(model, id, m, ids_);
      });
}

void CampaignService::RecordReceipts(std::string id, std::vector<DeliveryReceipt> receipts,
                                     CommandMeta meta, Done done) {
  Run(id, std::move(meta), std::move(done),
      [this, id, receipts = std::move(receipts)](const CampaignWriteModel& model,
                                                 const CommandMeta& m) {
        return DecideRecordReceipts(model, id, receipts, m, ids_);
      });
}

Result<CampaignOutcome> AwaitCampaignCommand(
    const std::function<void(CampaignService::Done)>& command) {
  auto promise = std::make_shared<std::promise<Result<CampaignOutcome>>>();
  auto answered = promise->get_future();
  command([promise](Result<CampaignOutcome> out) { promise->set_value(std::move(out)); });
  return answered.get();
}

Status FailCampaign(CampaignService& campaigns, const std::string& id, std::string reason,
                    CommandMeta meta) {
  auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
    campaigns.Move(id, CampaignState::kFailed, std::move(reason), std::nullopt, std::move(meta),
                   std::move(done));
  });
  if (!out) return Fail(out.error());
  return {};
}

}  // namespace keel

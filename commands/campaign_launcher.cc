#include "commands/campaign_launcher.h"

#include "infra/log.h"

namespace keel {

CampaignLauncher::CampaignLauncher(CampaignService& campaigns, MarkerPublisher& markers,
                                   Clock& clock, Options options, AudienceOf audience_of)
    : campaigns_(campaigns),
      markers_(markers),
      clock_(clock),
      options_(options),
      audience_of_(std::move(audience_of)),
      loop_(options_.poll_interval, [this] { (void)RunOnce(); }) {}

CampaignLauncher::~CampaignLauncher() { Stop(); }

void CampaignLauncher::Start() { loop_.Start(); }
void CampaignLauncher::Stop() { loop_.Stop(); }
void CampaignLauncher::Changed() { loop_.Wake(); }
void CampaignLauncher::AudiencesMoved() {
  if (awaiting_.load(std::memory_order_relaxed)) loop_.Wake();
}

CommandMeta CampaignLauncher::SystemMeta(std::string_view actor) const {
  CommandMeta meta;
  meta.now = clock_.NowMillis();
  meta.actor = std::string(actor);
  return meta;
}

Status CampaignLauncher::RunOnce() {
  Status first;
  auto note = [&first](const Status& st, std::string_view what, const std::string& id) {
    if (st) return;
    Log(LogLevel::kWarn, std::string(what), {{"campaign", id}, {"error", st.error().message}});
    if (first) first = st;
  };
  const Millis now = clock_.NowMillis();
  bool awaiting = false;
  for (const Campaign& c : campaigns_.Campaigns()) {
    if (c.state == CampaignState::kScheduled && c.scheduled_at && *c.scheduled_at <= now) {
      auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
        campaigns_.Launch(c.id, "schedule", std::nullopt, SystemMeta("system:scheduler"),
                          std::move(done));
      });
      note(out ? Status{} : Status(Fail(out.error())), "scheduled launch failed", c.id);
      continue;  // its audience is asked for at the next pass
    }
    const bool launched = c.state == CampaignState::kRunning || c.state == CampaignState::kPaused;
    if (!launched || c.audience) continue;
    awaiting_.store(true, std::memory_order_relaxed);  // at once: a commit meanwhile wakes us
    if (!requested_.contains(c.id)) {
      // A segment archived since the launch has no audience to resolve: the campaign fails,
      // with the reason, instead of being sent to nobody.
      if (auto gone = campaigns_.CheckAudience(c.occasion, c.segment_id)) {
        note(FailCampaign(campaigns_, c.id, "Its segment could not be resolved: " + *gone,
                          SystemMeta("system:launcher")),
             "campaign not failed", c.id);
        continue;
      }
      auto st = markers_.RequestAudience({c.id, c.segment_id, c.message, c.channel,
                                          options_.frequency_cap, c.occasion, c.occasion_days,
                                          c.occasion == Occasion::kNone ? 0 : c.created_at});
      note(st, "audience request not appended", c.id);
      if (!st) continue;
      requested_.insert(c.id);
    }
    auto audience = audience_of_(c.id);
    if (!audience && audience.error().code == ErrorCode::kFailedPrecondition) {
      // A partition answered that it cannot resolve it: no wait mends that, so the campaign
      // fails with the reason rather than staying Running with nobody queued.
      auto st =
          FailCampaign(campaigns_, c.id, audience.error().message, SystemMeta("system:launcher"));
      note(st, "campaign not failed", c.id);
      if (!st) awaiting = true;
      continue;
    }
    if (!audience) {
      note(Fail(audience.error()), "audience not readable", c.id);
      awaiting = true;
      continue;
    }
    if (!*audience) {  // not every partition has resolved it yet
      awaiting = true;
      continue;
    }
    auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns_.FreezeAudience(c.id, std::move(**audience), SystemMeta("system:launcher"),
                                std::move(done));
    });
    note(out ? Status{} : Status(Fail(out.error())), "audience not frozen", c.id);
    if (!out) awaiting = true;
  }
  awaiting_.store(awaiting, std::memory_order_relaxed);
  return first;
}

}  // namespace keel

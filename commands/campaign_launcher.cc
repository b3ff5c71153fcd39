#include "commands/campaign_launcher.h"

#include <future>

#include "infra/log.h"

namespace keel {

CampaignLauncher::CampaignLauncher(CampaignService& campaigns, MarkerPublisher& markers,
                                   Clock& clock, Options options, AudienceOf audience_of)
    : campaigns_(campaigns),
      markers_(markers),
      clock_(clock),
      options_(options),
      audience_of_(std::move(audience_of)) {}

CampaignLauncher::~CampaignLauncher() { Stop(); }

void CampaignLauncher::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
    changed_ = true;
  }
  thread_ = std::thread([this] { Loop(); });
}

void CampaignLauncher::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CampaignLauncher::Changed() {
  {
    std::lock_guard lock(mu_);
    changed_ = true;
  }
  wake_.notify_all();
}

CommandMeta CampaignLauncher::SystemMeta(std::string_view actor) const {
  CommandMeta meta;
  meta.now = clock_.NowMillis();
  meta.actor = std::string(actor);
  return meta;
}

Result<CampaignOutcome> CampaignLauncher::Await(
    const std::function<void(CampaignService::Done)>& command) {
  auto promise = std::make_shared<std::promise<Result<CampaignOutcome>>>();
  auto answered = promise->get_future();
  command([promise](Result<CampaignOutcome> out) { promise->set_value(std::move(out)); });
  return answered.get();
}

Status CampaignLauncher::RunOnce() {
  Status first;
  auto note = [&first](const Status& st, std::string_view what, const std::string& id) {
    if (st) return;
    Log(LogLevel::kWarn, std::string(what), {{"campaign", id}, {"error", st.error().message}});
    if (first) first = st;
  };
  const Millis now = clock_.NowMillis();
  for (const Campaign& c : campaigns_.Campaigns()) {
    if (c.state == CampaignState::kScheduled && c.scheduled_at && *c.scheduled_at <= now) {
      auto out = Await([&](CampaignService::Done done) {
        campaigns_.Launch(c.id, "schedule", std::nullopt, SystemMeta("system:scheduler"),
                          std::move(done));
      });
      note(out ? Status{} : Status(Fail(out.error())), "scheduled launch failed", c.id);
      continue;  // its audience is asked for at the next pass
    }
    const bool launched = c.state == CampaignState::kRunning || c.state == CampaignState::kPaused;
    if (!launched || c.audience) continue;
    if (!requested_.contains(c.id)) {
      // A segment archived since the launch has no audience to resolve: the campaign fails,
      // with the reason, instead of being sent to nobody.
      if (auto gone = campaigns_.CheckSegment(c.segment_id)) {
        std::string reason = "Its segment could not be resolved: ";
        reason += *gone;
        auto out = Await([&](CampaignService::Done done) {
          campaigns_.Move(c.id, CampaignState::kFailed, std::move(reason), std::nullopt,
                          SystemMeta("system:launcher"), std::move(done));
        });
        note(out ? Status{} : Status(Fail(out.error())), "campaign not failed", c.id);
        continue;
      }
      auto st = markers_.RequestAudience({c.id, c.segment_id, c.message, c.channel});
      note(st, "audience request not appended", c.id);
      if (!st) continue;
      requested_.insert(c.id);
    }
    auto audience = audience_of_(c.id);
    if (!audience) {
      note(Fail(audience.error()), "audience not readable", c.id);
      continue;
    }
    if (!*audience) continue;  // not every partition has resolved it yet
    auto out = Await([&](CampaignService::Done done) {
      campaigns_.FreezeAudience(c.id, std::move(**audience), SystemMeta("system:launcher"),
                                std::move(done));
    });
    note(out ? Status{} : Status(Fail(out.error())), "audience not frozen", c.id);
  }
  return first;
}

void CampaignLauncher::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    changed_ = false;
    lock.unlock();
    (void)RunOnce();
    lock.lock();
    if (stop_ || changed_) continue;
    wake_.wait_for(lock, options_.poll_interval);
  }
}

}  // namespace keel

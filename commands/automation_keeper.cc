#include "commands/automation_keeper.h"

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "domain/campaign.h"
#include "domain/message_template.h"
#include "infra/log.h"

namespace keel {
namespace {

// How many intervals a welcome run waits for the last one's audience at most.
constexpr int64_t kWelcomeWaitIntervals = 4;

}  // namespace

AutomationKeeper::AutomationKeeper(CampaignService& campaigns, Clock& clock, Options options,
                                   WelcomesPending welcomes_pending)
    : campaigns_(campaigns),
      clock_(clock),
      options_(std::move(options)),
      welcomes_pending_(std::move(welcomes_pending)),
      loop_(options_.interval, [this] { (void)RunOnce(); }) {}

AutomationKeeper::~AutomationKeeper() { Stop(); }

void AutomationKeeper::Start() { loop_.Start(); }
void AutomationKeeper::Stop() { loop_.Stop(); }

Status AutomationKeeper::Check(const std::vector<Automation>& automations) {
  std::set<Occasion> seen;
  for (const Automation& a : automations) {
    const std::string setting = "--" + std::string(OccasionName(a.occasion)) + "-message";
    if (a.occasion == Occasion::kNone || !seen.insert(a.occasion).second) {
      return Fail(Error::InvalidArgument("Each automated message is configured once"));
    }
    auto tmpl = MessageTemplate::Parse(a.message, setting, kMaxCampaignMessageLength);
    if (!tmpl) {
      std::string why = tmpl.error().message;
      for (const FieldError& f : tmpl.error().field_errors) why += "; " + f.message;
      return Fail(Error::InvalidArgument(setting + " is not a valid message: " + why));
    }
    if (a.occasion == Occasion::kInactivity && (a.days < 1 || a.days > kMaxInactivityDays)) {
      return Fail(Error::InvalidArgument("--inactivity-days must be 1 to " +
                                         std::to_string(kMaxInactivityDays)));
    }
    if (a.occasion == Occasion::kWelcome && (a.days < 1 || a.days > kMaxInactivityDays)) {
      return Fail(Error::InvalidArgument("--welcome-max-age-days must be 1 to " +
                                         std::to_string(kMaxInactivityDays)));
    }
  }
  return {};
}

Status AutomationKeeper::RunOnce() {
  const Millis now = clock_.NowMillis();
  // The runs launched already, by name (the log's campaigns: a restart or a second keeper sees
  // them too).
  std::set<std::pair<Occasion, std::string>> launched;
  const int64_t interval = std::max<int64_t>(options_.interval.count(), 1);
  // A welcome run whose audience is not resolved yet: the next waits for it (the read side
  // still shows the welcomes it takes as pending), but not for more than a few intervals (a
  // partition that cannot resolve it must not stop the welcomes for good).
  std::optional<std::string> welcome_resolving;
  for (const Campaign& c : campaigns_.Campaigns()) {
    if (c.occasion == Occasion::kNone) continue;
    launched.emplace(c.occasion, c.name);
    if (c.occasion == Occasion::kWelcome && !c.audience &&
        (c.state == CampaignState::kRunning || c.state == CampaignState::kPaused) &&
        c.created_at > now - kWelcomeWaitIntervals * interval) {
      welcome_resolving = c.id;
    }
  }
  Status first;
  auto note = [&first](const Status& st, std::string_view what, const std::string& run) {
    if (st) return;
    Log(LogLevel::kWarn, std::string(what), {{"run", run}, {"error", st.error().message}});
    if (first) first = st;
  };
  for (const Automation& a : options_.automations) {
    // A welcome run per interval: its name holds the interval's start, the same for every pass
    // (and keeper) within it.
    const Millis run_at =
        a.occasion == Occasion::kWelcome ? now - ((now % interval) + interval) % interval : now;
    std::string name = OccasionRunName(a.occasion, run_at);
    if (launched.contains({a.occasion, name})) continue;
    if (a.occasion == Occasion::kWelcome) {
      if (welcome_resolving) {
        Log(LogLevel::kInfo, "welcome run waits for the last one's audience",
            {{"run", name}, {"campaign", *welcome_resolving}});
        continue;
      }
      auto pending = welcomes_pending_();
      if (!pending) {
        note(Fail(pending.error()), "welcomes not looked for", name);
        continue;
      }
      if (!*pending) continue;
    }
    CampaignInput input;
    input.name = name;
    input.message = a.message;
    input.launch = true;
    input.occasion = a.occasion;
    input.occasion_days = a.days;
    CommandMeta meta;
    meta.now = now;
    meta.actor = "system:automation";
    meta.idempotency_key = "automation " + name;
    auto out = AwaitCampaignCommand([&](CampaignService::Done done) {
      campaigns_.Create(std::move(input), std::move(meta), std::move(done));
    });
    note(out ? Status{} : Status(Fail(out.error())), "automated messages not launched", name);
    if (out) {
      Log(LogLevel::kInfo, "automated messages launched",
          {{"run", name}, {"campaign", out->campaign.id}});
    }
  }
  return first;
}

}  // namespace keel

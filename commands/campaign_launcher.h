// CampaignLauncher: the process manager between a launch and its audience. It
// - launches each Scheduled campaign whose time has come (CampaignService::Launch with the
//   "schedule" trigger: the state machine makes that at most once, across restarts);
// - asks the customers stream for the audience of each launched campaign whose audience is not
//   frozen yet (MarkerPublisher::RequestAudience: once per campaign and process; a repeat after
//   a restart changes nothing, since each partition resolves a campaign once);
// - freezes the audience (CampaignService::FreezeAudience) once every partition has resolved
//   it, as `audience_of` reads it from the read side; or fails the campaign, with the reason,
//   when `audience_of` answers kFailedPrecondition (a partition cannot resolve it).
//
// Thread-safety: Start/Stop from one thread; Changed and RunOnce from any (RunOnce is not
// reentrant: tests call it with the thread stopped).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "commands/campaign_service.h"
#include "commands/marker_publisher.h"
#include "commands/wake_loop.h"
#include "domain/campaign.h"
#include "domain/error.h"
#include "domain/time.h"

namespace keel {

class CampaignLauncher final {
 public:
  struct Options {
    // Between two passes when nothing wakes it: how late a scheduled launch may be, and how
    // soon a resolved audience is frozen.
    std::chrono::milliseconds poll_interval{1000};
    // Campaign messages a customer may get per rolling 24 hours (0: no cap); carried in each
    // audience request, so a change applies to campaigns whose audience is asked for after it.
    int64_t frequency_cap = 0;
  };
  // The campaign's audience once every partition has resolved it; nullopt until then;
  // kFailedPrecondition when it never will be (the launcher then fails the campaign with the
  // message); any other error is waited out.
  using AudienceOf =
      std::function<Result<std::optional<CampaignAudience>>(const std::string& campaign_id)>;

  CampaignLauncher(CampaignService& campaigns, MarkerPublisher& markers, Clock& clock,
                   Options options, AudienceOf audience_of);
  ~CampaignLauncher();  // Stop()s
  CampaignLauncher(const CampaignLauncher&) = delete;
  CampaignLauncher& operator=(const CampaignLauncher&) = delete;

  void Start();
  void Stop();
  // A campaign changed: the thread makes a pass soon.
  void Changed();
  // The read side resolved more of some audiences: a pass soon if a launch waits for its
  // audience (else nothing: a customers projection busy with ingestion wakes nobody).
  void AudiencesMoved();
  // One pass over every campaign; the first failure is returned (the others still ran).
  Status RunOnce();

 private:
  CommandMeta SystemMeta(std::string_view actor) const;

  CampaignService& campaigns_;
  MarkerPublisher& markers_;
  Clock& clock_;
  const Options options_;
  const AudienceOf audience_of_;
  std::set<std::string> requested_;  // RunOnce's: campaigns whose audience was asked for
  // Whether a launched campaign waits for its audience: set as soon as RunOnce meets one, exact
  // at the end of each pass.
  std::atomic<bool> awaiting_{false};

  WakeLoop loop_;  // last: its thread uses the members above
};

}  // namespace keel

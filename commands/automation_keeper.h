// AutomationKeeper: the process manager of automated messages (domain/automation.h, issue 16).
// Each pass, for each automation configured, it launches the campaign of the current run unless
// one of that name exists already (CampaignService::Create with launch, occasion set):
// - welcome: a run per interval, when some partition has welcomes pending (or has not been asked
//   for one yet: the first run starts the partitions recording who becomes CUSTOMER);
// - birthday: a run per UTC day;
// - inactivity: a run per week (from Monday, UTC).
// Who each run reaches is the read side's to decide (projections/campaign_audience): the
// customers due on the occasion at the run and not yet sent it, so two runs of one occasion,
// two keepers or a retry after a lost answer never send one customer the same occasion twice.
// The dispatcher sends the runs like any campaign.
//
// Thread-safety: Start/Stop from one thread; RunOnce is not reentrant (tests call it with the
// thread stopped).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "commands/campaign_service.h"
#include "commands/wake_loop.h"
#include "domain/automation.h"
#include "domain/error.h"
#include "domain/time.h"

namespace keel {

struct Automation {
  Occasion occasion = Occasion::kNone;
  std::string message;  // the template (domain/message_template.h), checked when configured
  // The inactivity's N (domain/automation.h); for welcomes, how old a pending one may grow
  // before it is let go unsent (a keeper stopped for longer sends no stale welcomes).
  int64_t days = 0;
};

class AutomationKeeper final {
 public:
  struct Options {
    std::chrono::milliseconds interval{900'000};  // between two passes; a welcome run each
    std::vector<Automation> automations;
  };
  // Whether some partition may have welcomes to send (kUnavailable etc.: the pass skips them).
  using WelcomesPending = std::function<Result<bool>()>;

  AutomationKeeper(CampaignService& campaigns, Clock& clock, Options options,
                   WelcomesPending welcomes_pending);
  ~AutomationKeeper();  // Stop()s
  AutomationKeeper(const AutomationKeeper&) = delete;
  AutomationKeeper& operator=(const AutomationKeeper&) = delete;

  void Start();
  void Stop();
  // One pass; the first failure is returned (the other automations still ran).
  Status RunOnce();

  // Checks the automations as settings: a known occasion each at most once, a message the
  // template language accepts, days in range (kInvalidArgument naming the setting).
  static Status Check(const std::vector<Automation>& automations);

 private:
  CampaignService& campaigns_;
  Clock& clock_;
  const Options options_;
  const WelcomesPending welcomes_pending_;
  WakeLoop loop_;  // last: its thread uses the members above
};

}  // namespace keel

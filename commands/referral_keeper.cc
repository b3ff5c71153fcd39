#include "commands/referral_keeper.h"

#include <memory>

#include "commands/answer_waiter.h"
#include "infra/log.h"

namespace keel {

ReferralKeeper::ReferralKeeper(CommandService& customers, Clock& clock, Options options)
    : customers_(customers), clock_(clock), options_(options), loop_(options.interval, [this] {
        const Pass pass = RunOnce();
        // The rest at once, but only after a pass that made progress: passes whose commands
        // fail (a full disk, a log down) wait for the interval, not spin.
        if (pass.more && pass.failed == 0 && pass.credited + pass.unchanged > 0) loop_.Wake();
      }) {}

ReferralKeeper::~ReferralKeeper() { Stop(); }

void ReferralKeeper::Start() { loop_.Start(); }
void ReferralKeeper::Stop() { loop_.Stop(); }

ReferralKeeper::Pass ReferralKeeper::RunOnce() {
  std::lock_guard pass_lock(pass_mu_);
  Pass pass;
  // One more than a pass credits, to know whether there are more.
  std::vector<std::string> pending = customers_.PendingReferrals(options_.max_per_pass + 1);
  if (pending.size() > options_.max_per_pass) {
    pending.pop_back();
    pass.more = true;
  }
  pass.found = pending.size();
  if (pending.empty()) return pass;
  auto w = std::make_shared<AnswerWaiter>();
  CommandMeta meta;
  meta.now = clock_.NowMillis();
  meta.actor = "system:referrals";
  for (std::string& referred : pending) {
    if (loop_.stopping()) break;
    auto done = AnswerWaiter::Expect(w, referred);
    customers_.CreditReferral(std::move(referred), meta, std::move(done));
  }
  const AnswerWaiter::Tally tally = w->Wait([this] { return loop_.stopping(); });
  pass.credited = tally.appended;
  pass.unchanged = tally.unchanged;
  pass.failed = tally.failed + tally.waiting;
  // A line per pass that credited something; failures once when they start (not every pass
  // while the log is down).
  if (pass.credited > 0 || (pass.failed > 0 && !failing_)) {
    Log(pass.failed > 0 ? LogLevel::kWarn : LogLevel::kInfo, "referrals credited",
        {{"credited", std::to_string(pass.credited)},
         {"already_credited", std::to_string(pass.unchanged)},
         {"failed", std::to_string(pass.failed)},
         {"more", pass.more ? "yes" : "no"}});
  }
  failing_ = pass.failed > 0;
  return pass;
}

}  // namespace keel

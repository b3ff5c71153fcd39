#include "commands/level_keeper.h"

#include <algorithm>
#include <memory>

#include "commands/answer_waiter.h"
#include "infra/log.h"

namespace keel {

LevelKeeper::LevelKeeper(CommandService& customers, Clock& clock, Changes changes, Options options)
    : customers_(customers),
      clock_(clock),
      changes_(std::move(changes)),
      options_(options),
      loop_(options.interval, [this] {
        const Pass pass = RunOnce();
        // The rest at once, but only after a pass that made progress: passes whose commands
        // fail (a full disk, a log down) wait for the interval, not spin.
        if (pass.more && pass.failed == 0 && pass.appended + pass.unchanged > 0) loop_.Wake();
      }) {}

LevelKeeper::~LevelKeeper() { Stop(); }

void LevelKeeper::Start() { loop_.Start(); }
void LevelKeeper::Stop() { loop_.Stop(); }

LevelKeeper::Pass LevelKeeper::last() const {
  std::lock_guard lock(last_mu_);
  return last_;
}

LevelKeeper::Pass LevelKeeper::RunOnce() {
  std::lock_guard pass_lock(pass_mu_);
  Pass pass;
  const Millis now = clock_.NowMillis();
  // Room for the changes the last pass recorded, which the view may still show (as many as a
  // pass records at most: while the view lags further, the pass may find fewer new ones).
  auto found =
      changes_(now, options_.max_per_pass + std::min(recorded_last_.size(), options_.max_per_pass));
  if (!found) return pass;
  pass.ran = true;
  pass.found = found->changes.size();
  pass.more = found->more;

  auto w = std::make_shared<AnswerWaiter>();
  std::unordered_map<std::string, LoyaltyStanding> recorded;
  CommandMeta meta;
  meta.now = now;
  meta.actor = "system:levels";
  for (Change& change : found->changes) {
    auto before = recorded_last_.find(change.customer_id);
    if (before != recorded_last_.end() && before->second == change.standing) {
      ++pass.pending;
      recorded.insert(*before);
      continue;
    }
    if (pass.submitted == options_.max_per_pass || loop_.stopping()) {
      pass.more = true;
      break;
    }
    ++pass.submitted;
    recorded.emplace(change.customer_id, change.standing);
    auto done = AnswerWaiter::Expect(w, change.customer_id);
    customers_.RecordStanding(RecordStanding{std::move(change.customer_id), change.standing}, meta,
                              std::move(done));
  }
  const AnswerWaiter::Tally tally = w->Wait([this] { return loop_.stopping(); });
  if (tally.waiting > 0) {
    pass.failed = tally.waiting;
    return pass;
  }
  for (const std::string& id : tally.failed_ids) recorded.erase(id);
  recorded_last_ = std::move(recorded);
  pass.appended = tally.appended;
  pass.unchanged = tally.unchanged;
  pass.failed = tally.failed;
  // A line per pass that recorded something; failures once when they start (not every pass
  // while the log is down).
  if (pass.appended > 0 || (pass.failed > 0 && !failing_)) {
    Log(pass.failed > 0 ? LogLevel::kWarn : LogLevel::kInfo, "loyalty standings recorded",
        {{"changed", std::to_string(pass.appended)},
         {"already_recorded", std::to_string(pass.unchanged)},
         {"failed", std::to_string(pass.failed)},
         {"more", pass.more ? "yes" : "no"}});
  }
  failing_ = pass.failed > 0;
  {
    std::lock_guard lock(last_mu_);
    last_ = pass;
  }
  return pass;
}

}  // namespace keel

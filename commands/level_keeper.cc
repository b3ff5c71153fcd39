#include "commands/level_keeper.h"

#include <algorithm>
#include <condition_variable>
#include <memory>

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

  // Shared with the callbacks: a pass cut short by Stop may leave some still to come.
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    size_t waiting = 0;
    size_t appended = 0, unchanged = 0, failed = 0;
    std::vector<std::string> failed_ids;
  };
  auto w = std::make_shared<Waiter>();
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
    {
      std::lock_guard lock(w->mu);
      ++w->waiting;
    }
    std::string id = change.customer_id;
    customers_.RecordStanding(RecordStanding{std::move(change.customer_id), change.standing}, meta,
                              [w, id = std::move(id)](Result<CommandOutcome> out) {
                                std::lock_guard lock(w->mu);
                                if (!out) {
                                  ++w->failed;
                                  w->failed_ids.push_back(id);
                                } else if (out->position) {
                                  ++w->appended;
                                } else {
                                  ++w->unchanged;
                                }
                                if (--w->waiting == 0) w->cv.notify_all();
                              });
  }
  std::unique_lock lock(w->mu);
  // Every answer, unless Stop is waiting and the log takes long (a Kafka produce may take
  // minutes to time out): then what is unanswered is sent again by a later pass, and decided
  // once.
  while (!w->cv.wait_for(lock, std::chrono::seconds(1), [&w] { return w->waiting == 0; })) {
    if (loop_.stopping()) {
      pass.failed = w->waiting;
      return pass;
    }
  }
  for (const std::string& id : w->failed_ids) recorded.erase(id);
  recorded_last_ = std::move(recorded);
  pass.appended = w->appended;
  pass.unchanged = w->unchanged;
  pass.failed = w->failed;
  lock.unlock();
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

#include "commands/level_keeper.h"

#include <condition_variable>

#include "infra/log.h"

namespace keel {

LevelKeeper::LevelKeeper(CommandService& customers, Clock& clock, Changes changes, Options options)
    : customers_(customers),
      clock_(clock),
      changes_(std::move(changes)),
      options_(options),
      loop_(options.interval, [this] {
        const Pass pass = RunOnce();
        if (pass.more) loop_.Wake();
      }) {}

LevelKeeper::~LevelKeeper() { Stop(); }

void LevelKeeper::Start() { loop_.Start(); }
void LevelKeeper::Stop() { loop_.Stop(); }
void LevelKeeper::Wake() { loop_.Wake(); }

LevelKeeper::Pass LevelKeeper::last() const {
  std::lock_guard lock(last_mu_);
  return last_;
}

LevelKeeper::Pass LevelKeeper::RunOnce() {
  std::lock_guard pass_lock(pass_mu_);
  Pass pass;
  const Millis now = clock_.NowMillis();
  // Room for the changes the last pass recorded, which the view may still show.
  auto found = changes_(now, options_.max_per_pass + recorded_last_.size());
  if (!found) return pass;
  pass.ran = true;
  pass.found = found->changes.size();
  pass.more = found->more;

  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    size_t waiting = 0;
    size_t appended = 0, unchanged = 0, failed = 0;
    std::vector<std::string> failed_ids;
  } w;
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
    if (pass.submitted == options_.max_per_pass) {
      pass.more = true;
      break;
    }
    ++pass.submitted;
    recorded.emplace(change.customer_id, change.standing);
    {
      std::lock_guard lock(w.mu);
      ++w.waiting;
    }
    std::string id = change.customer_id;
    customers_.RecordStanding(RecordStanding{std::move(change.customer_id), change.standing}, meta,
                              [&w, id = std::move(id)](Result<CommandOutcome> out) {
                                std::lock_guard lock(w.mu);
                                if (!out) {
                                  ++w.failed;
                                  w.failed_ids.push_back(id);
                                } else if (out->position) {
                                  ++w.appended;
                                } else {
                                  ++w.unchanged;
                                }
                                if (--w.waiting == 0) w.cv.notify_all();
                              });
  }
  {
    std::unique_lock lock(w.mu);
    w.cv.wait(lock, [&w] { return w.waiting == 0; });
  }
  for (const std::string& id : w.failed_ids) recorded.erase(id);
  recorded_last_ = std::move(recorded);
  pass.appended = w.appended;
  pass.unchanged = w.unchanged;
  pass.failed = w.failed;
  if (pass.submitted > 0) {
    Log(w.failed > 0 ? LogLevel::kWarn : LogLevel::kInfo, "loyalty standings recorded",
        {{"changed", std::to_string(pass.appended)},
         {"already_recorded", std::to_string(pass.unchanged)},
         {"failed", std::to_string(pass.failed)},
         {"more", pass.more ? "yes" : "no"}});
  }
  {
    std::lock_guard lock(last_mu_);
    last_ = pass;
  }
  return pass;
}

}  // namespace keel

// LevelKeeper: the process manager that records loyalty standings (issue 16). Levels and scores
// are computed from the customers' figures and the clock (domain/loyalty.h); what segments,
// promotions and campaigns react to must be an event, so each pass asks `changes` for the
// customers whose standing, under the settings in force at the clock's now, differs from the
// one recorded (RfmColumns::ChangedStandings, wired by the App), and records each through
// CommandService::RecordStanding (CustomerLevelChanged or CustomerScoresChanged, plus the
// customer_level promotions a new level earns, in one decision). Only customers whose standing
// changed are touched.
//
// Exactly once: the decision compares with the standing the write model holds, so a change the
// view has not folded yet, a retry after a failed append, a restart or a second keeper records
// nothing twice. A pass records at most `max_per_pass` changes and waits for their appends; when
// there were more, the next pass follows at once. The changes a pass recorded are not sent
// again by the next while the view still shows them unrecorded (it lags the log by a batch).
//
// Passes run every `interval`; after a pass that left more and made progress, the next at once
// (a settings change is taken up at the next pass). A pass whose commands fail leaves the rest to
// the next interval. Stop ends a pass without waiting more than a second for answers still to come
// (their changes are sent again later, and decided once).
//
// Thread-safety: Start/Stop from one thread; RunOnce and last from any (RunOnce is not
// run twice at once: the thread's passes and a test's are serialised).
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "commands/command_service.h"
#include "commands/wake_loop.h"
#include "domain/loyalty.h"
#include "domain/time.h"

namespace keel {

class LevelKeeper final {
 public:
  struct Options {
    std::chrono::milliseconds interval{5000};
    size_t max_per_pass = 10000;
  };
  struct Change {
    std::string customer_id;
    LoyaltyStanding standing;
  };
  struct Found {
    std::vector<Change> changes;  // at most the `max` asked for
    bool more = false;            // there were more
  };
  // The changed standings at `now`, at most `max`; nullopt while they cannot be computed (the
  // in-memory view loading, the settings not readable).
  using Changes = std::function<std::optional<Found>(Millis now, size_t max)>;

  LevelKeeper(CommandService& customers, Clock& clock, Changes changes, Options options);
  ~LevelKeeper();  // Stop()s
  LevelKeeper(const LevelKeeper&) = delete;
  LevelKeeper& operator=(const LevelKeeper&) = delete;

  void Start();
  void Stop();

  struct Pass {
    bool ran = false;      // false: the changes could not be computed
    size_t found = 0;      // changes the view showed
    size_t pending = 0;    // of them, recorded by the previous pass and not folded yet
    size_t submitted = 0;  // sent to the command side
    size_t appended = 0;   // that appended events
    size_t unchanged = 0;  // that found the standing recorded already
    size_t failed = 0;     // refused or not appended (retried by a later pass)
    bool more = false;
  };
  // One pass, on the caller's thread.
  Pass RunOnce();
  Pass last() const;

 private:
  CommandService& customers_;
  Clock& clock_;
  const Changes changes_;
  const Options options_;
  std::mutex pass_mu_;  // one pass at a time
  // Recorded by the last pass: customer → standing (guarded by pass_mu_).
  std::unordered_map<std::string, LoyaltyStanding> recorded_last_;
  bool failing_ = false;  // guarded by pass_mu_: the last pass had failures
  mutable std::mutex last_mu_;
  Pass last_;  // guarded by last_mu_
  WakeLoop loop_;
};

}  // namespace keel

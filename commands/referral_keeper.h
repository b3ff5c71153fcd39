// ReferralKeeper: the process manager that credits referrals (issue 16). A referred customer's
// first order is decided and appended under that customer's key, with its ReferralQualified; the
// referrer's promotions must be appended under the referrer's (an order of the referrer redeems
// them in that partition), so the qualification leaves the referral pending in the write model
// (AssignmentWriteModel) and a pass of this keeper credits it through
// CommandService::CreditReferral: ReferralCredited and the referral promotions the referrer
// earned, in one append under the referrer's key.
//
// The credit may be decided while the order's append is still in flight (the customers stream is
// pipelined). It is appended after it, and a failed append stops the log (the embedded log and
// Kafka alike: every later append fails too) or is refused under the stream's lock (which marks
// the model stale before anything else is decided), so a credit never lands without its order.
//
// Exactly once: the decision credits only what the write model holds pending, and the credit
// folds it away, so a retry, a restart or a second keeper credits nothing twice. Nothing is
// lost: a pending referral is folded from the log, so a crash between the order and its credit
// leaves it pending for the first pass after the restart.
//
// A pass runs at Start, soon after Wake (CommandService calls it when it folds a
// ReferralQualified) and every `interval`. It credits at most `max_per_pass` and waits for their
// appends; when there were more, the next pass follows at once. A pass whose commands fail leaves
// the rest to the next interval. Stop ends a pass without waiting more than a second for answers
// still to come (they are credited again later, once).
//
// Thread-safety: Start/Stop from one thread; Wake and RunOnce from any (passes are serialised).
#pragma once

#include <chrono>
#include <mutex>

#include "commands/command_service.h"
#include "commands/wake_loop.h"

namespace keel {

class ReferralKeeper final {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
    size_t max_per_pass = 1000;
  };

  ReferralKeeper(CommandService& customers, Clock& clock, Options options);
  ~ReferralKeeper();  // Stop()s
  ReferralKeeper(const ReferralKeeper&) = delete;
  ReferralKeeper& operator=(const ReferralKeeper&) = delete;

  void Start();
  void Stop();
  void Wake() { loop_.Wake(); }

  struct Pass {
    size_t found = 0;      // pending referrals the write model showed (at most max_per_pass)
    size_t credited = 0;   // that appended their credit
    size_t unchanged = 0;  // credited already (by another pass)
    size_t failed = 0;     // refused or not appended (retried by a later pass)
    bool more = false;     // there were more than max_per_pass
  };
  // One pass, on the caller's thread.
  Pass RunOnce();

 private:
  CommandService& customers_;
  Clock& clock_;
  const Options options_;
  std::mutex pass_mu_;    // one pass at a time
  bool failing_ = false;  // guarded by pass_mu_: the last pass had failures
  WakeLoop loop_;
};

}  // namespace keel

// CustomerService: runs customer commands against the write model and appends their events.
//
// Consistency: one mutex serialises decide + append-enqueue for all customers (email
// uniqueness is global), so concurrent commands see each other's effects in log order. The
// write model is folded from the log at Load(); an append that fails marks it stale and the
// next command re-folds it from the log, so it never holds an event the log lacks.
//
// Idempotency: a command with an Idempotency-Key that already succeeded in the last 24 hours
// gets its first answer again and appends nothing; keys travel in the events, so they survive
// restarts. A key whose first request is still in flight gets kAborted.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on a log thread or
// the caller's and must not block.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "commands/customer_commands.h"
#include "infra/event_log.h"

namespace keel {

struct CommandOutcome {
  int status = 200;                      // 201 for a registration
  std::string customer_json;             // the customer after the command
  int64_t version = 0;                   // the customer's version after the command
  std::optional<AppendResult> position;  // where its last event landed; none if nothing changed
};

class CustomerService final {
 public:
  using Done = std::function<void(Result<CommandOutcome>)>;

  CustomerService(EventLog& log, Clock& clock, IdGenerator& ids);

  // Folds the whole customers topic into the write model. Until it has succeeded, commands
  // are refused with kUnavailable.
  Status Load();
  bool loaded() const { return loaded_.load(); }

  void Register(CustomerFields fields, CommandMeta meta, Done done);
  void Update(UpdateCustomer cmd, CommandMeta meta, Done done);
  void Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done);

  // Commands whose events are being appended.
  int64_t in_flight() const { return in_flight_.load(); }

 private:
  using Decide = std::function<Result<std::vector<EventEnvelope>>(const CustomerWriteModel&,
                                                                const CommandMeta&)>;
  void Execute(const std::string& aggregate_id, int success_status, CommandMeta meta,
               const Decide& decide, Done done);
  Status LoadLocked();  // mu_ held
  void RememberAnswer(const std::string& key, const CommandOutcome& outcome, Millis at);

  struct IdempotentAnswer {
    bool pending = true;
    CommandOutcome outcome;
  };

  EventLog& log_;
  Clock& clock_;
  IdGenerator& ids_;

  std::mutex mu_;
  CustomerWriteModel state_;  // guarded by mu_
  std::atomic<bool> stale_{false};

  std::mutex idem_mu_;
  std::unordered_map<std::string, IdempotentAnswer> answers_;  // guarded by idem_mu_
  std::deque<std::pair<Millis, std::string>> answer_times_;    // guarded by idem_mu_

  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> loaded_{false};
};

}  // namespace keel

#include "api/customer_service.h"

#include <cstdio>

#include "projections/customer_projector.h"

namespace keel {
namespace {

constexpr Millis kIdempotencyWindow = 24 * 3600 * 1000;

}  // namespace

CustomerService::CustomerService(EventLog& log, Clock& clock, IdGenerator& ids)
    : log_(log), clock_(clock), ids_(ids) {}

Status CustomerService::Load() {
  std::lock_guard lock(mu_);
  auto st = LoadLocked();
  if (st) loaded_ = true;
  return st;
}

Status CustomerService::LoadLocked() {
  state_ = CustomerWriteModel();
  const std::string topic(kCustomersTopic);
  std::vector<std::pair<int32_t, int64_t>> starts;
  std::vector<int64_t> ends;
  for (int32_t p = 0; p < log_.PartitionCount(); ++p) {
    auto end = log_.EndOffset(topic, p);
    if (!end) return Fail(end.error());
    starts.emplace_back(p, 0);
    ends.push_back(*end);
  }
  auto reader = log_.OpenReader(topic, starts);
  if (!reader) return Fail(reader.error());
  std::vector<int64_t> next(ends.size(), 0);
  auto done = [&] {
    for (size_t p = 0; p < ends.size(); ++p) {
      if (next[p] < ends[p]) return false;
    }
    return true;
  };
  const Millis horizon = clock_.NowMillis() - kIdempotencyWindow;
  while (!done()) {
    auto records = (*reader)->Poll(10000, std::chrono::milliseconds(500));
    if (!records) return Fail(records.error());
    for (const auto& r : *records) {
      next[static_cast<size_t>(r.partition)] = r.offset + 1;
      if (r.offset >= ends[static_cast<size_t>(r.partition)]) continue;
      auto event = DecodeEvent(r.value);
      // Events the projector will dead-letter carry no state the write side could use.
      if (!event || CheckSupport(*event) != EventSupport::kSupported) continue;
      if (!state_.Apply(*event)) continue;
      if (!event->idempotency_key.empty() && event->recorded_at >= horizon) {
        const Customer* c = state_.Find(event->aggregate_id);
        CommandOutcome outcome{event->type == kCustomerRegistered ? 201 : 200,
                               CustomerToJson(*c), c->version,
                               AppendResult{topic, r.partition, r.offset, r.offset}};
        RememberAnswer(event->idempotency_key, outcome, event->recorded_at);
      }
    }
  }
  stale_ = false;
  return {};
}

void CustomerService::RememberAnswer(const std::string& key, const CommandOutcome& outcome,
                                     Millis at) {
  std::lock_guard lock(idem_mu_);
  const Millis horizon = clock_.NowMillis() - kIdempotencyWindow;
  while (!answer_times_.empty() && answer_times_.front().first < horizon) {
    auto it = answers_.find(answer_times_.front().second);
    if (it != answers_.end() && !it->second.pending) answers_.erase(it);
    answer_times_.pop_front();
  }
  answers_[key] = {false, outcome};
  answer_times_.emplace_back(at, key);
}

void CustomerService::Register(CustomerFields fields, CommandMeta meta, Done done) {
  std::string id = ids_.NewId();
  Execute(id, 201, std::move(meta),
          [this, id, fields = std::move(fields)](const CustomerWriteModel& state,
                                                 const CommandMeta& m) {
            return DecideRegister(state, {id, fields}, m, ids_);
          },
          std::move(done));
}

void CustomerService::Update(UpdateCustomer cmd, CommandMeta meta, Done done) {
  std::string id = cmd.id;
  Execute(id, 200, std::move(meta),
          [this, cmd = std::move(cmd)](const CustomerWriteModel& state, const CommandMeta& m) {
            return DecideUpdate(state, cmd, m, ids_);
          },
          std::move(done));
}

void CustomerService::Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done) {
  std::string id = cmd.id;
  Execute(id, 200, std::move(meta),
          [this, cmd = std::move(cmd)](const CustomerWriteModel& state, const CommandMeta& m) {
            return DecideDeactivate(state, cmd, m, ids_);
          },
          std::move(done));
}

void CustomerService::Execute(const std::string& aggregate_id, int success_status,
                              CommandMeta meta, const Decide& decide, Done done) {
  if (!loaded_) {
    return done(Fail(Error::Unavailable("Keel is starting: the command side is still reading the log")));
  }
  const std::string key = meta.idempotency_key;
  if (!key.empty()) {
    std::lock_guard lock(idem_mu_);
    auto it = answers_.find(key);
    if (it != answers_.end()) {
      if (it->second.pending) {
        return done(Fail(Error::Aborted("A request with this Idempotency-Key is in progress")));
      }
      return done(it->second.outcome);
    }
  }

  std::unique_lock lock(mu_);
  if (stale_) {
    if (auto st = LoadLocked(); !st) return done(Fail(st.error()));
  }
  meta.now = clock_.NowMillis();
  auto events = decide(state_, meta);
  if (!events) return done(Fail(events.error()));
  if (events->empty()) {
    const Customer* c = state_.Find(aggregate_id);
    if (!c) return done(Fail(Error::Internal("Command on a missing customer changed nothing")));
    return done(CommandOutcome{200, CustomerToJson(*c), c->version, std::nullopt});
  }
  std::vector<std::string> values;
  for (const auto& e : *events) {
    if (auto st = state_.Apply(e); !st) {
      stale_ = true;
      return done(Fail(Error::Internal("Decided event does not apply: " + st.error().message)));
    }
    values.push_back(EncodeEvent(e));
  }
  const Customer* c = state_.Find(aggregate_id);
  CommandOutcome outcome{success_status, CustomerToJson(*c), c->version, std::nullopt};
  if (!key.empty()) {
    std::lock_guard idem_lock(idem_mu_);
    answers_[key] = {true, {}};
  }
  ++in_flight_;
  // Enqueued under mu_, so that the log receives commands in the order they were decided.
  log_.AppendAsync(
      std::string(kCustomersTopic), aggregate_id, std::move(values),
      [this, key, outcome = std::move(outcome), done = std::move(done),
       at = meta.now](Result<AppendResult> appended) mutable {
        if (!appended) {
          stale_ = true;  // the write model holds events the log does not
          if (!key.empty()) {
            std::lock_guard idem_lock(idem_mu_);
            answers_.erase(key);
          }
          done(Fail(appended.error()));
        } else {
          outcome.position = *appended;
          if (!key.empty()) RememberAnswer(key, outcome, at);
          done(std::move(outcome));
        }
        --in_flight_;
      });
}

}  // namespace keel

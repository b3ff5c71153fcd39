#include "api/command_service.h"

#include <algorithm>
#include <condition_variable>
#include <memory>

#include "domain/topics.h"

namespace keel {
namespace {

constexpr Millis kIdempotencyWindow = 24 * 3600 * 1000;

}  // namespace

CommandService::CommandService(EventLog& log, Clock& clock, IdGenerator& ids,
                               std::chrono::milliseconds duplicate_wait)
    : log_(log), clock_(clock), ids_(ids), duplicate_wait_(duplicate_wait) {
  timer_ = std::thread([this] { ExpireDuplicates(); });
}

CommandService::~CommandService() {
  {
    std::lock_guard lock(idem_mu_);
    stopping_ = true;
  }
  idem_cv_.notify_all();
  timer_.join();
  // Duplicates still parked are answered, not dropped.
  std::vector<Done> parked;
  for (auto& [key, answer] : answers_) {
    for (auto& d : answer.duplicates) parked.push_back(std::move(d.done));
  }
  for (auto& done : parked) done(Fail(Error::Unavailable("The server is shutting down")));
}

void CommandService::ExpireDuplicates() {
  std::unique_lock lock(idem_mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      idem_cv_.wait(lock);
      continue;
    }
    if (std::chrono::steady_clock::now() < deadlines_.front().at) {
      idem_cv_.wait_until(lock, deadlines_.front().at);
      continue;
    }
    const DuplicateDeadline due = std::move(deadlines_.front());
    deadlines_.pop_front();
    auto it = answers_.find(due.key);
    if (it == answers_.end() || !it->second.pending) continue;  // answered already
    auto& waiting = it->second.duplicates;
    auto found = std::find_if(waiting.begin(), waiting.end(),
                              [&](const Duplicate& d) { return d.id == due.id; });
    if (found == waiting.end()) continue;
    Done done = std::move(found->done);
    waiting.erase(found);
    lock.unlock();
    done(Fail(Error::Unavailable(
        "The first request with this Idempotency-Key has not been answered within " +
        std::to_string(duplicate_wait_.count()) + " ms; retry with the same key")));
    --in_flight_;
    lock.lock();
  }
}

Status CommandService::Load() {
  std::lock_guard lock(mu_);
  auto st = LoadLocked();
  if (st) loaded_ = true;
  return st;
}

Status CommandService::LoadLocked() {
  state_ = WriteModel();
  const std::string topic(kCustomersTopic);
  const Millis horizon = clock_.NowMillis() - kIdempotencyWindow;
  auto st = log_.ReadAll(topic, [&](const LogRecord& r) {
    auto event = DecodeEvent(r.value);
    // Events the projector will dead-letter carry no state the write side could use.
    if (!event || CheckSupport(*event) != EventSupport::kSupported) return;
    if (!state_.Apply(*event)) return;
    if (!event->idempotency_key.empty() && event->recorded_at >= horizon) {
      const bool created = event->type == kCustomerRegistered || event->type == kOrderPlaced;
      auto outcome = Answer(event->aggregate_type == kOrderAggregate ? Subject::kOrder
                                                                      : Subject::kCustomer,
                            event->aggregate_id, created ? 201 : 200);
      if (!outcome) return;
      outcome->position = AppendResult{topic, r.partition, r.offset, r.offset};
      std::lock_guard lock(idem_mu_);
      auto it = answers_.find(event->idempotency_key);
      // A request in flight with this key answers for it (and its duplicates) when it ends,
      // with this answer if it has not decided yet (a retry of a request whose answer was lost).
      if (it == answers_.end() || !it->second.pending) {
        RememberLocked(event->idempotency_key, *outcome, event->recorded_at);
      } else {
        it->second.in_log = *outcome;
      }
    }
  });
  if (!st) return st;
  stale_ = false;
  return {};
}

void CommandService::RememberLocked(const std::string& key, const CommandOutcome& outcome,
                                    Millis at) {
  const Millis horizon = clock_.NowMillis() - kIdempotencyWindow;
  while (!answer_times_.empty() && answer_times_.front().first < horizon) {
    auto it = answers_.find(answer_times_.front().second);
    if (it != answers_.end() && !it->second.pending) answers_.erase(it);
    answer_times_.pop_front();
  }
  answers_[key] = {false, outcome, {}};
  answer_times_.emplace_back(at, key);
}

void CommandService::Settle(const std::string& key, const Result<CommandOutcome>& result) {
  std::vector<Duplicate> duplicates;
  {
    std::lock_guard lock(idem_mu_);
    auto it = answers_.find(key);
    if (it == answers_.end() || !it->second.pending) return;
    duplicates = std::move(it->second.duplicates);
    // Only what reached the log is remembered: that is what a restart remembers too.
    if (result && result->position) {
      RememberLocked(key, *result, clock_.NowMillis());
    } else {
      answers_.erase(it);
    }
  }
  for (Duplicate& d : duplicates) {
    d.done(result);
    --in_flight_;
  }
}

Result<CommandOutcome> CommandService::Answer(Subject subject, const std::string& id,
                                              int status) const {
  if (subject == Subject::kOrder) {
    const OrderWriteModel::Entry* o = state_.orders.Find(id);
    if (!o) return Fail(Error::Internal("Command on a missing order " + id));
    return CommandOutcome{status, OrderWriteModel::ToJson(id, *o), o->version, std::nullopt};
  }
  const Customer* c = state_.customers.Find(id);
  if (!c) return Fail(Error::Internal("Command on a missing customer " + id));
  return CommandOutcome{status, CustomerToJson(*c), c->version, std::nullopt};
}

Result<std::vector<std::string>> CommandService::Commit(const Decision& decision) {
  const std::vector<EventEnvelope>& events = decision.events;
  std::vector<std::string> values;
  values.reserve(events.size());
  for (const auto& e : events) {
    const bool placement = decision.placement && e.type == kOrderPlaced;
    if (auto st = placement ? state_.ApplyOrder(e, *decision.placement) : state_.Apply(e); !st) {
      stale_ = true;
      return Fail(Error::Internal("Decided event does not apply: " + st.error().message));
    }
    values.push_back(EncodeEvent(e));
  }
  return values;
}

Result<CommandService::Decision> CommandService::ForCustomer(
    const std::string& id, Result<std::vector<EventEnvelope>> events, int status) {
  if (!events) return Fail(events.error());
  return Decision{id, std::move(*events), Subject::kCustomer, id, status};
}

Result<CommandService::Decision> CommandService::DecidePlacement(const WriteModel& state,
                                                                 const OrderInput& input,
                                                                 const CommandMeta& meta,
                                                                 bool render_answer) {
  auto d = DecidePlaceOrder(state.customers, state.orders, {input}, meta, ids_);
  if (!d) return Fail(d.error());
  // The write model keeps no items: a new order's answer is rendered from the decision.
  return Decision{d->customer_id,
                  std::move(d->events),
                  Subject::kOrder,
                  d->order_id,
                  d->duplicate ? 200 : 201,
                  d->duplicate,
                  render_answer && d->placed ? OrderToJson(*d->placed) : std::string(),
                  d->placed ? std::optional(PlacementWithoutItems(*d->placed)) : std::nullopt};
}

void CommandService::Register(CustomerFields fields, CommandMeta meta, Done done) {
  std::string id = ids_.NewId();
  Execute(std::move(meta),
          [this, id, fields = std::move(fields)](const WriteModel& state,
                                                 const CommandMeta& m) -> Result<Decision> {
            return ForCustomer(id, DecideRegister(state.customers, {id, fields}, m, ids_), 201);
          },
          std::move(done));
}

void CommandService::Update(UpdateCustomer cmd, CommandMeta meta, Done done) {
  Execute(std::move(meta),
          [this, cmd = std::move(cmd)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
            return ForCustomer(cmd.id, DecideUpdate(state.customers, cmd, m, ids_));
          },
          std::move(done));
}

void CommandService::Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done) {
  Execute(std::move(meta),
          [this, cmd = std::move(cmd)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
            return ForCustomer(cmd.id, DecideDeactivate(state.customers, cmd, m, ids_));
          },
          std::move(done));
}

void CommandService::RecordVisit(keel::RecordVisit cmd, CommandMeta meta, Done done) {
  Execute(std::move(meta),
          [this, cmd = std::move(cmd)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
            return ForCustomer(cmd.id, DecideRecordVisit(state.customers, cmd, m, ids_));
          },
          std::move(done));
}

void CommandService::PlaceOrder(OrderInput input, CommandMeta meta, Done done) {
  Execute(std::move(meta),
          [this, input = std::move(input)](const WriteModel& state,
                                           const CommandMeta& m) -> Result<Decision> {
            return DecidePlacement(state, input, m, /*render_answer=*/true);
          },
          std::move(done));
}

void CommandService::ChangeOrderStatus(keel::ChangeOrderStatus cmd, CommandMeta meta, Done done) {
  Execute(std::move(meta),
          [this, cmd = std::move(cmd)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
            auto events = DecideChangeOrderStatus(state.orders, cmd, m, ids_);
            if (!events) return Fail(events.error());
            return Decision{*state.orders.Find(cmd.id)->customer_id, std::move(*events),
                            Subject::kOrder, cmd.id, 200};
          },
          std::move(done));
}

void CommandService::Execute(CommandMeta meta, const Decide& decide, Done done) {
  if (!loaded_) {
    return done(Fail(Error::Unavailable("Keel is starting: the command side is still reading the log")));
  }
  const std::string key = meta.idempotency_key;
  if (!key.empty()) {
    std::unique_lock lock(idem_mu_);
    auto [it, first] = answers_.try_emplace(key);
    if (!first && !it->second.pending) {
      CommandOutcome answer = it->second.outcome;
      lock.unlock();
      return done(std::move(answer));
    }
    if (!first) {
      if (it->second.duplicates.size() >= kMaxDuplicatesPerKey) {
        lock.unlock();
        return done(Fail(Error::ResourceExhausted(
            "Too many requests with this Idempotency-Key are waiting for the first; retry later")));
      }
      // The first request with this key is in flight: this one gets its answer when it has
      // one, on whichever thread that is, or kUnavailable from the timer.
      const uint64_t id = ++last_duplicate_;
      it->second.duplicates.push_back({id, std::move(done)});
      deadlines_.push_back({std::chrono::steady_clock::now() + duplicate_wait_, key, id});
      ++in_flight_;
      if (deadlines_.size() == 1) idem_cv_.notify_all();
      return;
    }
    // This request holds the key (pending) until it is answered, whichever way.
    done = [this, key, done = std::move(done)](Result<CommandOutcome> result) {
      Settle(key, result);
      done(std::move(result));
    };
  }

  // A log that stopped writing stays stopped: refuse without re-folding it for every command.
  if (auto health = log_.Health(); !health) return done(Fail(health.error()));
  std::unique_lock lock(mu_);
  if (stale_) {
    if (auto st = LoadLocked(); !st) return done(Fail(st.error()));
  }
  if (!key.empty()) {
    // The log holds this key's effect already: the first request's, whose answer was lost.
    std::unique_lock idem(idem_mu_);
    auto it = answers_.find(key);
    if (it != answers_.end() && it->second.in_log) {
      CommandOutcome logged = *it->second.in_log;
      idem.unlock();
      lock.unlock();
      return done(std::move(logged));
    }
  }
  meta.now = clock_.NowMillis();
  auto decision = decide(state_, meta);
  if (!decision) return done(Fail(decision.error()));
  if (meta.owner_scope) {
    // Checked before anything is answered, so that nothing of another's customer leaks.
    const Customer* c = state_.customers.Find(decision->key);
    if (!c || c->owner_id != *meta.owner_scope) {
      return done(Fail(Error::PermissionDenied("Customer " + decision->key +
                                               " is not assigned to you")));
    }
  }
  auto answer = [&]() -> Result<CommandOutcome> {
    auto outcome = Answer(decision->subject, decision->subject_id, decision->status);
    if (outcome && !decision->answer_json.empty()) outcome->json = std::move(decision->answer_json);
    return outcome;
  };
  if (decision->events.empty()) return done(answer());
  auto values = Commit(*decision);
  if (!values) return done(Fail(values.error()));
  auto outcome = answer();
  if (!outcome) return done(Fail(outcome.error()));
  ++in_flight_;
  // Enqueued under mu_, so that the log receives commands in the order they were decided.
  log_.AppendAsync(std::string(kCustomersTopic), decision->key, std::move(*values),
                   [this, outcome = std::move(*outcome),
                    done = std::move(done)](Result<AppendResult> appended) mutable {
                     if (!appended) {
                       stale_ = true;  // the write model holds events the log does not
                       done(Fail(appended.error()));
                     } else {
                       outcome.position = *appended;
                       done(std::move(outcome));
                     }
                     --in_flight_;
                   });
}

Result<std::shared_ptr<IngestChunk>> CommandService::IngestCustomers(
    const std::vector<std::pair<size_t, CustomerFields>>& records, const CommandMeta& meta) {
  return Ingest(
      records.size(),
      [&](size_t i, const CommandMeta& m) -> Result<Decision> {
        const CustomerFields& fields = records[i].second;
        if (!fields.email || !fields.name) {
          return Fail(Error::Validation({{"email", "Name and email are required"}}));
        }
        if (auto owner = state_.customers.OwnerOfEmail(*fields.email)) {
          return ForCustomer(
              *owner, DecideUpdate(state_.customers, {*owner, fields, false, std::nullopt}, m, ids_));
        }
        std::string id = ids_.NewId();
        return ForCustomer(id, DecideRegister(state_.customers, {id, fields}, m, ids_), 201);
      },
      [&](size_t i) { return records[i].first; }, meta);
}

Result<std::shared_ptr<IngestChunk>> CommandService::IngestOrders(
    const std::vector<std::pair<size_t, OrderInput>>& records, const CommandMeta& meta) {
  return Ingest(
      records.size(),
      [&](size_t i, const CommandMeta& m) -> Result<Decision> {
        // Bulk answers are counts: no order is rendered.
        return DecidePlacement(state_, records[i].second, m, /*render_answer=*/false);
      },
      [&](size_t i) { return records[i].first; }, meta);
}

const std::vector<IngestRecordOutcome>& IngestChunk::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return waiting_ == 0; });
  return outcomes_;
}

Result<std::shared_ptr<IngestChunk>> CommandService::Ingest(
    size_t count, const std::function<Result<Decision>(size_t, const CommandMeta&)>& decide,
    const std::function<size_t(size_t)>& index_of, const CommandMeta& meta) {
  if (!loaded_) {
    return Fail(Error::Unavailable("Keel is starting: the command side is still reading the log"));
  }
  // Shared with the append callbacks, which fill in the outcomes.
  auto chunk = std::make_shared<IngestChunk>();
  chunk->outcomes_.resize(count);
  if (auto health = log_.Health(); !health) return Fail(health.error());
  std::unique_lock lock(mu_);
  if (stale_) {
    if (auto st = LoadLocked(); !st) return Fail(st.error());
  }
  CommandMeta m = meta;
  m.now = clock_.NowMillis();
  for (size_t i = 0; i < count; ++i) {
    IngestRecordOutcome& out = chunk->outcomes_[i];
    out.index = index_of(i);
    if (stale_) {
      // An append of this chunk failed (or a decision did not apply): the write model holds
      // events the log may lack, and nothing more is decided on it.
      out.result = IngestResult::kFailed;
      out.error = Error::Unavailable("Not decided: an earlier record of the chunk failed");
      continue;
    }
    auto decision = decide(i, m);
    if (!decision) {
      out.error = decision.error();
      continue;
    }
    if (decision->events.empty()) {
      out.result = decision->duplicate ? IngestResult::kDuplicate : IngestResult::kUnchanged;
      continue;
    }
    auto values = Commit(*decision);
    if (!values) {
      out.result = IngestResult::kFailed;
      out.error = values.error();
      continue;
    }
    const IngestResult result =
        decision->status == 201 ? IngestResult::kCreated : IngestResult::kUpdated;
    {
      std::lock_guard held(chunk->mu_);
      ++chunk->waiting_;
    }
    ++in_flight_;
    log_.AppendAsync(std::string(kCustomersTopic), decision->key, std::move(*values),
                     [this, &out, chunk, result](Result<AppendResult> appended) {
                       if (appended) {
                         out.result = result;
                       } else {
                         stale_ = true;
                         out.result = IngestResult::kFailed;
                         out.error = appended.error();
                       }
                       --in_flight_;
                       std::lock_guard held(chunk->mu_);
                       if (--chunk->waiting_ == 0) chunk->cv_.notify_all();
                     });
  }
  return chunk;
}

}  // namespace keel

#include "commands/command_service.h"

#include <algorithm>
#include <memory>

#include "domain/partition_markers.h"

namespace keel {

Status CommandService::Stream::Fold(WriteModel& state, const Decision& decision,
                                    const EventEnvelope& event) {
  Status st = decision.placement && event.type == kOrderPlaced
                  ? state.ApplyOrder(event, *decision.placement)
                  : state.Apply(event);
  if (st && event.type == kReferralQualified && referral_pending && *referral_pending) {
    (*referral_pending)();
  }
  return st;
}

Result<CommandOutcome> CommandService::Stream::AnswerFor(const WriteModel& state,
                                                         Decision& decision) {
  auto outcome = AnswerOf(state, decision.subject, decision.subject_id, decision.created);
  if (outcome && !decision.answer_json.empty()) outcome->json = std::move(decision.answer_json);
  return outcome;
}

bool CommandService::Stream::HoldsState(const LogRecord& r) {
  auto event = DecodeEvent(r.value);
  return !event || !IsPartitionMarker(*event);
}

std::optional<CommandOutcome> CommandService::Stream::Remembered(const WriteModel& state,
                                                                 const EventEnvelope& event) {
  if (event.aggregate_type == kTransactionAggregate) {
    // A transaction never changes: its event is its answer.
    auto transaction = DecodeTransactionRecorded(event);
    if (!transaction) return std::nullopt;
    return CommandOutcome{true, TransactionToJson(*transaction), 1, std::nullopt};
  }
  if (event.aggregate_type == kPromotionAssignmentAggregate) {
    // An assignment's answer is what it was when made: available.
    auto assignment = DecodePromotionAssigned(event);
    if (!assignment) return std::nullopt;
    // One an order earned answers nothing: the order, appended before it, does.
    if (assignment->reason != kManualAssignment) return std::nullopt;
    return CommandOutcome{true, AssignmentToJson(*assignment, assignment->assigned_at), 1,
                          std::nullopt};
  }
  // A referral an order qualified answers nothing either: the order, appended before it, does
  // (a keyed retry of the order must get the order, not the customer).
  if (event.aggregate_type == kCustomerReferralAggregate) return std::nullopt;
  const bool created = event.type == kCustomerRegistered || event.type == kOrderPlaced;
  auto outcome = AnswerOf(
      state, event.aggregate_type == kOrderAggregate ? Subject::kOrder : Subject::kCustomer,
      event.aggregate_id, created);
  if (!outcome) return std::nullopt;
  return std::move(*outcome);
}

void CommandService::Stream::SaveAnswer(SnapshotWriter& out, const CommandOutcome& answer) {
  out.Bool(answer.created);
  out.Text(answer.json);
  out.Signed(answer.version);
  out.Bool(answer.position.has_value());
  if (answer.position) {
    out.Text(answer.position->topic);
    out.Signed(answer.position->partition);
    out.Signed(answer.position->first_offset);
    out.Signed(answer.position->last_offset);
  }
}

bool CommandService::Stream::RestoreAnswer(SnapshotReader& in, CommandOutcome& answer) {
  answer.created = in.Bool();
  answer.json = in.Text();
  answer.version = in.Signed();
  if (in.Bool()) {
    AppendResult at;
    at.topic = in.Text();
    at.partition = static_cast<int32_t>(in.Signed());
    at.first_offset = in.Signed();
    at.last_offset = in.Signed();
    answer.position = std::move(at);
  }
  return !in.bad();
}

CommandService::CommandService(EventLog& log, Clock& clock, IdGenerator& ids,
                               std::chrono::milliseconds duplicate_wait, SnapshotStore* snapshots,
                               ProductLookup products, PromotionLookup promotions,
                               EarnedPromotionsLookup earned)
    : ids_(ids),
      products_(std::move(products)),
      promotions_(std::move(promotions)),
      earned_(std::move(earned)),
      runtime_(Stream{.referral_pending = &referral_pending_}, log, clock, duplicate_wait,
               snapshots) {}

Result<CommandOutcome> CommandService::AnswerOf(const WriteModel& state, Subject subject,
                                                const std::string& id, bool created) {
  // The write model keeps no transactions: the decision renders the answer (answer_json).
  if (subject == Subject::kTransaction || subject == Subject::kAssignment ||
      subject == Subject::kProcess) {
    return CommandOutcome{created, "", 1, std::nullopt};
  }
  if (subject == Subject::kOrder) {
    const OrderWriteModel::Entry* o = state.orders.Find(id);
    if (!o) return Fail(Error::Internal("Command on a missing order " + id));
    return CommandOutcome{created, OrderWriteModel::ToJson(id, *o), o->version, std::nullopt};
  }
  const Customer* c = state.customers.Find(id);
  if (!c) return Fail(Error::Internal("Command on a missing customer " + id));
  return CommandOutcome{created, CustomerToJson(*c), c->version, std::nullopt};
}

Result<CommandService::Decision> CommandService::ForCustomer(
    const std::string& id, Result<std::vector<EventEnvelope>> events, bool created) {
  if (!events) return Fail(events.error());
  return Decision{id, std::move(*events), Subject::kCustomer, id, created};
}

Result<CommandService::Decision> CommandService::DecidePlacement(const WriteModel& state,
                                                                 const OrderInput& input,
                                                                 const CommandMeta& meta,
                                                                 bool render_answer) {
  auto d = DecidePlaceOrder(state.customers, state.orders, {input}, meta, ids_, products_,
                            &state.assignments);
  if (!d) return Fail(d.error());
  if (d->placed && earned_) {
    // What the order earns goes out with it, after its OrderPlaced, in one append.
    auto earnable = earned_();
    if (!earnable) return Fail(earnable.error());
    if (!(*earnable)->empty()) {
      const Customer* customer = state.customers.Find(d->customer_id);
      if (!customer) return Fail(Error::Internal("Order of a missing customer " + d->customer_id));
      auto earned =
          DecideEarnedAssignments(state.assignments, **earnable, *customer, *d->placed, meta, ids_);
      for (EventEnvelope& e : earned) d->events.push_back(std::move(e));
      // And the referral it qualifies, credited to the referrer by the referral keeper.
      if (auto q = DecideReferralQualified(**earnable, *customer, *d->placed, meta, ids_)) {
        d->events.push_back(std::move(*q));
      }
    }
  }
  // The write model keeps no items: a new order's answer is rendered from the decision.
  return Decision{d->customer_id,
                  std::move(d->events),
                  Subject::kOrder,
                  d->order_id,
                  !d->duplicate,
                  d->duplicate,
                  render_answer && d->placed ? OrderToJson(*d->placed) : std::string(),
                  d->placed ? std::optional(PlacementWithoutItems(*d->placed)) : std::nullopt};
}

void CommandService::Register(CustomerFields fields, CommandMeta meta, Done done) {
  std::string id = ids_.NewId();
  Execute(
      std::move(meta),
      [this, id, fields = std::move(fields)](const WriteModel& state,
                                             const CommandMeta& m) -> Result<Decision> {
        return ForCustomer(id, DecideRegister(state.customers, {id, fields}, m, ids_),
                           /*created=*/true);
      },
      std::move(done));
}

template <typename Command, typename DecideOnCustomers>
void CommandService::ExecuteOnCustomer(Command cmd, DecideOnCustomers decide, CommandMeta meta,
                                       Done done) {
  Execute(
      std::move(meta),
      [this, cmd = std::move(cmd), decide](const WriteModel& state,
                                           const CommandMeta& m) -> Result<Decision> {
        // Ownership before the decision: a refusal (an illegal status move, a missing company
        // name) would otherwise tell a rep something of another's customer.
        if (auto owned = CheckOwner(state.customers.Find(cmd.id), cmd.id, m); !owned) {
          return Fail(owned.error());
        }
        return ForCustomer(cmd.id, decide(state.customers, cmd, m, ids_));
      },
      std::move(done));
}

void CommandService::Update(UpdateCustomer cmd, CommandMeta meta, Done done) {
  ExecuteOnCustomer(std::move(cmd), DecideUpdate, std::move(meta), std::move(done));
}

void CommandService::Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done) {
  ExecuteOnCustomer(std::move(cmd), DecideDeactivate, std::move(meta), std::move(done));
}

void CommandService::ChangeSubscription(keel::ChangeSubscription cmd, CommandMeta meta, Done done) {
  ExecuteOnCustomer(std::move(cmd), DecideChangeSubscription, std::move(meta), std::move(done));
}

void CommandService::RecordVisit(keel::RecordVisit cmd, CommandMeta meta, Done done) {
  ExecuteOnCustomer(std::move(cmd), DecideRecordVisit, std::move(meta), std::move(done));
}

Status CommandService::CheckOwner(const Customer* customer, std::string_view named,
                                  const CommandMeta& meta) {
  if (!meta.owner_scope || !customer || customer->owner_id == *meta.owner_scope) return {};
  std::string message = "Customer ";
  message += named;
  message += " is not assigned to you";
  return Fail(Error::PermissionDenied(std::move(message)));
}

void CommandService::PlaceOrder(OrderInput input, CommandMeta meta, Done done) {
  Execute(
      std::move(meta),
      [this, input = std::move(input)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
        // Ownership before the decision: an inactive customer or the spending limit would
        // otherwise tell a rep something of another's customer. A customer named by email is
        // refused under that email, so that the refusal does not tell its id either.
        const Status owned =
            input.customer_email
                ? CheckOwner(state.customers.FindByEmail(*input.customer_email),
                             *input.customer_email, m)
                : CheckOwner(state.customers.Find(input.customer_id), input.customer_id, m);
        if (!owned) return Fail(owned.error());
        return DecidePlacement(state, input, m, /*render_answer=*/true);
      },
      std::move(done));
}

void CommandService::ChangeOrderStatus(keel::ChangeOrderStatus cmd, CommandMeta meta, Done done) {
  Execute(
      std::move(meta),
      [this, cmd = std::move(cmd)](const WriteModel& state,
                                   const CommandMeta& m) -> Result<Decision> {
        // Ownership before the decision: an illegal move's message names the order's status.
        if (const OrderWriteModel::Entry* o = state.orders.Find(cmd.id); o && m.owner_scope) {
          auto owned = CheckOwner(state.customers.Find(*o->customer_id), *o->customer_id, m);
          if (!owned) return Fail(owned.error());
        }
        auto events = DecideChangeOrderStatus(state.orders, cmd, m, ids_);
        if (!events) return Fail(events.error());
        return Decision{*state.orders.Find(cmd.id)->customer_id, std::move(*events),
                        Subject::kOrder, cmd.id};
      },
      std::move(done));
}

void CommandService::RecordTransaction(TransactionInput input, CommandMeta meta, Done done) {
  std::string id = ids_.NewId();
  Execute(
      std::move(meta),
      [this, id, input = std::move(input)](const WriteModel& state,
                                           const CommandMeta& m) -> Result<Decision> {
        // Ownership before the decision: an order of the customer, or what was paid on it,
        // must not be told to a rep who does not own the customer.
        if (auto owned = CheckOwner(state.customers.Find(input.customer_id), input.customer_id, m);
            !owned) {
          return Fail(owned.error());
        }
        auto d = DecideRecordTransaction(state.customers, state.orders, state.payments, {input}, id,
                                         m, ids_);
        if (!d) return Fail(d.error());
        Decision decision{d->transaction.customer_id, std::move(d->events), Subject::kTransaction,
                          id, /*created=*/true};
        decision.answer_json = TransactionToJson(d->transaction);
        return decision;
      },
      std::move(done));
}

void CommandService::AssignPromotion(keel::AssignPromotion cmd, CommandMeta meta, Done done) {
  std::string id = ids_.NewId();
  Execute(
      std::move(meta),
      [this, id, cmd = std::move(cmd)](const WriteModel& state,
                                       const CommandMeta& m) -> Result<Decision> {
        // Ownership before the decision: what the customer holds must not be told to a rep who
        // does not own the customer.
        if (auto owned = CheckOwner(state.customers.Find(cmd.customer_id), cmd.customer_id, m);
            !owned) {
          return Fail(owned.error());
        }
        const Result<std::optional<Promotion>> promotion =
            promotions_ ? promotions_(cmd.promotion_id)
                        : Result<std::optional<Promotion>>(
                              Fail(Error::Unavailable("Promotions cannot be assigned here")));
        auto d =
            DecideAssignPromotion(state.customers, state.assignments, promotion, cmd, id, m, ids_);
        if (!d) return Fail(d.error());
        Decision decision{d->assignment.customer_id, std::move(d->events), Subject::kAssignment, id,
                          /*created=*/true};
        decision.answer_json = AssignmentToJson(d->assignment, m.now);
        return decision;
      },
      std::move(done));
}

Result<std::shared_ptr<const std::vector<Promotion>>> CommandService::Earnable() const {
  if (earned_) return earned_();
  static const auto kNone = std::make_shared<const std::vector<Promotion>>();
  return kNone;
}

void CommandService::RecordStanding(keel::RecordStanding cmd, CommandMeta meta, Done done) {
  Execute(
      std::move(meta),
      [this, cmd = std::move(cmd)](const WriteModel& state,
                                   const CommandMeta& m) -> Result<Decision> {
        auto earnable = Earnable();
        if (!earnable) return Fail(earnable.error());
        auto events =
            DecideRecordStanding(state.customers, state.assignments, **earnable, cmd, m, ids_);
        if (!events) return Fail(events.error());
        return Decision{cmd.customer_id, std::move(*events), Subject::kProcess, cmd.customer_id};
      },
      std::move(done));
}

void CommandService::CreditReferral(std::string referred_id, CommandMeta meta, Done done) {
  Execute(
      std::move(meta),
      [this, referred_id = std::move(referred_id)](const WriteModel& state,
                                                   const CommandMeta& m) -> Result<Decision> {
        auto earnable = Earnable();
        if (!earnable) return Fail(earnable.error());
        auto d = DecideCreditReferral(state.customers, state.assignments, **earnable, referred_id,
                                      m, ids_);
        // Under the referrer's key: where its promotions are redeemed.
        std::string key = d.events.empty() ? referred_id : std::move(d.referrer_id);
        return Decision{std::move(key), std::move(d.events), Subject::kProcess, referred_id};
      },
      std::move(done));
}

std::vector<std::string> CommandService::PendingReferrals(size_t max) const {
  return runtime_.Read(
      [max](const WriteModel& state) { return state.assignments.PendingReferrals(max); });
}

void CommandService::Execute(CommandMeta meta, const Decide& decide, Done done) {
  runtime_.Execute(
      std::move(meta),
      [&decide](const WriteModel& state, const CommandMeta& m) -> Result<Decision> {
        auto decision = decide(state, m);
        if (decision && m.owner_scope) {
          // Checked before anything is answered, so that nothing of another's customer leaks.
          const Customer* c = state.customers.Find(decision->key);
          if (!c || c->owner_id != *m.owner_scope) {
            return Fail(
                Error::PermissionDenied("Customer " + decision->key + " is not assigned to you"));
          }
        }
        return decision;
      },
      std::move(done));
}

Result<std::shared_ptr<IngestChunk>> CommandService::IngestCustomers(
    const std::vector<std::pair<size_t, CustomerFields>>& records, const CommandMeta& meta) {
  return Ingest(
      records.size(),
      [&](size_t i, const WriteModel& state, const CommandMeta& m) -> Result<Decision> {
        const CustomerFields& fields = records[i].second;
        if (!fields.email || !fields.name) {
          return Fail(Error::Validation({{"email", "Name and email are required"}}));
        }
        if (auto owner = state.customers.OwnerOfEmail(*fields.email)) {
          return ForCustomer(*owner, DecideUpdate(state.customers,
                                                  {*owner, fields, false, std::nullopt}, m, ids_));
        }
        std::string id = ids_.NewId();
        return ForCustomer(id, DecideRegister(state.customers, {id, fields}, m, ids_),
                           /*created=*/true);
      },
      [&](size_t i) { return records[i].first; }, meta);
}

Result<std::shared_ptr<IngestChunk>> CommandService::IngestOrders(
    const std::vector<std::pair<size_t, OrderInput>>& records, const CommandMeta& meta) {
  // Items by product while the catalogue is not available (still loading at start): the chunk
  // is not handed over, so that no record is reported rejected for what is not its fault.
  for (const auto& [_, input] : records) {
    auto item = std::find_if(input.items.begin(), input.items.end(),
                             [](const OrderItem& it) { return it.product_id.has_value(); });
    if (item == input.items.end()) continue;
    if (!products_) return Fail(Error::Unavailable("Orders by product cannot be priced here"));
    if (auto found = products_(*item->product_id);
        !found && found.error().code == ErrorCode::kUnavailable) {
      return Fail(found.error());
    }
    break;
  }
  // Nor while the promotions an order may earn are (the ingestion waits for them).
  if (earned_) {
    if (auto earnable = earned_(); !earnable) return Fail(earnable.error());
  }
  return Ingest(
      records.size(),
      [&](size_t i, const WriteModel& state, const CommandMeta& m) -> Result<Decision> {
        // Bulk answers are counts: no order is rendered.
        return DecidePlacement(state, records[i].second, m, /*render_answer=*/false);
      },
      [&](size_t i) { return records[i].first; }, meta);
}

const std::vector<IngestRecordOutcome>& IngestChunk::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return waiting_ == 0; });
  return outcomes_;
}

void IngestChunk::Ended(size_t n) {
  std::lock_guard lock(mu_);
  waiting_ -= n;
  if (waiting_ == 0) cv_.notify_all();
}

Result<std::shared_ptr<IngestChunk>> CommandService::Ingest(
    size_t count,
    const std::function<Result<Decision>(size_t, const WriteModel&, const CommandMeta&)>& decide,
    const std::function<size_t(size_t)>& index_of, const CommandMeta& meta) {
  // Shared with the append callbacks, which fill in the outcomes.
  auto chunk = std::make_shared<IngestChunk>();
  chunk->outcomes_.resize(count);
  for (size_t i = 0; i < count; ++i) chunk->outcomes_[i].index = index_of(i);
  // Every record ends once: refused or unchanged here, or settled by the runtime.
  chunk->waiting_ = count;
  size_t ended_here = 0;
  auto st = runtime_.ExecuteBatch(
      count, meta,
      [&](size_t i, const WriteModel& state, const CommandMeta& m) -> Result<Decision> {
        IngestRecordOutcome& out = chunk->outcomes_[i];
        auto decision = decide(i, state, m);
        if (!decision) {
          out.error = decision.error();
          ++ended_here;
        } else if (decision->events.empty()) {
          out.result = decision->duplicate ? IngestResult::kDuplicate : IngestResult::kUnchanged;
          ++ended_here;
        } else {
          // What it will be once the log has it; settled says otherwise if not.
          out.result = decision->created ? IngestResult::kCreated : IngestResult::kUpdated;
        }
        return decision;
      },
      [chunk](size_t i, Status recorded) {
        if (!recorded) {
          IngestRecordOutcome& out = chunk->outcomes_[i];
          out.result = IngestResult::kFailed;
          out.error = recorded.error();
        }
        chunk->Ended(1);
      });
  if (!st) return Fail(st.error());
  chunk->Ended(ended_here);
  return chunk;
}

}  // namespace keel

// CommandService: runs the commands of the customers stream (customers, their visits, their
// orders) against the WriteModel and appends their events, keyed by the customer, on a
// pipelined CommandRuntime (command_runtime.h): decided and folded under one lock for the whole
// stream (email uniqueness is global), so concurrent commands see each other's effects in log
// order; answered once the log has the events. An append that fails marks the write model
// stale and the next command re-folds it from the log, so it never holds an event the log
// lacks. Idempotency-Keys as IdempotentAnswers says.
// Payments and refunds (transactions) are commands of this stream too, keyed by their customer;
// so are promotions given to a customer (assignments).
//
// Bulk ingestion decides a chunk of records under the lock, enqueues one append per record
// (the log's group commit turns them into few syncs) and waits for the log outside it.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on a log thread, the
// caller's or the runtime's own timer thread, and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commands/command_runtime.h"
#include "commands/standing_commands.h"
#include "commands/write_model.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct CommandOutcome {
  bool created = false;  // the command created the customer, the order or the transaction
  // The customer or order after the command. An order's "items" may be null: the write model
  // does not keep them; the API fills them in from the read model.
  std::string json;
  int64_t version = 0;                   // its version after the command
  std::optional<AppendResult> position;  // where its last event landed; none if nothing changed
};

// What became of one record of a bulk ingestion. kRejected: the record itself was refused (its
// fields, or a business rule); kFailed: Keel could not record it (its append failed), which is
// no fault of the record and stops the job.
enum class IngestResult { kCreated, kUpdated, kUnchanged, kDuplicate, kRejected, kFailed };

struct IngestRecordOutcome {
  size_t index = 0;  // in the request
  IngestResult result = IngestResult::kRejected;
  std::optional<Error> error;  // for kRejected and kFailed
};

// The appends of one bulk chunk, decided and in flight. Thread-safe.
class IngestChunk final {
 public:
  // Blocks until every append of the chunk is acknowledged (or failed): one outcome per
  // record, in order.
  const std::vector<IngestRecordOutcome>& Wait();

 private:
  friend class CommandService;
  // `n` more records have their outcome.
  void Ended(size_t n);

  std::mutex mu_;
  std::condition_variable cv_;
  size_t waiting_ = 0;                         // records without an outcome; guarded by mu_
  std::vector<IngestRecordOutcome> outcomes_;  // each written by its record's callback
};

class CommandService final {
 public:
  using Done = std::function<void(Result<CommandOutcome>)>;

 private:
  // kProcess: a process manager's command (a standing, a referral's credit), answered with no
  // JSON.
  enum class Subject { kCustomer, kOrder, kTransaction, kAssignment, kProcess };
  // What a command decided: its events (maybe none), the stream key they go under, and what
  // to answer with once they are folded.
  struct Decision {
    std::string key;
    std::vector<EventEnvelope> events;
    Subject subject = Subject::kCustomer;
    std::string subject_id;
    bool created = false;
    bool duplicate = false;   // an order whose external id was seen before
    std::string answer_json;  // when set, the answer instead of the write model's view
    // A placement's change (its one OrderPlaced event), folded without decoding the event.
    std::optional<OrderChange> placement;
  };
  // The customers stream, as CommandRuntime takes it.
  struct Stream : StreamDefaults {
    using Model = WriteModel;
    using Decision = CommandService::Decision;
    using Answer = CommandOutcome;
    static constexpr std::string_view kTopic = kCustomersTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    static constexpr std::string_view kSnapshot = "keel.customers";
    // Changes whenever WriteModel, its fold or CommandOutcome change: an older snapshot is
    // then refused and the log folded whole.
    // 5: the promotions assigned to customers (AssignmentWriteModel).
    // 6: an assignment's reward, and orders that redeem one (mark it used).
    // 7: each customer's recorded loyalty standing.
    // 8: referrals pending and credited (a build never released); 9: pending only from
    // ReferralQualified.
    static constexpr uint64_t kSnapshotFormat = 9;
    // Called (under the lock, must not block) when a decided ReferralQualified is folded;
    // CommandService's OnReferralPending.
    const std::function<void()>* referral_pending = nullptr;
    // Partition markers (domain/partition_markers.h) are for the membership read model alone.
    static bool HoldsState(const LogRecord& r);
    void SaveAnswer(SnapshotWriter& out, const CommandOutcome& answer);
    bool RestoreAnswer(SnapshotReader& in, CommandOutcome& answer);
    Status Fold(WriteModel& state, const Decision& decision, const EventEnvelope& event);
    Result<CommandOutcome> AnswerFor(const WriteModel& state, Decision& decision);
    std::optional<CommandOutcome> Remembered(const WriteModel& state, const EventEnvelope& event);
    void Loaded(WriteModel& state, Millis) { state.customers.RepairEmailIndex(); }
  };
  using Runtime = CommandRuntime<Stream>;

 public:
  static constexpr std::chrono::milliseconds kDuplicateWait = Runtime::kDuplicateWait;
  // Duplicates waiting for one first request at most; more get kResourceExhausted (429).
  static constexpr size_t kMaxDuplicatesPerKey = Runtime::kMaxDuplicatesPerKey;

  // `duplicate_wait`: how long a request waits for the first one with its Idempotency-Key.
  // `snapshots`: where the write model's snapshots are kept (CommandRuntime says how they are
  // used); none: every load folds the whole log.
  // `products`: how an order's items by product find their product (DecidePlaceOrder); none:
  // such items are refused with kUnavailable. Called under the stream's lock: it must not call
  // back into this service.
  // `promotions`: how an assignment finds its promotion (DecideAssignPromotion); none: every
  // assignment is refused with kUnavailable. Called under the stream's lock, as `products`.
  // `earned`: the promotions an order may earn (DecideEarnedAssignments), assigned in the
  // order's decision and appended with it; none: orders earn nothing. While it is unavailable
  // (the promotions still loading at start) every order is refused with it.
  CommandService(EventLog& log, Clock& clock, IdGenerator& ids,
                 std::chrono::milliseconds duplicate_wait = kDuplicateWait,
                 SnapshotStore* snapshots = nullptr, ProductLookup products = {},
                 PromotionLookup promotions = {}, EarnedPromotionsLookup earned = {});
  // Requests still waiting for a first one get kUnavailable (the App waits for in_flight() to
  // drain before it gets here).
  CommandService(const CommandService&) = delete;
  CommandService& operator=(const CommandService&) = delete;

  // Folds the whole customers topic into the write model. Until it has succeeded, commands
  // are refused with kUnavailable.
  Status Load() { return runtime_.Load(); }
  bool loaded() const { return runtime_.loaded(); }
  Runtime::LoadReport last_load() const { return runtime_.last_load(); }
  // Saves a snapshot of the write model if it changed since the last (CommandRuntime::Snapshot).
  Status Snapshot() { return runtime_.Snapshot(); }
  // f(const WriteModel&) under the runtime's lock, shared (tests compare models with it).
  template <typename F>
  decltype(auto) ReadWriteModel(F&& f) const {
    return runtime_.Read(std::forward<F>(f));
  }

  void Register(CustomerFields fields, CommandMeta meta, Done done);
  void Update(UpdateCustomer cmd, CommandMeta meta, Done done);
  void Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done);
  void ChangeSubscription(keel::ChangeSubscription cmd, CommandMeta meta, Done done);
  void RecordVisit(RecordVisit cmd, CommandMeta meta, Done done);
  // A new order (created); the existing order, not created, when its external id was seen.
  // The promotions the order earns are assigned in the same decision (`earned`).
  void PlaceOrder(OrderInput input, CommandMeta meta, Done done);
  void ChangeOrderStatus(ChangeOrderStatus cmd, CommandMeta meta, Done done);
  // A payment or refund (created), on one of the customer's orders or on their account; a
  // sales rep's only on their own customers (refused before it is decided).
  void RecordTransaction(TransactionInput input, CommandMeta meta, Done done);
  // A promotion given by hand to a customer (created); a sales rep's only to their own customers
  // (refused before it is decided).
  void AssignPromotion(keel::AssignPromotion cmd, CommandMeta meta, Done done);

  // The level keeper's (commands/level_keeper.h): records a customer's loyalty standing, with
  // the customer_level promotions a new level earns (DecideRecordStanding); nothing when the
  // customer holds it already. The answer's json is empty; its position is none when nothing
  // was appended. kUnavailable while the promotions are (`earned`).
  void RecordStanding(keel::RecordStanding cmd, CommandMeta meta, Done done);

  // The referral keeper's (commands/referral_keeper.h): credits the pending referral of
  // `referred_id` (DecideCreditReferral), appended under the referrer's key; nothing when it is
  // not pending. The answer's json is empty; its position is none when nothing was appended.
  // kUnavailable while the promotions are (`earned`).
  void CreditReferral(std::string referred_id, CommandMeta meta, Done done);
  // Up to `max` referred customers whose referral awaits its credit (none before the first
  // load; waits for a load or refold in progress).
  std::vector<std::string> PendingReferrals(size_t max) const;
  // `wake` is called, under the stream's lock (it must not block nor call back), when a folded
  // order leaves a referral pending. Set before the first command.
  void OnReferralPending(std::function<void()> wake) { referral_pending_ = std::move(wake); }

  // Bulk ingestion of already validated records: customers are upserted by email (fields
  // absent from a record keep their values), orders are placed unless their external id was
  // seen. Returns once the chunk is decided (later commands see it); its appends complete in
  // the background, and IngestChunk::Wait gives the outcomes. kUnavailable while loading.
  Result<std::shared_ptr<IngestChunk>> IngestCustomers(
      const std::vector<std::pair<size_t, CustomerFields>>& records, const CommandMeta& meta);
  Result<std::shared_ptr<IngestChunk>> IngestOrders(
      const std::vector<std::pair<size_t, OrderInput>>& records, const CommandMeta& meta);

  // Commands whose events are being appended, and requests waiting for one with their key.
  int64_t in_flight() const { return runtime_.in_flight(); }

 private:
  using Decide = Runtime::Decide;

  static Result<Decision> ForCustomer(const std::string& id,
                                      Result<std::vector<EventEnvelope>> events,
                                      bool created = false);
  // The promotions that may be earned: none without `earned`; kUnavailable while they are.
  Result<std::shared_ptr<const std::vector<Promotion>>> Earnable() const;
  // A placement, single or bulk; `render_answer`: the new order's JSON for the answer.
  Result<Decision> DecidePlacement(const WriteModel& state, const OrderInput& input,
                                   const CommandMeta& meta, bool render_answer);
  // The answer for the subject as the write model holds it.
  static Result<CommandOutcome> AnswerOf(const WriteModel& state, Subject subject,
                                         const std::string& id, bool created);
  // kPermissionDenied, naming the customer as `named`, when a rep (meta.owner_scope) acts on a
  // customer of another; nothing for a customer that does not exist (the decision refuses it
  // as it would for anyone).
  static Status CheckOwner(const Customer* customer, std::string_view named,
                           const CommandMeta& meta);
  void Execute(CommandMeta meta, const Decide& decide, Done done);
  // A command on the existing customer `cmd.id`, decided by `decide(customers, cmd, meta, ids)`.
  template <typename Command, typename DecideOnCustomers>
  void ExecuteOnCustomer(Command cmd, DecideOnCustomers decide, CommandMeta meta, Done done);
  Result<std::shared_ptr<IngestChunk>> Ingest(
      size_t count,
      const std::function<Result<Decision>(size_t, const WriteModel&, const CommandMeta&)>& decide,
      const std::function<size_t(size_t)>& index_of, const CommandMeta& meta);

  IdGenerator& ids_;
  const ProductLookup products_;
  const PromotionLookup promotions_;
  const EarnedPromotionsLookup earned_;
  std::function<void()> referral_pending_;  // before runtime_, whose Stream points to it
  Runtime runtime_;
};

}  // namespace keel

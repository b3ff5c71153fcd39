// CommandService: runs the commands of the customers stream (customers, their visits, their
// orders) against the write model and appends their events, keyed by the customer.
//
// Consistency: one mutex serialises decide + append-enqueue for the whole stream (email
// uniqueness is global), so concurrent commands see each other's effects in log order. The
// write model is folded from the log at Load(); an append that fails marks it stale and the
// next command re-folds it from the log, so it never holds an event the log lacks.
//
// Idempotency: a command with an Idempotency-Key that already succeeded in the last 24 hours
// gets its first answer again and appends nothing; keys travel in the events, so they survive
// restarts. A request whose key is still in flight waits, without a thread, for the first one
// and gets its answer (success or error), or kUnavailable after `duplicate_wait`.
//
// Bulk ingestion decides a chunk of records under the mutex, enqueues one append per record
// (the log's group commit turns them into few syncs) and waits for the log outside it.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on a log thread, the
// caller's or the service's own timer thread, and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "commands/write_model.h"
#include "infra/event_log.h"

namespace keel {

struct CommandOutcome {
  int status = 200;                      // 201 when the command created the resource
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
  std::mutex mu_;
  std::condition_variable cv_;
  size_t waiting_ = 0;                         // guarded by mu_
  std::vector<IngestRecordOutcome> outcomes_;  // each written by its record's callback
};

class CommandService final {
 public:
  using Done = std::function<void(Result<CommandOutcome>)>;

  static constexpr std::chrono::milliseconds kDuplicateWait{10000};
  // Duplicates waiting for one first request at most; more get kResourceExhausted (429).
  static constexpr size_t kMaxDuplicatesPerKey = 64;

  // `duplicate_wait`: how long a request waits for the first one with its Idempotency-Key.
  CommandService(EventLog& log, Clock& clock, IdGenerator& ids,
                 std::chrono::milliseconds duplicate_wait = kDuplicateWait);
  // Joins the timer thread; requests still waiting for a first one are dropped unanswered (the
  // App waits for in_flight() to drain before it gets here).
  ~CommandService();
  CommandService(const CommandService&) = delete;
  CommandService& operator=(const CommandService&) = delete;

  // Folds the whole customers topic into the write model. Until it has succeeded, commands
  // are refused with kUnavailable.
  Status Load();
  bool loaded() const { return loaded_.load(); }

  void Register(CustomerFields fields, CommandMeta meta, Done done);
  void Update(UpdateCustomer cmd, CommandMeta meta, Done done);
  void Deactivate(DeactivateCustomer cmd, CommandMeta meta, Done done);
  void RecordVisit(RecordVisit cmd, CommandMeta meta, Done done);
  // 201 for a new order; 200 with the existing order when its external id was seen before.
  void PlaceOrder(OrderInput input, CommandMeta meta, Done done);
  void ChangeOrderStatus(ChangeOrderStatus cmd, CommandMeta meta, Done done);

  // Bulk ingestion of already validated records: customers are upserted by email (fields
  // absent from a record keep their values), orders are placed unless their external id was
  // seen. Returns once the chunk is decided (later commands see it); its appends complete in
  // the background, and IngestChunk::Wait gives the outcomes. kUnavailable while loading.
  Result<std::shared_ptr<IngestChunk>> IngestCustomers(
      const std::vector<std::pair<size_t, CustomerFields>>& records, const CommandMeta& meta);
  Result<std::shared_ptr<IngestChunk>> IngestOrders(
      const std::vector<std::pair<size_t, OrderInput>>& records, const CommandMeta& meta);

  // Commands whose events are being appended, and requests waiting for one with their key.
  int64_t in_flight() const { return in_flight_.load(); }

 private:
  enum class Subject { kCustomer, kOrder };
  // What a command decided: its events (maybe none), the stream key they go under, and what
  // to answer with once they are folded.
  struct Decision {
    std::string key;
    std::vector<EventEnvelope> events;
    Subject subject = Subject::kCustomer;
    std::string subject_id;
    int status = 200;        // 201: created
    bool duplicate = false;  // an order whose external id was seen before
    std::string answer_json;  // when set, the answer instead of the write model's view
    // A placement's change (its one OrderPlaced event), folded without decoding the event.
    std::optional<OrderChange> placement;
  };
  using Decide = std::function<Result<Decision>(const WriteModel&, const CommandMeta&)>;

  static Result<Decision> ForCustomer(const std::string& id,
                                      Result<std::vector<EventEnvelope>> events, int status = 200);
  // A placement, single or bulk; `render_answer`: the new order's JSON for the answer.
  Result<Decision> DecidePlacement(const WriteModel& state, const OrderInput& input,
                                   const CommandMeta& meta, bool render_answer);
  void Execute(CommandMeta meta, const Decide& decide, Done done);
  // The answer for the subject as the write model holds it; mu_ held.
  Result<CommandOutcome> Answer(Subject subject, const std::string& id, int status) const;
  // Folds the decided events and encodes them; on failure marks the model stale. mu_ held.
  Result<std::vector<std::string>> Commit(const Decision& decision);
  Result<std::shared_ptr<IngestChunk>> Ingest(
      size_t count, const std::function<Result<Decision>(size_t, const CommandMeta&)>& decide,
      const std::function<size_t(size_t)>& index_of, const CommandMeta& meta);
  Status LoadLocked();  // mu_ held
  // Keeps the answer of a key for the idempotency window; idem_mu_ held.
  void RememberLocked(const std::string& key, const CommandOutcome& outcome, Millis at);
  // The first request with `key` has its result: the waiting duplicates get it too, and a
  // success that appended is remembered.
  void Settle(const std::string& key, const Result<CommandOutcome>& result);
  // The timer thread: fails the duplicates that waited duplicate_wait_ with kUnavailable.
  void ExpireDuplicates();

  // A request that arrived while the first with its key was in flight.
  struct Duplicate {
    uint64_t id = 0;
    Done done;
  };
  struct IdempotentAnswer {
    bool pending = true;                // the first request is in flight
    CommandOutcome outcome;             // once it is not
    std::vector<Duplicate> duplicates;  // while it is
    // While pending: the answer a reload found in the log for this key, from an earlier request
    // whose answer was lost (an append whose outcome the log could not tell). The request
    // holding the key answers with it instead of deciding again.
    std::optional<CommandOutcome> in_log;
  };
  struct DuplicateDeadline {
    std::chrono::steady_clock::time_point at;
    std::string key;
    uint64_t id = 0;
  };

  EventLog& log_;
  Clock& clock_;
  IdGenerator& ids_;
  const std::chrono::milliseconds duplicate_wait_;

  std::mutex mu_;
  WriteModel state_;  // guarded by mu_
  std::atomic<bool> stale_{false};

  // Taken after mu_ where both are held.
  std::mutex idem_mu_;
  std::condition_variable idem_cv_;
  std::unordered_map<std::string, IdempotentAnswer> answers_;  // guarded by idem_mu_
  std::deque<std::pair<Millis, std::string>> answer_times_;    // guarded by idem_mu_
  // Of every duplicate parked, oldest first (all wait equally long); guarded by idem_mu_.
  std::deque<DuplicateDeadline> deadlines_;
  uint64_t last_duplicate_ = 0;  // guarded by idem_mu_
  bool stopping_ = false;        // guarded by idem_mu_
  std::thread timer_;

  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> loaded_{false};
};

}  // namespace keel

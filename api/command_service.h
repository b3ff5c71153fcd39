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
// restarts. A key whose first request is still in flight gets kAborted.
//
// Bulk ingestion decides a chunk of records under the mutex, enqueues one append per record
// (the log's group commit turns them into few syncs) and waits for the log outside it.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on a log thread or
// the caller's and must not block.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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

// What became of one record of a bulk ingestion.
enum class IngestResult { kCreated, kUpdated, kUnchanged, kDuplicate, kRejected };

struct IngestRecordOutcome {
  size_t index = 0;  // in the request
  IngestResult result = IngestResult::kRejected;
  std::optional<Error> error;  // for kRejected
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

  CommandService(EventLog& log, Clock& clock, IdGenerator& ids);

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

  // Commands whose events are being appended.
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
  void RememberAnswer(const std::string& key, const CommandOutcome& outcome, Millis at);

  struct IdempotentAnswer {
    bool pending = true;
    CommandOutcome outcome;
  };

  EventLog& log_;
  Clock& clock_;
  IdGenerator& ids_;

  std::mutex mu_;
  WriteModel state_;  // guarded by mu_
  std::atomic<bool> stale_{false};

  std::mutex idem_mu_;
  std::unordered_map<std::string, IdempotentAnswer> answers_;  // guarded by idem_mu_
  std::deque<std::pair<Millis, std::string>> answer_times_;    // guarded by idem_mu_

  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> loaded_{false};
};

}  // namespace keel

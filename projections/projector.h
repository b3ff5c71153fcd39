// Projector: folds events into the writes of one read model. Pure with respect to I/O: it
// reads current state through a StateView (the store seen through the batch being built) and
// returns writes; the runner commits them with the checkpoint. Projectors reading one topic
// form a group that one runner folds: every event goes through each of them in turn, and their
// writes commit together in one batch with one checkpoint.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "domain/event.h"
#include "infra/read_store.h"

namespace keel {

// The read store as it will be once the writes of the current batch are committed.
class StateView {
 public:
  virtual ~StateView() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) = 0;
  // Visits, in key order, the keys of `table` that begin with `prefix` and are >= `start` (the
  // batch's writes included, its deletions left out), until `visit` returns false. The writes
  // of the event being applied are not seen (they are recorded once every projector has
  // applied it).
  virtual Status Scan(std::string_view /*table*/, std::string_view /*prefix*/,
                      std::string_view /*start*/,
                      const std::function<bool(std::string_view key, std::string_view value)>&
                      /*visit*/) {
    return Fail(Error::Internal("This state view cannot scan"));
  }
};

// Where an event sits in the log, and the record exactly as it was appended there (valid for
// the duration of Apply).
struct EventPosition {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view record;
};

class Projector {
 public:
  virtual ~Projector() = default;
  virtual std::string_view name() const = 0;
  // The topics it reads. A projector joins the group of each; its writes for an event commit
  // with that topic's checkpoint.
  virtual std::vector<std::string_view> topics() const = 0;
  // The tables this projector owns (column families to create).
  virtual std::vector<std::string> tables() const = 0;
  // The layout of those tables and their records: raised when a build changes what the fold
  // writes, so that a store folded by an older build is rebuilt at start (beside the live one,
  // which serves meanwhile) instead of holding a mix of both.
  virtual int format() const { return 1; }
  // Appends the writes that fold `event` (already upcast and supported) into the read model.
  // kDataLoss: the event cannot be applied and is dead-lettered; any other error stops the
  // batch, which is retried.
  //
  // Partitions are folded concurrently (one customer's events are all in one partition), so a
  // key written for every event, such as a counter, must be kept per partition
  // (`position.partition`); keys of one aggregate are only ever touched from its partition.
  virtual Status Apply(const EventEnvelope& event, const EventPosition& position,
                       StateView& view, std::vector<StoreWrite>& writes) = 0;
  // The batch being built, of these partitions, was dropped (it is read again from the last
  // checkpoint): forget anything remembered from its events. Called by the thread that folds
  // those partitions.
  virtual void Discard(const std::vector<int32_t>& /*partitions*/) {}
  // Another projector of the group refused the event at (partition, offset), which this one
  // had applied: its writes are dropped (the event is dead-lettered), so forget what was
  // remembered of it, and only that (changes staged for earlier events of the batch still
  // commit). Called by the thread that folds the partition.
  virtual void Unapply(int32_t partition, int64_t offset) = 0;
  // The batch's writes of these partitions are in the store; their positions are published
  // when this returns. For in-memory views that must be current when a read's wait ends: hand
  // them the typed changes of the batch. Must be quick and must not fail (the store has the
  // batch already). Called by the thread that folds those partitions.
  virtual void Committed(const std::vector<int32_t>& /*partitions*/) {}
  // A serving generation's runner has started: load the in-memory views from the store (the
  // commits that arrive meanwhile must be held and replayed after the load).
  virtual Status StartViews(ReadStore& /*store*/) { return {}; }
};

// Tables every projection database has, whatever its projectors.
inline constexpr std::string_view kCheckpointsTable = "checkpoints";
inline constexpr std::string_view kDeadLettersTable = "dead_letters";
inline constexpr std::string_view kProjectionMetaTable = "projection_meta";

// The projection_meta key that holds the format (Projector::format) a read model's tables were
// folded in, written before its first batch: a projector whose store holds an older format (the
// live store while a rebuild for a new format runs) must not count on what the new one adds.
inline std::string ReadModelPresenceKey(std::string_view read_model) {
  std::string key = "readmodel/";
  key += read_model;
  return key;
}

}  // namespace keel

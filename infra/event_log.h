// EventLog: the contract of the durable, partitioned, ordered log that is Keel's source of
// truth. Two implementations: EmbeddedLog (one machine, the default) and KafkaLog. No
// third-party type appears here; projections/ and api/ see only this header.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "domain/error.h"

namespace keel {

struct LogRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
};

// Where an append landed: offsets first..last, both inclusive, in one partition.
struct AppendResult {
  std::string topic;
  int32_t partition = 0;
  int64_t first_offset = 0;
  int64_t last_offset = 0;
};

using AppendCallback = std::function<void(Result<AppendResult>)>;

// Reads a fixed set of partitions of one topic, each from its own start offset. Offsets rise
// within a partition but may skip: Kafka's transaction markers take offsets and hold no record.
// Not thread-safe: one reader per consuming thread.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // Returns up to max_records records (in offset order within each partition), waiting up to
  // `wait` when none is available yet. An empty vector means nothing arrived in time.
  virtual Result<std::vector<LogRecord>> Poll(size_t max_records,
                                              std::chrono::milliseconds wait) = 0;
  // Moves one of the reader's partitions to `offset`: the next Poll reads it from there.
  virtual Status Seek(int32_t partition, int64_t offset) = 0;
  // How far the reader has read one of its partitions: past every record Poll returned, and
  // past the offsets without a record it has passed over. A Poll that returned nothing leaves
  // it at the end offset when the partition has been read to the end.
  virtual int64_t Position(int32_t partition) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Every topic has this many partitions.
  virtual int32_t PartitionCount() const = 0;

  // Appends `values` in order, atomically, to the partition that `key` maps to (murmur2, as
  // Kafka's Java client), creating the topic on first use. `done` runs exactly once, on a log
  // thread, after the records are durable (or with kUnavailable / kInternal). It must not block.
  virtual void AppendAsync(const std::string& topic, const std::string& key,
                           std::vector<std::string> values, AppendCallback done) = 0;

  // Ok while appends can succeed; otherwise the failure that stopped the log (kUnavailable),
  // which lasts until the process opens the log again.
  virtual Status Health() { return {}; }

  // The offset the next record of the partition will get (0 for an empty or unknown topic).
  virtual Result<int64_t> EndOffset(const std::string& topic, int32_t partition) = 0;

  // A reader of `topic` from the given (partition, offset) positions.
  virtual Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) = 0;

  // Blocking form of AppendAsync.
  Result<AppendResult> Append(const std::string& topic, const std::string& key,
                              std::vector<std::string> values) {
    std::promise<Result<AppendResult>> promise;
    auto future = promise.get_future();
    AppendAsync(topic, key, std::move(values),
                [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  // The records of one partition at `offsets` (ascending, each below the end offset), in that
  // order: one reader, moved forward by seeking over gaps. kDataLoss names an offset the log
  // no longer holds; kUnavailable one that did not arrive within `wait`.
  Result<std::vector<LogRecord>> ReadAt(const std::string& topic, int32_t partition,
                                        const std::vector<int64_t>& offsets,
                                        std::chrono::milliseconds wait = std::chrono::seconds(5));

  // Reads every partition of `topic` from the start up to the end it had when called, and
  // hands each record to `visit` (in offset order within a partition).
  Status ReadAll(const std::string& topic, const std::function<void(const LogRecord&)>& visit) {
    auto ends =
        ReadFrom(topic, std::vector<int64_t>(static_cast<size_t>(PartitionCount()), 0), visit);
    if (!ends) return Fail(ends.error());
    return {};
  }

  // ReadAll from `from[p]` in each partition p (one entry per partition). Returns where the
  // read ended in each: the offset to read on from.
  Result<std::vector<int64_t>> ReadFrom(const std::string& topic, const std::vector<int64_t>& from,
                                        const std::function<void(const LogRecord&)>& visit);
};

}  // namespace keel

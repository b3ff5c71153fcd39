// EmbeddedLog: the default EventLog, durable on local disk, no broker.
//
// Layout: `dir/segment-NNNNNNNN.log` files holding frames; one frame is one append (one key,
// one partition, one or more records), checksummed with CRC-32. All topics and partitions share
// the segments, so that one fsync makes a whole group of appends durable. An in-memory index
// (partition → record locations, 24 bytes a record) is rebuilt by scanning at open; a torn frame
// at the end of the last segment (a crash mid-write) is truncated away.
//
// Fsync policy (group commit): one writer thread takes every append queued while the previous
// group was being written, writes them with one write() and one fdatasync(), and only then
// publishes them to readers and runs the callbacks. An acknowledged append therefore survives
// kill -9 and power loss; readers never see a record that could still be lost.
//
// A directory is used by one process at a time (flock on dir/LOCK). Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "infra/event_log.h"

namespace keel {

class EmbeddedLog final : public EventLog {
 public:
  struct Options {
    std::string dir;
    int32_t partitions = 8;
    bool fsync = true;  // false only for tests and benchmarks that say so
    uint64_t segment_bytes = 1ull << 30;
  };

  static Result<std::unique_ptr<EmbeddedLog>> Open(Options options);
  // Drains the queue (every accepted append completes), then closes. May block on I/O.
  ~EmbeddedLog() override;
  EmbeddedLog(const EmbeddedLog&) = delete;
  EmbeddedLog& operator=(const EmbeddedLog&) = delete;

  int32_t PartitionCount() const override { return options_.partitions; }
  void AppendAsync(const std::string& topic, const std::string& key,
                   std::vector<std::string> values, AppendCallback done) override;
  Result<int64_t> EndOffset(const std::string& topic, int32_t partition) override;
  Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) override;

  // Counters since open, for metrics and benchmarks.
  uint64_t fsync_count() const { return fsync_count_.load(std::memory_order_relaxed); }

 private:
  friend class EmbeddedLogReader;

  struct RecordLoc {
    uint64_t pos;       // of the record's key bytes within the segment
    uint32_t segment;
    uint32_t value_len;
    uint32_t key_len;
  };
  using PartitionIndex = std::vector<RecordLoc>;
  struct Pending {
    std::string topic;
    std::string key;
    int32_t partition;
    std::vector<std::string> values;
    AppendCallback done;
  };

  explicit EmbeddedLog(Options options);
  Status Recover();
  Status ScanSegment(uint32_t segment, bool last);
  Status OpenSegmentForWrite(uint32_t segment);
  void WriterLoop();
  void WriteGroup(std::vector<Pending>& group);
  // Reads up to `max` published records of the given partitions, each from its position
  // (advanced past what was read), in the order they sit in the segments: one pass over the
  // file serves every partition of the reader. Empty when none is published yet.
  Result<std::vector<LogRecord>> ReadPartitions(const std::string& topic,
                                                std::vector<std::pair<int32_t, int64_t>>& positions,
                                                size_t max);
  std::string SegmentPath(uint32_t segment) const;

  const Options options_;
  int lock_fd_ = -1;

  std::shared_mutex index_mu_;
  std::unordered_map<std::string, std::vector<PartitionIndex>> index_;  // guarded by index_mu_
  std::vector<int> read_fds_;                                           // guarded by index_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;  // guarded by queue_mu_
  bool stopping_ = false;       // guarded by queue_mu_
  Error broken_;                // guarded by queue_mu_; set after a failed write
  bool is_broken_ = false;      // guarded by queue_mu_

  // Writer-thread state.
  int write_fd_ = -1;
  uint32_t write_segment_ = 0;
  uint64_t write_pos_ = 0;
  std::unordered_map<std::string, std::vector<int64_t>> next_offset_;

  std::mutex data_mu_;
  std::condition_variable data_cv_;
  uint64_t data_seq_ = 0;  // guarded by data_mu_; bumped on every publish

  std::atomic<uint64_t> fsync_count_{0};
  std::thread writer_;
};

}  // namespace keel

// EmbeddedLog: the default EventLog, durable on local disk, no broker.
//
// Layout: `dir/segment-NNNNNNNN.log` files holding frames (infra/log_segment.h); one frame is
// one append (one key, one partition, one or more records), checksummed with CRC-32. All topics
// and partitions share the segments, so that one fsync makes a whole group of appends durable.
// An in-memory index (partition → record locations, 24 bytes a record) is rebuilt by scanning
// at open.
//
// Fsync policy (group commit): one writer thread takes every append queued while the previous
// group was being written, writes them with one write() and one fdatasync(), and only then
// publishes them to readers and runs the callbacks. An acknowledged append therefore survives
// kill -9 and power loss; readers never see a record that could still be lost.
//
// Faults: a failed or short write, or a failed fdatasync, breaks the log for good: the group and
// every append queued or arriving after it fail with kUnavailable, nothing more is written or
// acknowledged (fdatasync is never retried: the kernel may have dropped the dirty pages), and
// the unacknowledged bytes are truncated away where the disk still allows it. Health() says
// why. Opening again recovers to the last durable frame.
//
// Recovery: only the torn tail of the last segment (frames written but never acknowledged,
// which no later frame vouches for) is cut at open, after its bytes are kept in
// `dir/segment-N-torn-at-BYTE.bin`; the cut is fsynced. Any other frame that does not check out,
// and any read error, refuses to open with kDataLoss naming the segment, byte and frame: Verify()
// reports every bad frame and Salvage() copies every readable one to a new log, so that
// recovering from damage is the operator's decision. A clean close writes a seal frame, so
// that damage to the last appends before it is told from a torn tail too.
//
// A directory is used by one process at a time (flock on dir/LOCK). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "infra/event_log.h"
#include "infra/log_file_io.h"

namespace keel {

class SegmentScanner;

class EmbeddedLog final : public EventLog {
 public:
  struct Options {
    std::string dir;
    int32_t partitions = 8;
    bool fsync = true;  // false only for tests and benchmarks that say so
    uint64_t segment_bytes = 1ull << 30;
    std::shared_ptr<LogFileIo> io;  // null: the system calls
    // A seal is written and synced once no append came for this long after the last one.
    std::chrono::milliseconds seal_after{1000};
  };

  // What Verify() found in a log directory.
  struct Problem {
    std::string segment;  // its path
    uint64_t byte = 0;    // where the bad frame starts
    uint64_t frame = 0;   // its index within the segment, from 0
    std::string why;
    // The unacknowledged tail of the last segment, cut at the next open: not damage.
    bool torn_tail = false;
  };
  struct VerifyReport {
    uint64_t segments = 0;
    uint64_t frames = 0;   // that check out, seals included
    uint64_t records = 0;  // in them
    std::vector<Problem> problems;
    bool damaged() const {
      for (const auto& p : problems) {
        if (!p.torn_tail) return true;
      }
      return false;
    }
  };

  // Scans every segment of the log in `dir` without changing it and reports every frame that
  // does not check out (resuming at the next frame that does) and every missing segment.
  // Takes the directory's lock: kUnavailable while a process has the log open. Writes nothing,
  // so it runs on a read-only mount too.
  static Result<VerifyReport> Verify(const std::string& dir);

  // Copies every frame of the log in `dir` that checks out, in order, into a new log in `to`
  // (which must not hold one), and reports what was skipped, missing segments included. Offsets in
  // `to` are renumbered where frames were skipped: read models must then be rebuilt from it.
  static Result<VerifyReport> Salvage(const std::string& dir, const std::string& to,
                                      int32_t partitions);

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

  // Ok, or the failure that stopped the log from writing.
  Status Health() override;

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
  // `durable_end`: where a marker says the acknowledged bytes of the last segment end.
  Status ScanSegment(uint32_t segment, bool last, std::optional<uint64_t> durable_end);
  Status MarkFormat();
  // Writes and syncs a seal at the end (writer thread); false with errno set on failure.
  bool Seal();
  Error StoppedAfter(const std::string& what) const;  // errno: the failure
  // Keeps the bytes of the last segment from `pos` on in a side file, then cuts them.
  Status CutTornTail(const std::string& path, SegmentScanner& scanner, uint64_t pos, uint64_t size);
  Status SyncDirectory();
  // Stops the log after a failed write or sync: fails `group` and everything queued.
  void Break(std::vector<Pending>& group, Error error);
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
  LogFileIo& io_;
  int lock_fd_ = -1;

  std::shared_mutex index_mu_;
  std::unordered_map<std::string, std::vector<PartitionIndex>> index_;  // guarded by index_mu_
  std::vector<int> read_fds_;                                           // guarded by index_mu_

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;  // guarded by queue_mu_
  bool stopping_ = false;       // guarded by queue_mu_
  Error broken_;                // guarded by queue_mu_; set after a failed write
  // Written under queue_mu_; read without it by Health(), which every command calls.
  std::atomic<bool> is_broken_{false};

  // Writer-thread state.
  int write_fd_ = -1;
  uint32_t write_segment_ = 0;
  uint64_t write_pos_ = 0;  // every byte before it is durable
  bool unsealed_ = false;   // a group was written since the last seal
  std::unordered_map<std::string, std::vector<int64_t>> next_offset_;

  std::mutex data_mu_;
  std::condition_variable data_cv_;
  uint64_t data_seq_ = 0;  // guarded by data_mu_; bumped on every publish

  std::atomic<uint64_t> fsync_count_{0};
  std::thread writer_;
};

}  // namespace keel

// RocksStore: ReadStore on RocksDB, one column family per table.
//
// Durability: writes go with the WAL off and atomic_flush on, so a crash loses the unflushed
// tail of every table together and never half of a batch. That is safe only because each batch
// carries the projector's checkpoint: after a crash the projector re-folds from the log. Flush()
// (on a schedule and at shutdown) makes everything durable. RocksDB's types stay in the .cc.
//
// Faults: a failed write or flush (a full disk) is answered kUnavailable, and nothing is
// written through the database again until RocksDB's Resume() has flushed what its memtables
// hold and cleared the error; until then every write and flush answers kUnavailable with the
// reason, reads go on. A projector retrying its batch so resumes by itself once there is room
// (RocksDB checks the free space every few seconds).
// Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "infra/read_store.h"

namespace keel {

class RocksStore final : public ReadStore {
 public:
  // Opens or creates the database at `path` with exactly these tables (plus RocksDB's default).
  // `bulk_load`: for a rebuild from scratch; no compaction runs while it is open, it happens
  // when the database is next opened normally.
  static Result<std::unique_ptr<RocksStore>> Open(const std::string& path,
                                                  const std::vector<std::string>& tables,
                                                  bool bulk_load = false);
  ~RocksStore() override;  // flushes
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  Status Write(const std::vector<StoreWrite>& batch) override;
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override;
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override;
  Status ScanReverse(std::string_view table, std::string_view prefix, std::string_view last,
                     const std::function<bool(std::string_view, std::string_view)>& visit) override;
  Status Flush() override;
  Status StartFlush() override;

  // RocksDB's estimate of its memory use (memtables and block cache), for metrics.
  uint64_t ApproximateMemoryBytes();

 private:
  struct Impl;
  explicit RocksStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

// RocksStore: ReadStore on RocksDB, one column family per table.
//
// Durability: writes go with the WAL off and atomic_flush on, so a crash loses the unflushed
// tail of every table together and never half of a batch. That is safe only because each batch
// carries the projector's checkpoint: after a crash the projector re-folds from the log. Flush()
// (on a schedule and at shutdown) makes everything durable. RocksDB's types stay in the .cc.
//
// Faults: a failed write or flush (a full disk, EIO) is answered kUnavailable, and nothing is
// written through that database handle again. The next write or flush first has RocksDB's
// Resume() flush what its memtables hold and clear the error (a full disk: once there is room;
// RocksDB checks the free space every few seconds); where RocksDB will not resume (an error
// it deems fatal), the database is closed and opened again (at most once a second), losing the
// writes it had not flushed, and epoch() changes so that projectors fold those again from their
// checkpoints. Until then every write and flush answers kUnavailable with the reason; reads go
// on, and never wait for a recovery: while a reopen has failed, they answer kUnavailable.
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "infra/read_store.h"

namespace keel {

// Faults to inject into a store's file writes (tests): while nonzero, every write (append) or
// sync of a file RocksDB writes fails with that errno. Thread-safe.
struct StoreFaults {
  std::atomic<int> write_errno{0};
  std::atomic<int> sync_errno{0};
};

class RocksStore final : public ReadStore {
 public:
  // Opens or creates the database at `path` with exactly these tables (plus RocksDB's default).
  // `bulk_load`: for a rebuild from scratch; no compaction runs while it is open, it happens
  // when the database is next opened normally.
  // `faults`: tests only, file writes and syncs failed on demand.
  static Result<std::unique_ptr<RocksStore>> Open(const std::string& path,
                                                  const std::vector<std::string>& tables,
                                                  bool bulk_load = false,
                                                  std::shared_ptr<StoreFaults> faults = nullptr);
  ~RocksStore() override;  // flushes
  RocksStore(const RocksStore&) = delete;
  RocksStore& operator=(const RocksStore&) = delete;

  Status Write(const std::vector<StoreWrite>& batch) override;
  Status WriteInEpoch(uint64_t epoch, const std::vector<StoreWrite>& batch) override;
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override;
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override;
  Status ScanReverse(std::string_view table, std::string_view prefix, std::string_view last,
                     const std::function<bool(std::string_view, std::string_view)>& visit) override;
  Status Flush() override;
  Status StartFlush() override;

  uint64_t epoch() const override;
  Status Recover() override;

  // RocksDB's estimate of its memory use (memtables and block cache), for metrics.
  uint64_t ApproximateMemoryBytes();

 private:
  struct Impl;
  explicit RocksStore(std::unique_ptr<Impl> impl);
  Status WriteBatch(const std::vector<StoreWrite>& batch, std::optional<uint64_t> epoch);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

// ReadStore: the key-value store behind the read models (RocksDB in infra/rocks_store). Tables
// are named column families fixed at open. Writes of one batch are atomic across tables.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace keel {

struct StoreWrite {
  // A table name with static storage (the k*Table constants, or a literal): a batch holds
  // hundreds of thousands of writes, and the name is not copied into each.
  std::string_view table;
  std::string key;
  std::optional<std::string> value;  // nullopt deletes the key
};

class ReadStore {
 public:
  virtual ~ReadStore() = default;

  // Applies all writes atomically. Durability is the implementation's policy: read models may
  // be rebuilt from the log, so a crash may lose the tail of writes, never half of a batch.
  virtual Status Write(const std::vector<StoreWrite>& batch) = 0;

  // nullopt when the key is absent.
  virtual Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) = 0;

  // Visits keys >= start in order while they begin with `prefix`, until `visit` returns false.
  virtual Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
                      const std::function<bool(std::string_view, std::string_view)>& visit) = 0;

  // Visits the keys that begin with `prefix` and are <= `last` (empty: no bound), from the last
  // to the first, until `visit` returns false.
  virtual Status ScanReverse(std::string_view table, std::string_view prefix, std::string_view last,
                             const std::function<bool(std::string_view, std::string_view)>& visit) = 0;

  // Makes every write so far durable.
  virtual Status Flush() = 0;
  // Starts making every write so far durable and returns at once (periodic flushes from a
  // thread that must not stall).
  virtual Status StartFlush() { return Flush(); }

  // Changes when the store was reopened after a fault and may have lost writes it had not made
  // durable: a projector then reads its checkpoints again and folds from there.
  virtual uint64_t epoch() const { return 0; }
  // After a failed write: tries to make the store take writes again (for RocksDB: resume, or
  // reopen at most once a second), and says why not. Called by the writer that met the
  // failure, never on a read path.
  virtual Status Recover() { return {}; }
  // Write, only if the store is still in `epoch`: a batch folded on positions read before a
  // reopen would otherwise commit a checkpoint past the writes the reopen lost. kUnavailable
  // otherwise, with nothing written.
  virtual Status WriteInEpoch(uint64_t epoch, const std::vector<StoreWrite>& batch) {
    if (epoch != this->epoch()) return Fail(Error::Unavailable("The store was reopened"));
    return Write(batch);
  }
};

}  // namespace keel

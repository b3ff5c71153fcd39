// SnapshotStore: where the command side keeps its write models' snapshots, each a blob under a
// name. A snapshot is a cache of the log, never the truth: whoever loads one checks it against
// the log before trusting it, and a snapshot that is missing or unreadable costs only a fold
// of the whole log. One implementation: FileSnapshotStore (infra/file_snapshot_store.h).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel {

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // The bytes last saved under `name`, exactly as saved; nullopt when there are none.
  // kDataLoss when they are there but damaged (a checksum or length that does not match),
  // kUnavailable when they cannot be read.
  virtual Result<std::optional<std::string>> Load(std::string_view name) = 0;
  // Replaces what is saved under `name` with `bytes`, atomically: after a crash or a failure
  // at any point, Load gives either the old bytes or the new ones. Durable once it returns ok.
  virtual Status Save(std::string_view name, std::string_view bytes) = 0;
};

}  // namespace keel

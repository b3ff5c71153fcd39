// FileSnapshotStore: SnapshotStore on files, one per name in a directory of its own. A file is
// a header (magic, payload length, CRC-32 of the payload) and the payload. Save writes a
// temporary file, syncs it, renames it over the old one and syncs the directory, so a crash or
// a full disk at any point leaves the old snapshot or the new one, never a mix; any damage
// later (a flipped byte, a truncated file) is found by Load, which reports kDataLoss.
//
// Thread-safety: Load and Save may be called from any thread; Saves of one name are serialised.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "infra/log_file_io.h"
#include "infra/snapshot_store.h"

namespace keel {

class FileSnapshotStore final : public SnapshotStore {
 public:
  // `dir` is created (durably) on the first Save. `io` defaults to the system calls; tests pass
  // one that injects faults.
  explicit FileSnapshotStore(std::string dir, std::shared_ptr<LogFileIo> io = nullptr);

  Result<std::optional<std::string>> Load(std::string_view name) override;
  Status Save(std::string_view name, std::string_view bytes) override;

  // The file a name is saved in.
  std::string PathOf(std::string_view name) const;

 private:
  const std::string dir_;
  const std::shared_ptr<LogFileIo> io_;
  std::mutex save_mu_;
};

}  // namespace keel

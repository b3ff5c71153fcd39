// ReadModel: one generation of the read models (a store directory and the projections writing
// it), and ReadModels, the holder of the live generation. A rebuild builds a new
// generation beside the live one and swaps it in; requests keep the generation they started
// with (shared ownership), so a swap never pulls a store from under a reader.
//
// The live directory is named in data_dir/readmodel.current (a missing file means "readmodel"),
// replaced atomically, so a crash during a swap leaves one generation or the other in charge.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "domain/error.h"
#include "domain/time.h"
#include "infra/read_store.h"
#include "projections/projection_set.h"
#include "projections/users/sessions_projector.h"

namespace keel {

// Members are destroyed in reverse order: the projections first (their runners stop, which
// checkpoints and flushes), then the store.
struct ReadModel {
  std::string dir;  // the generation's directory name under the data directory
  std::unique_ptr<ReadStore> store;
  std::unique_ptr<ProjectionSet> projections;
  // The sessions view of a serving generation (the authorize hook asks it on every signed-in
  // request), or nullptr.
  const SessionStates* sessions = nullptr;
};

// Thread-safe.
class ReadModels final {
 public:
  std::shared_ptr<ReadModel> Current() const { return current_.load(); }
  // Makes `next` live; returns the generation it replaces.
  std::shared_ptr<ReadModel> Exchange(std::shared_ptr<ReadModel> next) {
    return current_.exchange(std::move(next));
  }

 private:
  std::atomic<std::shared_ptr<ReadModel>> current_;
};

// The live generation's directory name, and a fresh name for the next one.
std::string ActiveReadModelDir(const std::string& data_dir);
std::string NextReadModelDir(Millis now);
// Records `name` as live: written beside, fsynced, renamed over, directory fsynced.
Status SetActiveReadModelDir(const std::string& data_dir, const std::string& name);

// A rebuild, as GET /api/v1/admin/projections reports it.
struct RebuildProgress {
  std::string projection;
  std::string phase;  // "replaying", "catching up", "done", "failed"
  int64_t done = 0;
  int64_t total = 0;
  double events_per_second = 0;
  double eta_seconds = 0;
  std::string error;
  Millis started_at = 0;
  Millis finished_at = 0;
};

}  // namespace keel

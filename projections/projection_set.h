// ProjectionSet: one generation's projections: a projector of every registered read model
// (registry.h) over one store, grouped by the topics they read, with one ProjectorRunner per
// group. A group is named after its topic ("keel.customers" → "customers"); its checkpoints and
// counters are kept under that name.
//
// Thread-safety: Start, StartViews, Stop and RunToEnd from one thread; the rest from any.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"
#include "infra/event_log.h"
#include "infra/read_store.h"
#include "projections/projector.h"
#include "projections/projector_runner.h"

namespace keel {

class ProjectionSet final {
 public:
  // `serving`: in-memory views are kept (StartViews loads them).
  ProjectionSet(EventLog& log, ReadStore& store, bool serving, ProjectorRunner::Options options);
  ~ProjectionSet();  // the runners stop (checkpoint, flush) before the projectors go
  ProjectionSet(const ProjectionSet&) = delete;
  ProjectionSet& operator=(const ProjectionSet&) = delete;

  // Every table the registered read models write, the shared ones included.
  static std::vector<std::string> Tables();
  // The group name of the projections of `topic`.
  static std::string GroupName(std::string_view topic);

  // The registered read models this store was built without: their group had folded events
  // already when they were added to it (a newer build over an older store), so they lack those
  // events until the generation is rebuilt. A read model is marked present in the store when
  // its group starts from the log's beginning (Start, RunToEnd).
  Result<std::vector<std::string>> MissingReadModels();

  // Starts every runner.
  Status Start();
  // Loads every projector's in-memory views, once the runners run. The first error is
  // returned; the views that failed are broken (their reads fall back to the store).
  Status StartViews();
  // Folds every group to the end the log had when each began; `progress(done, total)` as
  // ProjectorRunner::RunToEnd, summed over the groups run so far. Not together with Start.
  Status RunToEnd(const std::function<void(int64_t, int64_t)>& progress);
  // Makes a RunToEnd in progress stop soon with kAborted. Thread-safe.
  void Cancel();
  // Answers every pending wait (false) and refuses later ones; see ProjectorRunner::StopWaits.
  void StopWaits();

  // Every group has found nothing more to read since Start.
  bool caught_up() const;
  // Some group is stalled.
  bool stalled() const;
  int64_t dead_lettered() const;

  const std::vector<std::unique_ptr<ProjectorRunner>>& runners() const { return runners_; }
  // The runner folding `topic`, or nullptr.
  ProjectorRunner* RunnerOfTopic(std::string_view topic) const;
  // Whether `name` is a group's or a read model's.
  bool Knows(std::string_view name) const;

  // The projector of type P, or nullptr.
  template <typename P>
  const P* Find() const {
    for (const auto& projector : projectors_) {
      if (auto* p = dynamic_cast<const P*>(projector.get())) return p;
    }
    return nullptr;
  }

 private:
  // Marks present the read models whose group has folded nothing yet.
  Status MarkNewReadModels();

  ReadStore& store_;
  std::vector<std::unique_ptr<Projector>> projectors_;     // registry order
  std::vector<std::unique_ptr<ProjectorRunner>> runners_;  // one per topic, first-seen order
};

}  // namespace keel

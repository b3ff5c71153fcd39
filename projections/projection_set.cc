#include "projections/projection_set.h"

#include <algorithm>

#include "projections/registry.h"

namespace keel {

ProjectionSet::ProjectionSet(EventLog& log, ReadStore& store, bool serving,
                             ProjectorRunner::Options options)
    : store_(store) {
  std::vector<ProjectorRunner::ProjectionGroup> groups;
  for (const ReadModelRegistration& registration : RegisteredReadModels()) {
    projectors_.push_back(registration.make({serving ? &store : nullptr, projectors_}));
    Projector* projector = projectors_.back().get();
    for (std::string_view topic : projector->topics()) {
      auto group = std::find_if(groups.begin(), groups.end(),
                                [&](const auto& g) { return g.topic == topic; });
      if (group == groups.end()) {
        groups.push_back({.name = GroupName(topic), .topic = std::string(topic)});
        group = groups.end() - 1;
      }
      group->projectors.push_back(projector);
    }
  }
  for (auto& group : groups) {
    runners_.push_back(std::make_unique<ProjectorRunner>(log, store, std::move(group), options));
  }
}

ProjectionSet::~ProjectionSet() { runners_.clear(); }

std::vector<std::string> ProjectionSet::Tables() {
  std::vector<std::string> tables{std::string(kCheckpointsTable), std::string(kDeadLettersTable),
                                  std::string(kProjectionMetaTable)};
  std::vector<std::unique_ptr<Projector>> projectors;
  for (const ReadModelRegistration& registration : RegisteredReadModels()) {
    projectors.push_back(registration.make({nullptr, projectors}));
    for (auto& table : projectors.back()->tables()) tables.push_back(std::move(table));
  }
  return tables;
}

std::string ProjectionSet::GroupName(std::string_view topic) {
  constexpr std::string_view kPrefix = "keel.";
  if (topic.starts_with(kPrefix)) topic.remove_prefix(kPrefix.size());
  return std::string(topic);
}

Status ProjectionSet::MarkNewReadModels() {
  auto missing = MissingReadModels();
  if (!missing) return Fail(missing.error());
  std::vector<StoreWrite> marks;
  for (const auto& projector : projectors_) {
    const std::string name(projector->name());
    if (std::find(missing->begin(), missing->end(), name) != missing->end()) continue;
    marks.push_back(
        {kProjectionMetaTable, ReadModelPresenceKey(name), std::to_string(projector->format())});
  }
  return store_.Write(marks);
}

Result<std::vector<std::string>> ProjectionSet::MissingReadModels() {
  std::vector<std::string> missing;
  for (const auto& projector : projectors_) {
    auto present = store_.Get(kProjectionMetaTable, ReadModelPresenceKey(projector->name()));
    if (!present) return Fail(present.error());
    if (*present && **present == std::to_string(projector->format())) continue;
    // Not marked, or marked by a build that wrote another format: missing if a group it belongs
    // to has folded anything.
    bool folded = false;
    for (std::string_view topic : projector->topics()) {
      std::string prefix = GroupName(topic);
      prefix += '/';
      prefix += topic;
      prefix += '/';
      auto st = store_.Scan(kCheckpointsTable, prefix, prefix,
                            [&](std::string_view, std::string_view value) {
                              folded = folded || (value != "0" && !value.empty());
                              return !folded;
                            });
      if (!st) return Fail(st.error());
    }
    if (folded) missing.emplace_back(projector->name());
  }
  return missing;
}

Status ProjectionSet::Start() {
  if (auto st = MarkNewReadModels(); !st) return st;
  for (auto& runner : runners_) {
    if (auto st = runner->Start(); !st) return st;
  }
  return {};
}

Status ProjectionSet::StartViews() {
  Status first;
  for (auto& projector : projectors_) {
    if (auto st = projector->StartViews(store_); !st && first) first = st;
  }
  return first;
}

Status ProjectionSet::RunToEnd(const std::function<void(int64_t, int64_t)>& progress) {
  if (auto st = MarkNewReadModels(); !st) return st;
  int64_t before = 0;  // events of the groups already run
  for (auto& runner : runners_) {
    int64_t last = 0;
    auto st = runner->RunToEnd([&](int64_t done, int64_t total) {
      last = total;
      if (progress) progress(before + done, before + total);
    });
    if (!st) return st;
    before += last;
  }
  return {};
}

void ProjectionSet::Cancel() {
  for (auto& runner : runners_) runner->Cancel();
}

void ProjectionSet::StopWaits() {
  for (auto& runner : runners_) runner->StopWaits();
}

bool ProjectionSet::caught_up() const {
  return std::all_of(runners_.begin(), runners_.end(), [](auto& r) { return r->caught_up(); });
}

bool ProjectionSet::stalled() const {
  return std::any_of(runners_.begin(), runners_.end(), [](auto& r) { return r->stalled(); });
}

int64_t ProjectionSet::dead_lettered() const {
  int64_t n = 0;
  for (const auto& runner : runners_) n += runner->counters().dead_lettered;
  return n;
}

ProjectorRunner* ProjectionSet::RunnerOfTopic(std::string_view topic) const {
  for (const auto& runner : runners_) {
    if (runner->group().topic == topic) return runner.get();
  }
  return nullptr;
}

bool ProjectionSet::Knows(std::string_view name) const {
  for (const auto& runner : runners_) {
    if (runner->group().name == name) return true;
  }
  return std::any_of(projectors_.begin(), projectors_.end(),
                     [&](auto& p) { return p->name() == name; });
}

}  // namespace keel

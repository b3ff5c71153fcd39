#include "projections/tasks/tasks_projector.h"

namespace keel {
namespace {

std::string IndexKey(std::string_view owner, std::string_view task_id) {
  std::string key(owner);
  key += '/';
  key += task_id;
  return key;
}

// Moves the index entry of `task_id` from `before` to `after` (either may be none).
void Reindex(std::string_view table, const std::optional<std::string>& before,
             const std::optional<std::string>& after, const std::string& task_id,
             std::vector<StoreWrite>& writes) {
  if (before == after) return;
  if (before && !before->empty())
    writes.push_back({table, IndexKey(*before, task_id), std::nullopt});
  if (after && !after->empty()) writes.push_back({table, IndexKey(*after, task_id), ""});
}

}  // namespace

Status TasksProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                             std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kTaskAggregate) return {};
  Task task;
  auto stored = view.Get(kTasksTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = TaskFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    task = std::move(*decoded);
  }
  const Task before = task;
  const bool existed = before.version != 0;
  if (auto st = ApplyTaskEvent(task, event); !st) return st;
  writes.push_back({kTasksTable, task.id, TaskToJson(task)});
  auto assignee = [](const Task& t, bool exists) {
    return exists ? std::optional<std::string>(t.fields.assigned_to) : std::nullopt;
  };
  Reindex(kTasksByAssigneeTable, assignee(before, existed), assignee(task, true), task.id, writes);
  Reindex(kTasksByCustomerTable, existed ? before.fields.customer_id : std::nullopt,
          task.fields.customer_id, task.id, writes);
  Reindex(kTasksByProjectTable, existed ? before.fields.project_id : std::nullopt,
          task.fields.project_id, task.id, writes);
  return {};
}

}  // namespace keel

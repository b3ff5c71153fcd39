#include "projections/tasks/tasks_projector.h"

#include <cstdio>

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

std::string OpenTaskKey(std::string_view user_id, Millis due_date, std::string_view task_id) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020lld",
                static_cast<long long>(due_date - kMinTimestampMillis));
  std::string key(user_id);
  key += '/';
  key += digits;
  key += '/';
  key += task_id;
  return key;
}

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
  const std::optional<std::string> open_before =
      existed && before.open()
          ? std::optional(OpenTaskKey(before.fields.assigned_to, before.fields.due_date, task.id))
          : std::nullopt;
  const std::optional<std::string> open_after =
      task.open()
          ? std::optional(OpenTaskKey(task.fields.assigned_to, task.fields.due_date, task.id))
          : std::nullopt;
  if (open_before && open_before != open_after) {
    writes.push_back({kOpenTasksByAssigneeTable, *open_before, std::nullopt});
  }
  if (open_after) {
    writes.push_back({kOpenTasksByAssigneeTable, *open_after, task.reminded_at ? "r" : ""});
  }
  return {};
}

}  // namespace keel

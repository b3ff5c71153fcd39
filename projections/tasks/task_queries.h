// Queries of the tasks read model (tasks_projector.h), and the pure orderings and visibility
// rules the API serves them with. Thread-safe as the store is.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "domain/task.h"
#include "domain/time.h"
#include "infra/read_store.h"

namespace keel {

// Who may read what (tasks:read_own): the tasks assigned to `user_id`, and those on the
// customers assigned to them (`customer_ids`).
struct TaskReader {
  std::string user_id;
  std::set<std::string, std::less<>> customer_ids;
};
bool TaskVisibleTo(const Task& task, const TaskReader& reader);

// At most this many task records are read by a list that names no assignee, project or
// customer and has no reader (tasks:read_all): a larger list is cut (`truncated`).
inline constexpr size_t kMaxUnfilteredTaskScan = 10'000;

struct TaskListQuery {
  std::optional<TaskStatus> status;
  std::optional<TaskPriority> priority;
  std::optional<std::string> assigned_to;
  std::optional<std::string> customer_id;
  std::optional<std::string> project_id;
  // Only open tasks (pending, in_progress); with `status`, both apply.
  bool open_only = false;
  // Only the tasks this reader may read; none: every task.
  std::optional<TaskReader> reader;
  // At most this many records read when no index applies (QueryTasks).
  size_t scan_limit = kMaxUnfilteredTaskScan;
};

// One task; nullopt for an unknown id.
Result<std::optional<Task>> QueryTask(ReadStore& store, std::string_view id);
// Every task the query admits, by due date (then id). Reads the narrowest index the query
// names (assignee, then project, then customer); for a reader who names none, the reader's
// assignee index and their customers' (never every task); otherwise the first
// query.scan_limit records by id, `*truncated` set when there were more.
Result<std::vector<Task>> QueryTasks(ReadStore& store, const TaskListQuery& query,
                                     bool* truncated = nullptr);
// Up to `limit` tasks of the project, by due date (then id): what a project's page lists.
Result<std::vector<Task>> QueryTasksOfProject(ReadStore& store, std::string_view project_id,
                                              size_t limit);

// One page of a user's open tasks (open_tasks_by_assignee), by due date then id, which is
// my-tasks' order too (an open task due before now is overdue): `offset` skipped, at most
// `limit` read; `reminded_only`: those whose reminder is due. `total`: how many there are in
// all (a count of index keys; no task is read for it).
struct TaskPage {
  std::vector<Task> tasks;
  int64_t total = 0;
};
Result<TaskPage> QueryOpenTasksOfAssignee(ReadStore& store, std::string_view user_id,
                                          bool reminded_only, size_t offset, size_t limit);

// my-tasks' order: overdue tasks first (open and due before `now`), then by due date, then id.
void SortForMyTasks(std::vector<Task>& tasks, Millis now);

}  // namespace keel

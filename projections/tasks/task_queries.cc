#include "projections/tasks/task_queries.h"

#include <algorithm>
#include <tuple>

#include "projections/tasks/tasks_projector.h"

namespace keel {
namespace {

bool ByDueDate(const Task& a, const Task& b) {
  return std::tie(a.fields.due_date, a.id) < std::tie(b.fields.due_date, b.id);
}

bool Admits(const TaskListQuery& q, const Task& t) {
  if (q.status && t.status != *q.status) return false;
  if (q.open_only && !t.open()) return false;
  if (q.priority && t.fields.priority != *q.priority) return false;
  if (q.assigned_to && t.fields.assigned_to != *q.assigned_to) return false;
  if (q.customer_id && t.fields.customer_id != *q.customer_id) return false;
  if (q.project_id && t.fields.project_id != *q.project_id) return false;
  if (q.reader && !TaskVisibleTo(t, *q.reader)) return false;
  return true;
}

// The ids under `owner/` in an index table.
Result<std::vector<std::string>> IndexedIds(ReadStore& store, std::string_view table,
                                            std::string_view owner) {
  std::string prefix(owner);
  prefix += '/';
  std::vector<std::string> ids;
  auto st = store.Scan(table, prefix, "", [&](std::string_view key, std::string_view) {
    ids.emplace_back(key.substr(prefix.size()));
    return true;
  });
  if (!st) return Fail(st.error());
  return ids;
}

}  // namespace

bool TaskVisibleTo(const Task& task, const TaskReader& reader) {
  if (task.fields.assigned_to == reader.user_id) return true;
  return task.fields.customer_id && reader.customer_ids.contains(*task.fields.customer_id);
}

Result<std::optional<Task>> QueryTask(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kTasksTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Task>();
  auto task = TaskFromJson(**stored);
  if (!task) return Fail(task.error());
  return std::optional<Task>(std::move(*task));
}

Result<std::vector<Task>> QueryTasks(ReadStore& store, const TaskListQuery& query,
                                     bool* truncated) {
  if (truncated) *truncated = false;
  std::vector<Task> out;
  const bool narrowed = query.assigned_to || query.project_id || query.customer_id;
  if (narrowed || query.reader) {
    std::vector<std::string> ids;
    auto add = [&](std::string_view table, std::string_view owner) -> Status {
      auto indexed = IndexedIds(store, table, owner);
      if (!indexed) return Fail(indexed.error());
      ids.insert(ids.end(), indexed->begin(), indexed->end());
      return {};
    };
    Status st;
    if (query.assigned_to) {
      st = add(kTasksByAssigneeTable, *query.assigned_to);
    } else if (query.project_id) {
      st = add(kTasksByProjectTable, *query.project_id);
    } else if (query.customer_id) {
      st = add(kTasksByCustomerTable, *query.customer_id);
    } else {  // what the reader may read: theirs and their customers'
      st = add(kTasksByAssigneeTable, query.reader->user_id);
      for (const auto& c : query.reader->customer_ids) {
        if (!st) break;
        st = add(kTasksByCustomerTable, c);
      }
      std::sort(ids.begin(), ids.end());
      ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    }
    if (!st) return Fail(st.error());
    for (const auto& id : ids) {
      auto task = QueryTask(store, id);
      if (!task) return Fail(task.error());
      if (*task && Admits(query, **task)) out.push_back(std::move(**task));
    }
  } else {
    Status bad;
    size_t read = 0;
    auto st = store.Scan(kTasksTable, "", "", [&](std::string_view, std::string_view value) {
      if (read++ == query.scan_limit) {
        if (truncated) *truncated = true;
        return false;
      }
      auto task = TaskFromJson(value);
      if (!task) {
        bad = Fail(task.error());
        return false;
      }
      if (Admits(query, *task)) out.push_back(std::move(*task));
      return true;
    });
    if (!st) return Fail(st.error());
    if (!bad) return Fail(bad.error());
  }
  std::sort(out.begin(), out.end(), ByDueDate);
  return out;
}

Result<std::vector<Task>> QueryTasksOfProject(ReadStore& store, std::string_view project_id,
                                              size_t limit) {
  TaskListQuery query;
  query.project_id = std::string(project_id);
  auto tasks = QueryTasks(store, query);
  if (!tasks) return Fail(tasks.error());
  if (tasks->size() > limit) tasks->resize(limit);
  return tasks;
}

Result<TaskPage> QueryOpenTasksOfAssignee(ReadStore& store, std::string_view user_id,
                                          bool reminded_only, size_t offset, size_t limit) {
  std::string prefix(user_id);
  prefix += '/';
  std::vector<std::string> ids;
  TaskPage page;
  auto st = store.Scan(kOpenTasksByAssigneeTable, prefix, "",
                       [&](std::string_view key, std::string_view value) {
                         if (reminded_only && value != "r") return true;
                         const size_t n = static_cast<size_t>(page.total++);
                         if (n >= offset && ids.size() < limit) {
                           ids.emplace_back(key.substr(key.rfind('/') + 1));
                         }
                         return true;
                       });
  if (!st) return Fail(st.error());
  for (const auto& id : ids) {
    auto task = QueryTask(store, id);
    if (!task) return Fail(task.error());
    if (*task) page.tasks.push_back(std::move(**task));
  }
  return page;
}

void SortForMyTasks(std::vector<Task>& tasks, Millis now) {
  std::sort(tasks.begin(), tasks.end(), [now](const Task& a, const Task& b) {
    const bool ao = a.overdue(now), bo = b.overdue(now);
    if (ao != bo) return ao;
    return ByDueDate(a, b);
  });
}

}  // namespace keel

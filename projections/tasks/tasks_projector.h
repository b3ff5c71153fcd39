// The tasks read model: every task (occurrences included) as stored (domain/task.h
// TaskToJson), and indexes by assignee, customer and project, folded from keel.tasks. The
// projector holds no state of its own: it reads a task's record before each event. Time comes
// from the events only (a reminder is "due" once its TaskReminderDue is folded); what is overdue
// is the query's to say, against the now it is given.
//
// Keys: tasks: id; tasks_by_assignee: "<userId>/<taskId>"; tasks_by_customer:
// "<customerId>/<taskId>"; tasks_by_project: "<projectId>/<taskId>" (index values are empty);
// open_tasks_by_assignee: "<userId>/<dueDate>/<taskId>" for the open tasks only (pending,
// in_progress), the due date as OpenTaskDueKey writes it so that keys sort by due date; its
// value is "r" once the task's reminder is due (TaskReminderDue folded), empty before. What
// my-tasks and reminders page through without reading a user's closed tasks.
// All of a task's keys are written from its series' partition.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/task.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

inline constexpr std::string_view kTasksTable = "tasks";
inline constexpr std::string_view kTasksByAssigneeTable = "tasks_by_assignee";
inline constexpr std::string_view kTasksByCustomerTable = "tasks_by_customer";
inline constexpr std::string_view kTasksByProjectTable = "tasks_by_project";
inline constexpr std::string_view kOpenTasksByAssigneeTable = "open_tasks_by_assignee";

// "<userId>/<dueDate>/<taskId>": the due date as milliseconds since year 1, 20 digits.
std::string OpenTaskKey(std::string_view user_id, Millis due_date, std::string_view task_id);

class TasksProjector final : public Projector {
 public:
  std::string_view name() const override { return "tasks"; }
  std::vector<std::string_view> topics() const override { return {kTasksTopic}; }
  std::vector<std::string> tables() const override {
    return {std::string(kTasksTable), std::string(kTasksByAssigneeTable),
            std::string(kTasksByCustomerTable), std::string(kTasksByProjectTable),
            std::string(kOpenTasksByAssigneeTable)};
  }
  int format() const override { return 2; }  // 2: open_tasks_by_assignee
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

}  // namespace keel

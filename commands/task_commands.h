// The tasks stream's write model and its pure decide functions: (model, command) → events or
// an error. Every decision's events go under the key of the task's series (domain/task.h), so
// that an occurrence's completion and the next occurrence land in one append.
//
// Scope: a command whose meta carries `owner_scope` (a sales rep's tasks:write_own) may only
// create tasks assigned to that user and change tasks assigned to them (kPermissionDenied).
// Customer ownership is the API's to check, against the customers read model.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/task.h"

namespace keel {

// Every task (occurrences included), and the open ones the clock still has to act on: those
// awaiting their next occurrence by due date, those awaiting their reminder by reminder time.
// A value type; not thread-safe.
class TaskWriteModel final {
 public:
  const Task* Find(std::string_view id) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  size_t size() const { return tasks_.size(); }
  const std::map<std::string, Task, std::less<>>& all() const { return tasks_; }

  // Ids of open recurring occurrences without a next one, due at or before `now`.
  std::vector<std::string> DueToRecur(Millis now) const;
  // Ids of open tasks not reminded yet whose reminder time is at or before `now`.
  std::vector<std::string> DueToRemind(Millis now) const;

 private:
  void Index(const Task& task);
  void Unindex(const Task& task);

  std::map<std::string, Task, std::less<>> tasks_;
  std::set<std::pair<Millis, std::string>> to_recur_;   // (dueDate, id)
  std::set<std::pair<Millis, std::string>> to_remind_;  // (reminderAt, id)
};

// A project as a task's create or edit is checked against (TaskChecks::project).
struct ProjectRef {
  std::string customer_id;                       // every project is on a customer
  std::string owner_id;                          // the project's owner
  std::optional<std::string> customer_owner_id;  // the owner of the project's customer, if any
  std::string status;                            // its status's name, for messages
  bool open = true;                              // takes tasks (not completed or cancelled)
};

// The project rules of a create or an edit that names project `project_id` (`named`: it is new
// to the task, a create's or an edit's that changes it): a project just named must be open
// (kInvalidArgument at projectId) and, for a caller with meta.owner_scope, owned by them or on
// one of their customers (kPermissionDenied); the task's customer must be the project's
// (kInvalidArgument at customerId); a task that names no customer takes the project's, which
// `input` then carries into the event.
Status ApplyTaskProject(TaskInput& input, const std::string& project_id, const ProjectRef& project,
                        bool named, const CommandMeta& meta);

// What the next occurrence of a task would be on, as the caller found it before the decision
// (domain/task.h, Recurrence): its project still takes tasks, its assignee is still active.
struct RecurrenceChecks {
  bool project_open = true;
  bool assignee_active = true;
};

// A new task `id` (from the caller's id generator), the first of its series. A recurring one
// due more than kMaxRecurringDueDateAge before meta.now is refused (kInvalidArgument, dueDate);
// so is an edit to one that moves its due date or changes its interval.
Result<std::vector<EventEnvelope>> DecideCreateTask(const TaskWriteModel& model,
                                                    const std::string& id, const TaskInput& input,
                                                    const CommandMeta& meta, IdGenerator& ids);
// Edits an open task (an empty input.assigned_to keeps the assignee); none when nothing
// changes. kNotFound, kAborted (If-Match),
// kPermissionDenied (scope), kFailedPrecondition (completed or cancelled).
Result<std::vector<EventEnvelope>> DecideEditTask(const TaskWriteModel& model,
                                                  const std::string& id, const TaskInput& input,
                                                  std::optional<int64_t> expected_version,
                                                  const CommandMeta& meta, IdGenerator& ids);
// Moves the state machine; none when an open task is in `to` already. kFailedPrecondition for
// a move it does not allow ("Task X is completed; it cannot become in_progress"), a closed
// task's own status included ("… is completed; it cannot become completed"). Completing a
// recurring occurrence that has no next one yet also creates it (TaskRecurred, TaskCreated),
// due at the first interval after meta.now (domain/task.h).
// `recurrence`: as for DecideRecurTask.
Result<std::vector<EventEnvelope>> DecideChangeTaskStatus(const TaskWriteModel& model,
                                                          const std::string& id, TaskStatus to,
                                                          std::optional<int64_t> expected_version,
                                                          const CommandMeta& meta, IdGenerator& ids,
                                                          const RecurrenceChecks& recurrence = {});
// The clock's: the next occurrence of `id` once meta.now reached its due date, due at the first
// interval after meta.now (one catch-up occurrence however many intervals were missed); none
// when it is not due, has one already, is closed or not recurring (so that two passes create
// one). No next either when its due date would pass year 9999. `recurrence`: a closed project
// leaves the next one without it; an inactive assignee ends the series (TaskSeriesEnded).
// kNotFound for an unknown id.
Result<std::vector<EventEnvelope>> DecideRecurTask(const TaskWriteModel& model,
                                                   const std::string& id, const CommandMeta& meta,
                                                   IdGenerator& ids,
                                                   const RecurrenceChecks& recurrence = {});
// The clock's: TaskReminderDue once meta.now reached the task's reminder time; none when not
// due, reminded already or closed. kNotFound for an unknown id.
Result<std::vector<EventEnvelope>> DecideRemindTask(const TaskWriteModel& model,
                                                    const std::string& id, const CommandMeta& meta,
                                                    IdGenerator& ids);

}  // namespace keel

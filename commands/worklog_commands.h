// The worklogs stream's write model and its pure functions. A work log is resolved before it is
// recorded: its task (through a lookup the composition root injects: the tasks stream), its
// project (the projects stream) and from them its customer, so that the event carries the ids
// the sums need. The checks against the read side (the customer exists and the caller may see
// it, the user is active) are the API's.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/project.h"
#include "domain/worklog.h"

namespace keel {

// What a work log needs of its task.
struct WorklogTaskRef {
  std::optional<std::string> customer_id;
  std::optional<std::string> project_id;
  std::string assignee;
};
// nullopt: no such task. An empty function: tasks are not available (a taskId is refused).
using WorklogTaskLookup =
    std::function<Result<std::optional<WorklogTaskRef>>(const std::string& task_id)>;
// Whether the caller may log time on a task that exists: kPermissionDenied when not. An empty
// function admits every task (worklogs:write_all).
using WorklogTaskGate =
    std::function<Status(const std::string& task_id, const WorklogTaskRef& task)>;
// The gate of a worklogs:write_own caller `user_id`: the task is assigned to them, or is on a
// customer whose owner (`customer_owner`, none for a task without a customer or an unknown
// customer) is them. kPermissionDenied "Task <id> is neither assigned to you nor on one of your
// customers" otherwise.
Status CheckOwnWorklogTask(const std::string& task_id, const WorklogTaskRef& task,
                           const std::string& user_id,
                           const std::optional<std::string>& customer_owner);
// The acknowledged project (ProjectService::Find); nullopt: no such project.
using WorklogProjectLookup = std::function<std::optional<Project>(const std::string& project_id)>;

// The work log `input` describes, for `user_id`, with its project taken from its task and its
// customer from its project or task when the body names none. kInvalidArgument with the field:
//   taskId      "Tasks are not available" (no lookup), "No task <id>"
//   projectId   "No project <id>", "Task <t> belongs to project <p>"
//   customerId  "Project <p> is for customer <c>", "Task <t> is for customer <c>"
//   logDate     "Must not be after <today + 1 day>" (UTC, a day's grace for time zones)
// A lookup's own error (kUnavailable, …) is returned as it is, and so is the gate's for a task
// that exists (before any field error: a caller learns nothing of another's task but that it
// exists, as with customers: 403 for another's, 400 "No task" for an unknown id).
Result<Worklog> ResolveWorklog(const WorklogInput& input, const std::string& user_id,
                               const WorklogTaskLookup& tasks, const WorklogProjectLookup& projects,
                               Millis now, const WorklogTaskGate& gate = {});

// Every work log, by id (for the answers of repeated Idempotency-Keys). A value type; not
// thread-safe.
class WorklogWriteModel final {
 public:
  const Worklog* Find(std::string_view id) const;
  Status Apply(const EventEnvelope& event);

 private:
  std::map<std::string, Worklog, std::less<>> logs_;
};

// WorklogRecorded for `log` (resolved) under the new id `id`; kAlreadyExists for an id taken.
Result<EventEnvelope> DecideRecordWorklog(const WorklogWriteModel& model, const std::string& id,
                                          const Worklog& log, const CommandMeta& meta,
                                          IdGenerator& ids);

}  // namespace keel

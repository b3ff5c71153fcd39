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
// The acknowledged project (ProjectService::Find); nullopt: no such project.
using WorklogProjectLookup = std::function<std::optional<Project>(const std::string& project_id)>;

// The work log `input` describes, for `user_id`, with its project taken from its task and its
// customer from its project or task when the body names none. kInvalidArgument with the field:
//   taskId      "Tasks are not available" (no lookup), "No task <id>"
//   projectId   "No project <id>", "Task <t> belongs to project <p>"
//   customerId  "Project <p> is for customer <c>", "Task <t> is for customer <c>"
//   logDate     "Must not be after <today + 1 day>" (UTC, a day's grace for time zones)
// A lookup's own error (kUnavailable, …) is returned as it is.
Result<Worklog> ResolveWorklog(const WorklogInput& input, const std::string& user_id,
                               const WorklogTaskLookup& tasks, const WorklogProjectLookup& projects,
                               Millis now);

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

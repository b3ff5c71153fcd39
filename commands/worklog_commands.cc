#include "commands/worklog_commands.h"

#include <vector>

namespace keel {

Status CheckOwnWorklogTask(const std::string& task_id, const WorklogTaskRef& task,
                           const std::string& user_id,
                           const std::optional<std::string>& customer_owner) {
  if (task.assignee == user_id) return {};
  if (task.customer_id && !task.customer_id->empty() && customer_owner == user_id) return {};
  std::string message = "Task " + task_id;
  message += " is neither assigned to you nor on one of your customers";
  return Fail(Error::PermissionDenied(std::move(message)));
}

Result<Worklog> ResolveWorklog(const WorklogInput& input, const std::string& user_id,
                               const WorklogTaskLookup& tasks, const WorklogProjectLookup& projects,
                               Millis now, const WorklogTaskGate& gate) {
  std::vector<FieldError> errors;
  Worklog log;
  log.user_id = user_id;
  log.customer_id = input.customer_id;
  log.task_id = input.task_id;
  log.project_id = input.project_id;
  log.log_date = input.log_date;
  log.duration_minutes = input.duration_minutes;
  log.description = input.description;
  log.result = input.result;
  std::optional<WorklogTaskRef> task;
  if (input.task_id) {
    if (!tasks) {
      errors.push_back({"taskId", "Tasks are not available"});
    } else {
      auto found = tasks(*input.task_id);
      if (!found) return Fail(found.error());
      if (!*found) errors.push_back({"taskId", "No task " + *input.task_id});
      if (*found && gate) {
        if (auto st = gate(*input.task_id, **found); !st) return Fail(st.error());
      }
      task = std::move(*found);
      // An empty id is none: the event must carry only ids its fold accepts.
      if (task && task->project_id && task->project_id->empty()) task->project_id.reset();
      if (task && task->customer_id && task->customer_id->empty()) task->customer_id.reset();
    }
  }
  if (task && task->project_id) {
    if (log.project_id && *log.project_id != *task->project_id) {
      std::string message = "Task " + *input.task_id;
      message += " belongs to project ";
      message += *task->project_id;
      errors.push_back({"projectId", std::move(message)});
    } else {
      log.project_id = task->project_id;
    }
  }
  std::optional<Project> project;
  if (log.project_id && errors.empty()) {
    project = projects ? projects(*log.project_id) : std::nullopt;
    if (!project) errors.push_back({"projectId", "No project " + *log.project_id});
  }
  auto customer_of = [&](const std::string& customer, std::string what) {
    if (log.customer_id && *log.customer_id != customer) {
      what += " is for customer ";
      what += customer;
      errors.push_back({"customerId", std::move(what)});
    } else {
      log.customer_id = customer;
    }
  };
  if (project) customer_of(project->customer_id, "Project " + project->id);
  if (task && task->customer_id) customer_of(*task->customer_id, "Task " + *input.task_id);
  const std::string latest = IsoDateOf(now + 86'400'000);
  if (log.log_date > latest) errors.push_back({"logDate", "Must not be after " + latest});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return log;
}

const Worklog* WorklogWriteModel::Find(std::string_view id) const {
  auto it = logs_.find(id);
  return it == logs_.end() ? nullptr : &it->second;
}

Status WorklogWriteModel::Apply(const EventEnvelope& event) {
  Worklog next;
  if (const Worklog* w = Find(event.aggregate_id)) next = *w;
  if (auto st = ApplyWorklogEvent(next, event); !st) return st;
  logs_[event.aggregate_id] = std::move(next);
  return {};
}

Result<EventEnvelope> DecideRecordWorklog(const WorklogWriteModel& model, const std::string& id,
                                          const Worklog& log, const CommandMeta& meta,
                                          IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Work log " + id + " already exists"));
  return NewEvent(kWorklogAggregate, kWorklogRecorded, id, 1, EncodeWorklogRecorded(log), meta,
                  ids);
}

}  // namespace keel

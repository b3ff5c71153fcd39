#include "commands/task_commands.h"

namespace keel {
namespace {

Result<const Task*> FindChecked(const TaskWriteModel& model, const std::string& id,
                                std::optional<int64_t> expected_version, const CommandMeta& meta) {
  const Task* t = model.Find(id);
  if (!t) return Fail(Error::NotFound("Task " + id + " not found"));
  if (meta.owner_scope && t->fields.assigned_to != *meta.owner_scope) {
    return Fail(Error::PermissionDenied("Task " + id + " is not assigned to you"));
  }
  if (auto st = CheckExpectedVersion("Task", id, t->version, expected_version); !st) {
    return Fail(st.error());
  }
  return t;
}

Status CheckAssignee(const TaskInput& input, const CommandMeta& meta) {
  if (meta.owner_scope && input.assigned_to != *meta.owner_scope) {
    return Fail(Error::PermissionDenied(
        "Access denied: with tasks:write_own a task can only be assigned to yourself"));
  }
  return {};
}

// A recurring task due more than kMaxRecurringDueDateAge before now would start a series in the
// past (domain/task.h); a field error at dueDate.
Status CheckRecurringDueDate(const TaskInput& input, const CommandMeta& meta) {
  if (!input.is_recurring || input.due_date >= meta.now - kMaxRecurringDueDateAge) return {};
  return Fail(Error::Validation(
      {{"dueDate", "A recurring task's due date may be at most 365 days in the past"}}));
}

// TaskRecurred on `t` and the next occurrence (due after meta.now), or none when the next would
// be due past the last instant Keel writes.
std::vector<EventEnvelope> Recur(const Task& t, int64_t version, std::string_view trigger,
                                 const CommandMeta& meta, IdGenerator& ids,
                                 const RecurrenceChecks& checks) {
  if (!checks.assignee_active) {
    return {NewEvent(kTaskAggregate, kTaskSeriesEnded, t.id, version,
                     EncodeTaskSeriesEnded("assignee_inactive", trigger), meta, ids)};
  }
  TaskInput next = NextOccurrenceInput(t, meta.now);
  if (!checks.project_open) next.project_id.reset();
  if (next.due_date > kMaxTimestampMillis) return {};
  const std::string next_id = ids.NewId();
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kTaskAggregate, kTaskRecurred, t.id, version,
                            EncodeTaskRecurred(next_id, trigger), meta, ids));
  events.push_back(NewEvent(kTaskAggregate, kTaskCreated, next_id, 1,
                            EncodeTaskCreated(next, t.series_id, t.occurrence + 1, t.id), meta,
                            ids));
  return events;
}

}  // namespace

Status ApplyTaskProject(TaskInput& input, const std::string& project_id, const ProjectRef& project,
                        bool named, const CommandMeta& meta) {
  if (named && !project.open) {
    std::string message = "Project " + project_id;
    message += " is ";
    message += project.status;
    message += "; it takes no more tasks";
    return Fail(Error::Validation({{"projectId", std::move(message)}}));
  }
  if (named && meta.owner_scope && project.owner_id != *meta.owner_scope &&
      project.customer_owner_id != *meta.owner_scope) {
    return Fail(Error::PermissionDenied("Project " + project_id +
                                        " is neither yours nor on one of your customers"));
  }
  if (!input.customer_id) {
    input.customer_id = project.customer_id;
  } else if (*input.customer_id != project.customer_id) {
    std::string message = "Must be the project's customer, ";
    message += project.customer_id;
    return Fail(Error::Validation({{"customerId", std::move(message)}}));
  }
  return {};
}

const Task* TaskWriteModel::Find(std::string_view id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

void TaskWriteModel::Index(const Task& t) {
  if (t.awaits_recurrence()) to_recur_.emplace(t.fields.due_date, t.id);
  if (t.awaits_reminder()) to_remind_.emplace(t.reminder_at(), t.id);
}

void TaskWriteModel::Unindex(const Task& t) {
  to_recur_.erase({t.fields.due_date, t.id});
  to_remind_.erase({t.reminder_at(), t.id});
}

Status TaskWriteModel::Apply(const EventEnvelope& event) {
  if (event.aggregate_type != kTaskAggregate) {
    return Fail(Error::DataLoss("Not a task event: " + event.type));
  }
  Task next;
  auto it = tasks_.find(event.aggregate_id);
  if (it != tasks_.end()) next = it->second;
  if (auto st = ApplyTaskEvent(next, event); !st) return st;
  if (it != tasks_.end()) Unindex(it->second);
  Index(next);
  tasks_[event.aggregate_id] = std::move(next);
  return {};
}

std::vector<std::string> TaskWriteModel::DueToRecur(Millis now) const {
  std::vector<std::string> out;
  for (const auto& [due, id] : to_recur_) {
    if (due > now) break;
    out.push_back(id);
  }
  return out;
}

std::vector<std::string> TaskWriteModel::DueToRemind(Millis now) const {
  std::vector<std::string> out;
  for (const auto& [at, id] : to_remind_) {
    if (at > now) break;
    out.push_back(id);
  }
  return out;
}

Result<std::vector<EventEnvelope>> DecideCreateTask(const TaskWriteModel& model,
                                                    const std::string& id, const TaskInput& input,
                                                    const CommandMeta& meta, IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Task " + id + " already exists"));
  if (auto st = CheckAssignee(input, meta); !st) return Fail(st.error());
  if (input.assigned_to.empty()) {
    return Fail(Error::Validation({{"assignedToUserId", "Is required"}}));
  }
  if (auto st = CheckRecurringDueDate(input, meta); !st) return Fail(st.error());
  return std::vector<EventEnvelope>{NewEvent(kTaskAggregate, kTaskCreated, id, 1,
                                             EncodeTaskCreated(input, id, 1, std::nullopt), meta,
                                             ids)};
}

Result<std::vector<EventEnvelope>> DecideEditTask(const TaskWriteModel& model,
                                                  const std::string& id, const TaskInput& input,
                                                  std::optional<int64_t> expected_version,
                                                  const CommandMeta& meta, IdGenerator& ids) {
  auto t = FindChecked(model, id, expected_version, meta);
  if (!t) return Fail(t.error());
  if (!(*t)->open()) {
    std::string message = "Task " + id;
    message += " is ";
    message += TaskStatusName((*t)->status);
    message += "; it cannot be edited";
    return Fail(Error::FailedPrecondition(std::move(message)));
  }
  TaskInput edited = input;
  if (edited.assigned_to.empty()) edited.assigned_to = (*t)->fields.assigned_to;
  if (auto st = CheckAssignee(edited, meta); !st) return Fail(st.error());
  if ((*t)->fields == edited) return std::vector<EventEnvelope>{};
  // An edit that keeps the due date and the recurrence keeps the series as it is.
  if (edited.due_date != (*t)->fields.due_date ||
      edited.recurring_interval_days != (*t)->fields.recurring_interval_days) {
    if (auto st = CheckRecurringDueDate(edited, meta); !st) return Fail(st.error());
  }
  return std::vector<EventEnvelope>{NewEvent(kTaskAggregate, kTaskEdited, id, (*t)->version + 1,
                                             EncodeTaskEdited(edited), meta, ids)};
}

Result<std::vector<EventEnvelope>> DecideChangeTaskStatus(const TaskWriteModel& model,
                                                          const std::string& id, TaskStatus to,
                                                          std::optional<int64_t> expected_version,
                                                          const CommandMeta& meta, IdGenerator& ids,
                                                          const RecurrenceChecks& recurrence) {
  auto found = FindChecked(model, id, expected_version, meta);
  if (!found) return Fail(found.error());
  const Task& t = **found;
  if (t.status == to && t.open()) return std::vector<EventEnvelope>{};
  if (!TaskStatusAllowed(t.status, to)) {
    std::string message = "Task " + id;
    message += " is ";
    message += TaskStatusName(t.status);
    message += "; it cannot become ";
    message += TaskStatusName(to);
    return Fail(Error::FailedPrecondition(std::move(message)));
  }
  std::vector<EventEnvelope> events;
  events.push_back(NewEvent(kTaskAggregate, kTaskStatusChanged, id, t.version + 1,
                            EncodeTaskStatusChanged(t.status, to), meta, ids));
  if (to == TaskStatus::kCompleted && t.awaits_recurrence()) {
    for (auto& e : Recur(t, t.version + 2, "completed", meta, ids, recurrence))
      events.push_back(std::move(e));
  }
  return events;
}

Result<std::vector<EventEnvelope>> DecideRecurTask(const TaskWriteModel& model,
                                                   const std::string& id, const CommandMeta& meta,
                                                   IdGenerator& ids,
                                                   const RecurrenceChecks& recurrence) {
  const Task* t = model.Find(id);
  if (!t) return Fail(Error::NotFound("Task " + id + " not found"));
  if (!t->awaits_recurrence() || meta.now < t->fields.due_date) {
    return std::vector<EventEnvelope>{};
  }
  return Recur(*t, t->version + 1, "due", meta, ids, recurrence);
}

Result<std::vector<EventEnvelope>> DecideRemindTask(const TaskWriteModel& model,
                                                    const std::string& id, const CommandMeta& meta,
                                                    IdGenerator& ids) {
  const Task* t = model.Find(id);
  if (!t) return Fail(Error::NotFound("Task " + id + " not found"));
  if (!t->awaits_reminder() || meta.now < t->reminder_at()) return std::vector<EventEnvelope>{};
  return std::vector<EventEnvelope>{NewEvent(kTaskAggregate, kTaskReminderDue, id, t->version + 1,
                                             EncodeTaskReminderDue(*t), meta, ids)};
}

}  // namespace keel

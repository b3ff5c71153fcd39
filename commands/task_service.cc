#include "commands/task_service.h"

#include <future>

namespace keel {

Result<TaskOutcome> TaskService::Stream::AnswerFor(const TaskWriteModel& model,
                                                   const Decision& decision) {
  const Task* t = model.Find(decision.task_id);
  if (!t) return Fail(Error::Internal("Task " + decision.task_id + " is not in the write model"));
  TaskOutcome out{*t, decision.created, std::nullopt, std::nullopt};
  for (const auto& e : decision.events) {
    if (e.type == kTaskCreated && e.aggregate_id != decision.task_id) {
      if (const Task* next = model.Find(e.aggregate_id)) out.next = *next;
    }
  }
  return out;
}

std::optional<TaskOutcome> TaskService::Stream::Remembered(const TaskWriteModel& model,
                                                           const EventEnvelope& event) {
  // A keyed command's events share its key; the one it is about is the first one's task (a
  // create's new task, or the task whose status or fields changed).
  const Task* t = model.Find(event.aggregate_id);
  if (!t) return std::nullopt;
  if (event.type == kTaskCreated && t->previous_task_id) return std::nullopt;  // a next one
  return TaskOutcome{*t, event.type == kTaskCreated, std::nullopt, std::nullopt};
}

void TaskService::Stream::Loaded(TaskWriteModel& model, Millis) {
  std::lock_guard lock(service->acknowledged_mu_);
  for (const auto& [id, task] : model.all()) {
    Task& known = service->acknowledged_[id];
    if (known.version <= task.version) known = task;
  }
}

TaskService::TaskService(EventLog& log, Clock& clock, IdGenerator& ids, TaskChecks checks)
    : ids_(ids), checks_(std::move(checks)), runtime_(Stream{{}, this}, log, clock) {}

Status TaskService::Load() { return runtime_.Load(); }

TaskService::Done TaskService::Notifying(Done done) {
  return [this, done = std::move(done)](Result<TaskOutcome> out) {
    if (out && out->position) {
      {
        std::lock_guard lock(acknowledged_mu_);
        auto note = [&](const Task& t) {
          Task& known = acknowledged_[t.id];
          if (known.version < t.version) known = t;
        };
        note(out->task);
        if (out->next) note(*out->next);
      }
      if (changed_) changed_();
    }
    done(std::move(out));
  };
}

std::optional<Task> TaskService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> TaskService::DueToRecur(Millis now) const {
  return runtime_.Read([now](const TaskWriteModel& model) { return model.DueToRecur(now); });
}

std::vector<std::string> TaskService::DueToRemind(Millis now) const {
  return runtime_.Read([now](const TaskWriteModel& model) { return model.DueToRemind(now); });
}

Result<TaskService::Decision> TaskService::On(const TaskWriteModel& model, const std::string& id,
                                              Result<std::vector<EventEnvelope>> events) {
  if (!events) return Fail(events.error());
  const Task* t = model.Find(id);
  std::string key = t ? t->series_id : id;
  return Decision{std::move(key), std::move(*events), id, false};
}

Status TaskService::Check(TaskInput& input, const CommandMeta& meta,
                          const std::optional<Task>& current) const {
  std::vector<FieldError> errors;
  auto note = [&errors](const Status& st, const char* field) -> Status {
    if (st) return {};
    if (st.error().code == ErrorCode::kUnavailable || st.error().code == ErrorCode::kInternal) {
      return st;
    }
    errors.push_back({field, st.error().message});
    return {};
  };
  if (checks_.user_active && !input.assigned_to.empty()) {
    if (auto st = note(checks_.user_active(input.assigned_to), "assignedToUserId"); !st) return st;
  }
  const bool named =
      input.project_id && (!current || current->fields.project_id != input.project_id);
  const bool recustomered = current && current->fields.customer_id != input.customer_id;
  if (input.project_id && (named || recustomered)) {
    if (!checks_.project) {
      errors.push_back({"projectId", "projects are not available"});
    } else {
      auto project = checks_.project(*input.project_id);
      if (!project) {
        if (auto st = note(Fail(project.error()), "projectId"); !st) return st;
      } else if (errors.empty()) {
        if (auto st = ApplyTaskProject(input, *input.project_id, *project, named, meta); !st) {
          return st;
        }
      }
    }
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return {};
}

RecurrenceChecks TaskService::RecurrenceChecksFor(const std::string& id) const {
  RecurrenceChecks out;
  const std::optional<Task> task = Find(id);
  if (!task || !task->awaits_recurrence()) return out;
  auto answers = [](const Error& e) {
    return e.code != ErrorCode::kUnavailable && e.code != ErrorCode::kInternal;
  };
  if (task->fields.project_id && checks_.project) {
    auto project = checks_.project(*task->fields.project_id);
    out.project_open = project ? project->open : !answers(project.error());
  }
  if (checks_.user_active) {
    auto active = checks_.user_active(task->fields.assigned_to);
    out.assignee_active = active || !answers(active.error());
  }
  return out;
}

void TaskService::Create(TaskInput input, CommandMeta meta, Done done) {
  if (auto st = Check(input, meta, std::nullopt); !st) return done(Fail(st.error()));
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input)](const TaskWriteModel& model,
                                       const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto events = DecideCreateTask(model, id, input, m, ids_);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), id, true};
      },
      Notifying(std::move(done)));
}

void TaskService::Edit(std::string id, TaskInput input, std::optional<int64_t> expected_version,
                       CommandMeta meta, Done done) {
  const std::optional<Task> current = Find(id);  // unknown: the decision answers kNotFound
  if (auto st = Check(input, meta, current); !st) return done(Fail(st.error()));
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), input = std::move(input), expected_version](
          const TaskWriteModel& model, const CommandMeta& m) -> Result<Decision> {
        return On(model, id, DecideEditTask(model, id, input, expected_version, m, ids_));
      },
      Notifying(std::move(done)));
}

void TaskService::ChangeStatus(std::string id, TaskStatus to,
                               std::optional<int64_t> expected_version, CommandMeta meta,
                               Done done) {
  RecurrenceChecks recurrence;
  if (to == TaskStatus::kCompleted) recurrence = RecurrenceChecksFor(id);
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), to, expected_version, recurrence](
          const TaskWriteModel& model, const CommandMeta& m) -> Result<Decision> {
        return On(model, id,
                  DecideChangeTaskStatus(model, id, to, expected_version, m, ids_, recurrence));
      },
      Notifying(std::move(done)));
}

void TaskService::Recur(std::string id, CommandMeta meta, Done done) {
  const RecurrenceChecks recurrence = RecurrenceChecksFor(id);
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), recurrence](const TaskWriteModel& model,
                                             const CommandMeta& m) -> Result<Decision> {
        return On(model, id, DecideRecurTask(model, id, m, ids_, recurrence));
      },
      Notifying(std::move(done)));
}

void TaskService::Remind(std::string id, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id)](const TaskWriteModel& model, const CommandMeta& m)
          -> Result<Decision> { return On(model, id, DecideRemindTask(model, id, m, ids_)); },
      Notifying(std::move(done)));
}

Result<TaskOutcome> AwaitTaskCommand(const std::function<void(TaskService::Done)>& command) {
  std::promise<Result<TaskOutcome>> promise;
  auto answered = promise.get_future();
  command([&promise](Result<TaskOutcome> out) { promise.set_value(std::move(out)); });
  return answered.get();
}

}  // namespace keel

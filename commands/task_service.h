// TaskService: runs the commands of the tasks stream (create, edit, change status, and the
// clock's recur and remind) against the TaskWriteModel, on a pipelined CommandRuntime
// (command_runtime.h): decided and folded under the stream's lock, appended under the task's
// series key, answered once the log has the events. Idempotency-Keys as IdempotentAnswers says.
// New ids (a task's, its next occurrence's) come from the IdGenerator inside the decision, so
// they are in the log and a replay gives the same tasks.
//
// External checks are injected (TaskChecks) and run before a create or an edit is decided;
// they read other streams, so they are as of the moment of the request, not under this lock.
// A task's project is looked up only when a create names one or an edit changes it or the
// customer of a task on one (an edit that keeps both is not refused for a project closed since).
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commands/command_runtime.h"
#include "commands/task_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct TaskOutcome {
  Task task;  // as the command left it
  bool created = false;
  std::optional<Task> next;              // the next occurrence this command created, if any
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

struct TaskChecks {
  // Whether the user may be assigned tasks (exists and is active): ok, or an error whose
  // message becomes the field error of assignedToUserId (kUnavailable is answered as is).
  // Empty: not checked.
  std::function<Status(const std::string& user_id)> user_active;
  // The project a task names, as ApplyTaskProject checks it (task_commands.h); an error whose
  // message becomes the field error of projectId when it is unknown (kUnavailable is answered
  // as is). Empty: projects are not available, and a task naming one is refused ("projects are
  // not available").
  std::function<Result<ProjectRef>(const std::string& project_id)> project;
};

class TaskService final {
 public:
  using Done = std::function<void(Result<TaskOutcome>)>;

  TaskService(EventLog& log, Clock& clock, IdGenerator& ids, TaskChecks checks);
  TaskService(const TaskService&) = delete;
  TaskService& operator=(const TaskService&) = delete;

  // Folds the whole tasks topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // Called after each command that appended events, on the thread that answers it; set before
  // the first command. Must be quick.
  void OnChange(std::function<void()> changed) { changed_ = std::move(changed); }

  // A task as the log holds it: as Load found it, then as each command whose events the log
  // acknowledged left it (never a version still being appended). nullopt for an unknown id.
  std::optional<Task> Find(const std::string& id) const;

  // The clock's work at `now`: occurrences due to recur, tasks due to be reminded (each
  // decision checks again under the lock).
  std::vector<std::string> DueToRecur(Millis now) const;
  std::vector<std::string> DueToRemind(Millis now) const;

  // `input.assigned_to` must be set (the route fills in the caller).
  void Create(TaskInput input, CommandMeta meta, Done done);
  // An empty `input.assigned_to` keeps the task's assignee.
  void Edit(std::string id, TaskInput input, std::optional<int64_t> expected_version,
            CommandMeta meta, Done done);
  void ChangeStatus(std::string id, TaskStatus to, std::optional<int64_t> expected_version,
                    CommandMeta meta, Done done);
  // The next occurrence's project and assignee are checked first (RecurrenceChecksFor), as is
  // a completion's.
  void Recur(std::string id, CommandMeta meta, Done done);
  void Remind(std::string id, CommandMeta meta, Done done);

 private:
  struct Decision {
    std::string key;  // the task's series id
    std::vector<EventEnvelope> events;
    std::string task_id;  // the task the answer is about
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = TaskWriteModel;
    using Decision = TaskService::Decision;
    using Answer = TaskOutcome;
    static constexpr std::string_view kTopic = kTasksTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<TaskOutcome> AnswerFor(const TaskWriteModel& model, const Decision& decision);
    std::optional<TaskOutcome> Remembered(const TaskWriteModel& model, const EventEnvelope& event);
    // After every fold from the log (Load, and a refold after a failed append), under the
    // runtime's lock: what the log holds is acknowledged. The lock order is the runtime's, then
    // acknowledged_mu_, as in the answers' callbacks; nothing takes them the other way round.
    void Loaded(TaskWriteModel& model, Millis now);
    TaskService* service = nullptr;
  };
  using Runtime = CommandRuntime<Stream>;

  // A decision on the task `id` (of the model), from events or a refusal.
  static Result<Decision> On(const TaskWriteModel& model, const std::string& id,
                             Result<std::vector<EventEnvelope>> events);
  // The injected checks of a create or an edit (`current`: the task edited, as acknowledged);
  // the error to answer, if any. Fills in the project's customer (ApplyTaskProject).
  Status Check(TaskInput& input, const CommandMeta& meta, const std::optional<Task>& current) const;
  // What the next occurrence of task `id` (as acknowledged) would be on, by the injected checks:
  // a project that is not found or closed is not open; an assignee refused by user_active is
  // not active (a check that cannot answer, kUnavailable or kInternal, counts as a yes).
  RecurrenceChecks RecurrenceChecksFor(const std::string& id) const;
  Done Notifying(Done done);

  IdGenerator& ids_;
  const TaskChecks checks_;
  std::function<void()> changed_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Task> acknowledged_;  // guarded by acknowledged_mu_
  Runtime runtime_;
};

// Runs one command of the service and waits for its answer (the clock's passes).
Result<TaskOutcome> AwaitTaskCommand(const std::function<void(TaskService::Done)>& command);

}  // namespace keel

// The task aggregate (issue 19, seed 002): a piece of work assigned to a user, maybe on a
// customer or a project, with a due date, a reminder and a state machine; a recurring task is a
// series of occurrences, each a task of its own. Its events, the validation of input, the state
// machine and the one fold that the write side and the projector use. Pure; value types.
//
// Series: every occurrence of a recurring task carries the id of the series' first occurrence
// (`series_id`, a non-recurring task's own id) and its number in the series (1 for the first);
// its events are appended under that key on keel.tasks (domain/topics.h), so that a completion
// and the next occurrence it creates land in one append, in order, in one partition.
//
// Recurrence: the next occurrence of a recurring occurrence (the same fields, pending) is
// created once, at the earlier of its completion (in the same append as the status change) and
// the clock reaching its due date (the open occurrence stays open and is overdue). TaskRecurred
// on the old occurrence names the new one, which is what makes it once. Its due date is the
// first dueDate + k·intervalDays (k ≥ 1) after the decision's now (meta.now, recorded in the
// event, so a replay gives the same): an occurrence completed on time is due one interval
// later, and a series the clock meets late (a server that was down, a due date long past)
// catches up with one occurrence, not one per missed interval. The same rule holds for both
// triggers, so that a late completion does not create an occurrence that is due already. A
// recurring task's due date may not be more than kMaxRecurringDueDateAge before now when it is
// created or its due date or recurrence is edited (a field error at dueDate).
// When the next occurrence is due to be created, what it would be on is checked first (by the
// caller, outside the decision, which takes the answers as values): a next occurrence on a
// project that is closed by then is created without the project, on the same customer; and
// when the assignee is no longer active the series ends there (TaskSeriesEnded), so that the
// clock stops, rather than create occurrences nobody can work.
// Cancelling an occurrence whose next one does not exist yet ends the series; when the next one
// exists already (the clock created it at the due date), the series goes on from that one, and
// cancelling that one ends it.
//
// Reminder: TaskReminderDue, once per occurrence and due date, when the clock reaches
// dueDate − reminderDaysBefore days while the task is open. An edit that moves the due date or
// the reminder days arms it again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kTaskAggregate = "task";
// {title, description, customerId, projectId, assignedToUserId, dueDate, reminderDaysBefore,
// priority, isRecurring, recurringIntervalDays, seriesId, occurrence, previousTaskId}: a new
// task, pending (customerId, projectId, recurringIntervalDays and previousTaskId may be null).
inline constexpr std::string_view kTaskCreated = "TaskCreated";
// {title, description, customerId, projectId, assignedToUserId, dueDate, reminderDaysBefore,
// priority, isRecurring, recurringIntervalDays}: the editable fields, all of them, as edited.
inline constexpr std::string_view kTaskEdited = "TaskEdited";
// {from, to}: a move of the state machine (TaskStatusAllowed).
inline constexpr std::string_view kTaskStatusChanged = "TaskStatusChanged";
// {nextTaskId, trigger ("completed" | "due")}: this occurrence's next one was created (the
// TaskCreated that follows in the same append).
inline constexpr std::string_view kTaskRecurred = "TaskRecurred";
// {reason ("assignee_inactive"), trigger ("completed" | "due")}: this occurrence gets no next
// one; the series ends with it.
inline constexpr std::string_view kTaskSeriesEnded = "TaskSeriesEnded";
// {dueDate, reminderAt, assignedToUserId, title}: the reminder time of an open task has come;
// a notifier follows these (the fold reads reminderAt only).
inline constexpr std::string_view kTaskReminderDue = "TaskReminderDue";

inline constexpr size_t kMaxTaskTitleLength = 200;         // code points, after trimming
inline constexpr size_t kMaxTaskDescriptionLength = 2000;  // code points, after trimming
inline constexpr int kMaxReminderDaysBefore = 365;
inline constexpr int kMaxRecurringIntervalDays = 3650;
inline constexpr Millis kDayMillis = 86'400'000;
inline constexpr Millis kMaxRecurringDueDateAge = 365 * kDayMillis;

enum class TaskStatus { kPending, kInProgress, kCompleted, kCancelled };
enum class TaskPriority { kLow, kMedium, kHigh, kUrgent };

std::string_view TaskStatusName(TaskStatus status);  // "pending", "in_progress", …
std::optional<TaskStatus> ParseTaskStatus(std::string_view name);
std::string_view TaskPriorityName(TaskPriority priority);  // "low", "medium", …
std::optional<TaskPriority> ParseTaskPriority(std::string_view name);

// pending → in_progress → completed; pending or in_progress → cancelled. Completed and
// cancelled are final. A move to the same status is not a move (false).
bool TaskStatusAllowed(TaskStatus from, TaskStatus to);
inline bool TaskOpen(TaskStatus s) {
  return s == TaskStatus::kPending || s == TaskStatus::kInProgress;
}

// What POST and PUT take.
struct TaskInput {
  std::string title;
  std::string description;
  std::optional<std::string> customer_id;
  std::optional<std::string> project_id;
  std::string assigned_to;  // empty: the caller (the route fills it in)
  Millis due_date = 0;
  int reminder_days_before = 0;
  TaskPriority priority = TaskPriority::kMedium;
  bool is_recurring = false;
  std::optional<int> recurring_interval_days;  // set iff is_recurring

  bool operator==(const TaskInput&) const = default;
};

struct Task {
  std::string id;
  std::string series_id;
  int64_t occurrence = 1;
  std::optional<std::string> previous_task_id;
  TaskInput fields;
  TaskStatus status = TaskStatus::kPending;
  std::optional<std::string> next_task_id;  // TaskRecurred: its next occurrence exists
  bool series_ended = false;                // TaskSeriesEnded: no next occurrence will come
  std::optional<Millis> reminded_at;        // TaskReminderDue folded for the current due date
  std::string created_by;
  Millis created_at = 0;
  Millis updated_at = 0;
  std::optional<Millis> completed_at;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Task&) const = default;

  bool open() const { return TaskOpen(status); }
  // dueDate − reminderDaysBefore days (not before year 1, which Keel cannot write).
  Millis reminder_at() const {
    const Millis at =
        fields.due_date - static_cast<Millis>(fields.reminder_days_before) * kDayMillis;
    return at < kMinTimestampMillis ? kMinTimestampMillis : at;
  }
  // An open recurring occurrence whose next one does not exist yet.
  bool awaits_recurrence() const {
    return open() && fields.is_recurring && !next_task_id && !series_ended &&
           fields.recurring_interval_days;
  }
  // An open occurrence whose reminder has not been folded yet.
  bool awaits_reminder() const { return open() && !reminded_at; }
  bool overdue(Millis now) const { return open() && fields.due_date < now; }
};

// Parses "2026-12-10" (midnight UTC) or an ISO-8601 / RFC 3339 timestamp with a zone.
std::optional<Millis> ParseDueDate(std::string_view s);

// Validates a request body {title (1–200), description (≤ 2000), customerId?, projectId?,
// assignedToUserId?, dueDate (required), reminderDaysBefore (0–365, default 0), priority
// (low|medium|high|urgent, default medium), isRecurring (default false), recurringIntervalDays
// (1–3650, required iff isRecurring)}: trims the texts, refuses unknown fields by name (and
// "status", which has its own route), lists every violation with its field (kInvalidArgument).
Result<TaskInput> ParseTaskInput(std::string_view body);
// {status}: the target of PUT /tasks/:id/status.
Result<TaskStatus> ParseTaskStatusInput(std::string_view body);

// Payloads.
std::string EncodeTaskCreated(const TaskInput& input, const std::string& series_id,
                              int64_t occurrence, const std::optional<std::string>& previous);
std::string EncodeTaskEdited(const TaskInput& input);
std::string EncodeTaskStatusChanged(TaskStatus from, TaskStatus to);
std::string EncodeTaskRecurred(const std::string& next_task_id, std::string_view trigger);
std::string EncodeTaskReminderDue(const Task& task);
std::string EncodeTaskSeriesEnded(std::string_view reason, std::string_view trigger);

// The first dueDate + k·intervalDays (k ≥ 1) after `now` (Recurrence above); may pass
// kMaxTimestampMillis. The due date itself for a task that does not recur.
Millis NextDueDate(const TaskInput& fields, Millis now);
// The next occurrence's fields: due at NextDueDate(task.fields, now), the rest as this one's.
TaskInput NextOccurrenceInput(const Task& task, Millis now);

// The fold. kDataLoss when the payload is bad, the version does not follow, or the move is not
// one the state machine allows.
Status ApplyTaskEvent(Task& task, const EventEnvelope& event);

// As served: {id, title, description, customerId, projectId, assignedToUserId, dueDate,
// reminderDaysBefore, reminderAt, priority, status, isRecurring, recurringIntervalDays,
// seriesId, occurrence, previousTaskId, nextTaskId, seriesEnded, reminderDueAt, createdBy,
// createdAt, updatedAt, completedAt, version}.
std::string TaskToJson(const Task& task);
// Reads what TaskToJson wrote; kDataLoss when it does not hold a task.
Result<Task> TaskFromJson(std::string_view json);

}  // namespace keel

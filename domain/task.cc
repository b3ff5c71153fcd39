#include "domain/task.h"

#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kDueDateMessage =
    "Must be a date (2026-12-10) or an ISO-8601 datetime with a zone (2026-12-10T09:00:00Z)";

// An id field: a non-empty string of at most 100 characters, or null (nullopt).
std::optional<std::string> ReadOptionalId(element v, std::string_view field,
                                          std::vector<FieldError>& errors) {
  if (v.type() == element_type::NULL_VALUE) return std::nullopt;
  std::string_view s;
  if (v.get(s) || s.empty() || s.size() > 100) {
    errors.push_back({std::string(field), "Must be an id (a non-empty string) or null"});
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<int> ReadInt(element v, std::string_view field, int min, int max,
                           std::vector<FieldError>& errors) {
  auto n = json::ToInt(v);
  if (!n || *n < min || *n > max) {
    std::string message = "Must be a whole number from ";
    message += std::to_string(min);
    message += " to ";
    message += std::to_string(max);
    errors.push_back({std::string(field), std::move(message)});
    return std::nullopt;
  }
  return static_cast<int>(*n);
}

void WriteOptional(JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  w.Key(key);
  v ? w.String(*v) : w.Null();
}

void WriteFields(JsonWriter& w, const TaskInput& in) {
  w.Key("title").String(in.title);
  w.Key("description").String(in.description);
  WriteOptional(w, "customerId", in.customer_id);
  WriteOptional(w, "projectId", in.project_id);
  w.Key("assignedToUserId").String(in.assigned_to);
  w.Key("dueDate").String(FormatIso8601(in.due_date));
  w.Key("reminderDaysBefore").Int(in.reminder_days_before);
  w.Key("priority").String(TaskPriorityName(in.priority));
  w.Key("isRecurring").Bool(in.is_recurring);
  w.Key("recurringIntervalDays");
  in.recurring_interval_days ? w.Int(*in.recurring_interval_days) : w.Null();
}

// An optional string member: absent or null → nullopt; false when it is something else.
bool GetOptionalString(element doc, std::string_view key, std::optional<std::string>& out) {
  element v;
  if (doc.at_key(key).get(v)) {
    out.reset();
    return true;
  }
  if (v.type() == element_type::NULL_VALUE) {
    out.reset();
    return true;
  }
  std::string_view s;
  if (v.get(s)) return false;
  out = std::string(s);
  return true;
}

bool GetOptionalTime(element doc, std::string_view key, std::optional<Millis>& out) {
  std::optional<std::string> s;
  if (!GetOptionalString(doc, key, s)) return false;
  if (!s) {
    out.reset();
    return true;
  }
  out = ParseIso8601(*s);
  return out.has_value();
}

// Reads the editable fields WriteFields wrote; false when one is missing or malformed.
bool ReadFields(element doc, TaskInput& in) {
  std::string_view title, description, assigned, due, priority;
  int64_t reminder = 0;
  bool recurring = false;
  element interval;
  if (doc.at_key("title").get(title) || doc.at_key("description").get(description) ||
      doc.at_key("assignedToUserId").get(assigned) || doc.at_key("dueDate").get(due) ||
      doc.at_key("reminderDaysBefore").get(reminder) || doc.at_key("priority").get(priority) ||
      doc.at_key("isRecurring").get(recurring) ||
      doc.at_key("recurringIntervalDays").get(interval)) {
    return false;
  }
  auto due_ms = ParseIso8601(due);
  auto prio = ParseTaskPriority(priority);
  if (!due_ms || !prio || reminder < 0 || reminder > kMaxReminderDaysBefore) return false;
  in.title = std::string(title);
  in.description = std::string(description);
  in.assigned_to = std::string(assigned);
  in.due_date = *due_ms;
  in.reminder_days_before = static_cast<int>(reminder);
  in.priority = *prio;
  in.is_recurring = recurring;
  in.recurring_interval_days.reset();
  if (interval.type() != element_type::NULL_VALUE) {
    int64_t days = 0;
    if (interval.get(days) || days < 1 || days > kMaxRecurringIntervalDays) return false;
    in.recurring_interval_days = static_cast<int>(days);
  }
  if (in.is_recurring != in.recurring_interval_days.has_value()) return false;
  if (!GetOptionalString(doc, "customerId", in.customer_id) ||
      !GetOptionalString(doc, "projectId", in.project_id)) {
    return false;
  }
  return true;
}

Error BadEvent(const EventEnvelope& event, std::string_view why) {
  std::string message(event.type);
  message += " of task ";
  message += event.aggregate_id;
  message += ": ";
  message += why;
  return Error::DataLoss(std::move(message));
}

}  // namespace

std::string_view TaskStatusName(TaskStatus status) {
  switch (status) {
    case TaskStatus::kPending:
      return "pending";
    case TaskStatus::kInProgress:
      return "in_progress";
    case TaskStatus::kCompleted:
      return "completed";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<TaskStatus> ParseTaskStatus(std::string_view name) {
  for (TaskStatus s : {TaskStatus::kPending, TaskStatus::kInProgress, TaskStatus::kCompleted,
                       TaskStatus::kCancelled}) {
    if (TaskStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view TaskPriorityName(TaskPriority priority) {
  switch (priority) {
    case TaskPriority::kLow:
      return "low";
    case TaskPriority::kMedium:
      return "medium";
    case TaskPriority::kHigh:
      return "high";
    case TaskPriority::kUrgent:
      return "urgent";
  }
  return "medium";
}

std::optional<TaskPriority> ParseTaskPriority(std::string_view name) {
  for (TaskPriority p :
       {TaskPriority::kLow, TaskPriority::kMedium, TaskPriority::kHigh, TaskPriority::kUrgent}) {
    if (TaskPriorityName(p) == name) return p;
  }
  return std::nullopt;
}

bool TaskStatusAllowed(TaskStatus from, TaskStatus to) {
  switch (from) {
    case TaskStatus::kPending:
      return to == TaskStatus::kInProgress || to == TaskStatus::kCancelled;
    case TaskStatus::kInProgress:
      return to == TaskStatus::kCompleted || to == TaskStatus::kCancelled;
    case TaskStatus::kCompleted:
    case TaskStatus::kCancelled:
      return false;
  }
  return false;
}

std::optional<Millis> ParseDueDate(std::string_view s) {
  if (s.size() == 10) {
    std::string full(s);
    full += "T00:00:00Z";
    return ParseIso8601(full);
  }
  return ParseIso8601(s);
}

Result<TaskInput> ParseTaskInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  TaskInput in;
  bool has_title = false, has_due = false, has_recurring = false;
  std::optional<int> interval;
  bool interval_given = false;
  for (auto [key, value] : *obj) {
    if (key == "title") {
      has_title = true;
      if (auto t = json::ReadTrimmedText(value, "title", 1, kMaxTaskTitleLength, errors)) {
        in.title = std::move(*t);
      }
    } else if (key == "description") {
      if (value.type() != element_type::NULL_VALUE) {
        if (auto d =
                json::ReadTrimmedText(value, "description", 0, kMaxTaskDescriptionLength, errors)) {
          in.description = std::move(*d);
        }
      }
    } else if (key == "customerId") {
      in.customer_id = ReadOptionalId(value, "customerId", errors);
    } else if (key == "projectId") {
      in.project_id = ReadOptionalId(value, "projectId", errors);
    } else if (key == "assignedToUserId") {
      if (value.type() != element_type::NULL_VALUE) {
        if (auto a = ReadOptionalId(value, "assignedToUserId", errors)) in.assigned_to = *a;
      }
    } else if (key == "dueDate") {
      has_due = true;
      std::string_view s;
      std::optional<Millis> due;
      if (!value.get(s)) due = ParseDueDate(s);
      if (!due) {
        errors.push_back({"dueDate", std::string(kDueDateMessage)});
      } else {
        in.due_date = *due;
      }
    } else if (key == "reminderDaysBefore") {
      if (auto n = ReadInt(value, "reminderDaysBefore", 0, kMaxReminderDaysBefore, errors)) {
        in.reminder_days_before = *n;
      }
    } else if (key == "priority") {
      std::string_view s;
      std::optional<TaskPriority> p;
      if (!value.get(s)) p = ParseTaskPriority(s);
      if (!p) {
        errors.push_back({"priority", "Must be one of low, medium, high, urgent"});
      } else {
        in.priority = *p;
      }
    } else if (key == "isRecurring") {
      bool b = false;
      if (value.get(b)) {
        errors.push_back({"isRecurring", "Must be true or false"});
      } else {
        in.is_recurring = b;
        has_recurring = true;
      }
    } else if (key == "recurringIntervalDays") {
      if (value.type() != element_type::NULL_VALUE) {
        interval_given = true;
        interval = ReadInt(value, "recurringIntervalDays", 1, kMaxRecurringIntervalDays, errors);
      }
    } else if (key == "status") {
      errors.push_back({"status", "Is changed through PUT /api/v1/tasks/{id}/status"});
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!has_title) errors.push_back({"title", "Is required"});
  if (!has_due) errors.push_back({"dueDate", "Is required"});
  if (has_recurring && in.is_recurring && !interval_given) {
    errors.push_back({"recurringIntervalDays", "Is required when isRecurring is true"});
  } else if (!in.is_recurring && interval_given) {
    errors.push_back(
        {"recurringIntervalDays", "Must be absent or null unless isRecurring is true"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (in.is_recurring) in.recurring_interval_days = interval;
  return in;
}

Result<TaskStatus> ParseTaskStatusInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<TaskStatus> status;
  bool seen = false;
  for (auto [key, value] : *obj) {
    if (key == "status") {
      seen = true;
      std::string_view s;
      if (!value.get(s)) status = ParseTaskStatus(s);
      if (!status) {
        errors.push_back({"status", "Must be one of pending, in_progress, completed, cancelled"});
      }
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!seen) errors.push_back({"status", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return *status;
}

std::string EncodeTaskCreated(const TaskInput& input, const std::string& series_id,
                              int64_t occurrence, const std::optional<std::string>& previous) {
  JsonWriter w;
  w.BeginObject();
  WriteFields(w, input);
  w.Key("seriesId").String(series_id);
  w.Key("occurrence").Int(occurrence);
  WriteOptional(w, "previousTaskId", previous);
  w.EndObject();
  return w.Take();
}

std::string EncodeTaskEdited(const TaskInput& input) {
  JsonWriter w;
  w.BeginObject();
  WriteFields(w, input);
  w.EndObject();
  return w.Take();
}

std::string EncodeTaskStatusChanged(TaskStatus from, TaskStatus to) {
  JsonWriter w;
  w.BeginObject();
  w.Key("from").String(TaskStatusName(from));
  w.Key("to").String(TaskStatusName(to));
  w.EndObject();
  return w.Take();
}

std::string EncodeTaskRecurred(const std::string& next_task_id, std::string_view trigger) {
  JsonWriter w;
  w.BeginObject();
  w.Key("nextTaskId").String(next_task_id);
  w.Key("trigger").String(trigger);
  w.EndObject();
  return w.Take();
}

std::string EncodeTaskReminderDue(const Task& task) {
  JsonWriter w;
  w.BeginObject();
  w.Key("dueDate").String(FormatIso8601(task.fields.due_date));
  w.Key("reminderAt").String(FormatIso8601(task.reminder_at()));
  w.Key("assignedToUserId").String(task.fields.assigned_to);
  w.Key("title").String(task.fields.title);
  w.EndObject();
  return w.Take();
}

std::string EncodeTaskSeriesEnded(std::string_view reason, std::string_view trigger) {
  JsonWriter w;
  w.BeginObject();
  w.Key("reason").String(reason);
  w.Key("trigger").String(trigger);
  w.EndObject();
  return w.Take();
}

Millis NextDueDate(const TaskInput& fields, Millis now) {
  if (!fields.recurring_interval_days || *fields.recurring_interval_days < 1) {
    return fields.due_date;
  }
  const Millis step = static_cast<Millis>(*fields.recurring_interval_days) * kDayMillis;
  // Both are within years 1–9999, so neither the difference nor the product overflows.
  const Millis k = now >= fields.due_date ? (now - fields.due_date) / step + 1 : 1;
  return fields.due_date + k * step;
}

TaskInput NextOccurrenceInput(const Task& task, Millis now) {
  TaskInput next = task.fields;
  next.due_date = NextDueDate(task.fields, now);
  return next;
}

Status ApplyTaskEvent(Task& t, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, t.version); !st) return st;
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (event.type == kTaskCreated) {
    if (t.version != 0) return Fail(BadEvent(event, "the task exists already"));
    Task next;
    std::string_view series;
    int64_t occurrence = 0;
    if (!ReadFields(*doc, next.fields) || doc->at_key("seriesId").get(series) ||
        doc->at_key("occurrence").get(occurrence) || occurrence < 1 ||
        !GetOptionalString(*doc, "previousTaskId", next.previous_task_id)) {
      return Fail(BadEvent(event, "malformed payload"));
    }
    next.id = event.aggregate_id;
    next.series_id = std::string(series);
    next.occurrence = occurrence;
    next.created_by = event.actor;
    next.created_at = event.occurred_at;
    t = std::move(next);
  } else if (t.version == 0) {
    return Fail(BadEvent(event, "the task does not exist"));
  } else if (event.type == kTaskEdited) {
    if (!t.open()) return Fail(BadEvent(event, "the task is closed"));
    TaskInput fields;
    if (!ReadFields(*doc, fields)) return Fail(BadEvent(event, "malformed payload"));
    if (fields.due_date != t.fields.due_date ||
        fields.reminder_days_before != t.fields.reminder_days_before) {
      t.reminded_at.reset();  // a new reminder time: armed again
    }
    t.fields = std::move(fields);
  } else if (event.type == kTaskStatusChanged) {
    std::string_view from, to;
    if (doc->at_key("from").get(from) || doc->at_key("to").get(to)) {
      return Fail(BadEvent(event, "malformed payload"));
    }
    auto f = ParseTaskStatus(from);
    auto n = ParseTaskStatus(to);
    if (!f || !n || *f != t.status || !TaskStatusAllowed(*f, *n)) {
      return Fail(BadEvent(event, "a move the state machine does not allow"));
    }
    t.status = *n;
    if (*n == TaskStatus::kCompleted) t.completed_at = event.occurred_at;
  } else if (event.type == kTaskRecurred) {
    std::string_view next;
    if (doc->at_key("nextTaskId").get(next) || next.empty()) {
      return Fail(BadEvent(event, "malformed payload"));
    }
    if (t.next_task_id || !t.fields.is_recurring) {
      return Fail(BadEvent(event, "the task is not awaiting its next occurrence"));
    }
    t.next_task_id = std::string(next);
  } else if (event.type == kTaskSeriesEnded) {
    if (!t.awaits_recurrence()) {
      return Fail(BadEvent(event, "the task is not awaiting its next occurrence"));
    }
    t.series_ended = true;
  } else if (event.type == kTaskReminderDue) {
    std::optional<Millis> at;
    if (!GetOptionalTime(*doc, "reminderAt", at) || !at) {
      return Fail(BadEvent(event, "malformed payload"));
    }
    t.reminded_at = *at;
  } else {
    return Fail(Error::DataLoss("Not a task event: " + event.type));
  }
  t.updated_at = event.occurred_at;
  t.version = event.aggregate_version;
  return {};
}

std::string TaskToJson(const Task& t) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(t.id);
  WriteFields(w, t.fields);
  w.Key("reminderAt").String(FormatIso8601(t.reminder_at()));
  w.Key("status").String(TaskStatusName(t.status));
  w.Key("seriesId").String(t.series_id);
  w.Key("occurrence").Int(t.occurrence);
  WriteOptional(w, "previousTaskId", t.previous_task_id);
  WriteOptional(w, "nextTaskId", t.next_task_id);
  w.Key("seriesEnded").Bool(t.series_ended);
  w.Key("reminderDueAt");
  t.reminded_at ? w.String(FormatIso8601(*t.reminded_at)) : w.Null();
  w.Key("createdBy").String(t.created_by);
  w.Key("createdAt").String(FormatIso8601(t.created_at));
  w.Key("updatedAt").String(FormatIso8601(t.updated_at));
  w.Key("completedAt");
  t.completed_at ? w.String(FormatIso8601(*t.completed_at)) : w.Null();
  w.Key("version").Int(t.version);
  w.EndObject();
  return w.Take();
}

Result<Task> TaskFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Task record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  Task t;
  std::string_view id, status, series, created_by, created_at, updated_at;
  if (doc->at_key("id").get(id) || doc->at_key("status").get(status) ||
      doc->at_key("seriesId").get(series) || doc->at_key("occurrence").get(t.occurrence) ||
      doc->at_key("createdBy").get(created_by) || doc->at_key("createdAt").get(created_at) ||
      doc->at_key("updatedAt").get(updated_at) || doc->at_key("version").get(t.version) ||
      !ReadFields(*doc, t.fields) ||
      !GetOptionalString(*doc, "previousTaskId", t.previous_task_id) ||
      !GetOptionalString(*doc, "nextTaskId", t.next_task_id) ||
      !GetOptionalTime(*doc, "reminderDueAt", t.reminded_at) ||
      !GetOptionalTime(*doc, "completedAt", t.completed_at)) {
    return Fail(Error::DataLoss("Task record lacks a field or is malformed"));
  }
  auto s = ParseTaskStatus(status);
  auto created = ParseIso8601(created_at);
  auto updated = ParseIso8601(updated_at);
  if (!s || !created || !updated) {
    return Fail(Error::DataLoss("Task record " + std::string(id) + " is malformed"));
  }
  bool ended = false;
  if (doc->at_key("seriesEnded").get(ended) == simdjson::SUCCESS) t.series_ended = ended;
  t.id = std::string(id);
  t.status = *s;
  t.series_id = std::string(series);
  t.created_by = std::string(created_by);
  t.created_at = *created;
  t.updated_at = *updated;
  return t;
}

}  // namespace keel

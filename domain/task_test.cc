// Task: input parsing with field errors, the state machine, the fold and the stored record.
#include "domain/task.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kDec10 = 1'796'860'800'000;  // 2026-12-10T00:00:00Z

EventEnvelope Event(std::string_view type, int64_t version, std::string payload,
                    Millis at = kDec10 - 5 * kDayMillis) {
  EventEnvelope e;
  e.type = std::string(type);
  e.event_id = e.type + std::to_string(version);
  e.aggregate_type = std::string(kTaskAggregate);
  e.aggregate_id = "t1";
  e.aggregate_version = version;
  e.occurred_at = e.recorded_at = at;
  e.actor = "u1";
  e.payload = std::move(payload);
  return e;
}

TaskInput Input() {
  auto in =
      ParseTaskInput(R"({"title":" Call back ","dueDate":"2026-12-10","assignedToUserId":"u1",)"
                     R"("reminderDaysBefore":2,"isRecurring":true,"recurringIntervalDays":7})");
  EXPECT_TRUE(in) << in.error().message;
  return in.value_or(TaskInput{});
}

TEST(TaskInputTest, ParsesTrimsAndDefaults) {
  TaskInput in = Input();
  EXPECT_EQ(in.title, "Call back");
  EXPECT_EQ(in.description, "");
  EXPECT_EQ(in.due_date, kDec10);
  EXPECT_EQ(in.assigned_to, "u1");
  EXPECT_EQ(in.reminder_days_before, 2);
  EXPECT_EQ(in.priority, TaskPriority::kMedium);
  EXPECT_TRUE(in.is_recurring);
  EXPECT_EQ(in.recurring_interval_days, 7);
  EXPECT_FALSE(in.customer_id);

  auto timed = ParseTaskInput(
      R"({"title":"T","dueDate":"2026-12-10T09:30:00+01:00","priority":"urgent",)"
      R"("customerId":"c1","projectId":null,"isRecurring":false,"recurringIntervalDays":null})");
  ASSERT_TRUE(timed) << timed.error().message;
  EXPECT_EQ(timed->due_date, kDec10 + 8 * 3'600'000 + 30 * 60'000);
  EXPECT_EQ(timed->priority, TaskPriority::kUrgent);
  EXPECT_EQ(timed->customer_id, "c1");
  EXPECT_FALSE(timed->project_id);
}

TEST(TaskInputTest, EveryViolationIsNamedByItsField) {
  auto in = ParseTaskInput(
      R"({"title":"","description":5,"dueDate":"10/12/2026","reminderDaysBefore":366,)"
      R"("priority":"asap","isRecurring":"yes","colour":"red","status":"completed"})");
  ASSERT_FALSE(in);
  EXPECT_EQ(in.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(in.error().message, "Validation failed");
  std::vector<std::string> fields;
  for (const auto& f : in.error().field_errors) fields.push_back(f.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"title", "description", "dueDate", "reminderDaysBefore",
                                      "priority", "isRecurring", "colour", "status"}));
  EXPECT_EQ(in.error().field_errors[6].message, "Unknown field");
  EXPECT_EQ(in.error().field_errors[4].message, "Must be one of low, medium, high, urgent");
  EXPECT_EQ(in.error().field_errors[3].message, "Must be a whole number from 0 to 365");
}

TEST(TaskInputTest, TheIntervalIsRequiredExactlyWhenRecurring) {
  auto missing = ParseTaskInput(R"({"title":"T","dueDate":"2026-12-10","isRecurring":true})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(
      missing.error().field_errors,
      (std::vector<FieldError>{{"recurringIntervalDays", "Is required when isRecurring is true"}}));
  auto stray = ParseTaskInput(R"({"title":"T","dueDate":"2026-12-10","recurringIntervalDays":3})");
  ASSERT_FALSE(stray);
  EXPECT_EQ(stray.error().field_errors[0].field, "recurringIntervalDays");
  auto range = ParseTaskInput(
      R"({"title":"T","dueDate":"2026-12-10","isRecurring":true,"recurringIntervalDays":3651})");
  ASSERT_FALSE(range);
  EXPECT_EQ(range.error().field_errors,
            (std::vector<FieldError>{
                {"recurringIntervalDays", "Must be a whole number from 1 to 3650"}}));
  auto none = ParseTaskInput(R"({"description":"d"})");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().field_errors,
            (std::vector<FieldError>{{"title", "Is required"}, {"dueDate", "Is required"}}));
  EXPECT_EQ(ParseTaskInput("[1]").error().code, ErrorCode::kInvalidArgument);
}

TEST(TaskStatusTest, TheStateMachine) {
  using S = TaskStatus;
  EXPECT_TRUE(TaskStatusAllowed(S::kPending, S::kInProgress));
  EXPECT_TRUE(TaskStatusAllowed(S::kInProgress, S::kCompleted));
  EXPECT_TRUE(TaskStatusAllowed(S::kPending, S::kCancelled));
  EXPECT_TRUE(TaskStatusAllowed(S::kInProgress, S::kCancelled));
  EXPECT_FALSE(TaskStatusAllowed(S::kPending, S::kCompleted));
  EXPECT_FALSE(TaskStatusAllowed(S::kInProgress, S::kPending));
  for (S final_state : {S::kCompleted, S::kCancelled}) {
    for (S to : {S::kPending, S::kInProgress, S::kCompleted, S::kCancelled}) {
      EXPECT_FALSE(TaskStatusAllowed(final_state, to));
    }
  }
  auto body = ParseTaskStatusInput(R"({"status":"in_progress"})");
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, S::kInProgress);
  auto bad = ParseTaskStatusInput(R"({"status":"done","why":1})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field_errors,
            (std::vector<FieldError>{
                {"status", "Must be one of pending, in_progress, completed, cancelled"},
                {"why", "Unknown field"}}));
}

TEST(TaskFoldTest, FoldsALifeAndRoundTripsTheRecord) {
  Task t;
  const TaskInput in = Input();
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskCreated, 1, EncodeTaskCreated(in, "t1", 1, {}))));
  EXPECT_EQ(t.status, TaskStatus::kPending);
  EXPECT_EQ(t.series_id, "t1");
  EXPECT_EQ(t.fields, in);
  EXPECT_EQ(t.reminder_at(), kDec10 - 2 * kDayMillis);
  EXPECT_TRUE(t.awaits_recurrence());
  EXPECT_TRUE(t.awaits_reminder());
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskReminderDue, 2, EncodeTaskReminderDue(t))));
  EXPECT_EQ(t.reminded_at, kDec10 - 2 * kDayMillis);
  ASSERT_TRUE(ApplyTaskEvent(
      t, Event(kTaskStatusChanged, 3,
               EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kInProgress))));
  ASSERT_TRUE(ApplyTaskEvent(
      t, Event(kTaskStatusChanged, 4,
               EncodeTaskStatusChanged(TaskStatus::kInProgress, TaskStatus::kCompleted), kDec10)));
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskRecurred, 5, EncodeTaskRecurred("t2", "completed"))));
  EXPECT_EQ(t.next_task_id, "t2");
  EXPECT_EQ(t.completed_at, kDec10);
  EXPECT_FALSE(t.awaits_recurrence());
  auto back = TaskFromJson(TaskToJson(t));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, t);
  EXPECT_EQ(NextOccurrenceInput(t, kDec10).due_date, kDec10 + 7 * kDayMillis);
}

TEST(TaskFoldTest, ASeriesEndedIsFoldedAndServed) {
  auto in = ParseTaskInput(
      R"({"title":"T","dueDate":"2026-12-10","isRecurring":true,"recurringIntervalDays":7})");
  ASSERT_TRUE(in) << in.error().message;
  Task t;
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskCreated, 1, EncodeTaskCreated(*in, "t1", 1, {}))));
  EXPECT_TRUE(t.awaits_recurrence());
  ASSERT_TRUE(ApplyTaskEvent(
      t, Event(kTaskSeriesEnded, 2, EncodeTaskSeriesEnded("assignee_inactive", "due"))));
  EXPECT_TRUE(t.series_ended);
  EXPECT_FALSE(t.awaits_recurrence());
  EXPECT_NE(TaskToJson(t).find(R"("seriesEnded":true)"), std::string::npos);
  auto back = TaskFromJson(TaskToJson(t));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, t);
  // Once: a second end is not a move the fold allows.
  EXPECT_FALSE(ApplyTaskEvent(
      t, Event(kTaskSeriesEnded, 3, EncodeTaskSeriesEnded("assignee_inactive", "due"))));
}

TEST(TaskRecurrenceTest, TheNextDueDateIsTheFirstIntervalAfterNow) {
  TaskInput in;
  in.due_date = kDec10;
  in.is_recurring = true;
  in.recurring_interval_days = 7;
  EXPECT_EQ(NextDueDate(in, kDec10 - 1), kDec10 + 7 * kDayMillis);  // completed early
  EXPECT_EQ(NextDueDate(in, kDec10), kDec10 + 7 * kDayMillis);
  EXPECT_EQ(NextDueDate(in, kDec10 + 7 * kDayMillis - 1), kDec10 + 7 * kDayMillis);
  // Exactly at the next due date: that one is not after now, the one after it is.
  EXPECT_EQ(NextDueDate(in, kDec10 + 7 * kDayMillis), kDec10 + 14 * kDayMillis);
  EXPECT_EQ(NextDueDate(in, kDec10 + 100 * kDayMillis), kDec10 + 105 * kDayMillis);
  // Year 1, every day, met in 2026: one step to the day after now.
  in.due_date = kMinTimestampMillis;
  in.recurring_interval_days = 1;
  const Millis next = NextDueDate(in, kDec10 + 1);
  EXPECT_EQ(next, kDec10 + kDayMillis);
}

TEST(TaskFoldTest, TheReminderTimeIsNeverBeforeYearOne) {
  auto in = ParseTaskInput(R"({"title":"T","dueDate":"0001-01-05","reminderDaysBefore":30})");
  ASSERT_TRUE(in) << in.error().message;
  Task t;
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskCreated, 1, EncodeTaskCreated(*in, "t1", 1, {}))));
  EXPECT_EQ(t.reminder_at(), kMinTimestampMillis);
  // Its reminder folds (what the API accepts, the fold accepts).
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskReminderDue, 2, EncodeTaskReminderDue(t))));
  EXPECT_EQ(t.reminded_at, kMinTimestampMillis);
}

TEST(TaskFoldTest, IllegalEventsAreDataLoss) {
  Task t;
  auto moved = ApplyTaskEvent(
      t, Event(kTaskStatusChanged, 1,
               EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kInProgress)));
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, ErrorCode::kDataLoss);
  ASSERT_TRUE(ApplyTaskEvent(t, Event(kTaskCreated, 1, EncodeTaskCreated(Input(), "t1", 1, {}))));
  auto skip = ApplyTaskEvent(
      t, Event(kTaskStatusChanged, 2,
               EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kCompleted)));
  ASSERT_FALSE(skip);
  EXPECT_EQ(skip.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(skip.error().message,
            "TaskStatusChanged of task t1: a move the state machine does not allow");
  EXPECT_EQ(t.status, TaskStatus::kPending);
  auto gap = ApplyTaskEvent(t, Event(kTaskEdited, 3, EncodeTaskEdited(Input())));
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kDataLoss);
  auto garbled = ApplyTaskEvent(t, Event(kTaskEdited, 2, R"({"title":"x"})"));
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel

// The tasks stream's decisions: scope, the state machine's refusals with both states named,
// recurrence exactly once (on completion or at the due date), reminders once.
#include "commands/task_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

constexpr Millis kDue = 1'796'860'800'000;  // 2026-12-10T00:00:00Z

class TaskCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta(Millis now = kDue - 10 * kDayMillis) {
    return {.now = now, .actor = "u1", .correlation_id = "req"};
  }
  static TaskInput Input(bool recurring) {
    TaskInput in;
    in.title = "Call";
    in.assigned_to = "u1";
    in.due_date = kDue;
    in.reminder_days_before = 3;
    in.is_recurring = recurring;
    if (recurring) in.recurring_interval_days = 7;
    return in;
  }
  void Fold(const std::vector<EventEnvelope>& events) {
    for (const auto& e : events) ASSERT_TRUE(model_.Apply(e)) << e.type;
  }
  void Create(const std::string& id, bool recurring) {
    auto events = DecideCreateTask(model_, id, Input(recurring), Meta(), ids_);
    ASSERT_TRUE(events) << events.error().message;
    Fold(*events);
  }
  void Move(const std::string& id, TaskStatus to, Millis now = kDue - 10 * kDayMillis) {
    auto events = DecideChangeTaskStatus(model_, id, to, std::nullopt, Meta(now), ids_);
    ASSERT_TRUE(events) << events.error().message;
    Fold(*events);
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  TaskWriteModel model_;
};

TEST_F(TaskCommandsTest, CreateStartsASeriesOfItsOwn) {
  auto events = DecideCreateTask(model_, "t1", Input(false), Meta(), ids_);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, kTaskCreated);
  Fold(*events);
  EXPECT_EQ(model_.Find("t1")->series_id, "t1");
  EXPECT_EQ(model_.Find("t1")->occurrence, 1);
  auto again = DecideCreateTask(model_, "t1", Input(false), Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(TaskCommandsTest, OwnScopeCreatesAndChangesOnlyOwnTasks) {
  CommandMeta rep = Meta();
  rep.owner_scope = "u2";
  auto other = DecideCreateTask(model_, "t1", Input(false), rep, ids_);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(other.error().message,
            "Access denied: with tasks:write_own a task can only be assigned to yourself");
  Create("t1", false);
  auto move =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kInProgress, std::nullopt, rep, ids_);
  ASSERT_FALSE(move);
  EXPECT_EQ(move.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(move.error().message, "Task t1 is not assigned to you");
  rep.owner_scope = "u1";
  EXPECT_TRUE(
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kInProgress, std::nullopt, rep, ids_));
}

TEST_F(TaskCommandsTest, IllegalMovesNameBothStates) {
  Create("t1", false);
  auto skip =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, std::nullopt, Meta(), ids_);
  ASSERT_FALSE(skip);
  EXPECT_EQ(skip.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(skip.error().message, "Task t1 is pending; it cannot become completed");
  Move("t1", TaskStatus::kInProgress);
  Move("t1", TaskStatus::kCompleted);
  auto back =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kInProgress, std::nullopt, Meta(), ids_);
  ASSERT_FALSE(back);
  EXPECT_EQ(back.error().message, "Task t1 is completed; it cannot become in_progress");
  auto cancel =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kCancelled, std::nullopt, Meta(), ids_);
  ASSERT_FALSE(cancel);
  EXPECT_EQ(cancel.error().message, "Task t1 is completed; it cannot become cancelled");
  auto same =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, std::nullopt, Meta(), ids_);
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(same.error().message, "Task t1 is completed; it cannot become completed");
  auto edit = DecideEditTask(model_, "t1", Input(false), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(edit.error().message, "Task t1 is completed; it cannot be edited");
  auto stale = DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, 1, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  auto unknown =
      DecideChangeTaskStatus(model_, "nope", TaskStatus::kCompleted, std::nullopt, Meta(), ids_);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "Task nope not found");
}

TEST_F(TaskCommandsTest, CompletingARecurringOccurrenceCreatesTheNextInTheSameDecision) {
  Create("t1", true);
  Move("t1", TaskStatus::kInProgress);
  auto done =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, std::nullopt, Meta(), ids_);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->size(), 3u);
  EXPECT_EQ((*done)[0].type, kTaskStatusChanged);
  EXPECT_EQ((*done)[1].type, kTaskRecurred);
  EXPECT_EQ((*done)[2].type, kTaskCreated);
  Fold(*done);
  const std::string next = (*done)[2].aggregate_id;
  const Task* n = model_.Find(next);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->series_id, "t1");
  EXPECT_EQ(n->occurrence, 2);
  EXPECT_EQ(n->previous_task_id, "t1");
  EXPECT_EQ(n->fields.due_date, kDue + 7 * kDayMillis);
  EXPECT_EQ(n->status, TaskStatus::kPending);
  EXPECT_EQ(model_.Find("t1")->next_task_id, next);
  // The clock finds nothing more to do for t1 at its due date.
  auto recur = DecideRecurTask(model_, "t1", Meta(kDue + 1), ids_);
  ASSERT_TRUE(recur);
  EXPECT_TRUE(recur->empty());
  EXPECT_EQ(model_.DueToRecur(kDue + 1), std::vector<std::string>{});
}

TEST_F(TaskCommandsTest, TheDueDateRecursOnceAndLeavesTheOccurrenceOpen) {
  Create("t1", true);
  EXPECT_TRUE(DecideRecurTask(model_, "t1", Meta(kDue - 1), ids_)->empty());
  EXPECT_EQ(model_.DueToRecur(kDue), std::vector<std::string>{"t1"});
  auto recur = DecideRecurTask(model_, "t1", Meta(kDue), ids_);
  ASSERT_TRUE(recur);
  ASSERT_EQ(recur->size(), 2u);
  Fold(*recur);
  EXPECT_EQ(model_.Find("t1")->status, TaskStatus::kPending);
  EXPECT_TRUE(DecideRecurTask(model_, "t1", Meta(kDue + 1), ids_)->empty());
  // Completing it later creates no other occurrence.
  Move("t1", TaskStatus::kInProgress, kDue + 2);
  auto done = DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, std::nullopt,
                                     Meta(kDue + 3), ids_);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->size(), 1u);
  EXPECT_EQ(model_.size(), 2u);
}

TEST_F(TaskCommandsTest, AnOpenTaskMovedToItsOwnStatusIsUnchanged) {
  Create("t1", false);
  auto same =
      DecideChangeTaskStatus(model_, "t1", TaskStatus::kPending, std::nullopt, Meta(), ids_);
  ASSERT_TRUE(same) << same.error().message;
  EXPECT_TRUE(same->empty());
}

TEST_F(TaskCommandsTest, ASeriesFarBehindCatchesUpWithOneOccurrenceAfterNow) {
  TaskInput in = Input(true);
  in.due_date = kDue - 300 * kDayMillis;  // within the year allowed at creation
  in.recurring_interval_days = 1;
  auto created = DecideCreateTask(model_, "t1", in, Meta(in.due_date), ids_);
  ASSERT_TRUE(created) << created.error().message;
  Fold(*created);
  const Millis now = kDue + 5;
  auto recur = DecideRecurTask(model_, "t1", Meta(now), ids_);
  ASSERT_TRUE(recur);
  ASSERT_EQ(recur->size(), 2u);
  Fold(*recur);
  const Task* next = model_.Find((*recur)[1].aggregate_id);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->fields.due_date, kDue + kDayMillis);
  EXPECT_EQ(next->occurrence, 2);
  // Nothing else is due at the same now: the clock stops after one.
  EXPECT_TRUE(model_.DueToRecur(now).empty());
}

TEST_F(TaskCommandsTest, ALateCompletionCreatesAnOccurrenceDueAfterNow) {
  Create("t1", true);
  Move("t1", TaskStatus::kInProgress);
  auto done = DecideChangeTaskStatus(model_, "t1", TaskStatus::kCompleted, std::nullopt,
                                     Meta(kDue + 20 * kDayMillis), ids_);
  ASSERT_TRUE(done);
  ASSERT_EQ(done->size(), 3u);
  Fold(*done);
  EXPECT_EQ(model_.Find((*done)[2].aggregate_id)->fields.due_date, kDue + 21 * kDayMillis);
}

TEST_F(TaskCommandsTest, ARecurringTaskDueMoreThanAYearAgoIsRefused) {
  TaskInput in = Input(true);
  in.due_date = kDue - 366 * kDayMillis;
  auto created = DecideCreateTask(model_, "t1", in, Meta(kDue), ids_);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(created.error().field_errors.size(), 1u);
  EXPECT_EQ(created.error().field_errors[0].field, "dueDate");
  EXPECT_EQ(created.error().field_errors[0].message,
            "A recurring task's due date may be at most 365 days in the past");
  // Not recurring: a task may be long overdue.
  EXPECT_TRUE(DecideCreateTask(model_, "t1", Input(false), Meta(kDue + 400 * kDayMillis), ids_));
  // An edit that makes an existing task recur with such a date is refused too.
  Create("t2", false);
  auto edit = DecideEditTask(model_, "t2", in, std::nullopt, Meta(kDue), ids_);
  ASSERT_FALSE(edit);
  EXPECT_EQ(edit.error().field_errors.at(0).field, "dueDate");
  // An edit that keeps an old occurrence's date and interval is not.
  Create("t3", true);
  TaskInput retitled = Input(true);
  retitled.title = "Call back";
  EXPECT_TRUE(
      DecideEditTask(model_, "t3", retitled, std::nullopt, Meta(kDue + 400 * kDayMillis), ids_));
}

TEST(TaskProjectTest, TheTaskTakesTheProjectsCustomerAndMustNotNameAnother) {
  const ProjectRef project{.customer_id = "c1",
                           .owner_id = "u9",
                           .customer_owner_id = "u8",
                           .status = "active",
                           .open = true};
  const CommandMeta meta{.now = kDue, .actor = "u1"};
  TaskInput in;
  EXPECT_TRUE(ApplyTaskProject(in, "p1", project, true, meta));
  EXPECT_EQ(in.customer_id, "c1");
  in.customer_id = "c2";
  auto other = ApplyTaskProject(in, "p1", project, true, meta);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(other.error().field_errors,
            (std::vector<FieldError>{{"customerId", "Must be the project's customer, c1"}}));
}

TEST(TaskProjectTest, ARepNamesOnlyTheirProjectsOrTheirCustomersOpenOnes) {
  ProjectRef project{.customer_id = "c1",
                     .owner_id = "u9",
                     .customer_owner_id = "u8",
                     .status = "active",
                     .open = true};
  CommandMeta rep{.now = kDue, .actor = "u1"};
  rep.owner_scope = "u1";
  TaskInput in;
  auto denied = ApplyTaskProject(in, "p1", project, true, rep);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().message, "Project p1 is neither yours nor on one of your customers");
  // Kept by an edit: not checked again.
  EXPECT_TRUE(ApplyTaskProject(in, "p1", project, false, rep));
  project.owner_id = "u1";
  EXPECT_TRUE(ApplyTaskProject(in, "p1", project, true, rep));
  project.owner_id = "u9";
  project.customer_owner_id = "u1";
  EXPECT_TRUE(ApplyTaskProject(in, "p1", project, true, rep));
  project.open = false;
  project.status = "completed";
  auto closed = ApplyTaskProject(in, "p1", project, true, rep);
  ASSERT_FALSE(closed);
  EXPECT_EQ(
      closed.error().field_errors,
      (std::vector<FieldError>{{"projectId", "Project p1 is completed; it takes no more tasks"}}));
  EXPECT_TRUE(ApplyTaskProject(in, "p1", project, false, rep));  // an edit keeping it
}

TEST_F(TaskCommandsTest, ANextOccurrenceLeavesAClosedProjectAndAnInactiveAssigneeEndsTheSeries) {
  TaskInput in = Input(true);
  in.customer_id = "c1";
  in.project_id = "p1";
  Fold(*DecideCreateTask(model_, "t1", in, Meta(), ids_));
  auto recur = DecideRecurTask(model_, "t1", Meta(kDue), ids_, {.project_open = false});
  ASSERT_TRUE(recur);
  ASSERT_EQ(recur->size(), 2u);
  Fold(*recur);
  const std::string next = (*recur)[1].aggregate_id;
  EXPECT_EQ(model_.Find(next)->fields.project_id, std::nullopt);
  EXPECT_EQ(model_.Find(next)->fields.customer_id, "c1");
  // Its assignee gone: the series ends, once, and the clock has nothing more to do.
  const Millis later = kDue + 7 * kDayMillis;
  auto ended = DecideRecurTask(model_, next, Meta(later), ids_, {.assignee_active = false});
  ASSERT_TRUE(ended);
  ASSERT_EQ(ended->size(), 1u);
  EXPECT_EQ((*ended)[0].type, kTaskSeriesEnded);
  Fold(*ended);
  EXPECT_TRUE(model_.DueToRecur(later).empty());
  EXPECT_TRUE(DecideRecurTask(model_, next, Meta(later), ids_)->empty());
  EXPECT_EQ(model_.size(), 2u);
}

TEST_F(TaskCommandsTest, CancellingEndsTheSeries) {
  Create("t1", true);
  Move("t1", TaskStatus::kCancelled);
  EXPECT_TRUE(DecideRecurTask(model_, "t1", Meta(kDue + 1), ids_)->empty());
  EXPECT_TRUE(model_.DueToRecur(kDue + 1).empty());
  EXPECT_TRUE(model_.DueToRemind(kDue + 1).empty());
}

TEST_F(TaskCommandsTest, TheReminderIsDueOnceAndAnEditOfTheDateArmsItAgain) {
  Create("t1", false);
  const Millis at = kDue - 3 * kDayMillis;
  EXPECT_TRUE(model_.DueToRemind(at - 1).empty());
  EXPECT_TRUE(DecideRemindTask(model_, "t1", Meta(at - 1), ids_)->empty());
  auto remind = DecideRemindTask(model_, "t1", Meta(at), ids_);
  ASSERT_TRUE(remind);
  ASSERT_EQ(remind->size(), 1u);
  EXPECT_EQ((*remind)[0].type, kTaskReminderDue);
  Fold(*remind);
  EXPECT_TRUE(DecideRemindTask(model_, "t1", Meta(at + 1), ids_)->empty());
  EXPECT_TRUE(model_.DueToRemind(at + 1).empty());
  TaskInput later = Input(false);
  later.due_date += kDayMillis;
  auto edit = DecideEditTask(model_, "t1", later, std::nullopt, Meta(at + 1), ids_);
  ASSERT_TRUE(edit);
  Fold(*edit);
  EXPECT_EQ(model_.DueToRemind(at + kDayMillis), std::vector<std::string>{"t1"});
  auto unchanged = DecideEditTask(model_, "t1", later, std::nullopt, Meta(), ids_);
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->empty());
  // No assignee named: the task's is kept (the same edit, so nothing changes).
  later.assigned_to.clear();
  auto kept = DecideEditTask(model_, "t1", later, std::nullopt, Meta(), ids_);
  ASSERT_TRUE(kept);
  EXPECT_TRUE(kept->empty());
  // A rep may not hand their task to someone else.
  CommandMeta rep = Meta();
  rep.owner_scope = "u1";
  later.assigned_to = "u2";
  auto handed = DecideEditTask(model_, "t1", later, std::nullopt, rep, ids_);
  ASSERT_FALSE(handed);
  EXPECT_EQ(handed.error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace keel

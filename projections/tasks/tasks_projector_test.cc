// TasksProjector and its queries: records and indexes follow the events, a reassignment moves
// the index entry, lists filter and order, my-tasks puts overdue first, reps see what read_own
// says.
#include "projections/tasks/tasks_projector.h"

#include <gtest/gtest.h>

#include "projections/tasks/task_queries.h"
#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kDue = 1'796'860'800'000;

class TasksProjectorTest : public ::testing::Test {
 protected:
  Status Fold(std::string_view type, const std::string& id, int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e =
        MakeTestEvent(type, kTaskAggregate, id, version, std::move(payload), kDue - kDayMillis);
    e.actor = "boss";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  static TaskInput Input(std::string assignee, Millis due, std::optional<std::string> customer,
                         std::optional<std::string> project = std::nullopt) {
    TaskInput in;
    in.title = "T";
    in.assigned_to = std::move(assignee);
    in.due_date = due;
    in.customer_id = std::move(customer);
    in.project_id = std::move(project);
    return in;
  }
  void Create(const std::string& id, const TaskInput& in) {
    ASSERT_TRUE(Fold(kTaskCreated, id, 1, EncodeTaskCreated(in, id, 1, std::nullopt)));
  }
  static std::vector<std::string> Ids(const Result<std::vector<Task>>& tasks) {
    EXPECT_TRUE(tasks);
    std::vector<std::string> ids;
    for (const auto& t : tasks.value_or(std::vector<Task>{})) ids.push_back(t.id);
    return ids;
  }

  TasksProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(TasksProjectorTest, RecordsAndIndexesFollowTheEvents) {
  Create("t1", Input("u1", kDue, "c1", "p1"));
  auto t = QueryTask(store_, "t1");
  ASSERT_TRUE(t && *t);
  EXPECT_EQ((*t)->created_by, "boss");
  EXPECT_TRUE(view_.At(kTasksByAssigneeTable, "u1/t1"));
  EXPECT_TRUE(view_.At(kTasksByCustomerTable, "c1/t1"));
  EXPECT_TRUE(view_.At(kTasksByProjectTable, "p1/t1"));
  ASSERT_TRUE(Fold(kTaskEdited, "t1", 2, EncodeTaskEdited(Input("u2", kDue, std::nullopt, "p1"))));
  EXPECT_FALSE(view_.At(kTasksByAssigneeTable, "u1/t1"));
  EXPECT_TRUE(view_.At(kTasksByAssigneeTable, "u2/t1"));
  EXPECT_FALSE(view_.At(kTasksByCustomerTable, "c1/t1"));
  EXPECT_TRUE(view_.At(kTasksByProjectTable, "p1/t1"));
  // An illegal move is refused whole (dead-lettered), nothing written.
  auto bad = Fold(kTaskStatusChanged, "t1", 3,
                  EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kCompleted));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ((*QueryTask(store_, "t1"))->version, 2);
  auto of_project = QueryTasksOfProject(store_, "p1", 10);
  EXPECT_EQ(Ids(of_project), std::vector<std::string>{"t1"});
  EXPECT_TRUE(QueryTasksOfProject(store_, "p2", 10)->empty());
}

TEST_F(TasksProjectorTest, ListsFilterOrderAndScope) {
  Create("a", Input("u1", kDue + 2 * kDayMillis, std::nullopt));
  Create("b", Input("u2", kDue, "c1"));  // on u1's customer
  Create("c", Input("u2", kDue - kDayMillis, "c2"));
  Create("d", Input("u1", kDue - 2 * kDayMillis, std::nullopt));
  ASSERT_TRUE(Fold(kTaskStatusChanged, "d", 2,
                   EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kCancelled)));
  EXPECT_EQ(Ids(QueryTasks(store_, {})), (std::vector<std::string>{"d", "c", "b", "a"}));
  TaskListQuery open;
  open.open_only = true;
  EXPECT_EQ(Ids(QueryTasks(store_, open)), (std::vector<std::string>{"c", "b", "a"}));
  TaskListQuery mine;
  mine.reader = TaskReader{"u1", {"c1"}};
  EXPECT_EQ(Ids(QueryTasks(store_, mine)), (std::vector<std::string>{"d", "b", "a"}));
  TaskListQuery of_u2;
  of_u2.assigned_to = "u2";
  of_u2.reader = TaskReader{"u1", {"c1"}};
  EXPECT_EQ(Ids(QueryTasks(store_, of_u2)), (std::vector<std::string>{"b"}));
  TaskListQuery cancelled;
  cancelled.status = TaskStatus::kCancelled;
  EXPECT_EQ(Ids(QueryTasks(store_, cancelled)), (std::vector<std::string>{"d"}));
  TaskListQuery on_c2;
  on_c2.customer_id = "c2";
  EXPECT_EQ(Ids(QueryTasks(store_, on_c2)), (std::vector<std::string>{"c"}));
}

TEST(TaskQueriesTest, MyTasksPutOverdueFirstThenByDueDate) {
  auto task = [](std::string id, Millis due, TaskStatus status) {
    Task t;
    t.id = std::move(id);
    t.fields.due_date = due;
    t.status = status;
    return t;
  };
  std::vector<Task> tasks{task("later", kDue + 5, TaskStatus::kPending),
                          task("soon", kDue + 1, TaskStatus::kInProgress),
                          task("late2", kDue - 1, TaskStatus::kPending),
                          task("done", kDue - 9, TaskStatus::kCompleted),
                          task("late1", kDue - 5, TaskStatus::kInProgress)};
  SortForMyTasks(tasks, kDue);
  std::vector<std::string> ids;
  for (const auto& t : tasks) ids.push_back(t.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"late1", "late2", "done", "soon", "later"}));
}

TEST_F(TasksProjectorTest, TheOpenTasksIndexHoldsOpenTasksByDueDateAndPagesWithoutClosedOnes) {
  Create("t1", Input("u1", kDue + kDayMillis, std::nullopt));
  Create("t2", Input("u1", kDue, std::nullopt));
  Create("t3", Input("u1", kDue + 2 * kDayMillis, std::nullopt));
  Create("x1", Input("u2", kDue, std::nullopt));
  const std::string t1 = OpenTaskKey("u1", kDue + kDayMillis, "t1");
  EXPECT_TRUE(view_.At(kOpenTasksByAssigneeTable, t1));
  // Keys sort by due date, a year-1 date included.
  EXPECT_LT(OpenTaskKey("u1", kMinTimestampMillis, "z"), OpenTaskKey("u1", 0, "a"));
  EXPECT_LT(OpenTaskKey("u1", 0, "z"), OpenTaskKey("u1", kDue, "a"));
  auto page = QueryOpenTasksOfAssignee(store_, "u1", false, 1, 1);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->tasks.size(), 1u);
  EXPECT_EQ(page->tasks[0].id, "t1");
  // A new due date moves the key; a reminder marks it; closing removes it.
  ASSERT_TRUE(
      Fold(kTaskEdited, "t1", 2, EncodeTaskEdited(Input("u1", kDue - kDayMillis, std::nullopt))));
  EXPECT_FALSE(view_.At(kOpenTasksByAssigneeTable, t1));
  const std::string moved = OpenTaskKey("u1", kDue - kDayMillis, "t1");
  EXPECT_EQ(view_.At(kOpenTasksByAssigneeTable, moved), std::optional<std::string>(""));
  Task t1_task = **QueryTask(store_, "t1");
  ASSERT_TRUE(Fold(kTaskReminderDue, "t1", 3, EncodeTaskReminderDue(t1_task)));
  EXPECT_EQ(view_.At(kOpenTasksByAssigneeTable, moved), std::optional<std::string>("r"));
  auto reminded = QueryOpenTasksOfAssignee(store_, "u1", true, 0, 10);
  ASSERT_TRUE(reminded);
  EXPECT_EQ(reminded->total, 1);
  ASSERT_EQ(reminded->tasks.size(), 1u);
  EXPECT_EQ(reminded->tasks[0].id, "t1");
  ASSERT_TRUE(Fold(kTaskStatusChanged, "t2", 2,
                   EncodeTaskStatusChanged(TaskStatus::kPending, TaskStatus::kCancelled)));
  EXPECT_FALSE(view_.At(kOpenTasksByAssigneeTable, OpenTaskKey("u1", kDue, "t2")));
  auto open = QueryOpenTasksOfAssignee(store_, "u1", false, 0, 10);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->total, 2);
  ASSERT_EQ(open->tasks.size(), 2u);
  EXPECT_EQ(open->tasks[0].id, "t1");
  EXPECT_EQ(open->tasks[1].id, "t3");
}

TEST_F(TasksProjectorTest, AnUnfilteredListReadsAtMostItsScanLimitAndARepsOnlyTheirIndexes) {
  Create("t1", Input("u1", kDue, std::nullopt));
  Create("t2", Input("u2", kDue, "c2"));
  Create("t3", Input("u3", kDue, std::nullopt));
  TaskListQuery all;
  all.scan_limit = 2;
  bool truncated = false;
  EXPECT_EQ(Ids(QueryTasks(store_, all, &truncated)), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_TRUE(truncated);
  all.scan_limit = 3;
  EXPECT_EQ(Ids(QueryTasks(store_, all, &truncated)).size(), 3u);
  EXPECT_FALSE(truncated);
  // A reader's list comes from their indexes, whatever the scan limit.
  TaskListQuery rep;
  rep.reader = TaskReader{"u1", {"c2"}};
  rep.scan_limit = 0;
  EXPECT_EQ(Ids(QueryTasks(store_, rep, &truncated)), (std::vector<std::string>{"t1", "t2"}));
  EXPECT_FALSE(truncated);
}

}  // namespace
}  // namespace keel

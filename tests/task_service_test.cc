// TaskService on the real embedded log: what Find answers follows the log after a refold, not
// only after Load (the refold after a failed append finds what another writer appended).
#include "commands/task_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "domain/ids.h"
#include "infra/embedded_log.h"
#include "tests/faulty_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

class StillClock final : public Clock {
 public:
  Millis NowMillis() override { return now; }
  Millis now = 1'790'000'000'000;  // moved by the test only while no command runs
};

TaskInput Input(const std::string& title) {
  TaskInput in;
  in.title = title;
  in.assigned_to = "u1";
  in.due_date = 1'796'860'800'000;
  return in;
}

TEST(TaskServiceTest, FindFollowsTheLogAfterARefold) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 3});
  ASSERT_TRUE(log) << log.error().message;
  FaultyLog faulty(**log);
  StillClock clock;
  UuidV7Generator ids1(clock, 1), ids2(clock, 2);
  TaskService first(faulty, clock, ids1, {});
  ASSERT_TRUE(first.Load());
  auto created = AwaitTaskCommand([&](auto done) { first.Create(Input("A"), {}, done); });
  ASSERT_TRUE(created) << created.error().message;
  const std::string id = created->task.id;
  // Another writer edits it.
  TaskService second(**log, clock, ids2, {});
  ASSERT_TRUE(second.Load());
  auto edited = AwaitTaskCommand(
      [&](auto done) { second.Edit(id, Input("A, edited"), std::nullopt, {}, done); });
  ASSERT_TRUE(edited) << edited.error().message;
  EXPECT_EQ(first.Find(id)->version, 1);
  // A failed append makes the first's model stale; its next command folds the log again.
  faulty.FailNextAppend(Error::Unavailable("injected"));
  EXPECT_FALSE(AwaitTaskCommand([&](auto done) { first.Create(Input("B"), {}, done); }));
  ASSERT_TRUE(AwaitTaskCommand([&](auto done) { first.Create(Input("C"), {}, done); }));
  ASSERT_TRUE(first.Find(id));
  EXPECT_EQ(first.Find(id)->version, 2);
  EXPECT_EQ(first.Find(id)->fields.title, "A, edited");
}

TEST(TaskServiceTest, TheClocksRecurrenceChecksTheProjectAndTheAssigneeFirst) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 3});
  ASSERT_TRUE(log) << log.error().message;
  StillClock clock;
  UuidV7Generator ids(clock, 1);
  bool project_open = true, user_active = true;
  TaskChecks checks;
  checks.project = [&](const std::string&) -> Result<ProjectRef> {
    return ProjectRef{
        .customer_id = "c1", .owner_id = "u1", .status = "completed", .open = project_open};
  };
  checks.user_active = [&](const std::string& id) -> Status {
    if (user_active) return {};
    return Fail(Error::NotFound("User " + id + " not found or not active"));
  };
  TaskService tasks(**log, clock, ids, std::move(checks));
  ASSERT_TRUE(tasks.Load());
  TaskInput in = Input("Weekly");
  in.due_date = clock.NowMillis() - kDayMillis;
  in.is_recurring = true;
  in.recurring_interval_days = 7;
  in.project_id = "p1";
  auto created = AwaitTaskCommand([&](auto done) { tasks.Create(in, {}, done); });
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->task.fields.customer_id, "c1");  // the project's
  CommandMeta meta;
  meta.now = clock.NowMillis();
  project_open = false;  // closed since
  auto recurred = AwaitTaskCommand([&](auto done) { tasks.Recur(created->task.id, meta, done); });
  ASSERT_TRUE(recurred) << recurred.error().message;
  ASSERT_TRUE(recurred->next);
  EXPECT_EQ(recurred->next->fields.project_id, std::nullopt);
  EXPECT_EQ(recurred->next->fields.customer_id, "c1");
  user_active = false;
  clock.now = recurred->next->fields.due_date;
  meta.now = clock.now;
  auto ended = AwaitTaskCommand([&](auto done) { tasks.Recur(recurred->next->id, meta, done); });
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_FALSE(ended->next);
  EXPECT_TRUE(ended->task.series_ended);
  EXPECT_TRUE(tasks.DueToRecur(meta.now).empty());
}

}  // namespace
}  // namespace keel

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
  Millis NowMillis() override { return 1'790'000'000'000; }
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

}  // namespace
}  // namespace keel

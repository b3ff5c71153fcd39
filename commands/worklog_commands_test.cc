#include "commands/worklog_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;  // 2027-01-15

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return kNow; }
};

WorklogInput Input(std::string date = "2027-01-10", int64_t minutes = 30) {
  WorklogInput in;
  in.log_date = std::move(date);
  in.duration_minutes = minutes;
  return in;
}

Project P(std::string id, std::string customer) {
  Project p;
  p.id = std::move(id);
  p.customer_id = std::move(customer);
  p.owner_id = "u1";
  p.version = 1;
  return p;
}

WorklogProjectLookup Projects() {
  return [](const std::string& id) -> std::optional<Project> {
    if (id == "p1") return P("p1", "c1");
    if (id == "p2") return P("p2", "c2");
    return std::nullopt;
  };
}

WorklogTaskLookup Tasks() {
  return [](const std::string& id) -> Result<std::optional<WorklogTaskRef>> {
    if (id == "t1") return std::optional<WorklogTaskRef>(WorklogTaskRef{"c1", "p1", "u1"});
    if (id == "t2") return std::optional<WorklogTaskRef>(WorklogTaskRef{"c3", std::nullopt, "u1"});
    if (id == "loose") return std::optional<WorklogTaskRef>(WorklogTaskRef{"", "", "u1"});
    if (id == "down") return Fail(Error::Unavailable("tasks are down"));
    return std::optional<WorklogTaskRef>();
  };
}

TEST(ResolveWorklogTest, ProjectAndCustomerComeFromTheTaskAndTheProject) {
  WorklogInput in = Input();
  in.task_id = "t1";
  auto log = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(log->project_id, "p1");
  EXPECT_EQ(log->customer_id, "c1");
  EXPECT_EQ(log->user_id, "u1");
  in = Input();
  in.project_id = "p2";
  log = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->customer_id, "c2");
  in = Input();
  in.customer_id = "c9";
  log = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->customer_id, "c9");
  EXPECT_EQ(log->project_id, std::nullopt);
}

TEST(ResolveWorklogTest, ContradictionsAndUnknownsAreNamed) {
  WorklogInput in = Input();
  in.task_id = "t1";
  in.project_id = "p2";
  auto r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().field_errors,
            (std::vector<FieldError>{{"projectId", "Task t1 belongs to project p1"}}));
  in = Input();
  in.project_id = "p1";
  in.customer_id = "c2";
  r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().field_errors,
            (std::vector<FieldError>{{"customerId", "Project p1 is for customer c1"}}));
  in = Input();
  in.task_id = "t2";
  in.customer_id = "c1";
  r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().field_errors,
            (std::vector<FieldError>{{"customerId", "Task t2 is for customer c3"}}));
  in = Input("2027-01-17");
  in.task_id = "t404";
  in.project_id = "p404";
  r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field_errors,
            (std::vector<FieldError>{{"taskId", "No task t404"},
                                     {"logDate", "Must not be after 2027-01-16"}}));
  in = Input();
  in.project_id = "p404";
  r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().field_errors, (std::vector<FieldError>{{"projectId", "No project p404"}}));
  EXPECT_TRUE(ResolveWorklog(Input("2027-01-16"), "u1", Tasks(), Projects(), kNow));
}

TEST(ResolveWorklogTest, WithoutTasksATaskIsRefusedAndALookupErrorPassesThrough) {
  WorklogInput in = Input();
  in.task_id = "t1";
  auto r = ResolveWorklog(in, "u1", WorklogTaskLookup(), Projects(), kNow);
  EXPECT_EQ(r.error().field_errors,
            (std::vector<FieldError>{{"taskId", "Tasks are not available"}}));
  in.task_id = "loose";  // empty ids from the lookup are none
  auto loose = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  ASSERT_TRUE(loose) << loose.error().message;
  EXPECT_EQ(loose->project_id, std::nullopt);
  EXPECT_EQ(loose->customer_id, std::nullopt);
  in.task_id = "down";
  r = ResolveWorklog(in, "u1", Tasks(), Projects(), kNow);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(ResolveWorklogTest, AnOwnScopeCallerLogsOnlyOnTheirTasksOrTheirCustomers) {
  // t1 is u1's, on c1 (owned by u2); t2 is u1's, on c3 (owned by u3).
  auto gate_of = [](std::string caller) -> WorklogTaskGate {
    return [caller](const std::string& id, const WorklogTaskRef& task) {
      std::optional<std::string> owner;
      if (task.customer_id == "c1") owner = "u2";
      if (task.customer_id == "c3") owner = "u3";
      return CheckOwnWorklogTask(id, task, caller, owner);
    };
  };
  WorklogInput in = Input();
  in.task_id = "t1";
  EXPECT_TRUE(ResolveWorklog(in, "u1", Tasks(), Projects(), kNow, gate_of("u1")));  // assignee
  EXPECT_TRUE(ResolveWorklog(in, "u2", Tasks(), Projects(), kNow, gate_of("u2")));  // customer's
  auto r = ResolveWorklog(in, "u3", Tasks(), Projects(), kNow, gate_of("u3"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().message, "Task t1 is neither assigned to you nor on one of your customers");
  // The gate comes before the field errors; an unknown task is still a field error.
  in.project_id = "p2";
  r = ResolveWorklog(in, "u3", Tasks(), Projects(), kNow, gate_of("u3"));
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  in = Input();
  in.task_id = "t404";
  r = ResolveWorklog(in, "u3", Tasks(), Projects(), kNow, gate_of("u3"));
  EXPECT_EQ(r.error().field_errors, (std::vector<FieldError>{{"taskId", "No task t404"}}));
  // A task without a customer: only its assignee.
  in.task_id = "loose";
  EXPECT_EQ(ResolveWorklog(in, "u2", Tasks(), Projects(), kNow, gate_of("u2")).error().code,
            ErrorCode::kPermissionDenied);
}

TEST(RecordWorklogTest, RecordedOnceUnderItsId) {
  FixedClock clock;
  UuidV7Generator ids{clock, 3};
  WorklogWriteModel model;
  auto log = ResolveWorklog(Input(), "u1", Tasks(), Projects(), kNow);
  ASSERT_TRUE(log);
  CommandMeta meta{.now = kNow, .actor = "boss"};
  auto e = DecideRecordWorklog(model, "w1", *log, meta, ids);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, kWorklogRecorded);
  EXPECT_EQ(e->aggregate_version, 1);
  EXPECT_EQ(e->actor, "boss");
  ASSERT_TRUE(model.Apply(*e));
  EXPECT_EQ(model.Find("w1")->duration_minutes, 30);
  EXPECT_EQ(model.Find("w1")->created_by, "boss");
  EXPECT_EQ(DecideRecordWorklog(model, "w1", *log, meta, ids).error().code,
            ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace keel

// Tasks end to end over HTTP: the real server on port 0, the embedded log and RocksDB, and an
// injected clock for the tasks (AppConfig::tasks_clock) that the test moves by days: the state
// machine's answers, my-tasks' order, reminders, recurrence on completion and at the due date,
// exactly once across a restart and a rebuild of the read model, and the _own scopes.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "domain/event.h"
#include "domain/task.h"
#include "domain/time.h"
#include "domain/topics.h"
#include "tests/test_app.h"

namespace keel {
namespace {

constexpr Millis kStart = 1'796'083'200'000;  // 2026-12-01T00:00:00Z

class ManualClock final : public Clock {
 public:
  Millis NowMillis() override { return now_.load(); }
  void Advance(Millis by) { now_ += by; }

 private:
  std::atomic<Millis> now_{kStart};
};

// Whether `done()` holds within `seconds` (five by default).
bool Eventually(const std::function<bool()>& done, int seconds = 5) {
  for (int i = 0; i < seconds * 50; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

std::string Date(Millis at) { return FormatIso8601(at); }

class TaskApiTest : public ::testing::Test {
 protected:
  AppConfig Config() {
    AppConfig config;
    config.tasks_clock = &clock_;
    config.task_clock_poll_ms = 50;
    return config;
  }
  // POSTs a task; its id ("" with a failure unless 201).
  std::string Create(HttpClient& c, const std::string& body) {
    auto r = c.Send("POST", "/api/v1/tasks", body);
    EXPECT_EQ(r.status, 201) << r.body;
    position_ = r.headers["x-keel-position"];
    return Json(r.body).Str("/data/id");
  }
  std::string TaskBody(const std::string& title, Millis due, std::string extra = "") {
    std::string body = R"({"title":")" + title + R"(","dueDate":")" + Date(due) + "\"";
    body += extra;
    body += "}";
    return body;
  }
  HttpResult Move(HttpClient& c, const std::string& id, const std::string& to) {
    auto r = c.Send("PUT", "/api/v1/tasks/" + id + "/status", R"({"status":")" + to + R"("})");
    if (r.status == 200) position_ = r.headers["x-keel-position"];
    return r;
  }
  HttpResult Get(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, position_));
  }
  int64_t TaskEvents() { return LogSize(app_.app(), std::string(kTasksTopic)); }
  std::string MakeUser(const std::string& email) {
    auto r = admin_.Send(
        "POST", "/api/v1/users",
        R"({"name":"R","email":")" + email + R"(","password":"password-123","role":"sales_rep"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }

  ManualClock clock_;
  TestApp app_{Config()};
  HttpClient admin_{app_.base(), app_.token()};
  std::string position_ = "0:0";
};

TEST_F(TaskApiTest, TheStateMachineAnswersAndRefusesNamingBothStates) {
  const std::string id = Create(admin_, TaskBody(" Call Ann ", kStart + 3 * kDayMillis,
                                                 R"(,"priority":"high","description":"d")"));
  auto got = Get(admin_, "/api/v1/tasks/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  Json task(got.body);
  EXPECT_EQ(task.Str("/data/title"), "Call Ann");
  EXPECT_EQ(task.Str("/data/status"), "pending");
  EXPECT_EQ(task.Str("/data/priority"), "high");
  EXPECT_EQ(task.Str("/data/dueDate"), "2026-12-04T00:00:00.000Z");
  EXPECT_EQ(task.Str("/data/seriesId"), id);
  EXPECT_EQ(got.headers["etag"], "\"1\"");
  // The creator is the assignee when none is named.
  const std::string me = Json(admin_.Send("GET", "/api/v1/auth/me").body).Str("/data/user/id");
  EXPECT_EQ(task.Str("/data/assignedToUserId"), me);

  auto skip = Move(admin_, id, "completed");
  ASSERT_EQ(skip.status, 409) << skip.body;
  EXPECT_EQ(Json(skip.body).Str("/message"),
            "Task " + id + " is pending; it cannot become completed");
  const int64_t events = TaskEvents();
  ASSERT_EQ(Move(admin_, id, "in_progress").status, 200);
  auto done = Move(admin_, id, "completed");
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(Json(done.body).Str("/data/status"), "completed");
  EXPECT_EQ(TaskEvents(), events + 2);
  auto back = Move(admin_, id, "in_progress");
  ASSERT_EQ(back.status, 409);
  EXPECT_EQ(Json(back.body).Str("/message"),
            "Task " + id + " is completed; it cannot become in_progress");
  auto again = Move(admin_, id, "completed");
  ASSERT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(Json(again.body).Str("/message"),
            "Task " + id + " is completed; it cannot become completed");
  auto edit = admin_.Send("PUT", "/api/v1/tasks/" + id, TaskBody("Again", kStart));
  ASSERT_EQ(edit.status, 409);
  EXPECT_EQ(Json(edit.body).Str("/message"), "Task " + id + " is completed; it cannot be edited");
  EXPECT_EQ(TaskEvents(), events + 2);

  // Bad input: 400 naming each field, nothing appended.
  auto bad = admin_.Send("POST", "/api/v1/tasks",
                         R"({"title":"","dueDate":"soon","isRecurring":true,"colour":1})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  Json errors(bad.body);
  EXPECT_EQ(errors.Str("/errors/0/field"), "title");
  EXPECT_EQ(errors.Str("/errors/1/field"), "dueDate");
  EXPECT_EQ(errors.Str("/errors/2/field"), "colour");
  EXPECT_EQ(errors.Str("/errors/3/field"), "recurringIntervalDays");
  auto project =
      admin_.Send("POST", "/api/v1/tasks", TaskBody("P", kStart, R"(,"projectId":"p1")"));
  ASSERT_EQ(project.status, 400);
  EXPECT_EQ(Json(project.body).Str("/errors/0/message"), "Project p1 not found");
  auto ancient = admin_.Send(
      "POST", "/api/v1/tasks",
      R"({"title":"Daily","dueDate":"0001-01-01","isRecurring":true,"recurringIntervalDays":1})");
  ASSERT_EQ(ancient.status, 400) << ancient.body;
  EXPECT_EQ(Json(ancient.body).Str("/errors/0/field"), "dueDate");
  EXPECT_EQ(Json(ancient.body).Str("/errors/0/message"),
            "A recurring task's due date may be at most 365 days in the past");
  auto nobody = admin_.Send("POST", "/api/v1/tasks",
                            TaskBody("N", kStart, R"(,"assignedToUserId":"nobody")"));
  ASSERT_EQ(nobody.status, 400);
  EXPECT_EQ(Json(nobody.body).Str("/errors/0/field"), "assignedToUserId");
  auto customer =
      admin_.Send("POST", "/api/v1/tasks", TaskBody("C", kStart, R"(,"customerId":"no-such")"));
  ASSERT_EQ(customer.status, 400);
  EXPECT_EQ(Json(customer.body).Str("/errors/0/message"),
            "Customer no-such not found or not active");
  EXPECT_EQ(TaskEvents(), events + 2);
  EXPECT_EQ(admin_.Send("GET", "/api/v1/tasks/nope").status, 404);
  EXPECT_EQ(Move(admin_, "nope", "cancelled").status, 404);

  // Idempotency-Key: a retry gets the first answer and appends nothing. (Due in ten days: no
  // reminder of the task clock's lands among the events counted.)
  const int64_t before_keyed = TaskEvents();
  auto first = admin_.Send("POST", "/api/v1/tasks", TaskBody("Keyed", kStart + 10 * kDayMillis),
                           {"Idempotency-Key: task-key-1"});
  ASSERT_EQ(first.status, 201) << first.body;
  auto retry = admin_.Send("POST", "/api/v1/tasks", TaskBody("Keyed", kStart + 10 * kDayMillis),
                           {"Idempotency-Key: task-key-1"});
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(Json(retry.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(TaskEvents(), before_keyed + 1);

  // If-Match: a stale version is refused.
  const std::string other = Create(admin_, TaskBody("Other", kStart + kDayMillis));
  auto stale = admin_.Send("PUT", "/api/v1/tasks/" + other + "/status", R"({"status":"cancelled"})",
                           {"If-Match: \"3\""});
  EXPECT_EQ(stale.status, 409) << stale.body;
  auto cancelled = admin_.Send("PUT", "/api/v1/tasks/" + other + "/status",
                               R"({"status":"cancelled"})", {"If-Match: \"1\""});
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
}

TEST_F(TaskApiTest, MyTasksPutOverdueFirstAndRemindersFollowTheClock) {
  const std::string later =
      Create(admin_, TaskBody("Later", kStart + 5 * kDayMillis, R"(,"reminderDaysBefore":2)"));
  const std::string late = Create(admin_, TaskBody("Late", kStart - kDayMillis));
  const std::string soon =
      Create(admin_, TaskBody("Soon", kStart + kDayMillis, R"(,"reminderDaysBefore":0)"));
  auto mine = Get(admin_, "/api/v1/tasks/my-tasks");
  ASSERT_EQ(mine.status, 200) << mine.body;
  Json list(mine.body);
  ASSERT_EQ(list.Size("/data"), 3u);
  EXPECT_EQ(list.Str("/data/0/id"), late);
  EXPECT_TRUE(list.Bool("/data/0/isOverdue"));
  EXPECT_EQ(list.Str("/data/1/id"), soon);
  EXPECT_EQ(list.Str("/data/2/id"), later);
  EXPECT_FALSE(list.Bool("/data/2/isOverdue"));

  auto reminders = [&] { return Json(admin_.Send("GET", "/api/v1/tasks/reminders").body); };
  // The overdue task's reminder time (its due date) has passed already.
  ASSERT_TRUE(Eventually([&] { return reminders().Size("/data") == 1; }));
  EXPECT_EQ(reminders().Str("/data/0/id"), late);
  clock_.Advance(kDayMillis);  // Soon's due date: its reminder (0 days before)
  ASSERT_TRUE(Eventually([&] { return reminders().Size("/data") == 2; }));
  EXPECT_EQ(reminders().Str("/data/1/id"), soon);
  EXPECT_EQ(reminders().Str("/data/1/reminderDueAt"), Date(kStart + kDayMillis));
  clock_.Advance(2 * kDayMillis);  // Later's reminder: 2 days before its due date
  ASSERT_TRUE(Eventually([&] { return reminders().Size("/data") == 3; }));
  // Now Soon is overdue too, and first by due date among the overdue.
  Json now_mine(admin_.Send("GET", "/api/v1/tasks/my-tasks").body);
  EXPECT_EQ(now_mine.Str("/data/0/id"), late);
  EXPECT_EQ(now_mine.Str("/data/1/id"), soon);
  EXPECT_TRUE(now_mine.Bool("/data/1/isOverdue"));
  // Each is an event a notifier can follow, naming the assignee, in the series' partition.
  const std::string me = Json(admin_.Send("GET", "/api/v1/auth/me").body).Str("/data/user/id");
  std::vector<EventEnvelope> reminded;
  ASSERT_TRUE(app_.app().log().ReadAll(std::string(kTasksTopic), [&](const LogRecord& r) {
    auto e = DecodeEvent(r.value);
    ASSERT_TRUE(e) << e.error().message;
    if (e->type == kTaskReminderDue) reminded.push_back(std::move(*e));
  }));
  ASSERT_EQ(reminded.size(), 3u);
  auto of_late = std::find_if(reminded.begin(), reminded.end(),
                              [&](const EventEnvelope& e) { return e.aggregate_id == late; });
  ASSERT_NE(of_late, reminded.end());
  Json payload(of_late->payload);
  EXPECT_EQ(payload.Str("/assignedToUserId"), me);
  EXPECT_EQ(payload.Str("/title"), "Late");
  EXPECT_EQ(payload.Str("/reminderAt"), Date(kStart - kDayMillis));
  EXPECT_EQ(of_late->actor, "system:task-clock");
  // Once each: more passes append no more reminders; a closed task leaves the list.
  const int64_t events = TaskEvents();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(TaskEvents(), events);
  ASSERT_EQ(Move(admin_, late, "cancelled").status, 200);
  auto after = Get(admin_, "/api/v1/tasks/reminders");
  EXPECT_EQ(Json(after.body).Size("/data"), 2u);
}

TEST_F(TaskApiTest, RecurrenceHappensOnceOnCompletionOrAtTheDueDateAcrossRestartAndRebuild) {
  // On completion: the next occurrence is in the same answer.
  const std::string weekly =
      Create(admin_, TaskBody("Weekly", kStart + 2 * kDayMillis,
                              R"(,"isRecurring":true,"recurringIntervalDays":7)"));
  ASSERT_EQ(Move(admin_, weekly, "in_progress").status, 200);
  auto done = Move(admin_, weekly, "completed");
  ASSERT_EQ(done.status, 200) << done.body;
  Json completed(done.body);
  const std::string weekly2 = completed.Str("/data/nextOccurrence/id");
  EXPECT_EQ(completed.Str("/data/nextTaskId"), weekly2);
  EXPECT_EQ(completed.Str("/data/nextOccurrence/seriesId"), weekly);
  EXPECT_EQ(completed.Int("/data/nextOccurrence/occurrence"), 2);
  EXPECT_EQ(completed.Str("/data/nextOccurrence/status"), "pending");
  EXPECT_EQ(completed.Str("/data/nextOccurrence/dueDate"), Date(kStart + 9 * kDayMillis));
  EXPECT_EQ(Get(admin_, "/api/v1/tasks/" + weekly2).status, 200);

  // At the due date: the open occurrence stays open, overdue, and has its next one.
  const std::string every3 = Create(
      admin_,
      TaskBody("Every 3", kStart + kDayMillis, R"(,"isRecurring":true,"recurringIntervalDays":3)"));
  auto total = [&] { return Json(Get(admin_, "/api/v1/tasks").body).Int("/meta/total"); };
  EXPECT_EQ(total(), 3);
  clock_.Advance(kDayMillis);  // its due date: the next one is created, it is not overdue yet
  ASSERT_TRUE(Eventually([&] { return total() == 4; }));
  EXPECT_FALSE(Json(admin_.Send("GET", "/api/v1/tasks/" + every3).body).Bool("/data/isOverdue"));
  clock_.Advance(1);
  Json recurred(admin_.Send("GET", "/api/v1/tasks/" + every3).body);
  EXPECT_EQ(recurred.Str("/data/status"), "pending");
  EXPECT_TRUE(recurred.Bool("/data/isOverdue"));
  const std::string every3_2 = recurred.Str("/data/nextTaskId");
  Json next(admin_.Send("GET", "/api/v1/tasks/" + every3_2).body);
  EXPECT_EQ(next.Str("/data/dueDate"), Date(kStart + 4 * kDayMillis));
  EXPECT_EQ(next.Str("/data/previousTaskId"), every3);
  EXPECT_EQ(next.Str("/data/seriesId"), every3);
  // Completing it now creates no other occurrence.
  ASSERT_EQ(Move(admin_, every3, "in_progress").status, 200);
  auto late_done = Move(admin_, every3, "completed");
  ASSERT_EQ(late_done.status, 200);
  EXPECT_FALSE(Json(late_done.body).At("/data/nextOccurrence"));

  // A restart folds the log again: nothing is created twice.
  const int64_t events = TaskEvents();
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // several passes of the clock
  EXPECT_EQ(TaskEvents(), events);
  auto total2 = [&] { return Json(admin.Send("GET", "/api/v1/tasks").body).Int("/meta/total"); };
  EXPECT_EQ(total2(), 4);
  // The next due date after the restart: exactly one more.
  clock_.Advance(3 * kDayMillis);
  ASSERT_TRUE(Eventually([&] { return total2() == 5; }));
  // Settled: the clock's reminders of the days passed are appended and folded too (the list
  // shows when each fell due), so that the rebuild is compared with every event folded.
  std::string before;
  ASSERT_TRUE(Eventually([&] {
    const int64_t appended = TaskEvents();
    const std::string first = admin.Send("GET", "/api/v1/tasks?limit=100").body;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    before = admin.Send("GET", "/api/v1/tasks?limit=100").body;
    return first == before && TaskEvents() == appended;
  }));
  EXPECT_EQ(total2(), 5);

  // A rebuild of the read model from the log serves the same tasks.
  auto started = admin.Send("POST", "/api/v1/admin/projections/tasks/rebuild");
  ASSERT_EQ(started.status, 202) << started.body;
  ASSERT_TRUE(Eventually(
      [&] {
        const std::string phase =
            Json(admin.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase");
        return phase == "done" || phase == "failed";
      },
      /*seconds=*/60));  // a whole rebuild: slow under the sanitizers on a loaded machine
  EXPECT_EQ(Json(admin.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase"),
            "done");
  EXPECT_EQ(admin.Send("GET", "/api/v1/tasks?limit=100").body, before);
}

TEST_F(TaskApiTest, RepsReadAndChangeOnlyTheirOwnTasksAndTheirCustomersTasks) {
  const std::string rep1 = MakeUser("rep1@keel.test");
  const std::string rep2 = MakeUser("rep2@keel.test");
  HttpClient r1(app_.base(), LoginToken(app_.base(), "rep1@keel.test", "password-123"));
  HttpClient r2(app_.base(), LoginToken(app_.base(), "rep2@keel.test", "password-123"));
  auto cust = r1.Send("POST", "/api/v1/customers", R"({"name":"Mine","email":"mine@x.io"})");
  ASSERT_EQ(cust.status, 201) << cust.body;
  const std::string c1 = Json(cust.body).Str("/data/id");

  // rep2's task on rep1's customer: both may read it; only rep2 may move it.
  const std::string shared = Create(
      admin_, TaskBody("Shared", kStart + kDayMillis,
                       R"(,"assignedToUserId":")" + rep2 + R"(","customerId":")" + c1 + "\""));
  const std::string admins = Create(admin_, TaskBody("Admin's", kStart + kDayMillis));
  EXPECT_EQ(Get(r1, "/api/v1/tasks/" + shared).status, 200);
  EXPECT_EQ(Get(r2, "/api/v1/tasks/" + shared).status, 200);
  auto hidden = Get(r1, "/api/v1/tasks/" + admins);
  ASSERT_EQ(hidden.status, 403);
  EXPECT_EQ(Json(hidden.body).Str("/message"),
            "Task " + admins + " is neither assigned to you nor on one of your customers");
  auto not_theirs = Move(r1, shared, "in_progress");
  ASSERT_EQ(not_theirs.status, 403);
  EXPECT_EQ(Json(not_theirs.body).Str("/message"), "Task " + shared + " is not assigned to you");
  EXPECT_EQ(Move(r2, shared, "in_progress").status, 200);
  // An edit that names no assignee keeps the task's.
  auto edited = admin_.Send(
      "PUT", "/api/v1/tasks/" + shared,
      TaskBody("Shared, edited", kStart + 2 * kDayMillis, R"(,"customerId":")" + c1 + "\""));
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(Json(edited.body).Str("/data/assignedToUserId"), rep2);
  EXPECT_EQ(Json(edited.body).Str("/data/title"), "Shared, edited");
  // rep2's edit of the task assigned to them is checked at the customer it would be on: keeping
  // rep1's customer is refused, as is moving it to another customer not theirs.
  auto by_rep2 = r2.Send(
      "PUT", "/api/v1/tasks/" + shared,
      TaskBody("Shared, by rep2", kStart + 2 * kDayMillis, R"(,"customerId":")" + c1 + "\""));
  ASSERT_EQ(by_rep2.status, 403) << by_rep2.body;
  EXPECT_EQ(Json(by_rep2.body).Str("/message"), "Customer " + c1 + " is not assigned to you");
  position_ = edited.headers["x-keel-position"];
  auto c2 = admin_.Send("POST", "/api/v1/customers", R"({"name":"Other","email":"other@x.io"})");
  ASSERT_EQ(c2.status, 201);
  auto moved = r2.Send(
      "PUT", "/api/v1/tasks/" + shared,
      TaskBody("Shared", kStart, R"(,"customerId":")" + Json(c2.body).Str("/data/id") + "\""));
  EXPECT_EQ(moved.status, 403) << moved.body;

  // Creating: for themself only, on no customer or their own.
  auto for_other = r1.Send("POST", "/api/v1/tasks",
                           TaskBody("X", kStart, R"(,"assignedToUserId":")" + rep2 + "\""));
  ASSERT_EQ(for_other.status, 403);
  auto on_other =
      r2.Send("POST", "/api/v1/tasks", TaskBody("Y", kStart, R"(,"customerId":")" + c1 + "\""));
  ASSERT_EQ(on_other.status, 403);
  EXPECT_EQ(Json(on_other.body).Str("/message"), "Customer " + c1 + " is not assigned to you");
  const std::string own = Create(r1, TaskBody("Own", kStart, R"(,"customerId":")" + c1 + "\""));

  // Lists: rep1 sees their own and their customer's; rep2 theirs; the admin all three.
  auto ids = [&](HttpClient& c) {
    Json list(Get(c, "/api/v1/tasks").body);
    std::vector<std::string> out;
    for (size_t i = 0; i < list.Size("/data"); ++i) {
      out.push_back(list.Str("/data/" + std::to_string(i) + "/id"));
    }
    return out;
  };
  EXPECT_EQ(ids(r1), (std::vector<std::string>{own, shared}));
  EXPECT_EQ(ids(r2), (std::vector<std::string>{shared}));
  EXPECT_EQ(ids(admin_).size(), 3u);
  Json mine(Get(r1, "/api/v1/tasks/my-tasks").body);
  ASSERT_EQ(mine.Size("/data"), 1u);
  EXPECT_EQ(mine.Str("/data/0/id"), own);
  (void)rep1;
}

TEST_F(TaskApiTest, ATasksProjectIsInTheCallersScopeAndOnTheTasksCustomer) {
  MakeUser("rep1@keel.test");
  HttpClient r1(app_.base(), LoginToken(app_.base(), "rep1@keel.test", "password-123"));
  auto mine = r1.Send("POST", "/api/v1/customers", R"({"name":"Mine","email":"mine@x.io"})");
  ASSERT_EQ(mine.status, 201) << mine.body;
  const std::string c1 = Json(mine.body).Str("/data/id");
  auto other = admin_.Send("POST", "/api/v1/customers", R"({"name":"Other","email":"o@x.io"})");
  ASSERT_EQ(other.status, 201) << other.body;
  const std::string c2 = Json(other.body).Str("/data/id");
  auto project = [&](const std::string& customer) {
    auto r = admin_.Send("POST", "/api/v1/projects",
                         R"({"name":"P","customerId":")" + customer + R"(","status":"active"})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  const std::string on_theirs = project(c1);
  const std::string on_others = project(c2);
  const int64_t events = TaskEvents();

  // A rep: not a project of someone else's customer that is not theirs either.
  auto denied = r1.Send("POST", "/api/v1/tasks",
                        TaskBody("X", kStart, R"(,"projectId":")" + on_others + "\""));
  ASSERT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(Json(denied.body).Str("/message"),
            "Project " + on_others + " is neither yours nor on one of your customers");
  // Anyone: the task's customer is the project's.
  auto mismatch = admin_.Send(
      "POST", "/api/v1/tasks",
      TaskBody("X", kStart, R"(,"projectId":")" + on_others + R"(","customerId":")" + c1 + "\""));
  ASSERT_EQ(mismatch.status, 400) << mismatch.body;
  EXPECT_EQ(Json(mismatch.body).Str("/errors/0/field"), "customerId");
  EXPECT_EQ(Json(mismatch.body).Str("/errors/0/message"), "Must be the project's customer, " + c2);
  EXPECT_EQ(TaskEvents(), events);
  // A task that names a project and no customer is on the project's customer.
  auto taken = r1.Send("POST", "/api/v1/tasks",
                       TaskBody("Y", kStart, R"(,"projectId":")" + on_theirs + "\""));
  ASSERT_EQ(taken.status, 201) << taken.body;
  EXPECT_EQ(Json(taken.body).Str("/data/customerId"), c1);
}

}  // namespace
}  // namespace keel

// Work logs end to end over HTTP: recording, validation, scoping, and the running sums per
// user, customer and project, after many logs and after a rebuild from the log.
#include <map>
#include <set>
#include <string>

#include "domain/time.h"
#include "domain/topics.h"
#include "domain/worklog.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class WorklogApiTest : public WorkFixture {
 protected:
  HttpResult Log(HttpClient& c, const std::string& fields, int minutes,
                 std::vector<std::string> headers = {}) {
    std::string body = R"({"logDate":"2026-03-)";
    body += minutes % 2 ? "01" : "02";
    body += R"(","durationMinutes":)";
    body += std::to_string(minutes);
    if (!fields.empty()) body += "," + fields;
    body += "}";
    return c.Send("POST", "/api/v1/worklogs", body, headers);
  }
  static std::string Field(const std::string& name, const std::string& value) {
    std::string f = "\"" + name;
    f += "\":\"";
    f += value;
    f += "\"";
    return f;
  }
  // id → {minutes, count} of GET /worklogs/summary?by=…
  std::map<std::string, std::pair<int64_t, int64_t>> Summary(HttpClient& c, const std::string& by) {
    auto r = c.Send("GET", "/api/v1/worklogs/summary?by=" + by);
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    std::map<std::string, std::pair<int64_t, int64_t>> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      const std::string at = Numbered("/data/", static_cast<int64_t>(i));
      out[j.Str(at + "/id")] = {j.Int(at + "/minutes"), j.Int(at + "/count")};
    }
    return out;
  }
};

TEST_F(WorklogApiTest, RecordResolvesTheProjectsCustomerAndIsIdempotent) {
  const std::string project = MakeProject(*ann_, ann_customer_);
  const int64_t before = LogSize(app_.app(), std::string(kWorklogsTopic));
  const std::string fields =
      Field("projectId", project) + R"(,"description":" Call ","result":"Signed")";
  auto r = Log(*ann_, fields, 45, {"Idempotency-Key: w-1"});
  ASSERT_EQ(r.status, 201) << r.body;
  Json j(r.body);
  const std::string id = j.Str("/data/id");
  EXPECT_EQ(j.Str("/data/userId"), ann_id_);
  EXPECT_EQ(j.Str("/data/customerId"), ann_customer_);
  EXPECT_EQ(j.Str("/data/projectId"), project);
  EXPECT_EQ(j.Str("/data/description"), "Call");
  EXPECT_EQ(j.Str("/data/logDate"), "2026-03-01");
  EXPECT_EQ(j.Int("/data/durationMinutes"), 45);
  EXPECT_EQ(j.Str("/meta/position/topic"), "keel.worklogs");
  auto again = Log(*ann_, fields, 45, {"Idempotency-Key: w-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), id);
  EXPECT_EQ(LogSize(app_.app(), std::string(kWorklogsTopic)), before + 1);
  // A manager logs for ann.
  auto managed = Log(*max_, Field("userId", ann_id_), 15);
  ASSERT_EQ(managed.status, 201) << managed.body;
  EXPECT_EQ(Json(managed.body).Str("/data/userId"), ann_id_);
  EXPECT_EQ(Json(managed.body).Str("/data/createdBy"), max_id_);
  EXPECT_EQ(Json(managed.body).At("/data/customerId")->is_null(), true);

  ASSERT_EQ(AwaitTotal(*ann_, "/api/v1/worklogs?limit=1", 2), 2);
  auto listed = ann_->Send("GET", "/api/v1/worklogs");
  EXPECT_EQ(Json(listed.body).Int("/meta/totalMinutes"), 60);
  auto p = ann_->Send("GET", "/api/v1/projects/" + project);
  EXPECT_EQ(Json(p.body).Int("/data/loggedMinutes"), 45);
  EXPECT_EQ(Json(p.body).Int("/data/worklogCount"), 1);
  // After a restart the key is still answered from the log, and nothing is appended.
  app_.Restart();
  HttpClient ann(app_.base(), Login("ann@keel.test"));
  auto after = Log(ann, fields, 45, {"Idempotency-Key: w-1"});
  ASSERT_EQ(after.status, 201) << after.body;
  EXPECT_EQ(Json(after.body).Str("/data/id"), id);
  EXPECT_EQ(LogSize(app_.app(), std::string(kWorklogsTopic)), before + 2);
  // The project is known to the restarted command side.
  EXPECT_EQ(Log(ann, Field("projectId", project), 5).status, 201);
}

// Projects, tasks and work logs together: a task in a project, time logged on the task, and the
// project's page listing the task and the time; a closed project takes no more tasks.
TEST_F(WorklogApiTest, TimeLoggedOnAProjectsTaskCountsForTheProject) {
  const std::string project = MakeProject(*ann_, ann_customer_);
  std::string body = R"({"title":"Kick-off call","dueDate":"2026-12-20","customerId":")";
  body += ann_customer_;
  body += R"(","projectId":")";
  body += project;
  body += R"("})";
  auto task = ann_->Send("POST", "/api/v1/tasks", body);
  ASSERT_EQ(task.status, 201) << task.body;
  const std::string task_id = Json(task.body).Str("/data/id");
  const std::string task_position = task.headers["x-keel-position"];

  auto logged = Log(*ann_, Field("taskId", task_id), 30);
  ASSERT_EQ(logged.status, 201) << logged.body;
  EXPECT_EQ(Json(logged.body).Str("/data/projectId"), project);  // resolved from the task
  EXPECT_EQ(Json(logged.body).Str("/data/customerId"), ann_customer_);
  ASSERT_EQ(AwaitTotal(*ann_, "/api/v1/worklogs?projectId=" + project, 1), 1);

  // The project's page waits for positions of the projects stream: the task's read first.
  ASSERT_EQ(ann_->Send("GET", AtPosition("/api/v1/tasks/" + task_id, task_position)).status, 200);
  auto page = ann_->Send("GET", "/api/v1/projects/" + project);
  ASSERT_EQ(page.status, 200) << page.body;
  Json p(page.body);
  EXPECT_EQ(p.Int("/data/loggedMinutes"), 30);
  ASSERT_EQ(p.Size("/data/tasks"), 1u) << page.body;
  EXPECT_EQ(p.Str("/data/tasks/0/id"), task_id);
  EXPECT_EQ(p.Str("/data/tasks/0/title"), "Kick-off call");

  // Cancelled, the project takes no more tasks: a field error naming its state.
  auto cancelled = ann_->Send("PUT", "/api/v1/projects/" + project, R"({"status":"cancelled"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  auto refused = ann_->Send("POST", "/api/v1/tasks", body);
  ASSERT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(Json(refused.body).Str("/errors/0/field"), "projectId");
  EXPECT_EQ(Json(refused.body).Str("/errors/0/message"),
            "Project " + project + " is cancelled; it takes no more tasks");
}

TEST_F(WorklogApiTest, BadInputIsRefusedByFieldAndChangesNothing) {
  const int64_t before = LogSize(app_.app(), std::string(kWorklogsTopic));
  auto bad = ann_->Send("POST", "/api/v1/worklogs",
                        R"({"logDate":"2026-02-30","durationMinutes":0,"mood":"ok"})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"logDate", "durationMinutes", "mood"}));
  EXPECT_EQ(Json(bad.body).Str("/errors/1/message"),
            "Must be a whole number of minutes from 1 to 1440");
  auto task = Log(*ann_, Field("taskId", "t1"), 10);
  ASSERT_EQ(task.status, 400) << task.body;
  EXPECT_EQ(Json(task.body).Str("/errors/0/field"), "taskId");
  EXPECT_EQ(Json(task.body).Str("/errors/0/message"), "No task t1");
  auto nobody = Log(*ann_, Field("customerId", "nope"), 10);
  ASSERT_EQ(nobody.status, 400) << nobody.body;
  EXPECT_EQ(Json(nobody.body).Str("/errors/0/message"), "No customer nope");
  auto no_project = Log(*ann_, Field("projectId", "nope"), 10);
  EXPECT_EQ(Json(no_project.body).Str("/errors/0/message"), "No project nope");
  const std::string project = MakeProject(*ann_, ann_customer_);
  auto contradicts =
      Log(*max_, Field("projectId", project) + "," + Field("customerId", bob_customer_), 10);
  ASSERT_EQ(contradicts.status, 400) << contradicts.body;
  EXPECT_EQ(Json(contradicts.body).Str("/errors/0/message"),
            "Project " + project + " is for customer " + ann_customer_);
  const std::string tomorrow_plus = IsoDateOf(SystemClock().NowMillis() + 3 * 86'400'000);
  auto future = ann_->Send("POST", "/api/v1/worklogs",
                           R"({"logDate":")" + tomorrow_plus + R"(","durationMinutes":5})");
  ASSERT_EQ(future.status, 400) << future.body;
  EXPECT_EQ(Json(future.body).Str("/errors/0/field"), "logDate");
  auto ghost = Log(*max_, Field("userId", "ghost"), 10);
  EXPECT_EQ(Json(ghost.body).Str("/errors/0/message"), "No active user ghost");
  // Scope: ann logs only her own work, on customers she may read.
  auto for_bob = Log(*ann_, Field("userId", bob_id_), 10);
  EXPECT_EQ(for_bob.status, 403) << for_bob.body;
  auto on_bobs = Log(*ann_, Field("customerId", bob_customer_), 10);
  EXPECT_EQ(on_bobs.status, 403) << on_bobs.body;
  EXPECT_EQ(LogSize(app_.app(), std::string(kWorklogsTopic)), before);
}

TEST_F(WorklogApiTest, SumsPerUserCustomerAndProjectHoldAfterManyLogsAndARebuild) {
  const std::string anns_project = MakeProject(*ann_, ann_customer_);
  const std::string bobs_project = MakeProject(*bob_, bob_customer_);
  std::map<std::string, std::pair<int64_t, int64_t>> users, customers, projects;
  auto add = [](auto& sums, const std::string& id, int minutes) {
    sums[id].first += minutes;
    sums[id].second += 1;
  };
  int logged = 0;
  for (int i = 1; i <= 60; ++i) {
    const int minutes = 5 + (i * 37) % 200;
    HttpResult r;
    switch (i % 4) {
      case 0:  // ann on her project
        r = Log(*ann_, Field("projectId", anns_project), minutes);
        add(users, ann_id_, minutes);
        add(customers, ann_customer_, minutes);
        add(projects, anns_project, minutes);
        break;
      case 1:  // bob on his customer, no project
        r = Log(*bob_, Field("customerId", bob_customer_), minutes);
        add(users, bob_id_, minutes);
        add(customers, bob_customer_, minutes);
        break;
      case 2:  // max logs for bob on bob's project
        r = Log(*max_, Field("userId", bob_id_) + "," + Field("projectId", bobs_project), minutes);
        add(users, bob_id_, minutes);
        add(customers, bob_customer_, minutes);
        add(projects, bobs_project, minutes);
        break;
      default:  // ann, on nothing in particular
        r = Log(*ann_, "", minutes);
        add(users, ann_id_, minutes);
        break;
    }
    ASSERT_EQ(r.status, 201) << i << ": " << r.body;
    ++logged;
  }
  ASSERT_EQ(AwaitTotal(*max_, "/api/v1/worklogs?limit=1", logged), logged);
  auto check = [&] {
    EXPECT_EQ(Summary(*max_, "user"), users);
    EXPECT_EQ(Summary(*max_, "customer"), customers);
    EXPECT_EQ(Summary(*max_, "project"), projects);
    auto anns = max_->Send("GET", "/api/v1/worklogs?limit=5&userId=" + ann_id_);
    EXPECT_EQ(Json(anns.body).Int("/meta/total"), users[ann_id_].second);
    EXPECT_EQ(Json(anns.body).Int("/meta/totalMinutes"), users[ann_id_].first);
    EXPECT_EQ(Json(anns.body).Size("/data"), 5u);
    auto on_bobs = max_->Send("GET", "/api/v1/customers/" + bob_customer_ + "/worklogs");
    ASSERT_EQ(on_bobs.status, 200) << on_bobs.body;
    EXPECT_EQ(Json(on_bobs.body).Int("/meta/totalMinutes"), customers[bob_customer_].first);
    auto project = max_->Send("GET", "/api/v1/projects/" + bobs_project);
    EXPECT_EQ(Json(project.body).Int("/data/loggedMinutes"), projects[bobs_project].first);
  };
  check();

  // The read models rebuilt from the log give the same sums.
  auto started = admin_.Send("POST", "/api/v1/admin/projections/worklogs/rebuild");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string phase;
  for (int i = 0; i < 600 && phase != "done" && phase != "failed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    phase = Json(admin_.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase");
  }
  ASSERT_EQ(phase, "done");
  check();
  // And so does a restart, which replays nothing twice.
  app_.Restart();
  HttpClient max(app_.base(), Login("max@keel.test"));
  EXPECT_EQ(Summary(max, "user"), users);
  EXPECT_EQ(Summary(max, "project"), projects);
}

// worklogs:write_own: a task must be the caller's (assigned to them) or on their customer.
TEST_F(WorklogApiTest, ARepLogsTimeOnlyOnTheirTasksAndTheirCustomersTasks) {
  auto make_task = [&](HttpClient& c, const std::string& extra) {
    std::string body = R"({"title":"Call","dueDate":"2026-12-20")";
    if (!extra.empty()) body += "," + extra;
    body += "}";
    auto r = c.Send("POST", "/api/v1/tasks", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  const std::string anns = make_task(*ann_, Field("customerId", ann_customer_));
  // max's task for bob, on ann's customer: bob's by assignment, ann's by customer.
  const std::string shared = make_task(
      *max_, Field("customerId", ann_customer_) + "," + Field("assignedToUserId", bob_id_));
  const int64_t before = LogSize(app_.app(), std::string(kWorklogsTopic));
  auto refused = Log(*bob_, Field("taskId", anns), 30);
  ASSERT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Json(refused.body).Str("/message"),
            "Task " + anns + " is neither assigned to you nor on one of your customers");
  EXPECT_EQ(LogSize(app_.app(), std::string(kWorklogsTopic)), before);
  // Without a customer, no customer check stood in the way: only the assignee may log on it.
  const std::string loose = make_task(*max_, Field("assignedToUserId", ann_id_));
  auto on_loose = Log(*bob_, Field("taskId", loose), 30);
  ASSERT_EQ(on_loose.status, 403) << on_loose.body;
  EXPECT_EQ(Json(on_loose.body).Str("/message"),
            "Task " + loose + " is neither assigned to you nor on one of your customers");
  EXPECT_EQ(LogSize(app_.app(), std::string(kWorklogsTopic)), before);
  EXPECT_EQ(Log(*ann_, Field("taskId", loose), 30).status, 201);
  EXPECT_EQ(Log(*bob_, Field("taskId", "no-such-task"), 30).status, 400);
  EXPECT_EQ(Log(*ann_, Field("taskId", anns), 30).status, 201);
  // bob's by assignment: his log on it names ann's customer, which he may not read (403 there).
  EXPECT_EQ(Log(*ann_, Field("taskId", shared), 30).status, 201);
  EXPECT_EQ(Log(*max_, Field("taskId", anns) + "," + Field("userId", bob_id_), 30).status, 201);
}

// Time is often logged late: a deactivated customer takes no new projects but still work logs.
TEST_F(WorklogApiTest, ADeactivatedCustomerStillTakesWorkLogs) {
  const std::string gone = MakeCustomer(*ann_, "Gone", "gone@x.io");
  ASSERT_EQ(ann_->Send("DELETE", "/api/v1/customers/" + gone).status, 200);
  auto logged = Log(*ann_, Field("customerId", gone), 30);
  ASSERT_EQ(logged.status, 201) << logged.body;
  EXPECT_EQ(Json(logged.body).Str("/data/customerId"), gone);
}

TEST_F(WorklogApiTest, RepsReadTheirOwnLogsAndThoseOnTheirCustomers) {
  ASSERT_EQ(Log(*ann_, Field("customerId", ann_customer_), 10).status, 201);
  ASSERT_EQ(Log(*ann_, "", 20).status, 201);
  ASSERT_EQ(Log(*bob_, Field("customerId", bob_customer_), 30).status, 201);
  ASSERT_EQ(
      Log(*max_, Field("userId", max_id_) + "," + Field("customerId", ann_customer_), 40).status,
      201);
  ASSERT_EQ(Log(*max_, Field("userId", max_id_), 50).status, 201);
  ASSERT_EQ(AwaitTotal(*max_, "/api/v1/worklogs?limit=1", 5), 5);
  // Whose customer a log is on is read from the customers read model: wait for the customers
  // too (a work-log read waits for its own stream only). A loaded sanitizer run saw the customers
  // projection behind, and bob's summary by customer empty.
  ASSERT_EQ(max_->Send("GET", AtPosition("/api/v1/customers?limit=1", customer_positions_.Joined()))
                .status,
            200);
  auto minutes = [](const HttpResult& r) {
    Json j(r.body);
    std::multiset<int64_t> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      out.insert(j.Int(Numbered("/data/", static_cast<int64_t>(i), "/durationMinutes")));
    }
    return out;
  };
  // ann: her two, and max's on her customer.
  EXPECT_EQ(minutes(ann_->Send("GET", "/api/v1/worklogs")), (std::multiset<int64_t>{10, 20, 40}));
  EXPECT_EQ(minutes(bob_->Send("GET", "/api/v1/worklogs")), (std::multiset<int64_t>{30}));
  EXPECT_EQ(minutes(max_->Send("GET", "/api/v1/worklogs")),
            (std::multiset<int64_t>{10, 20, 30, 40, 50}));
  EXPECT_EQ(minutes(ann_->Send("GET", "/api/v1/customers/" + ann_customer_ + "/worklogs")),
            (std::multiset<int64_t>{10, 40}));
  EXPECT_EQ(bob_->Send("GET", "/api/v1/customers/" + ann_customer_ + "/worklogs").status, 403);
  EXPECT_EQ(minutes(ann_->Send("GET", "/api/v1/worklogs?from=2026-03-02&to=2026-03-02")),
            (std::multiset<int64_t>{10, 20, 40}));  // even minutes fall on the 2nd
  EXPECT_EQ(Summary(*ann_, "user"),
            (std::map<std::string, std::pair<int64_t, int64_t>>{{ann_id_, {30, 2}}}));
  EXPECT_EQ(Summary(*bob_, "customer"),
            (std::map<std::string, std::pair<int64_t, int64_t>>{{bob_customer_, {30, 1}}}));
  auto bad = ann_->Send("GET", "/api/v1/worklogs?from=2026-03-05&to=2026-03-01&userId=");
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"userId", "from"}));
  EXPECT_EQ(ann_->Send("GET", "/api/v1/worklogs/summary?by=team").status, 400);
  // The summary pages like the other lists, its totals of every row.
  auto paged = max_->Send("GET", "/api/v1/worklogs/summary?by=user&limit=1&page=2");
  ASSERT_EQ(paged.status, 200) << paged.body;
  Json p(paged.body);
  EXPECT_EQ(p.Size("/data"), 1u);
  EXPECT_EQ(p.Int("/meta/total"), 3);  // ann, bob, max
  EXPECT_EQ(p.Int("/meta/pages"), 3);
  EXPECT_EQ(p.Int("/meta/totalMinutes"), 150);
  EXPECT_EQ(ErrorFields(max_->Send("GET", "/api/v1/worklogs/summary?limit=0").body),
            (std::vector<std::string>{"limit"}));
  // A list says whether it stopped at its bound, and a page may not reach beyond it.
  auto listed = max_->Send("GET", "/api/v1/worklogs?limit=2");
  EXPECT_FALSE(Json(listed.body).Bool("/meta/truncated")) << listed.body;
  EXPECT_EQ(Json(listed.body).Int("/meta/total"), 5);
  auto deep = max_->Send("GET", "/api/v1/worklogs?limit=100&page=101");
  ASSERT_EQ(deep.status, 400) << deep.body;
  EXPECT_EQ(Json(deep.body).Str("/errors/0/message"),
            "Must not reach beyond the 10000th work log; narrow from and to");
}

}  // namespace
}  // namespace keel

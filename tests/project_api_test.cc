// Projects end to end over HTTP: the real server on port 0, the embedded log and RocksDB.
#include <set>
#include <string>

#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class ProjectApiTest : public WorkFixture {
 protected:
  HttpResult Put(HttpClient& c, const std::string& id, const std::string& body,
                 std::vector<std::string> headers = {}) {
    return c.Send("PUT", "/api/v1/projects/" + id, body, headers);
  }
};

TEST_F(ProjectApiTest, CreateIsOwnedByTheCallerAndIdempotent) {
  const int64_t before = LogSize(app_.app(), std::string(kProjectsTopic));
  const std::string body =
      R"({"name":"  Roll-out ","customerId":")" + ann_customer_ + R"(","description":"Phase 1"})";
  auto created = ann_->Send("POST", "/api/v1/projects", body, {"Idempotency-Key: p-1"});
  ASSERT_EQ(created.status, 201) << created.body;
  Json c(created.body);
  const std::string id = c.Str("/data/id");
  EXPECT_EQ(c.Str("/data/name"), "Roll-out");
  EXPECT_EQ(c.Str("/data/customerId"), ann_customer_);
  EXPECT_EQ(c.Str("/data/ownerId"), ann_id_);
  EXPECT_EQ(c.Str("/data/createdBy"), ann_id_);
  EXPECT_EQ(c.Str("/data/status"), "planned");
  EXPECT_EQ(c.Int("/data/version"), 1);
  EXPECT_EQ(c.Str("/meta/position/topic"), "keel.projects");
  EXPECT_EQ(created.headers["etag"], "\"1\"");
  // The same key: the first answer, nothing appended.
  auto again = ann_->Send("POST", "/api/v1/projects", body, {"Idempotency-Key: p-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), id);
  EXPECT_EQ(LogSize(app_.app(), std::string(kProjectsTopic)), before + 1);

  auto read =
      ann_->Send("GET", AtPosition("/api/v1/projects/" + id, created.headers["x-keel-position"]));
  ASSERT_EQ(read.status, 200) << read.body;
  Json r(read.body);
  EXPECT_EQ(r.Str("/data/name"), "Roll-out");
  EXPECT_EQ(r.Int("/data/loggedMinutes"), 0);
  EXPECT_EQ(r.Int("/data/worklogCount"), 0);
  EXPECT_EQ(r.Size("/data/tasks"), 0u);
  EXPECT_EQ(read.headers["etag"], "\"1\"");

  // A manager creates for a rep.
  auto for_ann = max_->Send("POST", "/api/v1/projects",
                            R"({"name":"Managed","status":"active","customerId":")" +
                                bob_customer_ + R"(","ownerId":")" + ann_id_ + R"("})");
  ASSERT_EQ(for_ann.status, 201) << for_ann.body;
  EXPECT_EQ(Json(for_ann.body).Str("/data/ownerId"), ann_id_);
  EXPECT_EQ(Json(for_ann.body).Str("/data/status"), "active");
  EXPECT_EQ(Json(for_ann.body).Str("/data/createdBy"), max_id_);
}

TEST_F(ProjectApiTest, BadInputIsRefusedByFieldAndChangesNothing) {
  const int64_t before = LogSize(app_.app(), std::string(kProjectsTopic));
  auto bad = ann_->Send("POST", "/api/v1/projects",
                        R"({"name":"","status":"done","color":"red","description":5})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Json(bad.body).Str("/message"), "Validation failed");
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"name", "color", "description", "customerId", "status"}));
  EXPECT_EQ(Json(bad.body).Str("/errors/4/message"), "A project starts planned or active");
  auto nobody = ann_->Send("POST", "/api/v1/projects", R"({"name":"X","customerId":"nope"})");
  ASSERT_EQ(nobody.status, 400) << nobody.body;
  EXPECT_EQ(Json(nobody.body).Str("/errors/0/field"), "customerId");
  EXPECT_EQ(Json(nobody.body).Str("/errors/0/message"), "No customer nope");
  auto ghost =
      max_->Send("POST", "/api/v1/projects",
                 R"({"name":"X","customerId":")" + ann_customer_ + R"(","ownerId":"ghost"})");
  ASSERT_EQ(ghost.status, 400) << ghost.body;
  EXPECT_EQ(Json(ghost.body).Str("/errors/0/message"), "No active user ghost");
  const std::string gone = MakeCustomer(*ann_, "Gone", "gone@x.io");
  ASSERT_EQ(ann_->Send("DELETE", "/api/v1/customers/" + gone).status, 200);
  auto deactivated =
      ann_->Send("POST", "/api/v1/projects", R"({"name":"X","customerId":")" + gone + R"("})");
  ASSERT_EQ(deactivated.status, 400) << deactivated.body;
  EXPECT_EQ(Json(deactivated.body).Str("/errors/0/message"),
            "Customer " + gone + " is deactivated");
  auto not_json = ann_->Send("POST", "/api/v1/projects", "{nope");
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  const std::string id = MakeProject(*ann_, ann_customer_);
  auto empty = Put(*ann_, id, "{}");
  EXPECT_EQ(empty.status, 400) << empty.body;
  auto unknown = Put(*ann_, id, R"({"status":"paused"})");
  EXPECT_EQ(ErrorFields(unknown.body), (std::vector<std::string>{"status"}));
  EXPECT_EQ(LogSize(app_.app(), std::string(kProjectsTopic)), before + 1);
}

TEST_F(ProjectApiTest, StatusMovesThroughTheMachineWithExactRefusals) {
  const std::string id = MakeProject(*ann_, ann_customer_);
  auto active = Put(*ann_, id, R"({"status":"active","description":"Go"})", {"If-Match: \"1\""});
  ASSERT_EQ(active.status, 200) << active.body;
  EXPECT_EQ(Json(active.body).Str("/data/status"), "active");
  EXPECT_EQ(Json(active.body).Str("/data/description"), "Go");
  EXPECT_EQ(Json(active.body).Int("/data/version"), 3);  // an edit and a move
  EXPECT_EQ(Json(active.body).Str("/message"), "Project updated");
  auto stale = Put(*ann_, id, R"({"status":"on_hold"})", {"If-Match: \"1\""});
  ASSERT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(Json(stale.body).Str("/error/code"), "CONFLICT");  // kAborted
  ASSERT_EQ(Put(*ann_, id, R"({"status":"on_hold"})").status, 200);
  ASSERT_EQ(Put(*ann_, id, R"({"status":"active"})").status, 200);
  auto same = Put(*ann_, id, R"({"status":"active"})");
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Json(same.body).Str("/message"), "Project unchanged");
  ASSERT_EQ(Put(*ann_, id, R"({"status":"done"})").status, 200);
  auto back = Put(*ann_, id, R"({"status":"active"})");
  ASSERT_EQ(back.status, 409) << back.body;
  EXPECT_EQ(Json(back.body).Str("/message"), "Project " + id + " is done; it cannot become active");
  EXPECT_EQ(Json(back.body).Str("/error/code"), "FAILED_PRECONDITION");
  auto late = Put(*ann_, id, R"({"name":"Late"})");
  ASSERT_EQ(late.status, 409) << late.body;
  EXPECT_EQ(Json(late.body).Str("/message"),
            "Project " + id + " is done; it takes no more changes");

  const std::string planned = MakeProject(*ann_, ann_customer_, "Second");
  auto skip = Put(*ann_, planned, R"({"status":"done"})");
  ASSERT_EQ(skip.status, 409);
  EXPECT_EQ(Json(skip.body).Str("/message"),
            "Project " + planned + " is planned; it cannot become done");
  auto missing = Put(*ann_, "nope", R"({"status":"active"})");
  EXPECT_EQ(missing.status, 404) << missing.body;

  auto read = ann_->Send("GET", "/api/v1/projects/" + id);
  for (int i = 0; i < 100 && Json(read.body).Str("/data/status") != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    read = ann_->Send("GET", "/api/v1/projects/" + id);
  }
  EXPECT_EQ(Json(read.body).Str("/data/status"), "done");
  EXPECT_EQ(Json(read.body).Int("/data/version"), 6);
}

TEST_F(ProjectApiTest, RepsSeeAndChangeOnlyTheirsAndTheirCustomers) {
  const std::string anns = MakeProject(*ann_, ann_customer_, "Ann's");
  const std::string bobs = MakeProject(*bob_, bob_customer_, "Bob's");
  // Max gives ann a project on bob's customer: ann owns it, bob sees it (his customer).
  auto shared = max_->Send("POST", "/api/v1/projects",
                           R"({"name":"Shared","customerId":")" + bob_customer_ +
                               R"(","ownerId":")" + ann_id_ + R"("})");
  ASSERT_EQ(shared.status, 201) << shared.body;
  const std::string shared_id = Json(shared.body).Str("/data/id");
  ASSERT_EQ(AwaitTotal(*max_, "/api/v1/projects?limit=1", 3), 3);
  // Whose customer a project is on is read from the customers read model: wait for the
  // customers too (a project read waits for its own stream's positions only). Under a loaded
  // sanitizer run the customers projection was seen behind.
  ASSERT_EQ(max_->Send("GET", AtPosition("/api/v1/customers?limit=1", customer_positions_.Joined()))
                .status,
            200);

  auto on_theirs = ann_->Send("POST", "/api/v1/projects",
                              R"({"name":"X","customerId":")" + bob_customer_ + R"("})");
  EXPECT_EQ(on_theirs.status, 403) << on_theirs.body;
  EXPECT_EQ(Json(on_theirs.body).Str("/message"),
            "Customer " + bob_customer_ + " is not assigned to you");
  auto for_bob = ann_->Send(
      "POST", "/api/v1/projects",
      R"({"name":"X","customerId":")" + ann_customer_ + R"(","ownerId":")" + bob_id_ + R"("})");
  EXPECT_EQ(for_bob.status, 403) << for_bob.body;
  EXPECT_EQ(ann_->Send("GET", "/api/v1/projects/" + bobs).status, 403);
  auto change = Put(*ann_, bobs, R"({"name":"Mine now"})");
  EXPECT_EQ(change.status, 403);
  EXPECT_EQ(Json(change.body).Str("/message"), "Project " + bobs + " is not yours");
  EXPECT_EQ(bob_->Send("GET", "/api/v1/projects/" + shared_id).status, 200);
  EXPECT_EQ(Put(*bob_, shared_id, R"({"name":"Bob's now"})").status, 403);  // not his
  EXPECT_EQ(Put(*ann_, shared_id, R"({"name":"Renamed"})").status, 200);

  auto ids = [](const HttpResult& r) {
    Json j(r.body);
    std::set<std::string> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      out.insert(j.Str(Numbered("/data/", static_cast<int64_t>(i), "/id")));
    }
    return out;
  };
  EXPECT_EQ(ids(ann_->Send("GET", "/api/v1/projects")), (std::set<std::string>{anns, shared_id}));
  EXPECT_EQ(ids(bob_->Send("GET", "/api/v1/projects")), (std::set<std::string>{bobs, shared_id}));
  EXPECT_EQ(ids(max_->Send("GET", "/api/v1/projects")),
            (std::set<std::string>{anns, bobs, shared_id}));
  EXPECT_EQ(ids(max_->Send("GET", "/api/v1/projects?customerId=" + bob_customer_)),
            (std::set<std::string>{bobs, shared_id}));
  EXPECT_EQ(ids(max_->Send("GET", "/api/v1/projects?ownerId=" + ann_id_)),
            (std::set<std::string>{anns, shared_id}));
  auto paged = max_->Send("GET", "/api/v1/projects?limit=2&page=2");
  EXPECT_EQ(Json(paged.body).Int("/meta/total"), 3);
  EXPECT_EQ(Json(paged.body).Size("/data"), 1u);
  auto bad = max_->Send("GET", "/api/v1/projects?status=open&limit=0");
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"limit", "status"}));
}

// A rep reads a project's tasks by the tasks' rule: assigned to them or on their customers. Ann
// owns a project on Bob's customer: she reads the project, and of its tasks only hers; Bob, whose
// customer it is, reads them all.
TEST_F(ProjectApiTest, ARepSeesOnlyTheProjectsTasksTheyMayRead) {
  auto project = max_->Send("POST", "/api/v1/projects",
                            R"({"name":"Ann's on Bob's","customerId":")" + bob_customer_ +
                                R"(","ownerId":")" + ann_id_ + R"("})");
  ASSERT_EQ(project.status, 201) << project.body;
  const std::string bobs = Json(project.body).Str("/data/id");
  auto task_for = [&](const std::string& title, const std::string& user) {
    auto r = max_->Send("POST", "/api/v1/tasks",
                        R"({"title":")" + title + R"(","dueDate":"2026-12-20","projectId":")" +
                            bobs + R"(","assignedToUserId":")" + user + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  const std::string ann_task = task_for("Ann's", ann_id_);
  task_for("Bob's", bob_id_);
  size_t listed = 0;
  for (int i = 0; i < 250 && listed < 2; ++i) {
    listed = Json(max_->Send("GET", "/api/v1/projects/" + bobs).body).Size("/data/tasks");
    if (listed < 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(listed, 2u);
  auto page = ann_->Send("GET", "/api/v1/projects/" + bobs);
  ASSERT_EQ(page.status, 200) << page.body;
  ASSERT_EQ(Json(page.body).Size("/data/tasks"), 1u) << page.body;
  EXPECT_EQ(Json(page.body).Str("/data/tasks/0/id"), ann_task);
  auto bobs_view = bob_->Send("GET", "/api/v1/projects/" + bobs);
  ASSERT_EQ(bobs_view.status, 200) << bobs_view.body;
  EXPECT_EQ(Json(bobs_view.body).Size("/data/tasks"), 2u) << bobs_view.body;
  // Without tasks:read the page has no tasks member.
  auto role = admin_.Send("POST", "/api/v1/roles",
                          R"({"name":"viewer","permissions":["projects:read_all"]})");
  ASSERT_EQ(role.status, 201) << role.body;
  MakeUser("vic@keel.test", "viewer");
  HttpClient vic(app_.base(), Login("vic@keel.test"));
  auto viewed = vic.Send("GET", "/api/v1/projects/" + bobs);
  ASSERT_EQ(viewed.status, 200) << viewed.body;
  EXPECT_EQ(Json(viewed.body).At("/data/tasks"), std::nullopt) << viewed.body;
  EXPECT_EQ(Json(viewed.body).Str("/data/id"), bobs);
}

}  // namespace
}  // namespace keel

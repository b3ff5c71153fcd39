// Promotions end to end over HTTP: the real server on port 0, the embedded log and RocksDB; two
// sales reps (ann, bob), a manager (max) and the admin.
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "domain/time.h"
#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

constexpr const char* kTenOff = R"({"title":"Ten off","rewardType":"PERCENTAGE","rewardValue":10,)"
                                R"("condition":{"type":"first_purchase"}})";

class PromotionApiTest : public WorkFixture {
 protected:
  // A promotion as `c` defines it; its id. Its position is remembered.
  std::string Define(HttpClient& c, const std::string& body = kTenOff) {
    auto r = c.Send("POST", "/api/v1/promotions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  HttpResult Send(const std::string& method, const std::string& path, const std::string& body = "",
                  std::vector<std::string> headers = {}) {
    auto r = admin_.Send(method, path, body, std::move(headers));
    if (r.status < 300) positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  // `path` once every command this test made is folded.
  HttpResult Get(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, positions_.Joined()));
  }
  std::vector<std::string> Ids(const HttpResult& r) {
    Json j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      out.push_back(j.Str(Numbered("/data/", static_cast<int64_t>(i), "/id")));
    }
    return out;
  }
  // A customer's `path` once every command on the customers stream this test made is folded.
  HttpResult OfCustomer(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, customer_positions_.Joined()));
  }
  int64_t Defined() { return LogSize(app_.app(), std::string(kPromotionsTopic)); }

  Positions positions_;
};

TEST_F(PromotionApiTest, CreateGetAndAKeyedRetryAppendsNothing) {
  const std::string body =
      R"({"title":"  Welcome ","description":"For new customers","rewardType":"FIXED_AMOUNT",)"
      R"("rewardValue":12.5,"condition":{"type":"minimum_purchase","amount":100},)"
      R"("durationDays":30})";
  auto created = Send("POST", "/api/v1/promotions", body, {"Idempotency-Key: promo-1"});
  ASSERT_EQ(created.status, 201) << created.body;
  Json c(created.body);
  const std::string id = c.Str("/data/id");
  EXPECT_EQ(c.Str("/message"), "Promotion created");
  EXPECT_EQ(c.Str("/data/title"), "Welcome");
  EXPECT_EQ(c.Str("/data/description"), "For new customers");
  EXPECT_NE(created.body.find(
                R"("rewardType":"FIXED_AMOUNT","rewardValue":12.50,)"
                R"("condition":{"type":"minimum_purchase","amount":100.00},"durationDays":30,)"
                R"("isActive":true)"),
            std::string::npos)
      << created.body;
  EXPECT_EQ(c.Int("/data/version"), 1);
  EXPECT_EQ(c.Str("/meta/position/topic"), "keel.promotions");
  EXPECT_EQ(created.headers["etag"], "\"1\"");
  EXPECT_EQ(Defined(), 1);

  auto again = Send("POST", "/api/v1/promotions", body, {"Idempotency-Key: promo-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), id);
  EXPECT_EQ(Defined(), 1);

  auto read = Get(admin_, "/api/v1/promotions/" + id);
  ASSERT_EQ(read.status, 200) << read.body;
  Json r(read.body);
  EXPECT_EQ(r.Str("/data/title"), "Welcome");
  EXPECT_EQ(r.Num("/data/rewardValue"), 12.5);
  EXPECT_EQ(r.Num("/data/condition/amount"), 100);
  EXPECT_EQ(r.Int("/data/durationDays"), 30);
  EXPECT_TRUE(r.Bool("/data/isActive"));
  EXPECT_EQ(read.headers["etag"], "\"1\"");
  auto missing = admin_.Send("GET", "/api/v1/promotions/nope");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(Json(missing.body).Str("/message"), "Promotion nope not found");
}

TEST_F(PromotionApiTest, BadInputIsRefusedByFieldAndAppendsNothing) {
  const std::string id = Define(admin_);
  auto bad = admin_.Send("POST", "/api/v1/promotions",
                         R"({"title":"","description":1,"rewardType":"HALF","rewardValue":-1,)"
                         R"("condition":{"type":"customer_level","level":"Wood"},"durationDays":0,)"
                         R"("isActive":"yes","colour":"red"})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  Json b(bad.body);
  EXPECT_FALSE(b.Bool("/success"));
  EXPECT_EQ(b.Str("/message"), "Validation failed");
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"title", "description", "rewardType", "rewardValue",
                                      "condition.level", "durationDays", "isActive", "colour"}));
  auto absent = admin_.Send("POST", "/api/v1/promotions", "{}");
  EXPECT_EQ(ErrorFields(absent.body),
            (std::vector<std::string>{"title", "rewardType", "rewardValue", "condition"}));
  auto percent = admin_.Send("POST", "/api/v1/promotions",
                             R"({"title":"T","rewardType":"PERCENTAGE","rewardValue":100.5,)"
                             R"("condition":{"type":"referral"}})");
  EXPECT_EQ(ErrorFields(percent.body), (std::vector<std::string>{"rewardValue"}));
  auto money = admin_.Send("POST", "/api/v1/promotions",
                           R"({"title":"T","rewardType":"FIXED_AMOUNT","rewardValue":1.005,)"
                           R"("condition":{"type":"minimum_purchase","amount":0}})");
  EXPECT_EQ(ErrorFields(money.body), (std::vector<std::string>{"rewardValue", "condition.amount"}));
  EXPECT_EQ(admin_.Send("POST", "/api/v1/promotions", "{nope").status, 400);
  // A replace is a whole promotion: the same rules.
  auto put = admin_.Send("PUT", "/api/v1/promotions/" + id, R"({"title":"Only a title"})");
  ASSERT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(ErrorFields(put.body),
            (std::vector<std::string>{"rewardType", "rewardValue", "condition"}));
  EXPECT_EQ(admin_.Send("PUT", "/api/v1/promotions/" + id, kTenOff, {"If-Match: soon"}).status,
            400);
  EXPECT_EQ(Defined(), 1);
  EXPECT_EQ(Json(Get(admin_, "/api/v1/promotions/" + id).body).Int("/data/version"), 1);
}

TEST_F(PromotionApiTest, ReplaceHonoursIfMatchAndDeleteDeactivates) {
  const std::string id = Define(admin_);
  const std::string replacement =
      R"({"title":"Gold week","rewardType":"FIXED_AMOUNT","rewardValue":5,)"
      R"("condition":{"type":"customer_level","level":"Gold"},"durationDays":7})";
  auto replaced = Send("PUT", "/api/v1/promotions/" + id, replacement, {"If-Match: \"1\""});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  Json r(replaced.body);
  EXPECT_EQ(r.Str("/message"), "Promotion updated");
  EXPECT_EQ(r.Str("/data/title"), "Gold week");
  EXPECT_EQ(r.Str("/data/condition/level"), "Gold");
  EXPECT_EQ(r.Int("/data/version"), 2);
  EXPECT_EQ(replaced.headers["etag"], "\"2\"");
  auto stale = Send("PUT", "/api/v1/promotions/" + id, kTenOff, {"If-Match: \"1\""});
  ASSERT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(Json(stale.body).Str("/error/code"), "CONFLICT");
  auto same = Send("PUT", "/api/v1/promotions/" + id, replacement);
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Json(same.body).Str("/message"), "Promotion unchanged");
  EXPECT_EQ(same.headers["x-keel-position"], "");
  EXPECT_EQ(Defined(), 2);

  EXPECT_EQ(Send("DELETE", "/api/v1/promotions/" + id, "", {"If-Match: \"1\""}).status, 409);
  auto deleted = Send("DELETE", "/api/v1/promotions/" + id, "", {"If-Match: \"2\""});
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(Json(deleted.body).Str("/message"), "Promotion deactivated");
  EXPECT_FALSE(Json(deleted.body).Bool("/data/isActive"));
  auto again = Send("DELETE", "/api/v1/promotions/" + id);
  EXPECT_EQ(Json(again.body).Str("/message"), "Promotion already inactive");
  EXPECT_EQ(Defined(), 3);
  auto read = Get(admin_, "/api/v1/promotions/" + id);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_FALSE(Json(read.body).Bool("/data/isActive"));
  EXPECT_EQ(Json(read.body).Int("/data/version"), 3);
  // Without isActive a replace activates it again.
  auto back = Send("PUT", "/api/v1/promotions/" + id, replacement);
  EXPECT_TRUE(Json(back.body).Bool("/data/isActive"));

  EXPECT_EQ(Send("DELETE", "/api/v1/promotions/nope").status, 404);
  EXPECT_EQ(Send("PUT", "/api/v1/promotions/nope", kTenOff).status, 404);
}

TEST_F(PromotionApiTest, ListsSearchTheTitleFilterAndPage) {
  auto titled = [](const std::string& title) {
    return R"({"title":")" + title +
           R"(","rewardType":"PERCENTAGE","rewardValue":5,"condition":{"type":"referral"}})";
  };
  const std::string summer = Define(admin_, titled("Summer Sale"));
  const std::string welcome = Define(admin_, titled("Welcome"));
  const std::string gold = Define(admin_, titled("summer gold"));
  ASSERT_EQ(Send("DELETE", "/api/v1/promotions/" + welcome).status, 200);
  auto all = Get(admin_, "/api/v1/promotions");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Ids(all), (std::vector<std::string>{gold, welcome, summer}));
  EXPECT_EQ(Json(all.body).Int("/meta/total"), 3);
  EXPECT_EQ(Ids(Get(admin_, "/api/v1/promotions?search=SUMMER")),
            (std::vector<std::string>{gold, summer}));
  EXPECT_EQ(Ids(Get(admin_, "/api/v1/promotions?isActive=false")),
            (std::vector<std::string>{welcome}));
  EXPECT_EQ(Ids(Get(admin_, "/api/v1/promotions?isActive=true&search=sale")),
            (std::vector<std::string>{summer}));
  auto paged = Get(admin_, "/api/v1/promotions?limit=2&page=2");
  EXPECT_EQ(Ids(paged), (std::vector<std::string>{summer}));
  EXPECT_EQ(Json(paged.body).Int("/meta/pages"), 2);
  auto bad = admin_.Send("GET", "/api/v1/promotions?limit=0&isActive=maybe");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"limit", "isActive"}));
}

TEST_F(PromotionApiTest, EveryRoleReadsAndOnlyAdminsAndManagersDefine) {
  const std::string id = Define(admin_);
  EXPECT_EQ(Get(*ann_, "/api/v1/promotions/" + id).status, 200);
  EXPECT_EQ(Get(*ann_, "/api/v1/promotions").status, 200);
  EXPECT_EQ(ann_->Send("POST", "/api/v1/promotions", kTenOff).status, 403);
  EXPECT_EQ(ann_->Send("PUT", "/api/v1/promotions/" + id, kTenOff).status, 403);
  EXPECT_EQ(ann_->Send("DELETE", "/api/v1/promotions/" + id).status, 403);
  EXPECT_EQ(max_->Send("POST", "/api/v1/promotions", kTenOff).status, 201);
  EXPECT_EQ(HttpClient(app_.base()).Send("GET", "/api/v1/promotions").status, 401);
  EXPECT_EQ(Defined(), 2);
}

TEST_F(PromotionApiTest, DefinitionsOutliveARestart) {
  const std::string kept = Define(admin_);
  const std::string off = Define(admin_);
  ASSERT_EQ(Send("PUT", "/api/v1/promotions/" + kept,
                 R"({"title":"Kept","rewardType":"FIXED_AMOUNT","rewardValue":3,)"
                 R"("condition":{"type":"referral"}})")
                .status,
            200);
  ASSERT_EQ(Send("DELETE", "/api/v1/promotions/" + off).status, 200);
  auto keyed = Send("POST", "/api/v1/promotions", kTenOff, {"Idempotency-Key: before-restart"});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  ASSERT_EQ(Json(Get(admin_, "/api/v1/promotions").body).Int("/meta/total"), 3);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  auto read = admin.Send("GET", "/api/v1/promotions/" + kept);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(Json(read.body).Str("/data/title"), "Kept");
  EXPECT_EQ(Json(read.body).Int("/data/version"), 2);
  EXPECT_FALSE(Json(admin.Send("GET", "/api/v1/promotions/" + off).body).Bool("/data/isActive"));
  auto stale = admin.Send("PUT", "/api/v1/promotions/" + kept, kTenOff, {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409) << stale.body;
  auto replay =
      admin.Send("POST", "/api/v1/promotions", kTenOff, {"Idempotency-Key: before-restart"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), Json(keyed.body).Str("/data/id"));
  EXPECT_EQ(Defined(), 5);
}

HttpResult Assign(HttpClient& c, const std::string& promotion, const std::string& customer,
                  std::vector<std::string> headers = {}) {
  return c.Send("POST", "/api/v1/promotions/" + promotion + "/assign",
                R"({"customerId":")" + customer + R"("})", std::move(headers));
}

TEST_F(PromotionApiTest, AssignByHandAndListTheCustomersPromotions) {
  const std::string id =
      Define(admin_, R"({"title":"Week off","rewardType":"FIXED_AMOUNT","rewardValue":5,)"
                     R"("condition":{"type":"referral"},"durationDays":7})");
  const std::string forever = Define(admin_);
  const int64_t before = LogSize(app_.app());
  auto assigned = Assign(admin_, id, ann_customer_, {"Idempotency-Key: assign-1"});
  ASSERT_EQ(assigned.status, 201) << assigned.body;
  customer_positions_.Remember(assigned.headers["x-keel-position"]);
  Json a(assigned.body);
  EXPECT_EQ(a.Str("/message"), "Promotion assigned");
  const std::string assignment = a.Str("/data/id");
  EXPECT_EQ(a.Str("/data/promotionId"), id);
  EXPECT_EQ(a.Str("/data/customerId"), ann_customer_);
  EXPECT_EQ(a.Str("/data/title"), "Week off");
  EXPECT_EQ(a.Str("/data/rewardType"), "FIXED_AMOUNT");
  EXPECT_EQ(a.Num("/data/rewardValue"), 5);
  EXPECT_EQ(a.Str("/data/reason"), "manual");
  EXPECT_EQ(a.Str("/data/status"), "available");
  auto assigned_at = ParseIso8601(a.Str("/data/assignedAt"));
  auto expires_at = ParseIso8601(a.Str("/data/expiresAt"));
  ASSERT_TRUE(assigned_at && expires_at);
  EXPECT_EQ(*expires_at - *assigned_at, 7 * 86'400'000);
  EXPECT_EQ(a.Str("/meta/position/topic"), "keel.customers");
  EXPECT_EQ(LogSize(app_.app()), before + 1);
  // A keyed retry: the first answer, nothing appended.
  auto again = Assign(admin_, id, ann_customer_, {"Idempotency-Key: assign-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), assignment);
  // Without the key, the same promotion while the first is unused and unexpired: 409.
  auto twice = Assign(admin_, id, ann_customer_);
  ASSERT_EQ(twice.status, 409) << twice.body;
  EXPECT_NE(Json(twice.body)
                .Str("/message")
                .find("already holds promotion " + id + ", unused and unexpired"),
            std::string::npos)
      << twice.body;
  EXPECT_EQ(LogSize(app_.app()), before + 1);
  // Another promotion, and the same one for another customer, are fine.
  auto other = Assign(*max_, forever, ann_customer_);
  ASSERT_EQ(other.status, 201) << other.body;
  customer_positions_.Remember(other.headers["x-keel-position"]);
  EXPECT_EQ(Json(other.body).At("/data/expiresAt")->is_null(), true);
  auto bobs = Assign(admin_, id, bob_customer_);
  ASSERT_EQ(bobs.status, 201) << bobs.body;
  customer_positions_.Remember(bobs.headers["x-keel-position"]);

  auto listed = OfCustomer(admin_, "/api/v1/customers/" + ann_customer_ + "/promotions");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(Ids(listed), (std::vector<std::string>{Json(other.body).Str("/data/id"), assignment}));
  Json l(listed.body);
  EXPECT_EQ(l.Int("/meta/total"), 2);
  EXPECT_EQ(l.Str("/data/1/status"), "available");
  EXPECT_EQ(l.Str("/data/1/title"), "Week off");
  EXPECT_EQ(
      Json(OfCustomer(admin_, "/api/v1/customers/" + ann_customer_ + "/promotions?status=expired")
               .body)
          .Int("/meta/total"),
      0);
  EXPECT_EQ(
      Json(OfCustomer(admin_, "/api/v1/customers/" + ann_customer_ + "/promotions?limit=1&page=2")
               .body)
          .Str("/data/0/id"),
      assignment);
  auto bad = admin_.Send("GET", "/api/v1/customers/" + ann_customer_ + "/promotions?status=old");
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"status"}));
  EXPECT_EQ(OfCustomer(admin_, "/api/v1/customers/nope/promotions").status, 404);
  // The customer's history shows it.
  auto history = OfCustomer(admin_, "/api/v1/customers/" + ann_customer_ + "/events");
  EXPECT_NE(history.body.find("PromotionAssigned"), std::string::npos) << history.body;
}

TEST_F(PromotionApiTest, WhatCannotBeAssignedIsRefusedByName) {
  const std::string id = Define(admin_);
  const int64_t before = LogSize(app_.app());
  auto unknown_customer = Assign(admin_, id, "nope");
  ASSERT_EQ(unknown_customer.status, 400) << unknown_customer.body;
  EXPECT_EQ(ErrorFields(unknown_customer.body), (std::vector<std::string>{"customerId"}));
  auto unknown_promotion = Assign(admin_, "nope", ann_customer_);
  ASSERT_EQ(unknown_promotion.status, 404) << unknown_promotion.body;
  EXPECT_EQ(Json(unknown_promotion.body).Str("/message"), "Promotion nope not found");
  auto bad_body = admin_.Send("POST", "/api/v1/promotions/" + id + "/assign", R"({"who":1})");
  EXPECT_EQ(ErrorFields(bad_body.body), (std::vector<std::string>{"who", "customerId"}));
  ASSERT_EQ(Send("DELETE", "/api/v1/promotions/" + id).status, 200);
  auto inactive = Assign(admin_, id, ann_customer_);
  ASSERT_EQ(inactive.status, 400) << inactive.body;
  EXPECT_EQ(ErrorFields(inactive.body), (std::vector<std::string>{"promotionId"}));
  EXPECT_EQ(Json(inactive.body).Str("/errors/0/message"), "Promotion " + id + " is inactive");
  EXPECT_EQ(LogSize(app_.app()), before);
}

TEST_F(PromotionApiTest, RacingAssignmentsOfOnePromotionHaveExactlyOneWinner) {
  const std::string id = Define(admin_);
  const int64_t before = LogSize(app_.app());
  const std::string token = app_.token();
  std::atomic<int> assigned{0}, refused{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 16; ++i) {
    racers.emplace_back([&] {
      HttpClient c(app_.base(), token);
      auto r = c.Send("POST", "/api/v1/promotions/" + id + "/assign",
                      R"({"customerId":")" + ann_customer_ + R"("})");
      if (r.status == 201) ++assigned;
      if (r.status == 409) ++refused;
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(assigned.load(), 1);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(LogSize(app_.app()), before + 1);
}

TEST_F(PromotionApiTest, ARepAssignsToAndReadsTheirOwnCustomersOnly) {
  const std::string id = Define(admin_);
  const int64_t before = LogSize(app_.app());
  auto theirs = Assign(*bob_, id, ann_customer_);
  ASSERT_EQ(theirs.status, 403) << theirs.body;
  EXPECT_EQ(Json(theirs.body).Str("/message"),
            "Customer " + ann_customer_ + " is not assigned to you");
  EXPECT_EQ(LogSize(app_.app()), before);
  auto mine = Assign(*ann_, id, ann_customer_);
  ASSERT_EQ(mine.status, 201) << mine.body;
  customer_positions_.Remember(mine.headers["x-keel-position"]);
  EXPECT_EQ(OfCustomer(*ann_, "/api/v1/customers/" + ann_customer_ + "/promotions").status, 200);
  EXPECT_EQ(OfCustomer(*bob_, "/api/v1/customers/" + ann_customer_ + "/promotions").status, 403);
  EXPECT_EQ(Json(OfCustomer(*max_, "/api/v1/customers/" + ann_customer_ + "/promotions").body)
                .Int("/meta/total"),
            1);
  EXPECT_EQ(HttpClient(app_.base())
                .Send("GET", "/api/v1/customers/" + ann_customer_ + "/promotions")
                .status,
            401);
}

TEST_F(PromotionApiTest, AssignmentsOutliveARebuildAndARestart) {
  const std::string id = Define(admin_);
  auto keyed = Assign(admin_, id, ann_customer_, {"Idempotency-Key: before-restart"});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  customer_positions_.Remember(keyed.headers["x-keel-position"]);
  const std::string path = "/api/v1/customers/" + ann_customer_ + "/promotions";
  const std::vector<std::string> listed = Ids(OfCustomer(admin_, path));
  ASSERT_EQ(listed.size(), 1u);

  auto started = admin_.Send("POST", "/api/v1/admin/projections/customer_promotions/rebuild");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string phase;
  for (int i = 0; i < 600 && phase != "done" && phase != "failed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    phase = Json(admin_.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase");
  }
  ASSERT_EQ(phase, "done");
  EXPECT_EQ(Ids(OfCustomer(admin_, path)), listed);
  EXPECT_EQ(Json(Get(admin_, "/api/v1/promotions/" + id).body).Str("/data/id"), id);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  EXPECT_EQ(Ids(admin.Send("GET", path)), listed);
  // The write side folded the log again: the duplicate is still refused, the key still answered.
  const int64_t before = LogSize(app_.app());
  EXPECT_EQ(Assign(admin, id, ann_customer_).status, 409);
  auto replay = Assign(admin, id, ann_customer_, {"Idempotency-Key: before-restart"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), listed[0]);
  EXPECT_EQ(LogSize(app_.app()), before);
}

}  // namespace
}  // namespace keel

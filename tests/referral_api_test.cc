// Referral promotions end to end (issue 16): the real App on port 0 over the embedded log and
// RocksDB. A referred customer's first order qualifies the referral (ReferralQualified, with the
// order) while a referral promotion is active; the referral keeper credits it under the referrer's
// key (ReferralCredited and the referral promotions the referrer earned), once, across further
// orders, passes and restarts, and the referrer can redeem what it earned (in the referrer's own
// partition).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "commands/referral_keeper.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class ReferralApiTest : public WorkFixture {
 protected:
  std::string Promotion(const std::string& condition) {
    auto r = admin_.Send("POST", "/api/v1/promotions",
                         R"({"title":")" + condition +
                             R"(","rewardType":"PERCENTAGE","rewardValue":10,"condition":)"
                             R"({"type":")" +
                             condition + R"("},"durationDays":30})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  std::string Referred(const std::string& name, const std::string& referrer) {
    auto r = admin_.Send("POST", "/api/v1/customers",
                         R"({"name":")" + name + R"(","email":")" + name +
                             R"(@ref.io","referredBy":")" + referrer + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  HttpResult Order(const std::string& customer, const std::string& extra = "",
                   HttpClient* c = nullptr) {
    auto r = (c ? *c : admin_)
                 .Send("POST", "/api/v1/orders",
                       R"({"customerId":")" + customer + R"(","orderAmount":50)" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  // The customer's promotions as "promotionId:reason:status", once there are `at_least` (fifteen
  // seconds at most: the keeper credits within about a second, slower under the sanitizers).
  std::vector<std::string> Promotions(HttpClient& c, const std::string& customer, size_t at_least) {
    std::vector<std::string> out;
    for (int i = 0; i < 750; ++i) {
      Json j(c.Send("GET", AtPosition("/api/v1/customers/" + customer + "/promotions",
                                      positions_.Joined()))
                 .body);
      out.clear();
      for (size_t k = 0; k < j.Size("/data"); ++k) {
        const std::string at = Numbered("/data/", static_cast<int64_t>(k));
        out.push_back(j.Str(at + "/promotionId") + ":" + j.Str(at + "/reason") + ":" +
                      j.Str(at + "/status"));
      }
      if (out.size() >= at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return out;
  }
  std::vector<std::string> History(HttpClient& c, const std::string& customer) {
    Json j(c.Send("GET", "/api/v1/customers/" + customer + "/events").body);
    std::vector<std::string> types;
    for (size_t k = 0; k < j.Size("/data"); ++k) {
      types.push_back(j.Str(Numbered("/data/", static_cast<int64_t>(k), "/type")));
    }
    return types;
  }
  size_t Pending() { return app_.app().commands().PendingReferrals(10).size(); }

  Positions positions_;  // of the orders
};

TEST_F(ReferralApiTest, TheReferrerEarnsItsPromotionOnceOnTheReferredFirstOrderAndRedeemsIt) {
  const std::string referral = Promotion("referral");
  const std::string first = Promotion("first_purchase");
  const std::string ada = MakeCustomer(admin_, "Ada", "ada@ref.io");
  const std::string ben = Referred("ben", ada);

  Order(ben);
  // The referred customer earns what their order earns (first_purchase), not the referral.
  EXPECT_EQ(Promotions(admin_, ben, 1),
            std::vector<std::string>{first + ":first_purchase:available"});
  EXPECT_EQ(Promotions(admin_, ada, 1), std::vector<std::string>{referral + ":referral:available"});
  EXPECT_EQ(Pending(), 0u);
  // A second order is not the first: nothing more, whatever the keeper's passes.
  Order(ben);
  const ReferralKeeper::Pass pass = app_.app().referrals().RunOnce();
  EXPECT_EQ(pass.found, 0u);
  EXPECT_EQ(Promotions(admin_, ada, 0).size(), 1u);
  // The credit is in the referrer's history, before the promotion it gave.
  std::vector<std::string> history;
  for (int i = 0; i < 250 && history.size() < 3; ++i) {
    history = History(admin_, ada);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(history, (std::vector<std::string>{"CustomerRegistered", "ReferralCredited",
                                               "PromotionAssigned"}));
  // And its qualification, once, in the referred customer's (with the first order).
  EXPECT_EQ(std::ranges::count(History(admin_, ben), "ReferralQualified"), 1);

  // The referrer redeems it: its order is decided and folded in the referrer's partition.
  Json promotions(admin_.Send("GET", "/api/v1/customers/" + ada + "/promotions").body);
  const std::string assignment = promotions.Str("/data/0/id");
  Order(ada, R"(,"promotionAssignmentId":")" + assignment + "\"");
  // (Ada's own first order earns first_purchase; newest first.)
  const std::vector<std::string> held = {first + ":first_purchase:available",
                                         referral + ":referral:used"};
  EXPECT_EQ(Promotions(admin_, ada, 2), held);

  // After a restart: nothing pending, nothing credited again.
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(app_.app().referrals().RunOnce().credited, 0u);
  EXPECT_EQ(Promotions(admin, ada, 0), held);
}

TEST_F(ReferralApiTest, AReferralLeftPendingIsCreditedAfterARestartOrACrash) {
  const std::string referral = Promotion("referral");
  const std::string ada = MakeCustomer(admin_, "Ada", "ada@ref.io");
  const std::string dan = MakeCustomer(admin_, "Dan", "dan@ref.io");
  const std::string ben = Referred("ben", ada);
  const std::string cat = Referred("cat", dan);
  // No keeper: as if the process stopped between the order and its credit.
  app_.app().referrals().Stop();
  Order(ben);
  EXPECT_EQ(Pending(), 1u);
  EXPECT_TRUE(Promotions(admin_, ada, 0).empty());

  // A clean stop: the pending referral comes back with the write model's snapshot, and the
  // keeper's first pass credits it.
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  EXPECT_TRUE(app_.app().commands().last_load().from_snapshot);
  EXPECT_EQ(Promotions(admin, ada, 1), std::vector<std::string>{referral + ":referral:available"});

  // A crash leaves no snapshot after the order: the start folds the log, and the pending
  // referral comes back from its ReferralQualified.
  app_.app().referrals().Stop();
  Order(cat, "", &admin);
  EXPECT_EQ(Pending(), 1u);
  app_.Stop();
  std::filesystem::remove_all(app_.config().data_dir + "/snapshots");
  app_.Start();
  HttpClient again(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(again).status, 200);
  EXPECT_FALSE(app_.app().commands().last_load().from_snapshot);
  EXPECT_EQ(Promotions(again, dan, 1), std::vector<std::string>{referral + ":referral:available"});
  EXPECT_EQ(Pending(), 0u);
  EXPECT_EQ(Promotions(again, ada, 0).size(), 1u) << "ben's referral is not credited again";
  EXPECT_EQ(std::ranges::count(History(again, cat), "ReferralQualified"), 1);
}

// The order's append ends with its ReferralQualified: a keyed retry of the order, after a start
// that folded the log (no snapshot), still answers with the order.
TEST_F(ReferralApiTest, AKeyedRetryOfAQualifyingOrderAnswersTheOrderAfterALogFold) {
  Promotion("referral");
  const std::string ada = MakeCustomer(admin_, "Ada", "ada@ref.io");
  const std::string ben = Referred("ben", ada);
  const std::string body = R"({"customerId":")" + ben + R"(","orderAmount":50})";
  auto first = admin_.Send("POST", "/api/v1/orders", body, {"Idempotency-Key: ben-first"});
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string order = Json(first.body).Str("/data/id");
  app_.Stop();
  std::filesystem::remove_all(app_.config().data_dir + "/snapshots");
  app_.Start();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  auto again = admin.Send("POST", "/api/v1/orders", body, {"Idempotency-Key: ben-first"});
  ASSERT_LT(again.status, 300) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), order) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/customerId"), ben) << again.body;
}

TEST_F(ReferralApiTest, AFirstOrderWhileNoReferralPromotionIsActiveQualifiesNothing) {
  const std::string ada = MakeCustomer(admin_, "Ada", "ada@ref.io");
  const std::string ben = Referred("ben", ada);
  Order(ben);
  EXPECT_EQ(Pending(), 0u);
  // A referral promotion defined afterwards is not given for the past order, nor for a later
  // one (it is not the first).
  Promotion("referral");
  Order(ben);
  EXPECT_EQ(app_.app().referrals().RunOnce().found, 0u);
  EXPECT_TRUE(Promotions(admin_, ada, 0).empty());
  EXPECT_EQ(std::ranges::count(History(admin_, ben), "ReferralQualified"), 0);
}

}  // namespace
}  // namespace keel

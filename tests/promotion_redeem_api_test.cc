// An order redeems a promotion its customer holds (issue 16), end to end over HTTP: the real
// server on port 0, the embedded log and RocksDB; two sales reps (ann, bob), a manager (max) and
// the admin. The discount is decided with the order under the customers stream's lock, recorded
// in its OrderPlaced, and every read (the order, the customer's figures, the order's balance, the
// customer's promotions) serves the net amount.
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "domain/event.h"
#include "domain/promotion_assignment.h"
#include "domain/time.h"
#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class PromotionRedeemApiTest : public WorkFixture {
 protected:
  // A promotion `reward` (e.g. "PERCENTAGE","rewardValue":12.5) lasting `days` (0: forever);
  // its id.
  std::string Define(const std::string& reward, int days = 0) {
    std::string body = R"({"title":"Reward","rewardType":)" + reward;
    body += R"(,"condition":{"type":"referral"})";
    if (days > 0) body += R"(,"durationDays":)" + std::to_string(days);
    body += "}";
    auto r = admin_.Send("POST", "/api/v1/promotions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  // `promotion` given to `customer`: the assignment's id.
  std::string Give(const std::string& promotion, const std::string& customer) {
    auto r = admin_.Send("POST", "/api/v1/promotions/" + promotion + "/assign",
                         R"({"customerId":")" + customer + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  // POST /orders with `fields` (members after customerId) by `c`.
  HttpResult Order(HttpClient& c, const std::string& customer, const std::string& fields,
                   std::vector<std::string> headers = {}) {
    auto r = c.Send("POST", "/api/v1/orders",
                    R"({"customerId":")" + customer + R"(",)" + fields + "}", std::move(headers));
    if (r.status < 300) positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  static std::string Redeeming(const std::string& amount, const std::string& assignment) {
    return R"("orderAmount":)" + amount + R"(,"promotionAssignmentId":")" + assignment + "\"";
  }
  // `path` once every command this test made is folded.
  HttpResult Get(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, positions_.Joined()));
  }
  static int64_t Cents(const Json& j, const std::string& at) {
    return static_cast<int64_t>(std::llround(j.Num(at) * 100));
  }
  struct Served {
    std::string status, order_id, used_at;
  };
  // The customer's assignment `id` as its list serves it.
  Served Assignment(HttpClient& c, const std::string& customer, const std::string& id) {
    Json list(Get(c, "/api/v1/customers/" + customer + "/promotions").body);
    for (size_t i = 0; i < list.Size("/data"); ++i) {
      const std::string at = Numbered("/data/", static_cast<int64_t>(i));
      if (list.Str(at + "/id") == id) {
        return {list.Str(at + "/status"), list.Str(at + "/orderId"), list.Str(at + "/usedAt")};
      }
    }
    ADD_FAILURE() << "no assignment " << id;
    return {};
  }
  // {orderAmount, grossAmount, discount} of an order document `j` at `at` (e.g. "/data").
  std::vector<int64_t> Amounts(const Json& j, const std::string& at) {
    return {Cents(j, at + "/orderAmount"), Cents(j, at + "/grossAmount"),
            Cents(j, at + "/promotion/discount")};
  }
  int64_t Logged() { return LogSize(app_.app()); }

  Positions positions_;
};

TEST_F(PromotionRedeemApiTest, APercentageIsTakenOffTheGrossRoundedHalfUpToTheCent) {
  const std::string promotion = Define(R"("PERCENTAGE","rewardValue":12.5)");
  const std::string as = Give(promotion, ann_customer_);
  // 1.01 × 12.5% = 0.12625: 0.13 off, 0.88 to pay.
  auto placed = Order(admin_, ann_customer_, Redeeming("1.01", as));
  ASSERT_EQ(placed.status, 201) << placed.body;
  Json p(placed.body);
  EXPECT_EQ(Amounts(p, "/data"), (std::vector<int64_t>{88, 101, 13}));
  EXPECT_EQ(p.Str("/data/promotion/assignmentId"), as);
  EXPECT_EQ(p.Str("/data/promotion/promotionId"), promotion);
  EXPECT_EQ(p.Str("/data/promotion/rewardType"), "PERCENTAGE");
  EXPECT_EQ(p.Num("/data/promotion/rewardValue"), 12.5);
  const std::string order = p.Str("/data/id");

  // The order's document, its lists, the customer's figures and the assignment agree.
  Json read(Get(admin_, "/api/v1/orders/" + order).body);
  EXPECT_EQ(Amounts(read, "/data"), (std::vector<int64_t>{88, 101, 13}));
  Json listed(Get(admin_, "/api/v1/customers/" + ann_customer_ + "/orders").body);
  EXPECT_EQ(Amounts(listed, "/data/0"), (std::vector<int64_t>{88, 101, 13}));
  Json all(Get(admin_, "/api/v1/orders?customerId=" + ann_customer_).body);
  EXPECT_EQ(Amounts(all, "/data/0"), (std::vector<int64_t>{88, 101, 13}));
  Json customer(Get(admin_, "/api/v1/customers/" + ann_customer_).body);
  EXPECT_EQ(Cents(customer, "/data/totalSpending"), 88);
  const Served used = Assignment(admin_, ann_customer_, as);
  EXPECT_EQ(used.status, "used");
  EXPECT_EQ(used.order_id, order);
  EXPECT_EQ(ParseIso8601(used.used_at), ParseIso8601(read.Str("/data/createdAt")));
  EXPECT_EQ(Json(Get(admin_, "/api/v1/customers/" + ann_customer_ + "/promotions?status=used").body)
                .Int("/meta/total"),
            1);
}

TEST_F(PromotionRedeemApiTest, AFixedAmountTakesAtMostTheOrderAndMayLeaveNothingToPay) {
  const std::string five = Give(Define(R"("FIXED_AMOUNT","rewardValue":5)"), ann_customer_);
  const std::string fifty = Give(Define(R"("FIXED_AMOUNT","rewardValue":50)"), ann_customer_);
  auto part = Order(admin_, ann_customer_, Redeeming("20", five));
  ASSERT_EQ(part.status, 201) << part.body;
  EXPECT_EQ(Amounts(Json(part.body), "/data"), (std::vector<int64_t>{1500, 2000, 500}));
  auto whole = Order(admin_, ann_customer_, Redeeming("20", fifty));
  ASSERT_EQ(whole.status, 201) << whole.body;
  EXPECT_EQ(Amounts(Json(whole.body), "/data"), (std::vector<int64_t>{0, 2000, 2000}));
  const std::string free_order = Json(whole.body).Str("/data/id");
  Json customer(Get(admin_, "/api/v1/customers/" + ann_customer_).body);
  EXPECT_EQ(Cents(customer, "/data/totalSpending"), 1500);
  EXPECT_EQ(customer.Int("/data/orderCount"), 2);
  // Nothing is due on it, and nothing can be paid on it.
  Json balance(Get(admin_, "/api/v1/orders/" + free_order + "/balance").body);
  EXPECT_EQ(Cents(balance, "/data/outstanding"), 0);
  auto pay = admin_.Send("POST", "/api/v1/transactions",
                         R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + free_order +
                             R"(","paymentMethod":"card","amount":0.01})");
  EXPECT_EQ(pay.status, 400) << pay.body;
  // An order worth nothing after its discount can be cancelled; its promotion stays used.
  auto cancelled =
      admin_.Send("PATCH", "/api/v1/orders/" + free_order + "/status", R"({"status":"Cancelled"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  positions_.Remember(cancelled.headers["x-keel-position"]);
  EXPECT_EQ(Json(Get(admin_, "/api/v1/customers/" + ann_customer_).body).Int("/data/orderCount"),
            1);
  EXPECT_EQ(Assignment(admin_, ann_customer_, fifty).status, "used");
  auto again = Order(admin_, ann_customer_, Redeeming("20", fifty));
  ASSERT_EQ(again.status, 400) << again.body;
  EXPECT_EQ(ErrorFields(again.body), (std::vector<std::string>{"promotionAssignmentId"}));
}

TEST_F(PromotionRedeemApiTest, AGivenOrderAmountIsTheGrossCheckedAgainstTheItems) {
  const std::string as = Give(Define(R"("PERCENTAGE","rewardValue":10)"), ann_customer_);
  const std::string items = R"("items":[{"sku":"A","name":"Apple","qty":3,"price":3.35}])";
  const int64_t before = Logged();
  // The items come to 10.05: an orderAmount of the net (9.04) is refused as not their sum.
  auto net = Order(admin_, ann_customer_, items + "," + Redeeming("9.04", as));
  ASSERT_EQ(net.status, 400) << net.body;
  EXPECT_EQ(ErrorFields(net.body), (std::vector<std::string>{"orderAmount"}));
  EXPECT_EQ(Logged(), before);
  auto gross = Order(admin_, ann_customer_, items + "," + Redeeming("10.05", as));
  ASSERT_EQ(gross.status, 201) << gross.body;
  // 10% of 10.05 = 1.005: 1.01 off.
  EXPECT_EQ(Amounts(Json(gross.body), "/data"), (std::vector<int64_t>{904, 1005, 101}));
}

TEST_F(PromotionRedeemApiTest, UsedExpiredUnknownAndOthersAssignmentsAreRefusedByName) {
  const std::string promotion = Define(R"("PERCENTAGE","rewardValue":10)");
  const std::string anns = Give(promotion, ann_customer_);
  const std::string bobs = Give(promotion, bob_customer_);
  ASSERT_EQ(Order(admin_, ann_customer_, Redeeming("10", anns)).status, 201);
  const int64_t before = Logged();
  auto message_of = [&](const std::string& customer, const std::string& assignment) {
    auto r = Order(admin_, customer, Redeeming("10", assignment));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(ErrorFields(r.body), (std::vector<std::string>{"promotionAssignmentId"}));
    return Json(r.body).Str("/errors/0/message");
  };
  EXPECT_EQ(message_of(ann_customer_, anns),
            "Promotion assignment " + anns + " was used already (by another order)");
  // Another customer's reads as an unknown one: nothing tells that it exists.
  EXPECT_EQ(message_of(ann_customer_, bobs),
            "Promotion assignment " + bobs + " is not one of customer " + ann_customer_ + "'s");
  EXPECT_EQ(message_of(ann_customer_, "no-such"),
            "Promotion assignment no-such is not one of customer " + ann_customer_ + "'s");
  auto bad = Order(admin_, ann_customer_, R"("orderAmount":1,"promotionAssignmentId":5)");
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"promotionAssignmentId"}));
  EXPECT_EQ(Logged(), before);
  EXPECT_EQ(Assignment(admin_, bob_customer_, bobs).status, "available");
}

TEST_F(PromotionRedeemApiTest, AnExpiredAssignmentIsRefusedSayingSo) {
  // A promotion of one day given two days ago (its event appended to the log as the command
  // would have, then folded by a restart): expired now.
  Promotion promotion;
  promotion.id = Define(R"("FIXED_AMOUNT","rewardValue":1)", 1);
  promotion.definition.title = "Reward";
  promotion.definition.reward_type = RewardType::kFixedAmount;
  promotion.definition.reward_value = 100;
  promotion.definition.duration_days = 1;
  const Millis then = SystemClock().NowMillis() - 2 * 86'400'000;
  const std::string as = "expired-assignment";
  const PromotionAssignment given =
      NewAssignment(as, promotion, ann_customer_, "manual", then, "tester");
  EventEnvelope e;
  e.event_id = "given-long-ago";
  e.type = std::string(kPromotionAssigned);
  e.schema_version = CurrentSchemaVersion(e.type);
  e.aggregate_type = std::string(kPromotionAssignmentAggregate);
  e.aggregate_id = as;
  e.aggregate_version = 1;
  e.occurred_at = e.recorded_at = then;
  e.actor = "tester";
  e.payload = EncodePromotionAssigned(given);
  auto appended =
      app_.app().log().Append(std::string(kCustomersTopic), ann_customer_, {EncodeEvent(e)});
  ASSERT_TRUE(appended) << appended.error().message;
  positions_.Remember(std::to_string(appended->partition) + ":" +
                      std::to_string(appended->last_offset));
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  const int64_t before = Logged();
  auto r = Order(admin, ann_customer_, Redeeming("10", as));
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorFields(r.body), (std::vector<std::string>{"promotionAssignmentId"}));
  EXPECT_NE(Json(r.body).Str("/errors/0/message").find(" expired at "), std::string::npos)
      << r.body;
  EXPECT_EQ(Logged(), before);
  EXPECT_EQ(Assignment(admin, ann_customer_, as).status, "expired");
}

TEST_F(PromotionRedeemApiTest, ARepRedeemsOnTheirOwnCustomersOrdersOnly) {
  const std::string promotion = Define(R"("PERCENTAGE","rewardValue":10)");
  const std::string anns = Give(promotion, ann_customer_);
  const int64_t before = Logged();
  auto theirs = Order(*bob_, ann_customer_, Redeeming("10", anns));
  ASSERT_EQ(theirs.status, 403) << theirs.body;
  EXPECT_EQ(Logged(), before);
  auto mine = Order(*ann_, ann_customer_, Redeeming("10", anns));
  ASSERT_EQ(mine.status, 201) << mine.body;
  EXPECT_EQ(Amounts(Json(mine.body), "/data"), (std::vector<int64_t>{900, 1000, 100}));
}

TEST_F(PromotionRedeemApiTest, RacingOrdersRedeemingOneAssignmentHaveExactlyOneWinner) {
  const std::string as = Give(Define(R"("FIXED_AMOUNT","rewardValue":3)"), ann_customer_);
  const int64_t before = Logged();
  const std::string token = app_.token();
  std::atomic<int> placed{0}, refused{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 16; ++i) {
    racers.emplace_back([&] {
      HttpClient c(app_.base(), token);
      auto r = c.Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + ann_customer_ + R"(",)" + Redeeming("10", as) + "}");
      if (r.status == 201) ++placed;
      if (r.status == 400 &&
          ErrorFields(r.body) == std::vector<std::string>{"promotionAssignmentId"}) {
        ++refused;
      }
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(placed.load(), 1);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(Logged(), before + 1);
}

TEST_F(PromotionRedeemApiTest, AReSentOrderAndAKeyedRetryAnswerTheFirstAnswer) {
  const std::string as = Give(Define(R"("FIXED_AMOUNT","rewardValue":2.5)"), ann_customer_);
  const std::string fields = R"("orderId":"ext-9",)" + Redeeming("10", as);
  auto first = Order(admin_, ann_customer_, fields, {"Idempotency-Key: redeem-1"});
  ASSERT_EQ(first.status, 201) << first.body;
  const int64_t before = Logged();
  auto keyed = Order(admin_, ann_customer_, fields, {"Idempotency-Key: redeem-1"});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  EXPECT_EQ(Json(keyed.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(Amounts(Json(keyed.body), "/data"), (std::vector<int64_t>{750, 1000, 250}));
  // Re-sent without the key, once the read model has the order: the order as placed.
  Get(admin_, "/api/v1/orders/" + Json(first.body).Str("/data/id"));
  auto resent = Order(admin_, ann_customer_, fields);
  ASSERT_EQ(resent.status, 200) << resent.body;
  EXPECT_EQ(Json(resent.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(Amounts(Json(resent.body), "/data"), (std::vector<int64_t>{750, 1000, 250}));
  EXPECT_EQ(Logged(), before);
}

TEST_F(PromotionRedeemApiTest, BulkIngestionRedeemsThroughTheSameDecision) {
  const std::string as = Give(Define(R"("PERCENTAGE","rewardValue":50)"), ann_customer_);
  std::string body = R"({"customerId":")" + ann_customer_ + R"(",)" + Redeeming("30", as) + "}\n";
  body += R"({"customerId":")" + ann_customer_ + R"(",)" + Redeeming("40", as) + "}\n";
  auto r = admin_.Send("POST", "/api/v1/ingest/orders", body,
                       {"Content-Type: application/x-ndjson"}, 60000);
  ASSERT_EQ(r.status, 200) << r.body;
  Json job(r.body);
  EXPECT_EQ(job.Int("/data/created"), 1);
  EXPECT_EQ(job.Int("/data/rejected"), 1);
  EXPECT_EQ(job.Int("/data/errors/0/index"), 1);
  EXPECT_EQ(job.Str("/data/errors/0/errors/0/field"), "promotionAssignmentId");
  EXPECT_EQ(AwaitTotal(admin_, "/api/v1/customers/" + ann_customer_ + "/promotions?status=used", 1),
            1);
  Json customer(admin_.Send("GET", "/api/v1/customers/" + ann_customer_).body);
  EXPECT_EQ(Cents(customer, "/data/totalSpending"), 1500);
}

TEST_F(PromotionRedeemApiTest, RedemptionsOutliveARebuildAndARestart) {
  const std::string promotion = Define(R"("PERCENTAGE","rewardValue":10)");
  const std::string as = Give(promotion, ann_customer_);
  auto placed =
      Order(admin_, ann_customer_, Redeeming("99.95", as), {"Idempotency-Key: before-restart"});
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string order = Json(placed.body).Str("/data/id");
  const std::vector<int64_t> amounts{8995, 9995, 1000};  // 9.995 → 10.00 off
  ASSERT_EQ(Amounts(Json(Get(admin_, "/api/v1/orders/" + order).body), "/data"), amounts);
  auto paid = admin_.Send("POST", "/api/v1/transactions",
                          R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + order +
                              R"(","paymentMethod":"card","amount":80})");
  ASSERT_EQ(paid.status, 201) << paid.body;
  positions_.Remember(paid.headers["x-keel-position"]);
  auto check = [&](HttpClient& c, bool wait) {
    auto get = [&](const std::string& path) { return wait ? Get(c, path) : c.Send("GET", path); };
    EXPECT_EQ(Amounts(Json(get("/api/v1/orders/" + order).body), "/data"), amounts);
    Json balance(get("/api/v1/orders/" + order + "/balance").body);
    EXPECT_EQ(Cents(balance, "/data/outstanding"), 995);
    EXPECT_EQ(Cents(Json(get("/api/v1/customers/" + ann_customer_).body), "/data/totalSpending"),
              8995);
    Json list(get("/api/v1/customers/" + ann_customer_ + "/promotions").body);
    EXPECT_EQ(list.Str("/data/0/status"), "used");
    EXPECT_EQ(list.Str("/data/0/orderId"), order);
  };
  check(admin_, true);

  auto started = admin_.Send("POST", "/api/v1/admin/projections/customers/rebuild");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string phase;
  for (int i = 0; i < 600 && phase != "done" && phase != "failed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    phase = Json(admin_.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase");
  }
  ASSERT_EQ(phase, "done");
  check(admin_, true);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  check(admin, false);
  // The write side folded the log again: the assignment is still used, the key still answered,
  // and the payment cap is the net amount.
  const int64_t before = Logged();
  auto again =
      admin.Send("POST", "/api/v1/orders",
                 R"({"customerId":")" + ann_customer_ + R"(",)" + Redeeming("5", as) + "}");
  EXPECT_EQ(ErrorFields(again.body), (std::vector<std::string>{"promotionAssignmentId"}));
  auto replay =
      admin.Send("POST", "/api/v1/orders",
                 R"({"customerId":")" + ann_customer_ + R"(",)" + Redeeming("99.95", as) + "}",
                 {"Idempotency-Key: before-restart"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), order);
  auto over = admin.Send("POST", "/api/v1/transactions",
                         R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + order +
                             R"(","paymentMethod":"card","amount":9.96})");
  EXPECT_EQ(ErrorFields(over.body), (std::vector<std::string>{"amount"}));
  EXPECT_EQ(Logged(), before);
}

// Automatic assignment at order time (phase 2): what an order earns is assigned in its decision
// and appended with it.
TEST_F(PromotionRedeemApiTest, AnOrderEarnsTheFirstAndMinimumPurchasePromotionsItQualifiesFor) {
  auto define = [&](const std::string& body) {
    auto r = admin_.Send("POST", "/api/v1/promotions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  const std::string first =
      define(R"({"title":"Welcome","rewardType":"PERCENTAGE","rewardValue":10,)"
             R"("condition":{"type":"first_purchase"},"durationDays":30})");
  const std::string hundred =
      define(R"({"title":"Big basket","rewardType":"FIXED_AMOUNT","rewardValue":5,)"
             R"("condition":{"type":"minimum_purchase","amount":100}})");
  const std::string off = define(R"({"title":"Off","rewardType":"FIXED_AMOUNT","rewardValue":1,)"
                                 R"("condition":{"type":"minimum_purchase","amount":1}})");
  ASSERT_EQ(admin_.Send("DELETE", "/api/v1/promotions/" + off).status, 200);
  define(R"({"title":"Gold","rewardType":"FIXED_AMOUNT","rewardValue":1,)"
         R"("condition":{"type":"customer_level","level":"Bronze"}})");
  const std::string path = "/api/v1/customers/" + ann_customer_ + "/promotions";
  // {promotionId:reason:status} of the customer's assignments, newest first.
  auto held = [&]() {
    Json list(Get(admin_, path).body);
    std::vector<std::string> out;
    for (size_t i = 0; i < list.Size("/data"); ++i) {
      const std::string at = Numbered("/data/", static_cast<int64_t>(i));
      out.push_back(list.Str(at + "/promotionId") + ":" + list.Str(at + "/reason") + ":" +
                    list.Str(at + "/status"));
    }
    return out;
  };

  int64_t before = Logged();
  auto o1 = Order(admin_, ann_customer_, R"("orderAmount":50)", {"Idempotency-Key: earns-1"});
  ASSERT_EQ(o1.status, 201) << o1.body;
  EXPECT_EQ(Logged(), before + 2) << "the order and its first purchase's promotion, together";
  EXPECT_EQ(held(), (std::vector<std::string>{first + ":first_purchase:available"}));
  before = Logged();
  ASSERT_EQ(Order(admin_, ann_customer_, R"("orderAmount":100)").status, 201);
  EXPECT_EQ(Logged(), before + 2);
  EXPECT_EQ(held(), (std::vector<std::string>{hundred + ":minimum_purchase:available",
                                              first + ":first_purchase:available"}));
  // Held unused: not earned again.
  before = Logged();
  ASSERT_EQ(Order(admin_, ann_customer_, R"("orderAmount":200)").status, 201);
  EXPECT_EQ(Logged(), before + 1);
  // The minimum counts the amount net of a discount: 103 less 5 is under 100.
  const std::string basket = Json(Get(admin_, path).body).Str("/data/0/id");
  before = Logged();
  ASSERT_EQ(Order(admin_, ann_customer_, Redeeming("103", basket)).status, 201);
  EXPECT_EQ(Logged(), before + 1);
  // Redeeming the next one on an order that still meets it: the order earns it again.
  const std::string welcome = Json(Get(admin_, path).body).Str("/data/1/id");
  EXPECT_EQ(held(), (std::vector<std::string>{hundred + ":minimum_purchase:used",
                                              first + ":first_purchase:available"}));
  before = Logged();
  ASSERT_EQ(Order(admin_, ann_customer_, Redeeming("150", welcome)).status, 201);
  EXPECT_EQ(Logged(), before + 2);
  EXPECT_EQ(held(), (std::vector<std::string>{hundred + ":minimum_purchase:available",
                                              hundred + ":minimum_purchase:used",
                                              first + ":first_purchase:used"}));
  // Bob's customer's first order, placed by Bob, earns it too (its actor is Bob).
  auto bobs = Order(*bob_, bob_customer_, R"("orderAmount":10)");
  ASSERT_EQ(bobs.status, 201) << bobs.body;
  Json bob_list(Get(admin_, "/api/v1/customers/" + bob_customer_ + "/promotions").body);
  EXPECT_EQ(bob_list.Str("/data/0/reason"), "first_purchase");
  EXPECT_EQ(bob_list.Str("/data/0/assignedBy"), bob_id_);

  // After a restart the keyed order still answers with the order, not what it earned.
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  before = Logged();
  auto replay = admin.Send("POST", "/api/v1/orders",
                           R"({"customerId":")" + ann_customer_ + R"(","orderAmount":50})",
                           {"Idempotency-Key: earns-1"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), Json(o1.body).Str("/data/id"));
  EXPECT_EQ(Logged(), before);
  // And the write side folded what was earned: the held one is not earned again.
  ASSERT_EQ(admin
                .Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + ann_customer_ + R"(","orderAmount":300})")
                .status,
            201);
  EXPECT_EQ(Logged(), before + 1);
}

}  // namespace
}  // namespace keel

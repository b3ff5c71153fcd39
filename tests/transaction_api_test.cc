// Transactions (payments and refunds) end to end over HTTP: the real server on port 0, the
// embedded log and RocksDB; two sales reps (ann, bob), a manager (max) and the admin.
#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "domain/ids.h"
#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class TransactionApiTest : public WorkFixture {
 protected:
  // An order of `customer` placed by `c`; its id.
  std::string Order(HttpClient& c, const std::string& customer, const std::string& amount) {
    auto r = c.Send("POST", "/api/v1/orders",
                    R"({"customerId":")" + customer + R"(","orderAmount":)" + amount + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  HttpResult Pay(HttpClient& c, const std::string& customer, const std::string& order,
                 const std::string& amount, const std::string& method = "card",
                 std::vector<std::string> headers = {}) {
    std::string body = R"({"customerId":")" + customer + "\"";
    if (!order.empty()) body += R"(,"orderId":")" + order + "\"";
    body += R"(,"paymentMethod":")" + method + R"(","amount":)" + amount + "}";
    auto r = c.Send("POST", "/api/v1/transactions", body, std::move(headers));
    if (r.status < 300) positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  // `path` once every command this test made is folded.
  HttpResult Get(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, positions_.Joined()));
  }
  Json Balance(HttpClient& c, const std::string& order) {
    auto r = Get(c, "/api/v1/orders/" + order + "/balance");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  // {paid, refunded, netPaid, outstanding} in cents, and the status, of an order's balance.
  std::pair<std::vector<int64_t>, std::string> Figures(HttpClient& c, const std::string& order) {
    Json b = Balance(c, order);
    auto cents = [&](const char* at) {
      return static_cast<int64_t>(std::llround(b.Num(at) * 100));
    };
    return {{cents("/data/paid"), cents("/data/refunded"), cents("/data/netPaid"),
             cents("/data/outstanding")},
            b.Str("/data/status")};
  }
  std::vector<std::string> Ids(const HttpResult& r) {
    Json j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      out.push_back(j.Str(Numbered("/data/", static_cast<int64_t>(i), "/id")));
    }
    return out;
  }
  int64_t Logged() { return LogSize(app_.app()); }

  Positions positions_;
};

using Figures_ = std::pair<std::vector<int64_t>, std::string>;

TEST_F(TransactionApiTest, PaymentsAndRefundsMakeTheOrdersBalance) {
  const std::string order = Order(admin_, ann_customer_, "100");
  EXPECT_EQ(Figures(admin_, order), (Figures_{{0, 0, 0, 10000}, "unpaid"}));

  auto first = Pay(admin_, ann_customer_, order, "40");
  ASSERT_EQ(first.status, 201) << first.body;
  Json t(first.body);
  EXPECT_EQ(t.Str("/message"), "Payment recorded");
  EXPECT_TRUE(IsUuid(t.Str("/data/id")));
  EXPECT_EQ(t.Str("/data/customerId"), ann_customer_);
  EXPECT_EQ(t.Str("/data/orderId"), order);
  EXPECT_EQ(t.Str("/data/type"), "payment");
  EXPECT_EQ(t.Str("/data/paymentMethod"), "card");
  EXPECT_EQ(t.Num("/data/amount"), 40);
  EXPECT_EQ(first.headers["etag"], "\"1\"");
  EXPECT_FALSE(first.headers["x-keel-position"].empty());
  EXPECT_EQ(Figures(admin_, order), (Figures_{{4000, 0, 4000, 6000}, "partial"}));

  ASSERT_EQ(Pay(admin_, ann_customer_, order, "60", "cash").status, 201);
  EXPECT_EQ(Figures(admin_, order), (Figures_{{10000, 0, 10000, 0}, "paid"}));

  // Beyond what is outstanding, or a refund beyond what was paid: 400 naming amount, nothing
  // appended.
  const int64_t before = Logged();
  auto over = Pay(admin_, ann_customer_, order, "0.01");
  ASSERT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(ErrorFields(over.body), (std::vector<std::string>{"amount"}));
  auto refund = Pay(admin_, ann_customer_, order, "-30", "transfer");
  ASSERT_EQ(refund.status, 201) << refund.body;
  EXPECT_EQ(Json(refund.body).Str("/message"), "Refund recorded");
  EXPECT_EQ(Json(refund.body).Str("/data/type"), "refund");
  EXPECT_EQ(Json(refund.body).Num("/data/amount"), -30);
  auto too_much = Pay(admin_, ann_customer_, order, "-70.01", "transfer");
  ASSERT_EQ(too_much.status, 400) << too_much.body;
  EXPECT_EQ(ErrorFields(too_much.body), (std::vector<std::string>{"amount"}));
  EXPECT_EQ(Json(too_much.body).Str("/errors/0/message"),
            "A refund may not exceed what was paid on order " + order + " (70.00)");
  EXPECT_EQ(Logged(), before + 1);  // the refund alone
  EXPECT_EQ(Figures(admin_, order), (Figures_{{10000, 3000, 7000, 3000}, "partial"}));
  EXPECT_EQ(Balance(admin_, order).Int("/data/transactionCount"), 3);

  // The customer's transactions, newest first, with their totals.
  auto mine = Get(admin_, "/api/v1/customers/" + ann_customer_ + "/transactions");
  ASSERT_EQ(mine.status, 200) << mine.body;
  const std::vector<std::string> ids = Ids(mine);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], Json(refund.body).Str("/data/id"));
  EXPECT_EQ(ids[2], t.Str("/data/id"));
  Json m(mine.body);
  EXPECT_EQ(m.Int("/meta/total"), 3);
  EXPECT_EQ(m.Num("/meta/paid"), 100);
  EXPECT_EQ(m.Num("/meta/refunded"), 30);
  EXPECT_EQ(m.Num("/meta/netPaid"), 70);

  auto one = Get(admin_, "/api/v1/transactions/" + t.Str("/data/id"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(Json(one.body).Str("/data/recordedBy"), Json(first.body).Str("/data/recordedBy"));
  EXPECT_EQ(Json(one.body).Num("/data/amount"), 40);
  // The customer's history (audit trail) has them, in log order after the order.
  Json history(Get(admin_, "/api/v1/customers/" + ann_customer_ + "/events").body);
  ASSERT_EQ(history.Int("/meta/total"), 1 + 1 + 3);
  EXPECT_EQ(history.Str("/data/1/type"), "OrderPlaced");
  EXPECT_EQ(history.Str("/data/4/type"), "TransactionRecorded");
  EXPECT_EQ(history.Str("/data/4/aggregate_id"), Json(refund.body).Str("/data/id"));

  EXPECT_EQ(Get(admin_, "/api/v1/transactions/no-such").status, 404);
  EXPECT_EQ(Get(admin_, "/api/v1/orders/no-such/balance").status, 404);
  EXPECT_EQ(Get(admin_, "/api/v1/customers/no-such/transactions").status, 404);
}

TEST_F(TransactionApiTest, ListsFilterByCustomerOrderMethodTypeAndDate) {
  const std::string anns = Order(admin_, ann_customer_, "50");
  const std::string bobs = Order(admin_, bob_customer_, "80");
  auto dated = [&](const std::string& customer, const std::string& order, const std::string& amount,
                   const std::string& method, const std::string& date) {
    std::string body = R"({"customerId":")" + customer + "\"";
    if (!order.empty()) body += R"(,"orderId":")" + order + "\"";
    body += R"(,"paymentMethod":")" + method + R"(","amount":)" + amount +
            R"(,"transactionDate":")" + date + R"("})";
    auto r = admin_.Send("POST", "/api/v1/transactions", body);
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  };
  const std::string a1 = dated(ann_customer_, anns, "20", "cash", "2026-01-10T00:00:00Z");
  const std::string b1 = dated(bob_customer_, bobs, "80", "card", "2026-02-10T00:00:00Z");
  const std::string a2 = dated(ann_customer_, "", "15", "transfer", "2026-03-10T00:00:00Z");
  const std::string b2 = dated(bob_customer_, bobs, "-5", "card", "2026-04-10T00:00:00Z");
  auto list = [&](const std::string& query) {
    return Ids(Get(admin_, "/api/v1/transactions" + query));
  };
  EXPECT_EQ(list(""), (std::vector<std::string>{b2, a2, b1, a1}));
  EXPECT_EQ(list("?customerId=" + ann_customer_), (std::vector<std::string>{a2, a1}));
  EXPECT_EQ(list("?orderId=" + bobs), (std::vector<std::string>{b2, b1}));
  EXPECT_EQ(list("?paymentMethod=card"), (std::vector<std::string>{b2, b1}));
  EXPECT_EQ(list("?type=refund"), (std::vector<std::string>{b2}));
  EXPECT_EQ(list("?from=2026-02-01T00:00:00Z&to=2026-03-31T00:00:00Z"),
            (std::vector<std::string>{a2, b1}));
  auto paged = Get(admin_, "/api/v1/transactions?limit=3&page=2");
  EXPECT_EQ(Ids(paged), (std::vector<std::string>{a1}));
  EXPECT_EQ(Json(paged.body).Int("/meta/total"), 4);
  auto bad = Get(admin_, "/api/v1/transactions?paymentMethod=gold&type=gift&from=x&limit=0");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"limit", "paymentMethod", "type", "from"}));
}

TEST_F(TransactionApiTest, WhatTheOrderAndCustomerDoNotAllowIsRefusedAndAppendsNothing) {
  const std::string anns = Order(admin_, ann_customer_, "50");
  const std::string bobs = Order(admin_, bob_customer_, "50");
  const std::string cancelled = Order(admin_, ann_customer_, "30");
  auto cancel =
      admin_.Send("PATCH", "/api/v1/orders/" + cancelled + "/status", R"({"status":"Cancelled"})");
  ASSERT_EQ(cancel.status, 200) << cancel.body;
  positions_.Remember(cancel.headers["x-keel-position"]);
  const int64_t before = Logged();
  auto other = Pay(admin_, ann_customer_, bobs, "10");
  ASSERT_EQ(other.status, 400) << other.body;
  EXPECT_EQ(ErrorFields(other.body), (std::vector<std::string>{"orderId"}));
  auto on_cancelled = Pay(admin_, ann_customer_, cancelled, "10");
  ASSERT_EQ(on_cancelled.status, 400) << on_cancelled.body;
  EXPECT_EQ(ErrorFields(on_cancelled.body), (std::vector<std::string>{"orderId"}));
  EXPECT_EQ(ErrorFields(Pay(admin_, "no-such-customer", "", "10").body),
            (std::vector<std::string>{"customerId"}));
  auto malformed =
      admin_.Send("POST", "/api/v1/transactions",
                  R"({"customerId":"x","paymentMethod":"cheque","amount":0,"extra":1})");
  ASSERT_EQ(malformed.status, 400);
  EXPECT_EQ(ErrorFields(malformed.body),
            (std::vector<std::string>{"paymentMethod", "amount", "extra"}));
  auto future = admin_.Send(
      "POST", "/api/v1/transactions",
      R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + anns +
          R"(","paymentMethod":"cash","amount":1,"transactionDate":"2999-01-01T00:00:00Z"})");
  EXPECT_EQ(ErrorFields(future.body), (std::vector<std::string>{"transactionDate"}));
  EXPECT_EQ(admin_.Send("POST", "/api/v1/transactions", "[1]").status, 400);
  EXPECT_EQ(Logged(), before);
  EXPECT_EQ(Figures(admin_, cancelled), (Figures_{{0, 0, 0, 0}, "cancelled"}));
}

// Decided under the customers stream's lock, against what was paid: of racing refunds of the
// whole payment, exactly one is recorded.
TEST_F(TransactionApiTest, RacingRefundsOfOnePaymentHaveExactlyOneWinner) {
  const std::string order = Order(admin_, ann_customer_, "50");
  ASSERT_EQ(Pay(admin_, ann_customer_, order, "50").status, 201);
  const int64_t before = Logged();
  const std::string token = app_.token();
  std::atomic<int> recorded{0}, refused{0};
  std::vector<std::thread> racers;
  for (int i = 0; i < 16; ++i) {
    racers.emplace_back([&] {
      HttpClient c(app_.base(), token);
      auto r = c.Send("POST", "/api/v1/transactions",
                      R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + order +
                          R"(","paymentMethod":"card","amount":-50})");
      if (r.status == 201) ++recorded;
      if (r.status == 400 && ErrorFields(r.body) == std::vector<std::string>{"amount"}) ++refused;
      if (r.status == 201) positions_.Remember(r.headers["x-keel-position"]);
    });
  }
  for (auto& t : racers) t.join();
  EXPECT_EQ(recorded.load(), 1);
  EXPECT_EQ(refused.load(), 15);
  EXPECT_EQ(Logged(), before + 1);
  EXPECT_EQ(Figures(admin_, order), (Figures_{{5000, 5000, 0, 5000}, "unpaid"}));
}

TEST_F(TransactionApiTest, AKeyedRetryGetsTheFirstAnswerAndAppendsOnce) {
  const std::string order = Order(admin_, ann_customer_, "50");
  const int64_t before = Logged();
  auto first = Pay(admin_, ann_customer_, order, "20", "card", {"Idempotency-Key: pay-1"});
  ASSERT_EQ(first.status, 201) << first.body;
  auto again = Pay(admin_, ann_customer_, order, "20", "card", {"Idempotency-Key: pay-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(again.headers["x-keel-position"], first.headers["x-keel-position"]);
  EXPECT_EQ(Logged(), before + 1);
  EXPECT_EQ(Figures(admin_, order), (Figures_{{2000, 0, 2000, 3000}, "partial"}));
}

TEST_F(TransactionApiTest, RepsRecordAndReadOnlyTheirOwnCustomersTransactions) {
  const std::string anns = Order(*ann_, ann_customer_, "50");
  const std::string bobs = Order(*bob_, bob_customer_, "50");
  auto mine = Pay(*ann_, ann_customer_, anns, "10");
  ASSERT_EQ(mine.status, 201) << mine.body;
  ASSERT_EQ(Pay(*bob_, bob_customer_, bobs, "5").status, 201);
  // bob on ann's customer: refused before anything is decided, whatever the body says of the
  // order (here: too much for it), and nothing appended.
  const int64_t before = Logged();
  auto theirs = Pay(*bob_, ann_customer_, anns, "1000");
  ASSERT_EQ(theirs.status, 403) << theirs.body;
  EXPECT_EQ(Json(theirs.body).Str("/message"),
            "Customer " + ann_customer_ + " is not assigned to you");
  EXPECT_EQ(Pay(*bob_, ann_customer_, "", "-1").status, 403);
  EXPECT_EQ(Logged(), before);

  const std::string id = Json(mine.body).Str("/data/id");
  EXPECT_EQ(Get(*ann_, "/api/v1/transactions/" + id).status, 200);
  EXPECT_EQ(Get(*bob_, "/api/v1/transactions/" + id).status, 403);
  EXPECT_EQ(Get(*bob_, "/api/v1/orders/" + anns + "/balance").status, 403);
  EXPECT_EQ(Get(*bob_, "/api/v1/customers/" + ann_customer_ + "/transactions").status, 403);
  EXPECT_EQ(Get(*bob_, "/api/v1/transactions?customerId=" + ann_customer_).status, 403);
  EXPECT_EQ(Json(Get(*bob_, "/api/v1/transactions").body).Int("/meta/total"), 1);
  EXPECT_EQ(Json(Get(*ann_, "/api/v1/transactions?orderId=" + bobs).body).Int("/meta/total"), 0);
  EXPECT_EQ(Json(Get(*max_, "/api/v1/transactions").body).Int("/meta/total"), 2);
  // A manager records for any customer.
  EXPECT_EQ(Pay(*max_, ann_customer_, anns, "1").status, 201);
  EXPECT_EQ(HttpClient(app_.base()).Send("GET", "/api/v1/transactions").status, 401);
}

TEST_F(TransactionApiTest, BalancesAndCapsOutliveARestartAndARebuild) {
  const std::string order = Order(admin_, ann_customer_, "100");
  ASSERT_EQ(Pay(admin_, ann_customer_, order, "70").status, 201);
  ASSERT_EQ(Pay(admin_, ann_customer_, order, "-20").status, 201);
  ASSERT_EQ(Pay(admin_, ann_customer_, "", "12.5", "other").status, 201);
  auto keyed = Pay(admin_, ann_customer_, order, "10", "cash", {"Idempotency-Key: before-restart"});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  const Figures_ expected{{8000, 2000, 6000, 4000}, "partial"};
  ASSERT_EQ(Figures(admin_, order), expected);
  const std::vector<std::string> listed =
      Ids(Get(admin_, "/api/v1/customers/" + ann_customer_ + "/transactions"));
  ASSERT_EQ(listed.size(), 4u);

  // The read model rebuilt from the log gives the same balance.
  auto started = admin_.Send("POST", "/api/v1/admin/projections/customers/rebuild");
  ASSERT_EQ(started.status, 202) << started.body;
  std::string phase;
  for (int i = 0; i < 600 && phase != "done" && phase != "failed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    phase = Json(admin_.Send("GET", "/api/v1/admin/projections").body).Str("/data/0/rebuild/phase");
  }
  ASSERT_EQ(phase, "done");
  EXPECT_EQ(Figures(admin_, order), expected);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  EXPECT_EQ(Figures(admin, order), expected);
  auto after = admin.Send("GET", "/api/v1/customers/" + ann_customer_ + "/transactions");
  EXPECT_EQ(Ids(after), listed);
  EXPECT_EQ(Json(after.body).Num("/meta/netPaid"), 72.5);
  // The write side folded the log again: the caps still hold, keys are still answered.
  const int64_t before = Logged();
  auto over = admin.Send("POST", "/api/v1/transactions",
                         R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + order +
                             R"(","paymentMethod":"cash","amount":-60.01})");
  EXPECT_EQ(ErrorFields(over.body), (std::vector<std::string>{"amount"}));
  auto account = admin.Send(
      "POST", "/api/v1/transactions",
      R"({"customerId":")" + ann_customer_ + R"(","paymentMethod":"cash","amount":-12.51})");
  EXPECT_EQ(ErrorFields(account.body), (std::vector<std::string>{"amount"}));
  auto replay = admin.Send("POST", "/api/v1/transactions",
                           R"({"customerId":")" + ann_customer_ + R"(","orderId":")" + order +
                               R"(","paymentMethod":"cash","amount":10})",
                           {"Idempotency-Key: before-restart"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), Json(keyed.body).Str("/data/id"));
  EXPECT_EQ(Json(replay.body).Num("/data/amount"), 10);
  EXPECT_EQ(Logged(), before);
}

}  // namespace
}  // namespace keel

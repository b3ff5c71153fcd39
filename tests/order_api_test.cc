// Orders, visits and customer stats end to end: the real server on port 0, the embedded log
// and RocksDB.
#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

#include "domain/ids.h"
#include "domain/order.h"
#include "domain/time.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class OrderApiTest : public ::testing::Test {
 protected:
  std::string CreateCustomer(const std::string& email, const std::string& extra = "") {
    auto r = client_.Send("POST", "/api/v1/customers",
                          R"({"name":"C","email":")" + email + "\"" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  HttpResult PostOrder(const std::string& body) {
    auto r = client_.Send("POST", "/api/v1/orders", body);
    if (r.status < 300) Remember(r.headers["x-keel-position"]);
    return r;
  }
  std::string PlaceOrder(const std::string& customer, const std::string& amount,
                         const std::string& date, const std::string& extra = "") {
    auto r = PostOrder(R"({"customerId":")" + customer + R"(","orderAmount":)" + amount +
                       R"(,"orderDate":")" + date + "\"" + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  HttpResult SetStatus(const std::string& order, const std::string& status) {
    auto r = client_.Send("PATCH", "/api/v1/orders/" + order + "/status",
                          R"({"status":")" + status + R"("})");
    if (r.status < 300 && r.headers.contains("x-keel-position"))
      Remember(r.headers["x-keel-position"]);
    return r;
  }
  void Remember(const std::string& position) { positions_.Remember(position); }
  // Reads after every command so far.
  HttpResult Get(const std::string& path) {
    return client_.Send("GET", AtPosition(path, positions_.Joined()));
  }
  int64_t LogSize() { return keel::LogSize(app_.app()); }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  Positions positions_;
};

TEST_F(OrderApiTest, OrdersCancellationsAndVisitsMakeTheStats) {
  const std::string c = CreateCustomer("stats@x.io", R"(,"totalSpending":100,"visits":2,"lastVisit":"2026-01-01T00:00:00Z")");
  auto r = PostOrder(R"({"customerId":")" + c + R"(","orderDate":"2026-03-01T10:00:00Z",)"
                     R"("items":[{"sku":"A","name":"Apple","qty":3,"price":1.5},{"sku":"B","name":"Pear","qty":1,"price":5}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json placed(r.body);
  const std::string first = placed.Str("/data/id");
  EXPECT_TRUE(IsUuid(first));
  EXPECT_EQ(placed.Num("/data/orderAmount"), 9.5);
  EXPECT_EQ(placed.Str("/data/status"), "Pending");
  EXPECT_EQ(placed.Size("/data/items"), 2u);
  EXPECT_EQ(r.headers["etag"], "\"1\"");

  const std::string second = PlaceOrder(c, "20", "2026-05-01T00:00:00Z");
  // An earlier order date does not move lastOrderAt backwards.
  const std::string third = PlaceOrder(c, "30.5", "2026-02-01T00:00:00Z");
  ASSERT_EQ(SetStatus(second, "Cancelled").status, 200);
  ASSERT_EQ(SetStatus(first, "Shipped").status, 200);
  auto visit = client_.Send("POST", "/api/v1/customers/" + c + "/visits",
                            R"({"visitedAt":"2026-06-01T00:00:00Z"})");
  ASSERT_EQ(visit.status, 200) << visit.body;
  Remember(visit.headers["x-keel-position"]);

  auto got = Get("/api/v1/customers/" + c);
  ASSERT_EQ(got.status, 200) << got.body;
  Json s(got.body);
  EXPECT_EQ(s.Num("/data/totalSpending"), 100 + 9.5 + 30.5);
  EXPECT_EQ(s.Int("/data/orderCount"), 2);
  EXPECT_EQ(s.Num("/data/averageOrderValue"), 20.0);
  EXPECT_EQ(s.Int("/data/visits"), 2 + 2 + 1);
  EXPECT_EQ(s.Str("/data/firstOrderAt"), "2026-02-01T00:00:00.000Z");
  EXPECT_EQ(s.Str("/data/lastOrderAt"), "2026-05-01T00:00:00.000Z");
  EXPECT_EQ(s.Str("/data/lastVisit"), "2026-06-01T00:00:00.000Z");
  EXPECT_EQ(s.Num("/data/baseline/totalSpending"), 100);
  EXPECT_EQ(s.Int("/data/version"), 2);  // registration and the visit; orders are their own
  EXPECT_EQ(got.headers["etag"], "\"2." + std::to_string(s.Int("/data/statsRevision")) + "\"");

  auto order = Get("/api/v1/orders/" + first);
  ASSERT_EQ(order.status, 200);
  EXPECT_EQ(Json(order.body).Str("/data/status"), "Shipped");
  EXPECT_EQ(Json(order.body).Int("/data/version"), 2);

  Json mine(Get("/api/v1/customers/" + c + "/orders").body);
  EXPECT_EQ(mine.Int("/meta/total"), 3);
  EXPECT_EQ(mine.Str("/data/0/id"), second);  // newest order date first
  EXPECT_EQ(mine.Str("/data/2/id"), third);
  Json cancelled(Get("/api/v1/orders?status=Cancelled").body);
  EXPECT_EQ(cancelled.Int("/meta/total"), 1);
  EXPECT_EQ(cancelled.Str("/data/0/id"), second);
  Json range(Get("/api/v1/orders?from=2026-02-15T00:00:00Z&to=2026-04-01T00:00:00Z&order=asc").body);
  EXPECT_EQ(range.Int("/meta/total"), 1);
  EXPECT_EQ(range.Str("/data/0/id"), first);
  Json paged(Get("/api/v1/orders?limit=2&page=2").body);
  EXPECT_EQ(paged.Int("/meta/total"), 3);
  EXPECT_EQ(paged.Size("/data"), 1u);

  // The customer's history shows the orders' events too, in log order.
  Json history(Get("/api/v1/customers/" + c + "/events").body);
  EXPECT_EQ(history.Int("/meta/total"), 1 + 3 + 2 + 1);
  EXPECT_EQ(history.Str("/data/1/type"), "OrderPlaced");
}

TEST_F(OrderApiTest, OrdersForUnknownOrInactiveCustomersAreRefusedAndAppendNothing) {
  const std::string c = CreateCustomer("gone@x.io");
  ASSERT_EQ(client_.Send("DELETE", "/api/v1/customers/" + c).status, 200);
  const int64_t before = LogSize();
  for (const std::string& who : {std::string("no-such-customer"), c}) {
    auto r = PostOrder(R"({"customerId":")" + who + R"(","orderAmount":5})");
    ASSERT_EQ(r.status, 400) << r.body;
    Json e(r.body);
    EXPECT_EQ(e.Str("/message"), "Validation failed");
    EXPECT_EQ(e.Str("/errors/0/field"), "customerId");
  }
  auto bad = PostOrder(R"({"customerId":")" + c + R"(","orderAmount":-1,"status":"Lost","coupon":"X"})");
  ASSERT_EQ(bad.status, 400);
  EXPECT_EQ(Json(bad.body).Size("/errors"), 3u);
  EXPECT_EQ(LogSize(), before);
}

TEST_F(OrderApiTest, StatusChangesFollowTheStateMachine) {
  const std::string c = CreateCustomer("sm@x.io");
  const std::string o = PlaceOrder(c, "10", "2026-01-01T00:00:00Z");
  auto skip = SetStatus(o, "Delivered");
  EXPECT_EQ(skip.status, 409);
  EXPECT_NE(skip.body.find("from Pending to Delivered"), std::string::npos) << skip.body;
  ASSERT_EQ(SetStatus(o, "Shipped").status, 200);
  auto late = SetStatus(o, "Cancelled");
  EXPECT_EQ(late.status, 409);
  EXPECT_NE(late.body.find("from Shipped to Cancelled"), std::string::npos) << late.body;
  const int64_t before = LogSize();
  auto same = SetStatus(o, "Shipped");  // already there: nothing to append
  EXPECT_EQ(same.status, 200);
  EXPECT_EQ(LogSize(), before);
  auto stale = client_.Send("PATCH", "/api/v1/orders/" + o + "/status", R"({"status":"Delivered"})",
                            {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(SetStatus("no-such-order", "Shipped").status, 404);
  EXPECT_EQ(SetStatus(o, "Lost").status, 400);
}

TEST_F(OrderApiTest, ARepLearnsNothingOfAnotherRepsCustomerOrOrderFromARefusal) {
  for (const char* email : {"rep1@keel.test", "rep2@keel.test"}) {
    auto user = client_.Send("POST", "/api/v1/users",
                             R"({"name":"R","email":")" + std::string(email) +
                                 R"(","password":"password-123","role":"sales_rep"})");
    ASSERT_EQ(user.status, 201) << user.body;
  }
  HttpClient rep1(app_.base(), LoginToken(app_.base(), "rep1@keel.test", "password-123"));
  HttpClient rep2(app_.base(), LoginToken(app_.base(), "rep2@keel.test", "password-123"));
  // rep1's customers: one with a delivered order, one inactive.
  auto mine = rep1.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})");
  ASSERT_EQ(mine.status, 201) << mine.body;
  const std::string active = Json(mine.body).Str("/data/id");
  auto gone = rep1.Send("POST", "/api/v1/customers", R"({"name":"B","email":"b@x.io"})");
  ASSERT_EQ(gone.status, 201) << gone.body;
  const std::string inactive = Json(gone.body).Str("/data/id");
  ASSERT_EQ(rep1.Send("DELETE", "/api/v1/customers/" + inactive).status, 200);
  auto placed =
      rep1.Send("POST", "/api/v1/orders", R"({"customerId":")" + active + R"(","orderAmount":10})");
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string order = Json(placed.body).Str("/data/id");
  for (const char* to : {"Shipped", "Delivered"}) {
    auto moved = rep1.Send("PATCH", "/api/v1/orders/" + order + "/status",
                           R"({"status":")" + std::string(to) + R"("})");
    ASSERT_EQ(moved.status, 200) << moved.body;
  }
  // What the owner is told: the customer is inactive (400), the move is illegal (409).
  ASSERT_EQ(rep1.Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + inactive + R"(","orderAmount":10})")
                .status,
            400);
  ASSERT_EQ(
      rep1.Send("PATCH", "/api/v1/orders/" + order + "/status", R"({"status":"Cancelled"})").status,
      409);

  const int64_t before = LogSize();
  auto by_id = rep2.Send("POST", "/api/v1/orders",
                         R"({"customerId":")" + inactive + R"(","orderAmount":10})");
  ASSERT_EQ(by_id.status, 403) << by_id.body;
  EXPECT_EQ(Json(by_id.body).Str("/message"), "Customer " + inactive + " is not assigned to you");
  // Named by email, the refusal names the email: it does not tell the customer's id either.
  auto by_email =
      rep2.Send("POST", "/api/v1/orders", R"({"customerEmail":"b@x.io","orderAmount":10})");
  ASSERT_EQ(by_email.status, 403) << by_email.body;
  EXPECT_EQ(Json(by_email.body).Str("/message"), "Customer b@x.io is not assigned to you");
  EXPECT_EQ(by_email.body.find(inactive), std::string::npos) << by_email.body;
  auto illegal =
      rep2.Send("PATCH", "/api/v1/orders/" + order + "/status", R"({"status":"Cancelled"})");
  ASSERT_EQ(illegal.status, 403) << illegal.body;
  EXPECT_EQ(Json(illegal.body).Str("/message"), "Customer " + active + " is not assigned to you");
  EXPECT_EQ(illegal.body.find("Delivered"), std::string::npos) << illegal.body;
  // A stale If-Match would tell the version: refused as not theirs too.
  auto stale = rep2.Send("PATCH", "/api/v1/orders/" + order + "/status",
                         R"({"status":"Cancelled"})", {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 403) << stale.body;
  // What does not exist answers a rep as it answers anyone.
  auto no_customer =
      rep2.Send("POST", "/api/v1/orders", R"({"customerId":"no-such","orderAmount":10})");
  EXPECT_EQ(no_customer.status, 400) << no_customer.body;
  EXPECT_EQ(Json(no_customer.body).Str("/errors/0/field"), "customerId");
  EXPECT_EQ(
      rep2.Send("PATCH", "/api/v1/orders/no-such-order/status", R"({"status":"Shipped"})").status,
      404);
  EXPECT_EQ(LogSize(), before);
}

TEST_F(OrderApiTest, StatusAnswersCarryTheItemsFromTheReadModel) {
  const std::string c = CreateCustomer("items@x.io");
  const std::string o = PlaceOrder(c, "3", "2026-01-01T00:00:00Z",
                                   R"(,"items":[{"sku":"A","name":"Apple","qty":2,"price":1.5}],"orderId":"I-1")");
  ASSERT_EQ(Get("/api/v1/orders/" + o).status, 200);  // folded
  auto r = SetStatus(o, "Shipped");
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.Size("/data/items"), 1u);
  EXPECT_EQ(j.Str("/data/items/0/sku"), "A");
  EXPECT_EQ(j.Str("/data/orderId"), "I-1");
  EXPECT_EQ(j.Str("/data/status"), "Shipped");
  EXPECT_FALSE(r.headers.contains("x-keel-partial"));
  auto again = PostOrder(R"({"customerId":")" + c + R"(","orderAmount":3,"orderId":"I-1"})");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Json(again.body).Size("/data/items"), 1u);
}

TEST_F(OrderApiTest, AReSentExternalOrderIdIsNotCountedTwice) {
  const std::string c = CreateCustomer("ext@x.io");
  auto first = PostOrder(R"({"customerId":")" + c + R"(","orderAmount":12,"orderId":"SHOP-1001"})");
  ASSERT_EQ(first.status, 201);
  const int64_t before = LogSize();
  auto again = PostOrder(R"({"customerId":")" + c + R"(","orderAmount":12,"orderId":"SHOP-1001"})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(Json(again.body).Str("/data/orderId"), "SHOP-1001");
  EXPECT_EQ(LogSize(), before);
  const std::string other = CreateCustomer("other@x.io");
  EXPECT_EQ(PostOrder(R"({"customerId":")" + other + R"(","orderAmount":12,"orderId":"SHOP-1001"})").status, 409);
  EXPECT_EQ(Json(Get("/api/v1/customers/" + c).body).Int("/data/orderCount"), 1);
}

// Read-your-writes over several partitions: minPosition takes a list and waits for all of it.
TEST_F(OrderApiTest, MinPositionTakesSeveralPositions) {
  std::map<int32_t, std::string> first_in;  // a customer per partition, up to three
  for (int i = 0; i < 40 && first_in.size() < 3; ++i) {
    auto r = client_.Send("POST", "/api/v1/customers",
                          R"({"name":"P","email":"p)" + std::to_string(i) + R"(@x.io"})");
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string position = r.headers["x-keel-position"];
    first_in.emplace(std::stoi(position.substr(0, position.find(':'))),
                     Json(r.body).Str("/data/id"));
    Remember(position);
  }
  ASSERT_GE(first_in.size(), 2u);
  for (const auto& [partition, id] : first_in) PlaceOrder(id, "5", "2026-01-01T00:00:00Z");
  auto listed = Get("/api/v1/customers?minOrders=1");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_FALSE(listed.headers.contains("x-keel-stale"));
  EXPECT_EQ(Json(listed.body).Int("/meta/total"), static_cast<int64_t>(first_in.size()));
  std::string many;
  for (int i = 0; i < 65; ++i) many.append(i ? ",0:" : "0:").append(std::to_string(i));
  for (const std::string bad : {"1:2,x", "1:2,", ",1:2", "1:2;3:4", "-1:2", many.c_str()}) {
    auto r = client_.Send("GET", "/api/v1/customers?minPosition=" + bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(Json(r.body).Str("/errors/0/field"), "minPosition") << bad;
  }
}

TEST_F(OrderApiTest, StatsAreListFiltersAndSortKeys) {
  const std::string a = CreateCustomer("a@x.io");
  const std::string b = CreateCustomer("b@x.io");
  const std::string z = CreateCustomer("z@x.io");
  PlaceOrder(a, "50", "2026-01-01T00:00:00Z");
  PlaceOrder(b, "10", "2026-03-01T00:00:00Z");
  PlaceOrder(b, "15", "2026-04-01T00:00:00Z");
  Json spenders(Get("/api/v1/customers?minTotalSpending=20&sort=totalSpending").body);
  EXPECT_EQ(spenders.Int("/meta/total"), 2);
  EXPECT_EQ(spenders.Str("/data/0/id"), a);
  EXPECT_EQ(spenders.Str("/data/1/id"), b);
  Json by_orders(Get("/api/v1/customers?sort=orderCount&minOrders=1").body);
  EXPECT_EQ(by_orders.Int("/meta/total"), 2);
  EXPECT_EQ(by_orders.Str("/data/0/id"), b);
  Json recent(Get("/api/v1/customers?lastOrderFrom=2026-02-01T00:00:00Z").body);
  EXPECT_EQ(recent.Int("/meta/total"), 1);
  EXPECT_EQ(recent.Str("/data/0/id"), b);
  Json none(Get("/api/v1/customers?maxOrders=0").body);
  EXPECT_EQ(none.Int("/meta/total"), 1);
  EXPECT_EQ(none.Str("/data/0/id"), z);
  EXPECT_EQ(client_.Send("GET", "/api/v1/customers?minTotalSpending=lots").status, 400);
  EXPECT_EQ(client_.Send("GET", "/api/v1/customers?sort=mood").status, 400);
}

// A date the event codec could not write back (year 0, or 10000 once the offset is applied) and
// an amount with a third decimal are refused in the validation envelope, naming the field, in
// every command that takes one; nothing is appended, and the edges that are valid go through
// and are folded without a dead letter.
TEST_F(OrderApiTest, DatesOutsideYearsOneTo9999AndThirdDecimalsAreFieldErrors) {
  const std::string c = CreateCustomer("edges@x.io");
  const int64_t before = LogSize();
  auto expect_field_error = [&](const std::string& method, const std::string& path,
                                const std::string& body, const std::string& field) {
    auto r = client_.Send(method, path, body);
    EXPECT_EQ(r.status, 400) << method << " " << path << " " << body << ": " << r.body;
    Json e(r.body);
    EXPECT_EQ(e.Str("/message"), "Validation failed") << r.body;
    EXPECT_EQ(e.Size("/errors"), 1u) << r.body;
    EXPECT_EQ(e.Str("/errors/0/field"), field) << r.body;
  };
  for (const std::string date :
       {"0000-01-01T00:00:00+00:01", "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"}) {
    expect_field_error(
        "POST", "/api/v1/orders",
        R"({"customerId":")" + c + R"(","orderAmount":1,"orderDate":")" + date + "\"}",
        "orderDate");
    expect_field_error("PATCH", "/api/v1/customers/" + c, R"({"lastVisit":")" + date + "\"}",
                       "lastVisit");
    expect_field_error("POST", "/api/v1/customers",
                       R"({"name":"N","email":"n@x.io","lastVisit":")" + date + "\"}", "lastVisit");
    expect_field_error("POST", "/api/v1/customers/" + c + "/visits",
                       R"({"visitedAt":")" + date + "\"}", "visitedAt");
  }
  expect_field_error("POST", "/api/v1/orders",
                     R"({"customerId":")" + c + R"(","orderAmount":12345.678})", "orderAmount");
  expect_field_error(
      "POST", "/api/v1/orders",
      R"({"customerId":")" + c + R"(","items":[{"sku":"A","name":"A","qty":1,"price":12345.678}]})",
      "items[0].price");
  expect_field_error("PATCH", "/api/v1/customers/" + c, R"({"totalSpending":12345.678})",
                     "totalSpending");
  EXPECT_EQ(LogSize(), before);

  // The last instant there is parses, but an order may not lie more than a day ahead.
  expect_field_error("POST", "/api/v1/orders",
                     R"({"customerId":")" + c +
                         R"(","orderAmount":1,"orderDate":"9999-12-31T22:59:59.999-01:00"})",
                     "orderDate");
  EXPECT_EQ(LogSize(), before);
  const std::string first = PlaceOrder(c, "12345.67", "0001-01-01T00:00:00+00:00");
  const std::string tomorrow =
      FormatIso8601(SystemClock().NowMillis() + kMaxOrderDateAhead - 60'000);
  const std::string last = PlaceOrder(c, "1000000000000", tomorrow);
  auto visit = client_.Send("PATCH", "/api/v1/customers/" + c,
                            R"({"lastVisit":"0001-01-01T01:00:00+01:00"})");
  ASSERT_EQ(visit.status, 200) << visit.body;
  Remember(visit.headers["x-keel-position"]);
  Json a(Get("/api/v1/orders/" + first).body);
  EXPECT_EQ(a.Str("/data/orderDate"), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(a.Num("/data/orderAmount"), 12345.67);
  Json b(Get("/api/v1/orders/" + last).body);
  EXPECT_EQ(b.Str("/data/orderDate"), tomorrow);
  Json customer(Get("/api/v1/customers/" + c).body);
  EXPECT_EQ(customer.Str("/data/baseline/lastVisit"), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(customer.Str("/data/firstOrderAt"), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(customer.Str("/data/lastOrderAt"), tomorrow);
  EXPECT_EQ(app_.app().customer_projection().counters().dead_lettered, 0);
}

// Sixteen clients send the same order with one Idempotency-Key at once: one order is placed,
// and every one of them gets the first answer (none a 409 because the first is still being
// written).
TEST_F(OrderApiTest, ConcurrentRequestsWithOneIdempotencyKeyShareTheFirstAnswer) {
  const std::string c = CreateCustomer("idem@x.io");
  const std::string body = R"({"customerId":")" + c + R"(","orderAmount":42.5})";
  for (int round = 0; round < 3; ++round) {
    const int64_t before = LogSize();
    const std::string key = "Idempotency-Key: burst-" + std::to_string(round);
    constexpr int kClients = 16;
    std::vector<HttpResult> answers(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        HttpClient client(app_.base(), app_.token());
        answers[static_cast<size_t>(i)] = client.Send("POST", "/api/v1/orders", body, {key});
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(LogSize(), before + 1) << "round " << round;
    for (const HttpResult& r : answers) {
      EXPECT_EQ(r.status, 201) << r.body << r.curl_error;
      EXPECT_EQ(r.body, answers[0].body);
      auto position = [](const HttpResult& a) {
        auto it = a.headers.find("x-keel-position");
        return it == a.headers.end() ? std::string("none") : it->second;
      };
      EXPECT_EQ(position(r), position(answers[0]));
    }
    // And after it: the remembered answer.
    auto later = client_.Send("POST", "/api/v1/orders", body, {key});
    EXPECT_EQ(later.status, 201);
    EXPECT_EQ(Json(later.body).Str("/data/id"), Json(answers[0].body).Str("/data/id"));
    EXPECT_EQ(LogSize(), before + 1);
  }
}

}  // namespace
}  // namespace keel

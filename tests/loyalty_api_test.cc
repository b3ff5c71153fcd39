// Loyalty levels end to end over HTTP (issue 16): the real server on port 0, the embedded log and
// RocksDB. Customers' orders are placed through the API with dates that hit each step of the
// default ladders; the levels, the thresholds in force and the counts are read back; the
// settings change through PUT and survive a restart.
#include <array>
#include <string>

#include "domain/time.h"
#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

constexpr Millis kDay = 86'400'000;

// The value at `pointer` as simdjson writes it back (numbers in their shortest form).
std::string Raw(const Json& j, const std::string& pointer) {
  auto e = j.At(pointer);
  return e ? simdjson::to_string(*e) : "<missing " + pointer + ">";
}

std::vector<double> Amounts(const Json& j, const std::string& pointer) {
  std::vector<double> out;
  for (size_t i = 0; i < j.Size(pointer); ++i) {
    out.push_back(j.Num(Numbered(pointer + "/", static_cast<int64_t>(i))));
  }
  return out;
}

class LoyaltyApiTest : public WorkFixture {
 protected:
  // The levels' reads wait for the fixture's customers too.
  void SetUp() override {
    WorkFixture::SetUp();
    positions_ = customer_positions_;
  }
  // `count` orders of `amount` each, all dated `days_ago` days before now.
  void Orders(const std::string& customer, int count, const std::string& amount, int days_ago) {
    const Millis now = SystemClock().NowMillis();
    const std::string date = FormatIso8601(now - days_ago * kDay);
    for (int i = 0; i < count; ++i) {
      auto r = admin_.Send("POST", "/api/v1/orders",
                           R"({"customerId":")" + customer + R"(","orderAmount":)" + amount +
                               R"(,"orderDate":")" + date + R"(","status":"Delivered"})");
      ASSERT_EQ(r.status, 201) << r.body;
      positions_.Remember(r.headers["x-keel-position"]);
    }
  }
  std::string Customer(const std::string& name) {
    auto r = admin_.Send("POST", "/api/v1/customers",
                         R"({"name":")" + name + R"(","email":")" + name + R"(@loyal.io"})");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  // One customer per level of the default settings, and one who never ordered.
  void MakeCustomers() {
    platinum_ = Customer("plat");
    Orders(platinum_, 20, "500", 3);  // 20 orders, 10,000.00, 3 days: 5 5 5
    gold_ = Customer("gold");
    Orders(gold_, 11, "455", 20);  // 11 orders, 5,005.00, 20 days: 4 4 4
    silver_ = Customer("silver");
    Orders(silver_, 6, "200", 60);  // 6, 1,200.00, 60 days: 3 3 3
    bronze_ = Customer("bronze");
    Orders(bronze_, 3, "200", 120);  // 3, 600.00, 120 days: 2 2 2
    lapsed_ = Customer("lapsed");
    Orders(lapsed_, 1, "10", 400);  // 1, 10.00, 400 days: 1 1 1
    never_ = Customer("never");
  }
  Json Levels(const std::string& settings_position = "") {
    // "0:0" stands for no position: none to wait for.
    std::string path = positions_.Joined() == "0:0"
                           ? "/api/v1/customer-levels"
                           : AtPosition("/api/v1/customer-levels", positions_.Joined());
    if (!settings_position.empty()) {
      path += path.find('?') == std::string::npos ? "?" : "&";
      path += "settingsPosition=" + settings_position;
    }
    auto r = admin_.Send("GET", path);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.count("x-keel-stale"), 0u);
    return Json(r.body);
  }
  std::array<int64_t, 4> Counts(const Json& levels) {
    std::array<int64_t, 4> out{};
    for (size_t i = 0; i < 4; ++i) {
      out[i] = levels.Int(Numbered("/data/levels/", static_cast<int64_t>(i), "/customers"));
    }
    return out;
  }
  Json Loyalty(const std::string& id) {
    auto r = admin_.Send("GET", AtPosition("/api/v1/customers/" + id, positions_.Joined()));
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body);
  }
  HttpResult Put(const std::string& body, std::vector<std::string> headers = {}) {
    return admin_.Send("PUT", "/api/v1/customer-levels", body, std::move(headers));
  }

  Positions positions_;
  std::string platinum_, gold_, silver_, bronze_, lapsed_, never_;
};

TEST_F(LoyaltyApiTest, TheDefaultThresholdsAreServed) {
  Json levels = Levels();
  EXPECT_EQ(levels.Str("/data/mode"), "fixed");
  EXPECT_EQ(levels.Int("/data/version"), 0);
  EXPECT_EQ(levels.Str("/data/thresholds/source"), "fixed");
  EXPECT_FALSE(levels.Bool("/data/thresholds/fellBack"));
  EXPECT_EQ(Raw(levels, "/data/thresholds/recencyDays"), "[7,30,90,180]");
  EXPECT_EQ(Raw(levels, "/data/thresholds/frequencyOrders"), "[20,11,6,3]");
  EXPECT_EQ(Amounts(levels, "/data/thresholds/monetarySpend"),
            (std::vector<double>{10000, 5001, 1001, 501}));
  EXPECT_EQ(levels.Str("/data/levels/0/name"), "Bronze");
  EXPECT_EQ(Raw(levels, "/data/levels/0/belowAverage"), "2.6");
  EXPECT_EQ(levels.Str("/data/levels/3/name"), "Platinum");
  EXPECT_EQ(Raw(levels, "/data/levels/3/minAverage"), "4.6");
  EXPECT_EQ(Raw(levels, "/data/levels/3/belowAverage"), "null");
  EXPECT_EQ(Raw(levels, "/data/settings/levels"), R"({"silver":2.6,"gold":3.6,"platinum":4.6})");
  // The fixture's two customers, without orders.
  EXPECT_EQ(levels.Int("/data/customers"), 2);
  EXPECT_EQ(levels.Int("/data/customersWithOrders"), 0);
  EXPECT_EQ(Counts(levels), (std::array<int64_t, 4>{2, 0, 0, 0}));
  // Every signed-in role reads them.
  auto rep = ann_->Send("GET", "/api/v1/customer-levels");
  EXPECT_EQ(rep.status, 200) << rep.body;
}

TEST_F(LoyaltyApiTest, OrdersPlacedThroughTheApiGiveTheExpectedScoresAndLevels) {
  MakeCustomers();
  struct Expected {
    std::string id, level;
    int64_t r, f, m;
  };
  for (const auto& e : std::vector<Expected>{{platinum_, "Platinum", 5, 5, 5},
                                             {gold_, "Gold", 4, 4, 4},
                                             {silver_, "Silver", 3, 3, 3},
                                             {bronze_, "Bronze", 2, 2, 2},
                                             {lapsed_, "Bronze", 1, 1, 1},
                                             {never_, "Bronze", 1, 1, 1}}) {
    Json c = Loyalty(e.id);
    EXPECT_EQ(c.Str("/data/loyalty/level"), e.level) << e.id;
    EXPECT_EQ(c.Int("/data/loyalty/recency"), e.r) << e.id;
    EXPECT_EQ(c.Int("/data/loyalty/frequency"), e.f) << e.id;
    EXPECT_EQ(c.Int("/data/loyalty/monetary"), e.m) << e.id;
  }
  Json levels = Levels();
  EXPECT_EQ(levels.Int("/data/customers"), 8);
  EXPECT_EQ(levels.Int("/data/customersWithOrders"), 5);
  EXPECT_EQ(Counts(levels), (std::array<int64_t, 4>{5, 1, 1, 1}));
  // The list's items carry the level too.
  auto list = admin_.Send(
      "GET", AtPosition("/api/v1/customers?sort=totalSpending&limit=2", positions_.Joined()));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Json(list.body).Str("/data/0/loyalty/level"), "Platinum");
  EXPECT_EQ(Json(list.body).Str("/data/1/loyalty/level"), "Gold");
}

TEST_F(LoyaltyApiTest, ChangedSettingsMoveTheServedLevelsAndSurviveARestart) {
  MakeCustomers();
  const int64_t before = LogSize(app_.app(), std::string(kLoyaltyTopic));
  auto changed = Put(R"({"levels":{"silver":2.0,"gold":3.0,"platinum":4.0}})",
                     {"If-Match: \"0\"", "Idempotency-Key: lv-1"});
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(Json(changed.body).Int("/data/version"), 1);
  EXPECT_EQ(Json(changed.body).Str("/message"), "Loyalty settings changed");
  EXPECT_EQ(changed.headers["etag"], "\"1\"");
  // The same key: the first answer, nothing appended.
  auto again = Put(R"({"levels":{"silver":2.0,"gold":3.0,"platinum":4.0}})",
                   {"If-Match: \"0\"", "Idempotency-Key: lv-1"});
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).Int("/data/version"), 1);
  EXPECT_EQ(LogSize(app_.app(), std::string(kLoyaltyTopic)), before + 1);

  Json levels = Levels(changed.headers["x-keel-position"]);
  EXPECT_EQ(levels.Int("/data/version"), 1);
  EXPECT_EQ(Raw(levels, "/data/levels/1/minAverage"), "2.0");
  // Gold's 4.0 is Platinum now, Silver's 3.0 Gold, Bronze's 2.0 Silver.
  EXPECT_EQ(Counts(levels), (std::array<int64_t, 4>{4, 1, 1, 2}));
  EXPECT_EQ(Loyalty(gold_).Str("/data/loyalty/level"), "Platinum");
  EXPECT_EQ(Loyalty(bronze_).Str("/data/loyalty/level"), "Silver");

  // Quintile mode below the guard: the fixed ladders, and it says so.
  auto quintile = Put(R"({"mode":"quintile"})", {"If-Match: \"1\""});
  ASSERT_EQ(quintile.status, 200) << quintile.body;
  Json fell_back = Levels(quintile.headers["x-keel-position"]);
  EXPECT_EQ(fell_back.Str("/data/mode"), "quintile");
  EXPECT_EQ(fell_back.Str("/data/thresholds/source"), "fixed");
  EXPECT_TRUE(fell_back.Bool("/data/thresholds/fellBack"));
  EXPECT_EQ(fell_back.Str("/data/thresholds/note"),
            "Quintile mode needs at least 100 active customers with orders and there are 5: the "
            "fixed thresholds are in force");
  // With the guard at 5: the quintiles of the five who ordered, one per score.
  auto guard = Put(R"({"quintileMinCustomers":5})");
  ASSERT_EQ(guard.status, 200) << guard.body;
  Json quintiles = Levels(guard.headers["x-keel-position"]);
  EXPECT_EQ(quintiles.Int("/data/version"), 3);
  EXPECT_EQ(quintiles.Str("/data/thresholds/source"), "quintile");
  EXPECT_FALSE(quintiles.Bool("/data/thresholds/fellBack"));
  EXPECT_EQ(Raw(quintiles, "/data/thresholds/recencyDays"), "[3,20,60,120]");
  EXPECT_EQ(Raw(quintiles, "/data/thresholds/frequencyOrders"), "[20,11,6,3]");
  EXPECT_EQ(Amounts(quintiles, "/data/thresholds/monetarySpend"),
            (std::vector<double>{10000, 5005, 1200, 600}));
  EXPECT_EQ(Counts(quintiles), (std::array<int64_t, 4>{4, 1, 1, 2}));
  EXPECT_EQ(Loyalty(lapsed_).Int("/data/loyalty/recency"), 1);
  EXPECT_EQ(Loyalty(silver_).Int("/data/loyalty/monetary"), 3);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  auto after = admin.Send("GET", "/api/v1/customer-levels");
  ASSERT_EQ(after.status, 200) << after.body;
  Json restarted(after.body);
  EXPECT_EQ(restarted.Int("/data/version"), 3);
  EXPECT_EQ(restarted.Str("/data/mode"), "quintile");
  EXPECT_EQ(Raw(restarted, "/data/thresholds/recencyDays"), "[3,20,60,120]");
  EXPECT_EQ(Counts(restarted), (std::array<int64_t, 4>{4, 1, 1, 2}));
  // The command side folded the stream too: the version goes on from 3.
  auto stale =
      admin.Send("PUT", "/api/v1/customer-levels", R"({"mode":"fixed"})", {"If-Match: \"2\""});
  EXPECT_EQ(stale.status, 409) << stale.body;
  auto next =
      admin.Send("PUT", "/api/v1/customer-levels", R"({"mode":"fixed"})", {"If-Match: \"3\""});
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(Json(next.body).Int("/data/version"), 4);
}

TEST_F(LoyaltyApiTest, BadSettingsAreRefusedByFieldAndChangeNothing) {
  const int64_t before = LogSize(app_.app(), std::string(kLoyaltyTopic));
  auto bad = Put(R"({"mode":"median","frequencyOrders":[3,6,11,20],)"
                 R"("levels":{"silver":3,"gold":2,"platinum":4},"recencyDays":[1,2,3],"tier":1})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(Json(bad.body).Str("/message"), "Validation failed");
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"mode", "frequencyOrders[1]", "levels.gold", "recencyDays",
                                      "tier"}));
  EXPECT_EQ(Put("{}").status, 400);
  EXPECT_EQ(Put("{nope").status, 400);
  EXPECT_EQ(LogSize(app_.app(), std::string(kLoyaltyTopic)), before);
  // The same settings as in force: nothing to append.
  auto same = Put(R"({"mode":"fixed"})");
  ASSERT_EQ(same.status, 200) << same.body;
  EXPECT_EQ(Json(same.body).Str("/message"), "Loyalty settings unchanged");
  EXPECT_EQ(LogSize(app_.app(), std::string(kLoyaltyTopic)), before);
  EXPECT_EQ(Levels().Int("/data/version"), 0);
}

TEST_F(LoyaltyApiTest, AStaleIfMatchIs409AndOnlyAdminsChangeSettings) {
  auto first = Put(R"({"mode":"quintile"})");
  ASSERT_EQ(first.status, 200) << first.body;
  const int64_t before = LogSize(app_.app(), std::string(kLoyaltyTopic));
  auto stale = Put(R"({"mode":"fixed"})", {"If-Match: \"0\""});
  ASSERT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(Json(stale.body).Str("/message"),
            "The loyalty settings are at version 1, not 0; re-read them and retry");
  EXPECT_EQ(max_->Send("PUT", "/api/v1/customer-levels", R"({"mode":"fixed"})").status, 403);
  EXPECT_EQ(ann_->Send("PUT", "/api/v1/customer-levels", R"({"mode":"fixed"})").status, 403);
  EXPECT_EQ(LogSize(app_.app(), std::string(kLoyaltyTopic)), before);
  Json levels = Levels(first.headers["x-keel-position"]);
  EXPECT_EQ(levels.Str("/data/mode"), "quintile");
}

}  // namespace
}  // namespace keel

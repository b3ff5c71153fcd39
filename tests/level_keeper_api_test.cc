// The level keeper end to end (issue 16): the real App on port 0 over the embedded log and
// RocksDB. Orders placed through the API move customers' levels; a keeper pass records each change
// once as an event on the customers stream (served in the customer's history), gives the
// customer_level promotions of the new level, and records nothing again on the next pass, after a
// restart, or when the keeper runs on its own timer.
#include <chrono>
#include <string>
#include <thread>

#include "commands/level_keeper.h"
#include "domain/loyalty.h"
#include "domain/time.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

constexpr Millis kDay = 86'400'000;

class LevelKeeperApiTest : public WorkFixture {
 protected:
  std::string Customer(HttpClient& c, const std::string& name) {
    auto r = c.Send("POST", "/api/v1/customers",
                    R"({"name":")" + name + R"(","email":")" + name + R"(@levels.io"})");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  void Orders(const std::string& customer, int count, const std::string& amount, int days_ago) {
    const std::string date = FormatIso8601(SystemClock().NowMillis() - days_ago * kDay);
    for (int i = 0; i < count; ++i) {
      auto r = admin_.Send("POST", "/api/v1/orders",
                           R"({"customerId":")" + customer + R"(","orderAmount":)" + amount +
                               R"(,"orderDate":")" + date + R"(","status":"Delivered"})");
      ASSERT_EQ(r.status, 201) << r.body;
      positions_.Remember(r.headers["x-keel-position"]);
    }
  }
  std::string LevelPromotion(const std::string& level) {
    auto r = admin_.Send("POST", "/api/v1/promotions",
                         R"({"title":")" + level +
                             R"( gift","rewardType":"PERCENTAGE","rewardValue":10,"condition":)"
                             R"({"type":"customer_level","level":")" +
                             level + R"("},"durationDays":30})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  // Waits until every command of the test is folded (the view the keeper reads included).
  void AwaitFolded() {
    auto r = admin_.Send("GET", AtPosition("/api/v1/customer-levels", positions_.Joined()));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The customer's history's event types, once it holds `at_least` events (five seconds at most).
  std::vector<std::string> History(const std::string& customer, size_t at_least) {
    std::vector<std::string> types;
    for (int i = 0; i < 250; ++i) {
      Json j(admin_.Send("GET", "/api/v1/customers/" + customer + "/events").body);
      types.clear();
      for (size_t k = 0; k < j.Size("/data"); ++k) {
        types.push_back(j.Str(Numbered("/data/", static_cast<int64_t>(k), "/type")));
      }
      if (types.size() >= at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return types;
  }
  // The customer's promotions (the answer's body) once there are `at_least` (five seconds at
  // most).
  std::string Promotions(const std::string& customer, size_t at_least) {
    std::string body;
    for (int i = 0; i < 250; ++i) {
      body = admin_.Send("GET", "/api/v1/customers/" + customer + "/promotions").body;
      if (Json(body).Size("/data") >= at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return body;
  }
  // Keeper passes until one finds nothing (each after the view folded the last one's events).
  LevelKeeper::Pass Settle() {
    LevelKeeper::Pass pass;
    for (int i = 0; i < 250; ++i) {
      pass = app_.app().levels().RunOnce();
      if (pass.ran && pass.found == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pass;
  }

  Positions positions_;
};

TEST_F(LevelKeeperApiTest, ALevelChangeIsRecordedOnceAndEarnsItsPromotion) {
  const std::string gold_gift = LevelPromotion("Gold");
  const std::string platinum_gift = LevelPromotion("Platinum");
  const std::string gold = Customer(admin_, "gold");
  Orders(gold, 11, "455", 20);  // 11 orders, 5,005.00, 20 days: 4 4 4, Gold
  const std::string silver = Customer(admin_, "silver");
  Orders(silver, 6, "200", 60);                       // 3 3 3, Silver
  const std::string none = Customer(admin_, "none");  // 1 1 1, where nothing recorded stands
  AwaitFolded();
  const int64_t logged = LogSize(app_.app());

  const LevelKeeper::Pass first = app_.app().levels().RunOnce();
  ASSERT_TRUE(first.ran);
  EXPECT_EQ(first.found, 2u);  // gold and silver; none, and the fixture's two, stand at 1 1 1
  EXPECT_EQ(first.submitted, 2u);
  EXPECT_EQ(first.appended, 2u);
  EXPECT_EQ(first.failed, 0u);
  // Two level changes and the one gift of Gold, in their decisions' appends.
  EXPECT_EQ(LogSize(app_.app()), logged + 3);

  const auto history = History(gold, 14);
  ASSERT_EQ(history.size(), 14u);  // registered, 11 orders, the level change, the gift
  EXPECT_EQ(history[12], kCustomerLevelChanged);
  EXPECT_EQ(history[13], "PromotionAssigned");
  Json held(Promotions(gold, 1));
  ASSERT_EQ(held.Size("/data"), 1u) << held.Str("/message");
  EXPECT_EQ(held.Str("/data/0/promotionId"), gold_gift);
  EXPECT_EQ(held.Str("/data/0/reason"), "customer_level");
  EXPECT_EQ(Json(Promotions(silver, 0)).Size("/data"), 0u);
  EXPECT_EQ(Json(Promotions(none, 0)).Size("/data"), 0u);

  // Once folded, nothing is left to record, and nothing more was appended.
  EXPECT_EQ(Settle().found, 0u);
  EXPECT_EQ(LogSize(app_.app()), logged + 3);

  // Segments read the recorded standing: a saved one (live membership) and previews (the
  // in-memory columns). The fixture's two customers and "none" stand at Bronze, 1, 1, 1.
  auto segment =
      admin_.Send("POST", "/api/v1/segments",
                  R"({"name":"Gold and up","rules":{"field":"level","op":">=","value":"Gold"}})");
  ASSERT_EQ(segment.status, 201) << segment.body;
  EXPECT_EQ(Json(segment.body).Int("/data/audienceSize"), 1);
  auto preview = [&](const std::string& rules) {
    auto r = admin_.Send("POST", "/api/v1/segments/preview", R"({"rules":)" + rules + "}");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).Int("/data/audienceSize");
  };
  EXPECT_EQ(preview(R"({"field":"level","op":"=","value":"Bronze"})"), 3);
  EXPECT_EQ(preview(R"({"field":"customerLevel","op":"in","value":["Silver","Gold"]})"), 2);
  EXPECT_EQ(preview(R"({"field":"frequencyScore","op":">=","value":3})"), 2);
  EXPECT_EQ(preview(R"({"field":"level","op":"is_empty"})"), 0);

  // More orders take gold to Platinum: one more change, one more gift; Gold's is kept.
  Orders(gold, 9, "600", 2);  // 20 orders, 10,405.00, 2 days: 5 5 5
  AwaitFolded();
  const LevelKeeper::Pass up = app_.app().levels().RunOnce();
  EXPECT_EQ(up.appended, 1u);
  Json both(Promotions(gold, 2));
  ASSERT_EQ(both.Size("/data"), 2u);
  EXPECT_EQ(Settle().found, 0u);
  (void)platinum_gift;

  // After a restart the read model and the write model hold the standings (from the store, the
  // log or the snapshot): the first pass finds nothing to record.
  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  LevelKeeper::Pass after;
  for (int i = 0; i < 250 && !after.ran; ++i) {
    after = app_.app().levels().RunOnce();
    if (!after.ran) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(after.ran);
  EXPECT_EQ(after.found, 0u);
  EXPECT_EQ(after.appended, 0u);
}

// A pass that runs before the view folded its predecessor's events sends nothing twice, and the
// command side would refuse to record a change twice anyway.
TEST_F(LevelKeeperApiTest, BackToBackPassesRecordEachChangeOnce) {
  const std::string gold = Customer(admin_, "gold");
  Orders(gold, 11, "455", 20);
  AwaitFolded();
  const int64_t logged = LogSize(app_.app());
  int64_t appended = 0;
  for (int i = 0; i < 20; ++i)
    appended += static_cast<int64_t>(app_.app().levels().RunOnce().appended);
  EXPECT_EQ(appended, 1);
  EXPECT_EQ(LogSize(app_.app()), logged + 1);
}

// In quintile mode the keeper scores against the cut points it took at its first pass of the day:
// a new customer's orders move the live quintiles (and so the scores served at read time) but
// record a change for that customer alone, not for every customer whose tie group moved.
TEST_F(LevelKeeperApiTest, QuintileCutPointsAreFrozenForTheDay) {
  std::vector<std::string> ids;
  for (int n = 1; n <= 5; ++n) {
    ids.push_back(Customer(admin_, "q" + std::to_string(n)));
    Orders(ids.back(), n, "100", 10);  // 1 to 5 orders: one per frequency quintile
  }
  auto quintile = admin_.Send("PUT", "/api/v1/customer-levels",
                              R"({"mode":"quintile","quintileMinCustomers":2})");
  ASSERT_EQ(quintile.status, 200) << quintile.body;
  AwaitFolded();
  auto settled = admin_.Send(
      "GET", "/api/v1/customer-levels?settingsPosition=" + quintile.headers["x-keel-position"]);
  ASSERT_EQ(settled.status, 200) << settled.body;
  ASSERT_EQ(Json(settled.body).Str("/data/thresholds/source"), "quintile");
  const LevelKeeper::Pass first = app_.app().levels().RunOnce();
  EXPECT_EQ(first.appended, 5u);
  EXPECT_EQ(Settle().found, 0u);

  // Ten more customers with 9 orders each: the live frequency quintiles move for everyone.
  for (int n = 0; n < 10; ++n) {
    const std::string id = Customer(admin_, "big" + std::to_string(n));
    Orders(id, 9, "100", 10);
  }
  AwaitFolded();
  const LevelKeeper::Pass next = app_.app().levels().RunOnce();
  EXPECT_EQ(next.appended, 10u);  // the ten new customers; the first five keep their standing
  EXPECT_EQ(Settle().found, 0u);
}

// With an interval, the keeper runs on its own.
TEST(LevelKeeperTimerTest, TheKeeperRecordsOnItsOwnTimer) {
  AppConfig config;
  config.level_interval_ms = 100;
  TestApp app(config);
  HttpClient admin(app.base(), app.token());
  auto r = admin.Send("POST", "/api/v1/customers", R"({"name":"T","email":"t@levels.io"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = Json(r.body).Str("/data/id");
  const std::string date = FormatIso8601(SystemClock().NowMillis() - kDay);
  for (int i = 0; i < 20; ++i) {
    auto o = admin.Send(
        "POST", "/api/v1/orders",
        R"({"customerId":")" + id + R"(","orderAmount":600,"orderDate":")" + date + R"("})");
    ASSERT_EQ(o.status, 201) << o.body;
  }
  // A pass may run between two of the orders, so the last event can be a later score-only change
  // (say frequency 4 to 5 within Platinum): look for a level change anywhere in the history.
  bool level_changed = false;
  for (int i = 0; i < 500 && !level_changed; ++i) {
    Json j(admin.Send("GET", "/api/v1/customers/" + id + "/events").body);
    const size_t n = j.Size("/data");
    for (size_t k = 0; k < n && !level_changed; ++k) {
      level_changed =
          j.Str(Numbered("/data/", static_cast<int64_t>(k), "/type")) == kCustomerLevelChanged;
    }
    if (!level_changed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(level_changed);
}

}  // namespace
}  // namespace keel

// Automated messages end to end (issue 16): the automation keeper of a real server (embedded
// log, RocksDB, HTTP on port 0) launches welcome, birthday and inactivity runs; the dispatcher
// sends them to a DummyVendor on loopback; each customer gets each occasion's message once,
// across restarts.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "domain/automation.h"
#include "tests/test_app.h"
#include "tests/test_vendor.h"

namespace keel {
namespace {

constexpr const char* kSecret = "vendor-test-secret-of-32-characters";
constexpr int64_t kDayMs = 86'400'000;

class AutomationApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Not across midnight UTC: the birthday run is the day's.
    const Millis now = SystemClock().NowMillis();
    const Millis to_midnight = kDayMs - now % kDayMs;
    if (to_midnight < 90'000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(to_midnight + 100));
    }
    client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  }
  // Restarts the server with a vendor and every automation on.
  void StartAutomations() {
    vendor_ = StartVendorFor(app_, kSecret, 3);
    ASSERT_TRUE(vendor_);
    AppConfig& config = app_.mutable_config();
    config.welcome_message = "Welcome {{firstName | \"friend\"}}";
    config.birthday_message = "Happy birthday {{firstName}}, our {{level}} customer";
    config.inactivity_message = "We miss you {{firstName}}";
    config.inactivity_days = 60;
    config.automation_interval_ms = 1000;
    app_.Restart();
    client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  }

  std::string Register(const std::string& body) {
    auto r = client_->Send("POST", "/api/v1/customers", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  // The automated runs, by name: {occasion, id}.
  std::map<std::string, std::pair<std::string, std::string>> Runs() {
    std::map<std::string, std::pair<std::string, std::string>> runs;
    auto r = client_->Send("GET", "/api/v1/campaigns?limit=100");
    Json j(r.body);
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      const std::string at = "/data/" + std::to_string(i);
      const std::string occasion = j.Str(at + "/occasion");
      if (occasion.starts_with("<missing")) continue;  // null: a segment's campaign
      runs[j.Str(at + "/name")] = {occasion, j.Str(at + "/id")};
    }
    return runs;
  }
  // The run of `occasion` whose campaign is Sent with `queued` messages (one of them to
  // `customer`, if given), within `seconds`; its campaign document ("" if none came).
  std::string AwaitSentRun(const std::string& occasion, int64_t queued,
                           const std::string& customer = "", int seconds = 20) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      for (const auto& [name, run] : Runs()) {
        if (run.first != occasion) continue;
        auto r = client_->Send("GET", "/api/v1/campaigns/" + run.second + "?limit=100");
        Json j(r.body);
        if (j.Str("/data/status") != "Sent" || j.Int("/data/stats/queued") != queued) continue;
        bool reached = customer.empty();
        for (const auto& [id, text] : Communications(r.body)) reached = reached || id == customer;
        if (reached) return r.body;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }
  static std::vector<std::pair<std::string, std::string>> Communications(const std::string& body) {
    std::vector<std::pair<std::string, std::string>> out;  // customer, text
    Json j(body);
    for (size_t i = 0; i < j.Size("/data/communications"); ++i) {
      const std::string at = "/data/communications/" + std::to_string(i);
      out.emplace_back(j.Str(at + "/customerId"), j.Str(at + "/text"));
    }
    return out;
  }

  TestApp app_;
  std::unique_ptr<vendor::DummyVendor> vendor_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(AutomationApiTest, EachOccasionReachesEachDueCustomerOnceAcrossRestarts) {
  // Before the automations are on: a birthday today, a customer with no order for 100 days, and
  // one with neither.
  const Millis now = SystemClock().NowMillis();
  const std::string today = FormatIso8601(now).substr(0, 10);
  const std::string born = "1990" + today.substr(4);  // this month and day
  const std::string bea =
      Register(R"({"name":"Bea Day","email":"bea@x.io","birthDate":")" + born + R"("})");
  Register(R"({"name":"Ned Other","email":"ned@x.io"})");
  const std::string ida = Register(R"({"name":"Ida Idle","email":"ida@x.io"})");
  auto order = client_->Send("POST", "/api/v1/orders",
                             R"({"customerId":")" + ida + R"(","orderAmount":10,"orderDate":")" +
                                 FormatIso8601(now - 100 * kDayMs) + "\"}");
  ASSERT_EQ(order.status, 201) << order.body;

  StartAutomations();
  // The day's birthday run reaches Bea alone; the week's inactivity run Ida alone.
  const std::string birthday = AwaitSentRun("birthday", 1);
  ASSERT_FALSE(birthday.empty()) << client_->Send("GET", "/api/v1/campaigns?limit=100").body;
  Json b(birthday);
  EXPECT_EQ(b.Str("/data/name"), OccasionRunName(Occasion::kBirthday, now));
  EXPECT_EQ(b.Str("/data/segmentId"), "");
  EXPECT_EQ(b.Str("/data/launchTrigger"), "automation");
  EXPECT_EQ(Communications(birthday), (std::vector<std::pair<std::string, std::string>>{
                                          {bea, "Happy birthday Bea, our Bronze customer"}}));
  const std::string inactivity = AwaitSentRun("inactivity", 1);
  ASSERT_FALSE(inactivity.empty());
  EXPECT_EQ(Communications(inactivity),
            (std::vector<std::pair<std::string, std::string>>{{ida, "We miss you Ida"}}));
  // The first welcome run starts the partitions recording who becomes CUSTOMER: those of
  // before are not welcomed.
  ASSERT_FALSE(AwaitSentRun("welcome", 0).empty());

  // A customer registered now is welcomed at the next run, once; a lead is not, until it
  // becomes a customer.
  const std::string new_one = Register(R"({"name":"Nia New","email":"nia@x.io"})");
  const std::string lead = Register(R"({"name":"Leo Lead","email":"leo@x.io","status":"LEAD"})");
  const std::string welcome = AwaitSentRun("welcome", 1, new_one);
  ASSERT_FALSE(welcome.empty());
  EXPECT_EQ(Communications(welcome),
            (std::vector<std::pair<std::string, std::string>>{{new_one, "Welcome Nia"}}));
  auto moved = client_->Send("PATCH", "/api/v1/customers/" + lead, R"({"status":"CUSTOMER"})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  const std::string second = AwaitSentRun("welcome", 1, lead);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(Communications(second),
            (std::vector<std::pair<std::string, std::string>>{{lead, "Welcome Leo"}}));

  // A restart: the day's and the week's runs exist, so none is launched again, and nobody is
  // sent anything twice.
  const auto before = Runs();
  app_.Restart();
  client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two passes or more
  const auto after = Runs();
  size_t birthdays = 0, inactivities = 0;
  for (const auto& [name, run] : after) {
    birthdays += run.first == "birthday";
    inactivities += run.first == "inactivity";
  }
  EXPECT_EQ(birthdays, 1u);
  EXPECT_EQ(inactivities, 1u);
  for (const auto& [name, run] : after) {
    if (!before.contains(name)) {
      EXPECT_EQ(run.first, "welcome") << name;
    }
  }
  const auto tally = vendor_->tally();
  EXPECT_EQ(tally.duplicates, 0u);
  EXPECT_EQ(tally.accepted, 4u);  // Bea's birthday, Ida's inactivity, Nia's and Leo's welcomes
}

}  // namespace
}  // namespace keel

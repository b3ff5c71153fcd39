// Campaigns end to end over HTTP: the real server on port 0, the embedded log and RocksDB, the
// launcher resolving audiences through the customers stream.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "api/routes.h"
#include "domain/time.h"
#include "domain/topics.h"
#include "infra/auth_crypto.h"
#include "projections/campaign_audience/campaign_audience_projector.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class CampaignApiTest : public ::testing::Test {
 protected:
  std::string Customer(const std::string& name, const std::string& email, double spending) {
    std::string body = R"({"name":")" + name + R"(","email":")" + email;
    body += R"(","totalSpending":)";
    body += std::to_string(spending);
    body += "}";
    auto r = client_.Send("POST", "/api/v1/customers", body);
    EXPECT_EQ(r.status, 201) << r.body;
    customers_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  void AwaitCustomers() {
    auto r = client_.Send("GET", AtPosition("/api/v1/customers?limit=1", customers_.Joined()));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // A segment of the customers who spent over `spending`.
  std::string Segment(const std::string& name, int spending) {
    std::string body = R"({"name":")" + name;
    body += R"(","rules":{"field":"totalSpending","op":">","value":)";
    body += std::to_string(spending);
    body += "}}";
    auto r = client_.Send("POST", "/api/v1/segments", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  HttpResult Create(const std::string& body) {
    auto r = client_.Send("POST", "/api/v1/campaigns", body);
    if (r.status == 201 || r.status == 200) campaign_position_ = r.headers["x-keel-position"];
    return r;
  }
  HttpResult Command(const std::string& path, const std::string& body = "") {
    auto r = client_.Send("POST", path, body);
    if (r.status == 200 && !r.headers["x-keel-position"].empty()) {
      campaign_position_ = r.headers["x-keel-position"];
    }
    return r;
  }
  HttpResult Get(const std::string& path) {
    return client_.Send("GET", AtPosition(path, campaign_position_));
  }
  // Waits (bounded) until the campaign's audience is frozen; returns its last reading.
  std::string AwaitAudience(const std::string& id) {
    std::string body;
    for (int i = 0; i < 600; ++i) {  // 30 s at most: the launcher polls every second
      // After the campaign's last command (its record), until the audience is frozen.
      auto r = client_.Send("GET", AtPosition("/api/v1/campaigns/" + id, campaign_position_));
      EXPECT_EQ(r.status, 200) << r.body;
      body = r.body;
      if (r.body.find("\"totalAudience\"") != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
  }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  Positions customers_;  // every customer command's position, per partition
  std::string campaign_position_ = "0:0";
};

TEST_F(CampaignApiTest, CreateEditLaunchFreezesTheSegmentsAudienceWithRenderedMessages) {
  const std::string ada = Customer("Ada Lovelace", "ada@x.io", 5000);
  Customer("Bob", "bob@x.io", 200);
  const std::string cy = Customer("Cy", "cy@x.io", 1500);
  const std::string di = Customer("Di", "di@x.io", 3000);
  ASSERT_EQ(client_.Send("DELETE", "/api/v1/customers/" + di).status, 200);
  AwaitCustomers();
  const std::string segment = Segment("Big spenders", 1000);

  // Bad input: every field named, nothing appended.
  const int64_t before = LogSize(app_.app(), std::string(kCampaignsTopic));
  auto bad = Create(R"({"name":"","segmentId":"nope","message":"Hi {{frstName}}","x":1})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("frstName"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("\"name\""), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("\"x\""), std::string::npos) << bad.body;
  auto unknown = Create(R"({"name":"A","segmentId":"nope","message":"Hi"})");
  ASSERT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("segmentId"), std::string::npos) << unknown.body;
  EXPECT_EQ(LogSize(app_.app(), std::string(kCampaignsTopic)), before);

  auto created =
      Create(R"({"name":"Spring","segmentId":")" + segment +
             R"(","message":"Hello {{firstName | \"there\"}}, you spent {{totalSpending}}"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  EXPECT_EQ(Json(created.body).Str("/data/status"), "Draft");
  EXPECT_EQ(created.headers["etag"], "\"1\"");

  auto edited = client_.Send("PATCH", "/api/v1/campaigns/" + id, R"({"name":"Spring sale"})",
                             {"If-Match: \"1\""});
  ASSERT_EQ(edited.status, 200) << edited.body;
  EXPECT_EQ(Json(edited.body).Str("/data/name"), "Spring sale");
  EXPECT_EQ(Json(edited.body).Int("/data/version"), 2);

  // A Draft cannot be paused: 409 naming both states.
  auto illegal = Command("/api/v1/campaigns/" + id + "/pause");
  ASSERT_EQ(illegal.status, 409) << illegal.body;
  EXPECT_NE(illegal.body.find("is Draft; it cannot become Paused"), std::string::npos)
      << illegal.body;

  auto launched = Command("/api/v1/campaigns/" + id + "/launch");
  ASSERT_EQ(launched.status, 200) << launched.body;
  EXPECT_EQ(Json(launched.body).Str("/data/status"), "Running");
  EXPECT_EQ(Json(launched.body).Str("/data/launchTrigger"), "manual");
  auto again = Command("/api/v1/campaigns/" + id + "/execute");
  EXPECT_EQ(again.status, 409) << again.body;
  auto late_edit = client_.Send("PATCH", "/api/v1/campaigns/" + id, R"({"name":"X"})");
  EXPECT_EQ(late_edit.status, 409) << late_edit.body;

  // The audience: Ada, Cy and Di are in the segment by its rules; Di, deactivated, is excluded.
  const std::string frozen_body = AwaitAudience(id);
  Json frozen(frozen_body);
  ASSERT_EQ(frozen.Int("/data/stats/totalAudience"), 3) << frozen_body;
  EXPECT_EQ(frozen.Int("/data/stats/excluded/inactive"), 1);
  EXPECT_EQ(frozen.Int("/data/stats/queued"), 2);
  EXPECT_EQ(frozen.Int("/data/stats/pending"), 2);
  EXPECT_EQ(frozen.Size("/data/stats/audiencePositions"),
            static_cast<size_t>(app_.app().log().PartitionCount()));
  EXPECT_EQ(frozen.Str("/data/segment/name"), "Big spenders");
  ASSERT_EQ(frozen.Size("/data/communications"), 2u);
  std::map<std::string, std::string> texts;
  for (size_t i = 0; i < 2; ++i) {
    const std::string at = "/data/communications/" + std::to_string(i);
    texts[frozen.Str(at + "/customerId")] = frozen.Str(at + "/text");
    EXPECT_EQ(frozen.Str(at + "/status"), "PENDING");
    EXPECT_EQ(frozen.Str(at + "/id"), id + ":" + frozen.Str(at + "/customerId"));
  }
  EXPECT_EQ(texts[ada], "Hello Ada, you spent 5000.00");
  EXPECT_EQ(texts[cy], "Hello Cy, you spent 1500.00");

  // Pages of the communication log.
  auto first = client_.Send("GET", "/api/v1/campaigns/" + id + "?limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string cursor = Json(first.body).Str("/meta/nextCursor");
  auto second = client_.Send("GET", "/api/v1/campaigns/" + id + "?limit=1&cursor=" + cursor);
  ASSERT_EQ(Json(second.body).Size("/data/communications"), 1u);
  EXPECT_NE(Json(second.body).Str("/data/communications/0/customerId"),
            Json(first.body).Str("/data/communications/0/customerId"));

  auto mine = client_.Send("GET", "/api/v1/customers/" + ada + "/communications");
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(Json(mine.body).Size("/data"), 1u);
  EXPECT_EQ(Json(mine.body).Str("/data/0/text"), "Hello Ada, you spent 5000.00");

  ASSERT_EQ(Command("/api/v1/campaigns/" + id + "/pause").status, 200);
  ASSERT_EQ(Command("/api/v1/campaigns/" + id + "/resume").status, 200);
  auto cancelled = Command("/api/v1/campaigns/" + id + "/cancel", R"({"reason":"wrong offer"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Json(cancelled.body).Str("/data/status"), "Cancelled");
  EXPECT_EQ(Json(cancelled.body).Str("/data/reason"), "wrong offer");
  EXPECT_EQ(Command("/api/v1/campaigns/" + id + "/resume").status, 409);

  auto list = Get("/api/v1/campaigns/history?status=Cancelled");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(Json(list.body).Int("/meta/total"), 1);
  EXPECT_EQ(Json(list.body).Str("/data/0/id"), id);
}

// A partition that answers that it cannot resolve the audience (the message is one this build
// refuses: the projector's test shows it answering so; here its answer is put in the read model
// for one partition before the launch) fails the campaign with the reason, instead of leaving
// it Running with nobody queued.
TEST_F(CampaignApiTest, AnAudienceThatCannotBeResolvedFailsTheCampaignWithTheReason) {
  Customer("Ada", "ada@x.io", 5000);
  AwaitCustomers();
  const std::string segment = Segment("Big spenders", 1000);
  auto created = Create(R"({"name":"Spring","segmentId":")" + segment + R"(","message":"Hi"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  AudiencePart refused;
  refused.failure = "Its message is one this build refuses: message: unknown placeholder";
  ASSERT_TRUE(app_.app().store().Write(
      {{kCampaignAudiencePartsTable, id + "/00001", EncodeAudiencePart(refused)}}));
  ASSERT_EQ(Command("/api/v1/campaigns/" + id + "/launch").status, 200);
  std::string body;
  for (int i = 0; i < 600; ++i) {  // 30 s at most: the launcher polls every second
    body = client_.Send("GET", "/api/v1/campaigns/" + id).body;
    if (Json(body).Str("/data/status") == "Failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Json failed(body);
  ASSERT_EQ(failed.Str("/data/status"), "Failed") << body;
  EXPECT_EQ(failed.Str("/data/reason"),
            "Its audience could not be resolved in partition 1: " + refused.failure);
  EXPECT_EQ(app_.app().customer_projection().counters().dead_lettered, 0);
}

TEST_F(CampaignApiTest, UnsubscribedCustomersAreExcludedUntilTheyResubscribe) {
  const std::string ada = Customer("Ada", "ada@x.io", 5000);
  const std::string cy = Customer("Cy", "cy@x.io", 1500);
  auto unsubscribed = client_.Send("POST", "/api/v1/customers/" + cy + "/unsubscribe");
  ASSERT_EQ(unsubscribed.status, 200) << unsubscribed.body;
  EXPECT_TRUE(Json(unsubscribed.body).Bool("/data/unsubscribed"));
  EXPECT_EQ(Json(unsubscribed.body).Int("/data/version"), 2);
  customers_.Remember(unsubscribed.headers["x-keel-position"]);
  // Again: nothing appended, the same answer.
  const int64_t events = LogSize(app_.app(), std::string(kCustomersTopic));
  auto again = client_.Send("POST", "/api/v1/customers/" + cy + "/unsubscribe");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(again.body).Int("/data/version"), 2);
  EXPECT_EQ(LogSize(app_.app(), std::string(kCustomersTopic)), events);
  EXPECT_EQ(client_.Send("POST", "/api/v1/customers/nobody/unsubscribe").status, 404);
  AwaitCustomers();
  auto read = client_.Send("GET", "/api/v1/customers/" + cy);
  EXPECT_TRUE(Json(read.body).Bool("/data/unsubscribed")) << read.body;

  const std::string segment = Segment("Spenders", 1000);
  auto first = Create(R"({"name":"First","segmentId":")" + segment + R"(","message":"Hi"})");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string id = Json(first.body).Str("/data/id");
  ASSERT_EQ(Command("/api/v1/campaigns/" + id + "/launch").status, 200);
  Json frozen(AwaitAudience(id));
  EXPECT_EQ(frozen.Int("/data/stats/totalAudience"), 2);
  EXPECT_EQ(frozen.Int("/data/stats/excluded/unsubscribed"), 1);
  EXPECT_EQ(frozen.Int("/data/stats/queued"), 1);
  ASSERT_EQ(frozen.Size("/data/communications"), 1u);
  EXPECT_EQ(frozen.Str("/data/communications/0/customerId"), ada);

  auto back = client_.Send("POST", "/api/v1/customers/" + cy + "/resubscribe");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_FALSE(Json(back.body).Bool("/data/unsubscribed"));
  customers_.Remember(back.headers["x-keel-position"]);
  AwaitCustomers();
  auto second = Create(R"({"name":"Second","segmentId":")" + segment + R"(","message":"Hi"})");
  const std::string id2 = Json(second.body).Str("/data/id");
  ASSERT_EQ(Command("/api/v1/campaigns/" + id2 + "/launch").status, 200);
  Json again_frozen(AwaitAudience(id2));
  EXPECT_EQ(again_frozen.Int("/data/stats/excluded/unsubscribed"), 0);
  EXPECT_EQ(again_frozen.Int("/data/stats/queued"), 2);
}

// The link a campaign message ends with: signed with a key derived from the session secret.
TEST_F(CampaignApiTest, AMessagesSignedLinkUnsubscribesItsCustomerAndAForgedOneNothing) {
  const std::string cy = Customer("Cy", "cy@x.io", 1500);
  const std::string key = crypto::HmacSha256Base64Url(kTestJwtSecret, "keel unsubscribe links v1");
  const std::string link = UnsubscribeUrl(app_.base() + "/", key, "camp-1:" + cy);
  EXPECT_EQ(link.rfind(app_.base() + "/api/v1/unsubscribe?m=camp-1%3A" + cy + "&t=", 0), 0u)
      << link;
  HttpClient anyone(app_.base());  // no session: the signature authenticates
  const int64_t events = LogSize(app_.app(), std::string(kCustomersTopic));
  auto page = anyone.Send("GET", link.substr(app_.base().size()));
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("<form method=\"post\">"), std::string::npos) << page.body;
  EXPECT_EQ(LogSize(app_.app(), std::string(kCustomersTopic)), events);  // GET changes nothing
  std::string forged = link.substr(app_.base().size());
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(anyone.Send("POST", forged).status, 401);
  const std::string other = UnsubscribeUrl("", key, "camp-1:someone-else");
  EXPECT_EQ(anyone.Send("POST", other.substr(0, other.find("&t=")) + link.substr(link.find("&t=")))
                .status,
            401);  // a token of another message
  EXPECT_EQ(LogSize(app_.app(), std::string(kCustomersTopic)), events);

  auto done = anyone.Send("POST", link.substr(app_.base().size()), "List-Unsubscribe=One-Click",
                          {"Content-Type: application/x-www-form-urlencoded"});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_TRUE(Json(done.body).Bool("/data/unsubscribed"));
  EXPECT_EQ(done.body.find("cy@x.io"), std::string::npos);  // nothing of the customer
  EXPECT_EQ(LogSize(app_.app(), std::string(kCustomersTopic)), events + 1);
  EXPECT_EQ(anyone.Send("POST", link.substr(app_.base().size())).status, 200);
  EXPECT_EQ(LogSize(app_.app(), std::string(kCustomersTopic)), events + 1);
  // The public answer carries no log position: the read model folds the event soon after.
  HttpResult read;
  for (int i = 0; i < 100; ++i) {
    read = client_.Send("GET", "/api/v1/customers/" + cy);
    if (Json(read.body).Bool("/data/unsubscribed")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(Json(read.body).Bool("/data/unsubscribed")) << read.body;
}

TEST_F(CampaignApiTest, ScheduledCampaignLaunchesOnceItsTimeComesAndAnEmptyAudienceIsSent) {
  Customer("Ada", "ada@x.io", 50);
  AwaitCustomers();
  const std::string segment = Segment("Nobody", 1000000);
  const std::string at = FormatIso8601(SystemClock().NowMillis() + 1500);
  auto created = Create(R"({"name":"Later","segmentId":")" + segment +
                        R"(","message":"Hi {{name}}","scheduledAt":")" + at + R"("})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  EXPECT_EQ(Json(created.body).Str("/data/status"), "Scheduled");
  auto past =
      Command("/api/v1/campaigns/" + id + "/schedule", R"({"scheduledAt":"2001-01-01T00:00:00Z"})");
  EXPECT_EQ(past.status, 400) << past.body;

  std::string status, body;
  for (int i = 0; i < 600 && status != "Sent"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    body = client_.Send("GET", "/api/v1/campaigns/" + id).body;
    status = Json(body).Str("/data/status");
  }
  ASSERT_EQ(status, "Sent") << body;
  Json last(body);
  EXPECT_EQ(last.Str("/data/launchTrigger"), "schedule");
  EXPECT_EQ(last.Int("/data/stats/totalAudience"), 0);
  EXPECT_GE(ParseIso8601(last.Str("/data/launchedAt")).value_or(0),
            ParseIso8601(at).value_or(INT64_MAX));
}

TEST_F(CampaignApiTest, AnAudienceIsResolvedAgainAfterARestartAndOnceOnly) {
  Customer("Ada", "ada@x.io", 5000);
  AwaitCustomers();
  const std::string segment = Segment("Big", 1000);
  auto created = Create(R"({"name":"Now","segmentId":")" + segment +
                        R"(","message":"Hi {{name}}","launch":true})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  EXPECT_EQ(Json(created.body).Str("/data/status"), "Running");
  const std::string frozen_body = AwaitAudience(id);
  ASSERT_EQ(Json(frozen_body).Int("/data/stats/queued"), 1) << frozen_body;
  const int64_t events = LogSize(app_.app(), std::string(kCampaignsTopic));

  app_.Restart();
  HttpClient again(app_.base(), app_.token());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Nothing is appended again for a campaign whose audience is frozen.
  EXPECT_EQ(LogSize(app_.app(), std::string(kCampaignsTopic)), events);
  auto got = again.Send("GET", "/api/v1/campaigns/" + id);
  EXPECT_EQ(Json(got.body).Int("/data/stats/queued"), 1) << got.body;
  EXPECT_EQ(Json(got.body).Size("/data/communications"), 1u);
}

TEST_F(CampaignApiTest, ARepReadsOnlyTheirOwnCustomersInACampaignsCommunicationLog) {
  auto user = client_.Send(
      "POST", "/api/v1/users",
      R"({"name":"Rep","email":"rep@keel.test","password":"password-123","role":"sales_rep"})");
  ASSERT_EQ(user.status, 201) << user.body;
  HttpClient rep(app_.base(), LoginToken(app_.base(), "rep@keel.test", "password-123"));
  auto mine = rep.Send("POST", "/api/v1/customers", R"({"name":"Mine","email":"mine@x.io"})");
  ASSERT_EQ(mine.status, 201) << mine.body;
  const std::string mine_id = Json(mine.body).Str("/data/id");
  const std::string theirs = Customer("Theirs", "theirs@x.io", 10);
  AwaitCustomers();
  auto segment = client_.Send("POST", "/api/v1/segments",
                              R"({"name":"All","rules":{"field":"visits","op":">=","value":0}})");
  ASSERT_EQ(segment.status, 201) << segment.body;
  auto created = Create(R"({"name":"Both","segmentId":")" + Json(segment.body).Str("/data/id") +
                        R"(","message":"Hi {{name}}","launch":true})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  ASSERT_EQ(Json(AwaitAudience(id)).Int("/data/stats/queued"), 2);

  auto as_admin = client_.Send("GET", "/api/v1/campaigns/" + id);
  EXPECT_EQ(Json(as_admin.body).Size("/data/communications"), 2u);
  auto as_rep = rep.Send("GET", "/api/v1/campaigns/" + id);
  ASSERT_EQ(as_rep.status, 200) << as_rep.body;
  ASSERT_EQ(Json(as_rep.body).Size("/data/communications"), 1u) << as_rep.body;
  EXPECT_EQ(Json(as_rep.body).Str("/data/communications/0/customerId"), mine_id);
  EXPECT_EQ(rep.Send("GET", "/api/v1/customers/" + theirs + "/communications").status, 403);
  EXPECT_EQ(rep.Send("GET", "/api/v1/customers/" + mine_id + "/communications").status, 200);
}

}  // namespace
}  // namespace keel

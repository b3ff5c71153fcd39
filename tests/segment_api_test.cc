// Segments end to end over HTTP: the real server on port 0, the embedded log and RocksDB.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "domain/time.h"
#include "domain/topics.h"
#include "tests/test_app.h"

namespace keel {
namespace {

// prefix + n + suffix (built with +=: GCC 12 warns falsely on "literal" + std::to_string).
std::string Numbered(std::string prefix, int64_t n, std::string_view suffix = "") {
  prefix += std::to_string(n);
  prefix += suffix;
  return prefix;
}

class SegmentApiTest : public ::testing::Test {
 protected:
  // Registers a customer and returns its id.
  std::string Customer(const std::string& name, const std::string& email, double spending,
                       int visits) {
    std::string body = R"({"name":")" + name + R"(","email":")" + email;
    body += R"(","totalSpending":)";
    body += std::to_string(spending);
    body += R"(,"visits":)";
    body += std::to_string(visits);
    body += "}";
    auto r = client_.Send("POST", "/api/v1/customers", body);
    EXPECT_EQ(r.status, 201) << r.body;
    customers_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  // Waits until the customers' projection (and so their audience columns) has every command
  // answered so far.
  void AwaitCustomers() {
    auto r = client_.Send("GET", AtPosition("/api/v1/customers?limit=1", customers_.Joined()));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  HttpResult Define(const std::string& body) {
    auto r = client_.Send("POST", "/api/v1/segments", body);
    if (r.status == 201) segments_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  HttpResult GetSegment(const std::string& path) {
    // After every segment command so far: segments sit in partitions by id.
    return client_.Send("GET", AtPosition(path, segments_.Joined()));
  }
  int64_t SegmentEvents() { return LogSize(app_.app(), std::string(kSegmentsTopic)); }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  Positions customers_;  // every customer command's position, per partition
  Positions segments_;   // every segment command's position, per partition
};

TEST_F(SegmentApiTest, DefineReadRedefineArchiveWithLiveAudience) {
  Customer("Ada", "ada@x.io", 5000, 1);
  Customer("Bob", "bob@x.io", 200, 7);
  Customer("Cy", "cy@x.io", 1500, 4);
  AwaitCustomers();

  // Seed 000's flat list: spending over 1000 (Ada, Cy).
  auto created = Define(
      R"({"name":"  Big spenders ","description":"Over 1000",)"
      R"("rules":[{"field":"totalSpending","operator":">","value":1000,"logicalOperator":"AND"}]})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json c(created.body);
  const std::string id = c.Str("/data/id");
  EXPECT_EQ(c.Str("/data/name"), "Big spenders");
  EXPECT_EQ(c.Int("/data/audienceSize"), 2);
  EXPECT_EQ(c.Int("/data/version"), 1);
  EXPECT_EQ(c.Str("/data/status"), "active");
  EXPECT_EQ(c.Str("/data/rules/field"), "totalSpending");
  EXPECT_EQ(c.Str("/meta/position/topic"), "keel.segments");
  EXPECT_EQ(created.headers["etag"], "\"1\"");
  auto me = client_.Send("GET", "/api/v1/auth/me");
  EXPECT_EQ(c.Str("/data/createdBy"), Json(me.body).Str("/data/user/id"));

  auto got = GetSegment("/api/v1/segments/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got.body).Int("/data/audienceSize"), 2);
  EXPECT_EQ(Json(got.body).Str("/data/description"), "Over 1000");

  // The audience follows the customers: a third one over 1000.
  Customer("Di", "di@x.io", 3000, 0);
  AwaitCustomers();
  EXPECT_EQ(Json(GetSegment("/api/v1/segments/" + id).body).Int("/data/audienceSize"), 3);

  // A new version of the rules (seed 001's nested shape): visits ≥ 4 or spending under 300.
  auto redefined = client_.Send(
      "PUT", "/api/v1/segments/" + id,
      R"({"name":"Regulars","rules":{"or":[{"field":"visits","op":">=","value":4},)"
      R"({"field":"spend","op":"<","value":300}]}})",
      {"If-Match: \"1\""});
  ASSERT_EQ(redefined.status, 200) << redefined.body;
  EXPECT_EQ(Json(redefined.body).Int("/data/version"), 2);
  EXPECT_EQ(Json(redefined.body).Int("/data/audienceSize"), 2);  // Bob, Cy
  segments_.Remember(redefined.headers["x-keel-position"]);
  auto stale = client_.Send("PUT", "/api/v1/segments/" + id,
                            R"({"name":"X","rules":{"field":"visits","op":">","value":1}})",
                            {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409) << stale.body;

  auto list = GetSegment("/api/v1/segments");
  ASSERT_EQ(list.status, 200) << list.body;
  Json l(list.body);
  ASSERT_EQ(l.Size("/data"), 1u);
  EXPECT_EQ(l.Str("/data/0/name"), "Regulars");
  EXPECT_EQ(l.Int("/data/0/audienceSize"), 2);
  EXPECT_EQ(l.Int("/meta/total"), 1);

  auto archived = client_.Send("DELETE", "/api/v1/segments/" + id);
  ASSERT_EQ(archived.status, 200) << archived.body;
  EXPECT_EQ(Json(archived.body).Str("/data/status"), "archived");
  segments_.Remember(archived.headers["x-keel-position"]);
  EXPECT_EQ(Json(GetSegment("/api/v1/segments").body).Size("/data"), 0u);
  EXPECT_EQ(Json(GetSegment("/api/v1/segments?includeArchived=true").body).Size("/data"), 1u);
  EXPECT_EQ(client_.Send("GET", "/api/v1/segments/" + id + "/preview").status, 409);

  // Everything is in the log: a restart serves the same.
  app_.Restart();
  HttpClient again(app_.base(), app_.token());
  auto after = again.Send("GET", "/api/v1/segments?includeArchived=true");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Json(after.body).Str("/data/0/status"), "archived");
  auto reuse = again.Send("POST", "/api/v1/segments",
                          R"({"name":"regulars","rules":{"field":"visits","op":">","value":1}})");
  EXPECT_EQ(reuse.status, 201) << reuse.body;  // the archived one's name is free
}

TEST_F(SegmentApiTest, PreviewsAcceptEverySeedsShape) {
  for (int i = 0; i < 12; ++i) {
    Customer(Numbered("Name", i), Numbered("c", i, "@x.io"), 100.0 * i, i % 5);
  }
  AwaitCustomers();
  // Seed 004's check-audience-size: spending > 100 AND visits ≥ 3 → i in {3,4,8,9}.
  auto seed4 = client_.Send(
      "POST", "/api/v1/campaigns/check-audience-size",
      R"({"rules":[{"field":"totalSpend","operator":">","value":100},)"
      R"({"field":"numVisits","operator":">=","value":3}],"logicalOperator":"AND",)"
      R"("message":"Exclusive offer for our loyal customers!"})");
  ASSERT_EQ(seed4.status, 200) << seed4.body;
  EXPECT_EQ(Json(seed4.body).Int("/data/audienceSize"), 4);
  EXPECT_EQ(Json(seed4.body).Size("/data/sample"), 4u);

  // Seed 000: AND binds tighter than OR. visits = 0 AND spending ≥ 500 (5, 10), OR visits = 4
  // (4, 9): four.
  auto seed0 = client_.Send(
      "POST", "/api/v1/segments/preview",
      R"({"rules":[{"field":"visits","operator":"=","value":0},)"
      R"({"field":"totalSpending","operator":">=","value":500,"logicalOperator":"AND"},)"
      R"({"field":"visits","operator":"=","value":4,"logicalOperator":"OR"}]})");
  ASSERT_EQ(seed0.status, 200) << seed0.body;
  EXPECT_EQ(Json(seed0.body).Int("/data/audienceSize"), 4);

  // Seed 001 with not and a contains: names without a "1" (Name1, Name10, Name11 have one).
  auto seed1 = client_.Send(
      "POST", "/api/v1/segments/preview",
      R"({"rules":{"not":{"field":"name","op":"contains","value":"1"}}})");
  ASSERT_EQ(seed1.status, 200) << seed1.body;
  EXPECT_EQ(Json(seed1.body).Int("/data/audienceSize"), 9);
  EXPECT_EQ(Json(seed1.body).Size("/data/sample"), 9u);

  // The sample holds at most ten customers, as the customer API serves them.
  auto all = client_.Send("POST", "/api/v1/segments/preview",
                          R"({"rules":{"field":"visits","op":">=","value":0}})");
  Json a(all.body);
  EXPECT_EQ(a.Int("/data/audienceSize"), 12);
  EXPECT_EQ(a.Size("/data/sample"), 10u);
  EXPECT_EQ(a.Str("/data/sample/0/email").find("@x.io") != std::string::npos, true);
}

TEST_F(SegmentApiTest, BadRulesAreRefusedWithThePathOfEachMistakeAndAppendNothing) {
  const int64_t before = SegmentEvents();
  auto r = Define(
      R"({"name":"","rules":[{"field":"totalSpnding","operator":">","value":1},)"
      R"({"field":"visits","operator":"contains","value":"x"},)"
      R"({"field":"visits","operator":">","value":"many"}]})");
  ASSERT_EQ(r.status, 400) << r.body;
  std::set<std::string> fields;
  Json j(r.body);
  for (size_t i = 0; i < j.Size("/errors"); ++i) {
    fields.insert(j.Str(Numbered("/errors/", static_cast<int64_t>(i), "/field")));
  }
  EXPECT_TRUE(fields.count("name")) << r.body;
  EXPECT_TRUE(fields.count("rules[0].field")) << r.body;
  EXPECT_TRUE(fields.count("rules[1].operator")) << r.body;
  EXPECT_TRUE(fields.count("rules[2].value")) << r.body;
  EXPECT_NE(r.body.find("totalSpending"), std::string::npos) << "the closest name: " << r.body;

  auto nested = client_.Send("POST", "/api/v1/segments/preview",
                             R"({"rules":{"and":[{"field":"visits","op":">","value":1},)"
                             R"({"or":[{"field":"visits","op":"~","value":1}]}]}})");
  ASSERT_EQ(nested.status, 400) << nested.body;
  EXPECT_NE(nested.body.find("rules.and[1].or[0].op"), std::string::npos) << nested.body;

  auto no_rules = Define(R"({"name":"x"})");
  EXPECT_EQ(no_rules.status, 400);
  auto unknown = Define(R"({"name":"x","rules":{"field":"visits","op":">","value":1},"x":1})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(SegmentEvents(), before);

  Define(R"({"name":"Taken","rules":{"field":"visits","op":">","value":1}})");
  auto dup = Define(R"({"name":"TAKEN","rules":{"field":"visits","op":">","value":2}})");
  EXPECT_EQ(dup.status, 409) << dup.body;
  EXPECT_EQ(SegmentEvents(), before + 1);
}

// The loyalty standing (level, recencyScore, frequencyScore, monetaryScore): no event sets it
// yet, so every customer is unscored and only the negative operators select them; a definition
// on it is written as schema version 3 (others keep theirs) and a bad value is a 400 by path.
TEST_F(SegmentApiTest, RulesOnTheLoyaltyStandingAreDefinedPreviewedAndValidated) {
  Customer("Ada", "ada@x.io", 5000, 1);
  Customer("Bob", "bob@x.io", 200, 7);
  AwaitCustomers();
  auto created =
      Define(R"({"name":"Gold lapsed","rules":{"and":[{"field":"level","op":">=","value":"Gold"},)"
             R"({"field":"recencyScore","op":"<=","value":2}]}})");
  ASSERT_EQ(created.status, 201) << created.body;
  Json c(created.body);
  EXPECT_EQ(c.Int("/data/audienceSize"), 0);  // nobody is Gold yet
  EXPECT_EQ(c.Str("/data/rules/and/0/field"), "level");
  EXPECT_EQ(c.Str("/data/rules/and/0/value"), "Gold");
  const std::string id = c.Str("/data/id");
  auto got = GetSegment("/api/v1/segments/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Json(got.body).Int("/data/audienceSize"), 0);
  auto members = GetSegment("/api/v1/segments/" + id + "/preview");
  ASSERT_EQ(members.status, 200) << members.body;
  Define(R"({"name":"Plain","rules":{"field":"visits","op":">","value":1}})");

  // Written as v3; a definition without these fields keeps v1.
  std::map<std::string, int64_t> versions;  // by segment name
  ASSERT_TRUE(app_.app().log().ReadAll(std::string(kSegmentsTopic), [&](const LogRecord& r) {
    Json e(r.value);
    versions[e.Str("/payload/name")] = e.Int("/schema_version");
  }));
  EXPECT_EQ(versions["Gold lapsed"], 3);
  EXPECT_EQ(versions["Plain"], 1);

  auto count = [&](const std::string& rules) {
    auto r = client_.Send("POST", "/api/v1/segments/preview", R"({"rules":)" + rules + "}");
    EXPECT_EQ(r.status, 200) << rules << " " << r.body;
    return Json(r.body).Int("/data/audienceSize");
  };
  // Nothing recorded stands at Bronze, 1, 1, 1 (tests/level_keeper_api_test.cc records more).
  EXPECT_EQ(count(R"({"field":"loyaltyLevel","op":"=","value":"Bronze"})"), 2);
  EXPECT_EQ(count(R"({"field":"level","op":"is_empty"})"), 0);
  EXPECT_EQ(count(R"({"field":"customerLevel","op":"!=","value":"Gold"})"), 2);
  EXPECT_EQ(count(R"({"field":"monetaryScore","op":"between","value":[1,5]})"), 2);
  EXPECT_EQ(count(R"({"field":"frequencyScore","op":"not_in","value":[1,2]})"), 0);
  EXPECT_EQ(count(R"({"field":"recencyScore","op":"is_not_empty"})"), 2);

  const int64_t before = SegmentEvents();
  auto bad =
      Define(R"({"name":"Bad","rules":{"and":[{"field":"level","op":"in","value":["Gold","gold"]},)"
             R"({"field":"recencyScore","op":">","value":6},)"
             R"({"field":"level","op":"contains","value":"Gold"}]}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  std::set<std::string> fields;
  Json j(bad.body);
  for (size_t i = 0; i < j.Size("/errors"); ++i) {
    fields.insert(j.Str(Numbered("/errors/", static_cast<int64_t>(i), "/field")));
  }
  EXPECT_EQ(fields, (std::set<std::string>{"rules.and[0].value[1]", "rules.and[1].value",
                                           "rules.and[2].op"}))
      << bad.body;
  EXPECT_NE(bad.body.find("Bronze, Silver, Gold or Platinum"), std::string::npos) << bad.body;
  EXPECT_EQ(SegmentEvents(), before);
  auto preview = client_.Send("POST", "/api/v1/segments/preview",
                              R"({"rules":{"field":"level","op":"=","value":"Diamond"}})");
  ASSERT_EQ(preview.status, 400) << preview.body;
  EXPECT_EQ(Json(preview.body).Str("/errors/0/field"), "rules.value");
}

TEST_F(SegmentApiTest, MembersArePagedAndACustomerListsItsSegments) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(Customer(Numbered("M", i), Numbered("m", i, "@x.io"), 10, i));
  }
  AwaitCustomers();
  auto regulars = Define(R"({"name":"Regulars","rules":{"field":"visits","op":">=","value":2}})");
  ASSERT_EQ(regulars.status, 201) << regulars.body;
  auto everyone = Define(R"({"name":"Everyone","rules":{"field":"isActive","op":"=","value":true}})");
  ASSERT_EQ(everyone.status, 201) << everyone.body;
  const std::string id = Json(regulars.body).Str("/data/id");

  std::set<std::string> members;
  for (int page = 1; page <= 2; ++page) {
    auto r = GetSegment(Numbered("/api/v1/segments/" + id + "/members?limit=2&page=", page));
    ASSERT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    EXPECT_EQ(j.Int("/meta/total"), 3);
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      members.insert(j.Str(Numbered("/data/", static_cast<int64_t>(i), "/id")));
    }
  }
  EXPECT_EQ(members, (std::set<std::string>{ids[2], ids[3], ids[4]}));

  auto of = client_.Send(
      "GET", AtPosition("/api/v1/customers/" + ids[3] + "/segments", customers_.Joined()));
  ASSERT_EQ(of.status, 200) << of.body;
  EXPECT_EQ(Json(of.body).Size("/data"), 2u);
  auto of_first = client_.Send("GET", "/api/v1/customers/" + ids[0] + "/segments");
  ASSERT_EQ(Json(of_first.body).Size("/data"), 1u);
  EXPECT_EQ(Json(of_first.body).Str("/data/0/name"), "Everyone");
  EXPECT_EQ(client_.Send("GET", "/api/v1/customers/nope/segments").status, 404);
}

// The membership read model follows the segment's rules (published onto the customers stream
// after the definition): its history names each join with the event that caused it, and the
// members at a past time are reconstructed from it.
TEST_F(SegmentApiTest, HistoryRecordsJoinsAndLeavesAndMembersCanBeAskedAtAPastTime) {
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(Customer(Numbered("H", i), Numbered("h", i, "@x.io"), 10, i));
  }
  AwaitCustomers();
  const std::string before = FormatIso8601(SystemClock().NowMillis());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto defined = Define(R"({"name":"Frequent","rules":{"field":"visits","op":">=","value":2}})");
  ASSERT_EQ(defined.status, 201) << defined.body;
  const std::string id = Json(defined.body).Str("/data/id");
  const std::string history = "/api/v1/segments/" + id + "/history";
  ASSERT_EQ(GetSegment("/api/v1/segments/" + id).status, 200);
  // The rules reach the customers stream shortly after the definition is answered.
  auto joins = [&] {
    auto r = client_.Send("GET", history);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r.body).Size("/data/changes");
  };
  for (int i = 0; i < 500 && joins() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto r = client_.Send("GET", history);
  Json h(r.body);
  ASSERT_EQ(h.Size("/data/changes"), 2u) << r.body;
  std::set<std::string> joined{h.Str("/data/changes/0/customerId"),
                               h.Str("/data/changes/1/customerId")};
  EXPECT_EQ(joined, (std::set<std::string>{ids[2], ids[3]}));
  EXPECT_EQ(h.Str("/data/changes/0/change"), "joined");
  EXPECT_EQ(h.Int("/data/days/0/joined"), 2);
  EXPECT_TRUE(h.At("/meta/nextCursor").has_value());

  // A visit takes a customer in; a page of one has a cursor to the next.
  auto visit = client_.Send("POST", "/api/v1/customers/" + ids[1] + "/visits", "{}");
  ASSERT_EQ(visit.status, 200) << visit.body;
  auto paged =
      client_.Send("GET", AtPosition(history + "?limit=1", visit.headers["x-keel-position"]));
  ASSERT_EQ(paged.status, 200) << paged.body;
  const std::string cursor = Json(paged.body).Str("/meta/nextCursor");
  auto rest = client_.Send("GET", history + "?limit=10&cursor=" + cursor);
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(Json(rest.body).Size("/data/changes"), 2u) << rest.body;
  EXPECT_EQ(Json(rest.body).Str("/data/changes/1/customerId"), ids[1]);

  auto at = [&](const std::string& when) {
    return client_.Send("GET", "/api/v1/segments/" + id + "/members?at=" + when);
  };
  auto then = at(before);
  ASSERT_EQ(then.status, 200) << then.body;
  EXPECT_EQ(Json(then.body).Int("/meta/total"), 0);
  auto now = at("2100-01-01T00:00:00Z");
  ASSERT_EQ(now.status, 200) << now.body;
  EXPECT_EQ(Json(now.body).Int("/meta/total"), 3);
  EXPECT_EQ(at("yesterday").status, 400);
  EXPECT_EQ(client_.Send("GET", history + "?from=soon").status, 400);
  EXPECT_EQ(client_.Send("GET", "/api/v1/segments/nope/history").status, 404);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// What a count says is about the customers it covers: it covers only those the caller may read.
TEST_F(SegmentApiTest, CountsCoverOnlyTheCustomersTheCallerMayRead) {
  Customer("Admin's", "a1@x.io", 100, 1);
  Customer("Admin's too", "a2@x.io", 100, 1);
  auto make_user = [&](const std::string& email, const std::string& role) {
    auto r = client_.Send("POST", "/api/v1/users",
                          R"({"name":"U","email":")" + email +
                              R"(","password":"password-123","role":")" + role + R"("})");
    ASSERT_EQ(r.status, 201) << r.body;
  };
  make_user("rep@keel.test", "sales_rep");
  auto role = client_.Send("POST", "/api/v1/roles",
                           R"({"name":"analyst","permissions":["segments:read"]})");
  ASSERT_EQ(role.status, 201) << role.body;
  make_user("analyst@keel.test", "analyst");
  HttpClient rep(app_.base(), LoginToken(app_.base(), "rep@keel.test", "password-123"));
  auto own = rep.Send("POST", "/api/v1/customers", R"({"name":"Mine","email":"mine@x.io"})");
  ASSERT_EQ(own.status, 201) << own.body;
  customers_.Remember(own.headers["x-keel-position"]);
  AwaitCustomers();
  auto segment = Define(R"({"name":"All","rules":{"field":"visits","op":">=","value":0}})");
  ASSERT_EQ(segment.status, 201) << segment.body;
  EXPECT_EQ(Json(segment.body).Int("/data/audienceSize"), 3);
  const std::string id = Json(segment.body).Str("/data/id");

  // A rep counts and samples their own customer only, however the rules are put.
  const std::string all = R"({"rules":{"field":"visits","op":">=","value":0}})";
  auto mine = rep.Send("POST", "/api/v1/segments/preview", all);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Json(mine.body).Int("/data/audienceSize"), 1);
  EXPECT_EQ(Json(mine.body).Str("/data/sample/0/email"), "mine@x.io");
  auto probe = rep.Send("POST", "/api/v1/segments/preview",
                        R"({"rules":{"field":"email","op":"=","value":"a1@x.io"}})");
  EXPECT_EQ(Json(probe.body).Int("/data/audienceSize"), 0) << probe.body;
  EXPECT_EQ(Json(rep.Send("GET", AtPosition("/api/v1/segments/" + id, segments_.Joined())).body)
                .Int("/data/audienceSize"),
            1);

  // Without customers:read there is nothing to count: previews are refused, sizes are null.
  HttpClient analyst(app_.base(), LoginToken(app_.base(), "analyst@keel.test", "password-123"));
  EXPECT_EQ(analyst.Send("POST", "/api/v1/segments/preview", all).status, 403);
  EXPECT_EQ(analyst.Send("GET", "/api/v1/segments/" + id + "/preview").status, 403);
  EXPECT_EQ(analyst.Send("GET", "/api/v1/segments/" + id + "/members").status, 403);
  auto seen = analyst.Send("GET", "/api/v1/segments/" + id);
  ASSERT_EQ(seen.status, 200) << seen.body;
  EXPECT_TRUE(Json(seen.body).At("/data/audienceSize")->is_null()) << seen.body;

  // Defining needs no count: a curator without customers:read defines, with a null size.
  ASSERT_EQ(client_
                .Send("POST", "/api/v1/roles",
                      R"({"name":"curator","permissions":["segments:read","segments:manage"]})")
                .status,
            201);
  make_user("curator@keel.test", "curator");
  HttpClient curator(app_.base(), LoginToken(app_.base(), "curator@keel.test", "password-123"));
  auto defined =
      curator.Send("POST", "/api/v1/segments",
                   R"({"name":"Curated","rules":{"field":"visits","op":">","value":1}})");
  ASSERT_EQ(defined.status, 201) << defined.body;
  EXPECT_TRUE(Json(defined.body).At("/data/audienceSize")->is_null()) << defined.body;
}

TEST_F(SegmentApiTest, CostlyRulesAreRefusedBeforeTheyAreCounted) {
  std::string rules = R"({"rules":{"or":[)";
  for (int i = 0; i < 21; ++i) {
    if (i) rules += ",";
    rules += R"({"field":"email","op":"contains","value":"zq"})";
  }
  rules += "]}}";
  auto r = client_.Send("POST", "/api/v1/segments/preview", rules);
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("At most 20 conditions on name, email or phone"), std::string::npos);
  std::string many = R"({"rules":[)";
  for (int i = 0; i < 100000; ++i) many += i ? ",1" : "1";
  many += "]}";
  auto big = client_.Send("POST", "/api/v1/segments/preview", many);
  ASSERT_EQ(big.status, 400);
  EXPECT_LT(big.body.size(), 1000u) << "one error, not one per item";
}

}  // namespace
}  // namespace keel

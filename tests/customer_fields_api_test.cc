// The seed-002 customer fields end to end: status along the sales pipeline (each change an
// event), customerType and companyName, firstName/lastName, birthDate, address, referredBy and
// tags; served, filtered, validated, and kept over a restart.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/test_app.h"

namespace keel {
namespace {

class CustomerFieldsApiTest : public ::testing::Test {
 protected:
  // Sends a customer command and remembers where it landed.
  HttpResult Command(HttpClient& c, const std::string& method, const std::string& path,
                     const std::string& body) {
    auto r = c.Send(method, path, body);
    positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  HttpResult Command(const std::string& method, const std::string& path, const std::string& body) {
    return Command(client_, method, path, body);
  }
  std::string Create(const std::string& body) {
    auto r = Command("POST", "/api/v1/customers", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  HttpResult Read(HttpClient& c, const std::string& path) {
    return c.Send("GET", AtPosition(path, positions_.Joined()));
  }
  HttpResult Read(const std::string& path) { return Read(client_, path); }
  std::set<std::string> ErrorFields(const HttpResult& r) {
    Json doc(r.body);
    std::set<std::string> fields;
    for (size_t i = 0; i < doc.Size("/errors"); ++i) {
      fields.insert(doc.Str("/errors/" + std::to_string(i) + "/field"));
    }
    return fields;
  }
  // A LEAD company with every field, referred by `referrer`.
  std::string CreateLead(const std::string& referrer, const std::string& email) {
    std::string body = R"({"firstName":"Ada","lastName":"Lovelace","email":")";
    body += email;
    body += R"(","status":"LEAD","customerType":"COMPANY","companyName":"Analytical Engines",)";
    body += R"("birthDate":"1990-12-10","address":"12 St James's Square, London",)";
    body += R"("referredBy":")";
    body += referrer;
    body += R"(","tags":["vip"," b2b ","vip"]})";
    return Create(body);
  }
  int64_t LogSize() { return keel::LogSize(app_.app()); }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  Positions positions_;
};

TEST_F(CustomerFieldsApiTest, CreateWithTheFieldsThenGetAndFilterTheList) {
  const std::string referrer = Create(R"({"name":"Charles Babbage","email":"cb@x.io"})");
  const std::string lead = CreateLead(referrer, "ada@x.io");

  auto got = Read("/api/v1/customers/" + lead);
  ASSERT_EQ(got.status, 200) << got.body;
  Json doc(got.body);
  EXPECT_EQ(doc.Str("/data/name"), "Ada Lovelace");  // derived from firstName and lastName
  EXPECT_EQ(doc.Str("/data/firstName"), "Ada");
  EXPECT_EQ(doc.Str("/data/lastName"), "Lovelace");
  EXPECT_EQ(doc.Str("/data/status"), "LEAD");
  EXPECT_EQ(doc.Str("/data/customerType"), "COMPANY");
  EXPECT_EQ(doc.Str("/data/companyName"), "Analytical Engines");
  EXPECT_EQ(doc.Str("/data/birthDate"), "1990-12-10");
  EXPECT_EQ(doc.Str("/data/address"), "12 St James's Square, London");
  EXPECT_EQ(doc.Str("/data/referredBy"), referrer);
  ASSERT_EQ(doc.Size("/data/tags"), 2u);
  EXPECT_EQ(doc.Str("/data/tags/0"), "vip");
  EXPECT_EQ(doc.Str("/data/tags/1"), "b2b");

  // A customer created without the fields: a CUSTOMER, a PERSON, nulls and no tags.
  Json plain(Read("/api/v1/customers/" + referrer).body);
  EXPECT_EQ(plain.Str("/data/status"), "CUSTOMER");
  EXPECT_EQ(plain.Str("/data/customerType"), "PERSON");
  EXPECT_EQ(plain.Size("/data/tags"), 0u);
  ASSERT_TRUE(plain.At("/data/birthDate"));
  EXPECT_TRUE(plain.At("/data/birthDate")->is_null());

  auto only = [&](const std::string& query) {
    auto r = Read("/api/v1/customers?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.body;
    Json list(r.body);
    std::set<std::string> ids;
    for (size_t i = 0; i < list.Size("/data"); ++i) {
      ids.insert(list.Str("/data/" + std::to_string(i) + "/id"));
    }
    EXPECT_EQ(list.Int("/meta/total"), static_cast<int64_t>(ids.size())) << query;
    return ids;
  };
  EXPECT_EQ(only("status=LEAD"), std::set<std::string>{lead});
  EXPECT_EQ(only("status=CUSTOMER"), std::set<std::string>{referrer});
  EXPECT_EQ(only("status=CHURNED"), std::set<std::string>{});
  EXPECT_EQ(only("customerType=COMPANY"), std::set<std::string>{lead});
  EXPECT_EQ(only("customerType=PERSON"), std::set<std::string>{referrer});
  EXPECT_EQ(only("tag=b2b"), std::set<std::string>{lead});
  EXPECT_EQ(only("tag=vip&status=LEAD&customerType=COMPANY"), std::set<std::string>{lead});
  EXPECT_EQ(only("tag=vip&status=CUSTOMER"), std::set<std::string>{});
  EXPECT_EQ(only("tag=VIP"), std::set<std::string>{});  // tags match exactly
  // The list items carry the fields too.
  Json leads(Read("/api/v1/customers?status=LEAD").body);
  EXPECT_EQ(leads.Str("/data/0/companyName"), "Analytical Engines");

  auto bad = Read("/api/v1/customers?status=lead&customerType=ROBOT&tag=");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad), (std::set<std::string>{"status", "customerType", "tag"}));
}

TEST_F(CustomerFieldsApiTest, SegmentRulesSelectByStatusTypeBirthDateAndTags) {
  const std::string referrer = Create(R"({"name":"Charles Babbage","email":"cb@x.io"})");
  CreateLead(referrer, "ada@x.io");  // LEAD, COMPANY, 1990, vip b2b
  Create(R"({"name":"Grace","email":"g@x.io","status":"OPPORTUNITY","tags":["VIP"]})");
  Create(R"({"name":"Alan","email":"a@x.io","birthDate":"2001-06-23"})");
  ASSERT_EQ(Read("/api/v1/customers?limit=1").status, 200);  // the views hold them all
  auto count = [&](const std::string& rules) {
    auto r = client_.Send("POST", "/api/v1/segments/preview", R"({"rules":)" + rules + "}");
    EXPECT_EQ(r.status, 200) << rules << " " << r.body;
    return Json(r.body).Int("/data/audienceSize");
  };
  EXPECT_EQ(count(R"({"field":"tags","op":"contains","value":"vip"})"), 2);  // any case
  EXPECT_EQ(count(R"({"field":"tags","op":"is_empty"})"), 2);
  EXPECT_EQ(count(R"({"field":"status","op":"in","value":["LEAD","OPPORTUNITY"]})"), 2);
  EXPECT_EQ(count(R"({"field":"status","op":"=","value":"CUSTOMER"})"), 2);  // the default
  EXPECT_EQ(count(R"({"field":"customerType","op":"=","value":"COMPANY"})"), 1);
  EXPECT_EQ(count(R"({"field":"birthDate","op":"<","value":"2000-01-01"})"), 1);
  EXPECT_EQ(count(R"({"field":"birthDate","op":"is_not_empty"})"), 2);
  EXPECT_EQ(count(R"({"and":[{"field":"tags","op":"contains","value":"B2B"},)"
                  R"({"field":"status","op":"=","value":"LEAD"}]})"),
            1);

  auto bad = client_.Send("POST", "/api/v1/segments/preview",
                          R"({"rules":{"and":[{"field":"status","op":"=","value":"lead"},)"
                          R"({"field":"tags","op":">","value":"vip"}]}})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad), (std::set<std::string>{"rules.and[0].value", "rules.and[1].op"}))
      << bad.body;
}

TEST_F(CustomerFieldsApiTest, StatusChangesAreEventsAndIllegalOnesAreRefused) {
  const std::string id = Create(R"({"name":"Grace","email":"grace@x.io","status":"LEAD"})");
  auto opp = Command("PATCH", "/api/v1/customers/" + id, R"({"status":"OPPORTUNITY"})");
  ASSERT_EQ(opp.status, 200) << opp.body;
  EXPECT_EQ(Json(opp.body).Str("/data/status"), "OPPORTUNITY");
  // A PUT that names the status changes it too, beside the other fields.
  auto won = Command("PUT", "/api/v1/customers/" + id,
                     R"({"name":"Grace Hopper","email":"grace@x.io","status":"CUSTOMER"})");
  ASSERT_EQ(won.status, 200) << won.body;
  EXPECT_EQ(Json(won.body).Str("/data/status"), "CUSTOMER");
  EXPECT_EQ(won.headers["etag"], "\"4.0\"");
  // A PUT without status keeps it.
  auto kept = Command("PUT", "/api/v1/customers/" + id,
                      R"({"name":"Grace Hopper","email":"grace@x.io","visits":2})");
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_EQ(Json(kept.body).Str("/data/status"), "CUSTOMER");

  const int64_t before = LogSize();
  auto back = Command("PATCH", "/api/v1/customers/" + id, R"({"status":"LEAD","visits":9})");
  ASSERT_EQ(back.status, 400) << back.body;
  EXPECT_EQ(ErrorFields(back), std::set<std::string>{"status"});
  EXPECT_EQ(LogSize(), before);

  auto history = Read("/api/v1/customers/" + id + "/events");
  ASSERT_EQ(history.status, 200) << history.body;
  Json events(history.body);
  ASSERT_EQ(events.Size("/data"), 5u) << history.body;
  EXPECT_EQ(events.Str("/data/0/type"), "CustomerRegistered");
  EXPECT_EQ(events.Str("/data/0/payload/status"), "LEAD");
  EXPECT_EQ(events.Str("/data/1/type"), "CustomerStatusChanged");
  EXPECT_EQ(events.Str("/data/1/payload/from"), "LEAD");
  EXPECT_EQ(events.Str("/data/1/payload/to"), "OPPORTUNITY");
  EXPECT_EQ(events.Str("/data/2/type"), "CustomerUpdated");
  EXPECT_EQ(events.Str("/data/2/payload/name"), "Grace Hopper");
  EXPECT_EQ(events.Str("/data/3/type"), "CustomerStatusChanged");
  EXPECT_EQ(events.Str("/data/3/payload/to"), "CUSTOMER");
  EXPECT_EQ(events.Int("/data/3/aggregate_version"), 4);
  EXPECT_EQ(events.Str("/data/4/type"), "CustomerUpdated");

  // Churned, then won back.
  ASSERT_EQ(Command("PATCH", "/api/v1/customers/" + id, R"({"status":"CHURNED"})").status, 200);
  auto again = Command("PATCH", "/api/v1/customers/" + id, R"({"status":"CUSTOMER"})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json(Read("/api/v1/customers/" + id).body).Str("/data/status"), "CUSTOMER");
}

TEST_F(CustomerFieldsApiTest, BadInputNamesEachFieldAndAppendsNothing) {
  const std::string someone = Create(R"({"name":"Someone","email":"someone@x.io"})");
  const int64_t before = LogSize();
  auto r = Command("POST", "/api/v1/customers",
                   R"({"email":"x@x.io","status":"VIP","customerType":"ROBOT","firstName":"",)"
                   R"("lastName":7,"companyName":{},"birthDate":"1990-02-30","address":[],)"
                   R"("referredBy":"not-an-id","tags":[1]})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(ErrorFields(r),
            (std::set<std::string>{"name", "status", "customerType", "firstName", "lastName",
                                   "companyName", "birthDate", "address", "referredBy", "tags"}));
  // What the body alone cannot tell: an unknown referrer, a birthday to come, a company
  // without a name.
  auto unknown = Command("POST", "/api/v1/customers",
                         R"({"name":"N","email":"n@x.io",)"
                         R"("referredBy":"0190a5e0-0000-7000-8000-000000000001",)"
                         R"("birthDate":"2999-01-01"})");
  ASSERT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_EQ(ErrorFields(unknown), (std::set<std::string>{"referredBy", "birthDate"}));
  auto company = Command("POST", "/api/v1/customers",
                         R"({"name":"N","email":"n@x.io","customerType":"COMPANY"})");
  ASSERT_EQ(company.status, 400) << company.body;
  EXPECT_EQ(ErrorFields(company), std::set<std::string>{"companyName"});
  std::string self_body = R"({"referredBy":")";
  self_body += someone;
  self_body += R"("})";
  auto self = Command("PATCH", "/api/v1/customers/" + someone, self_body);
  ASSERT_EQ(self.status, 400) << self.body;
  EXPECT_EQ(ErrorFields(self), std::set<std::string>{"referredBy"});
  EXPECT_EQ(LogSize(), before);
}

TEST_F(CustomerFieldsApiTest, ARestartKeepsTheFieldsTheFiltersAndTheStatusRules) {
  const std::string referrer = Create(R"({"name":"Charles","email":"cb@x.io"})");
  const std::string lead = CreateLead(referrer, "ada@x.io");
  ASSERT_EQ(Command("PATCH", "/api/v1/customers/" + lead, R"({"status":"OPPORTUNITY"})").status,
            200);
  const std::string before = Read("/api/v1/customers/" + lead).body;
  ASSERT_EQ(Json(before).Str("/data/status"), "OPPORTUNITY");

  app_.Restart();
  HttpClient c(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(c).status, 200);
  auto after = Read(c, "/api/v1/customers/" + lead);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Json(after.body).Str("/data/status"), "OPPORTUNITY");
  EXPECT_EQ(Json(after.body).Str("/data/referredBy"), referrer);
  EXPECT_EQ(Json(after.body).Size("/data/tags"), 2u);
  Json tagged(Read(c, "/api/v1/customers?tag=vip&status=OPPORTUNITY").body);
  EXPECT_EQ(tagged.Int("/meta/total"), 1);
  EXPECT_EQ(tagged.Str("/data/0/id"), lead);
  // The write side restored the status too: backwards is still refused, forwards allowed.
  auto back = Command(c, "PATCH", "/api/v1/customers/" + lead, R"({"status":"LEAD"})");
  EXPECT_EQ(back.status, 400) << back.body;
  auto forward = Command(c, "PATCH", "/api/v1/customers/" + lead, R"({"status":"CUSTOMER"})");
  EXPECT_EQ(forward.status, 200) << forward.body;
  // And a referral to a customer known only from before the restart is accepted.
  std::string referred_body = R"({"name":"New","email":"new@x.io","referredBy":")";
  referred_body += referrer;
  referred_body += R"("})";
  auto referred = Command(c, "POST", "/api/v1/customers", referred_body);
  EXPECT_EQ(referred.status, 201) << referred.body;
}

TEST_F(CustomerFieldsApiTest, ARepLearnsNothingOfAnotherRepsCustomerFromARefusal) {
  // A CUSTOMER assigned to nobody: a rep's backwards move would be refused as illegal (400
  // naming status), which would tell them its status; ownership is checked first.
  const std::string id = Create(R"({"name":"Other","email":"other@x.io"})");
  auto user = client_.Send(
      "POST", "/api/v1/users",
      R"({"name":"R","email":"rep@keel.test","password":"password-123","role":"sales_rep"})");
  ASSERT_EQ(user.status, 201) << user.body;
  HttpClient rep(app_.base(), LoginToken(app_.base(), "rep@keel.test", "password-123"));
  const int64_t before = LogSize();
  for (const char* body : {R"({"status":"LEAD"})", R"({"customerType":"COMPANY"})"}) {
    auto r = rep.Send("PATCH", "/api/v1/customers/" + id, body);
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_NE(r.body.find("is not assigned to you"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("companyName"), std::string::npos) << r.body;
  }
  EXPECT_EQ(LogSize(), before);
}

}  // namespace
}  // namespace keel

// Walks every route the router holds, three times: with no session, as a sales rep on another
// rep's customer, and as an admin, and checks 401 / 403 / 2xx as the role model says. The
// route list comes from the router, and a route without an entry in the table below fails the
// test, so that no route can escape it.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "api/access.h"
#include "api/http_server.h"
#include "domain/time.h"
#include "tests/test_app.h"

namespace keel {
namespace {

// What a route is called with, and what each caller must get. 200 means any 2xx.
struct Sample {
  std::string path;  // {cust}, {cust2}, {order}, {user}, {job}: filled in
  std::string body;
  int rep = 200;    // a sales rep acting on another rep's customer
  int admin = 200;
  bool fresh_session = false;  // the call ends the session (logout): use a new one
};

const std::map<std::string, Sample>& Samples() {
  static const std::map<std::string, Sample> kSamples = {
      {"GET /health", {"/health"}},
      {"GET /ready", {"/ready"}},
      {"GET /openapi.json", {"/openapi.json"}},
      {"GET /docs", {"/docs"}},
      {"GET /docs/:asset", {"/docs/swagger-ui.css"}},
      {"GET /metrics", {"/metrics", "", 403}},
      {"GET /api/v1/auth/google", {"/api/v1/auth/google", "", 302, 302}},
      // A made-up state is refused whoever asks: the route is public, the state is not.
      {"GET /api/v1/auth/google/callback",
       {"/api/v1/auth/google/callback?state=made-up&code=x", "", 401, 401}},
      {"POST /api/v1/auth/login",
       {"/api/v1/auth/login", R"({"email":"walker@keel.test","password":"password-123"})"}},
      {"POST /api/v1/auth/logout", {"/api/v1/auth/logout", "", 200, 200, true}},
      {"GET /api/v1/auth/me", {"/api/v1/auth/me"}},
      {"POST /api/v1/auth/register",
       {"/api/v1/auth/register",
        R"({"name":"N","email":"reg{n}@keel.test","password":"password-123"})", 403}},
      {"GET /api/v1/users", {"/api/v1/users", "", 403}},
      {"POST /api/v1/users",
       {"/api/v1/users", R"({"name":"N","email":"usr{n}@keel.test","password":"password-123"})",
        403}},
      {"GET /api/v1/users/:id", {"/api/v1/users/{user}", "", 403}},
      {"PATCH /api/v1/users/:id", {"/api/v1/users/{user}", R"({"name":"Renamed {n}"})", 403}},
      {"GET /api/v1/roles", {"/api/v1/roles", "", 403}},
      {"POST /api/v1/roles", {"/api/v1/roles", R"({"name":"walk_{n}","permissions":[]})", 403}},
      {"GET /api/v1/permissions", {"/api/v1/permissions", "", 403}},
      {"POST /api/v1/permissions", {"/api/v1/permissions", R"({"name":"walk:p{n}"})", 403}},
      {"POST /api/v1/customers",
       {"/api/v1/customers", R"({"name":"New {n}","email":"new{n}@x.io"})"}},
      {"GET /api/v1/customers", {"/api/v1/customers"}},
      {"GET /api/v1/customers/:id", {"/api/v1/customers/{cust}", "", 403}},
      {"PUT /api/v1/customers/:id",
       {"/api/v1/customers/{cust}", R"({"name":"Theirs {n}","email":"theirs@x.io"})", 403}},
      {"PATCH /api/v1/customers/:id", {"/api/v1/customers/{cust}", R"({"visits":{n}})", 403}},
      {"DELETE /api/v1/customers/:id", {"/api/v1/customers/{cust2}", "", 403}},
      {"GET /api/v1/customers/:id/events", {"/api/v1/customers/{cust}/events", "", 403}},
      {"POST /api/v1/customers/:id/visits", {"/api/v1/customers/{cust}/visits", "{}", 403}},
      {"POST /api/v1/customers/:id/unsubscribe", {"/api/v1/customers/{cust}/unsubscribe", "", 403}},
      {"POST /api/v1/customers/:id/resubscribe", {"/api/v1/customers/{cust}/resubscribe", "", 403}},
      {"GET /api/v1/customers/:id/orders", {"/api/v1/customers/{cust}/orders", "", 403}},
      {"GET /api/v1/customers/:id/segments", {"/api/v1/customers/{cust}/segments", "", 403}},
      {"POST /api/v1/segments",
       {"/api/v1/segments", R"({"name":"Walk {n}","rules":{"field":"visits","op":">","value":1}})",
        403}},
      {"GET /api/v1/segments", {"/api/v1/segments"}},
      {"GET /api/v1/segments/:id", {"/api/v1/segments/{seg}"}},
      {"PUT /api/v1/segments/:id",
       {"/api/v1/segments/{seg}",
        R"({"name":"Walked {n}","rules":{"field":"visits","op":">","value":{n}}})", 403}},
      {"DELETE /api/v1/segments/:id", {"/api/v1/segments/{seg2}", "", 403}},
      // A rep counts every customer but samples and lists only their own.
      {"GET /api/v1/segments/:id/preview", {"/api/v1/segments/{seg}/preview"}},
      {"GET /api/v1/segments/:id/members", {"/api/v1/segments/{seg}/members"}},
      // Past members and history name customers of every owner: customers:read_all.
      {"GET /api/v1/segments/:id/history", {"/api/v1/segments/{seg}/history", "", 403}},
      {"POST /api/v1/segments/preview",
       {"/api/v1/segments/preview", R"({"rules":{"field":"visits","op":">=","value":0}})"}},
      {"POST /api/v1/campaigns/check-audience-size",
       {"/api/v1/campaigns/check-audience-size",
        R"({"rules":[{"field":"totalSpend","operator":">","value":1}],"logicalOperator":"AND"})"}},
      {"POST /api/v1/campaigns/preview",
       {"/api/v1/campaigns/preview", R"({"segmentId":"{seg}","message":"Hi {{name}}"})"}},
      {"POST /api/v1/campaigns",
       {"/api/v1/campaigns", R"({"name":"Walk {n}","segmentId":"{seg}","message":"Hi"})", 403}},
      {"GET /api/v1/campaigns", {"/api/v1/campaigns"}},
      {"GET /api/v1/campaigns/history", {"/api/v1/campaigns/history"}},
      {"GET /api/v1/campaigns/:id", {"/api/v1/campaigns/{campd}"}},
      {"PATCH /api/v1/campaigns/:id",
       {"/api/v1/campaigns/{campd}", R"({"name":"Walked {n}"})", 403}},
      {"POST /api/v1/campaigns/:id/schedule",
       {"/api/v1/campaigns/{camps}/schedule", R"({"scheduledAt":"{future}"})", 403}},
      {"POST /api/v1/campaigns/:id/launch", {"/api/v1/campaigns/{campl}/launch", "", 403}},
      {"POST /api/v1/campaigns/:id/execute", {"/api/v1/campaigns/{campx}/execute", "", 403}},
      {"POST /api/v1/campaigns/:id/pause", {"/api/v1/campaigns/{campp}/pause", "", 403}},
      {"POST /api/v1/campaigns/:id/resume", {"/api/v1/campaigns/{campp}/resume", "", 403}},
      {"POST /api/v1/campaigns/:id/cancel", {"/api/v1/campaigns/{campc}/cancel", "", 403}},
      // Unsigned: 401 whoever asks (the signature, not a session, authenticates the vendor).
      {"POST /api/v1/delivery-receipts",
       {"/api/v1/delivery-receipts", R"({"receipts":[]})", 401, 401}},
      // Unsigned: 401 whoever asks (the link's signature authenticates the recipient).
      {"GET /api/v1/unsubscribe", {"/api/v1/unsubscribe?m=c:x&t=forged", "", 401, 401}},
      {"POST /api/v1/unsubscribe", {"/api/v1/unsubscribe?m=c:x&t=forged", "", 401, 401}},
      {"GET /api/v1/customers/:id/communications",
       {"/api/v1/customers/{cust}/communications", "", 403}},
      // A rep may not create projects on another's customer, nor read or change their projects.
      {"POST /api/v1/projects",
       {"/api/v1/projects", R"({"name":"Walk {n}","customerId":"{cust}"})", 403}},
      {"GET /api/v1/projects", {"/api/v1/projects"}},
      // Every role reads the loyalty levels; only admins change their settings.
      {"GET /api/v1/customer-levels", {"/api/v1/customer-levels"}},
      {"PUT /api/v1/customer-levels",
       {"/api/v1/customer-levels", R"({"quintileMinCustomers":{n}})",
        403}},  // a rep's: their own and their customers'
      {"GET /api/v1/projects/:id", {"/api/v1/projects/{proj}", "", 403}},
      {"PUT /api/v1/projects/:id", {"/api/v1/projects/{proj}", R"({"name":"Walked {n}"})", 403}},
      // Every role reads the catalogue; only admins and managers change it.
      {"POST /api/v1/products",
       {"/api/v1/products", R"({"name":"Walk {n}","sku":"WALK-{n}","price":1})", 403}},
      {"GET /api/v1/products", {"/api/v1/products?search=walk"}},
      {"GET /api/v1/products/:id", {"/api/v1/products/{prod}"}},
      {"PUT /api/v1/products/:id",
       {"/api/v1/products/{prod}", R"({"name":"Walked {n}","sku":"WALK-PROD","price":2})", 403}},
      {"DELETE /api/v1/products/:id", {"/api/v1/products/{prod2}", "", 403}},
      // Every role reads the promotions; only admins and managers define them.
      {"POST /api/v1/promotions",
       {"/api/v1/promotions",
        R"({"title":"Walk {n}","rewardType":"PERCENTAGE","rewardValue":5,)"
        R"("condition":{"type":"referral"}})",
        403}},
      {"GET /api/v1/promotions", {"/api/v1/promotions?search=walk"}},
      {"GET /api/v1/promotions/:id", {"/api/v1/promotions/{promo}"}},
      {"PUT /api/v1/promotions/:id",
       {"/api/v1/promotions/{promo}",
        R"({"title":"Walked {n}","rewardType":"FIXED_AMOUNT","rewardValue":1,)"
        R"("condition":{"type":"first_purchase"}})",
        403}},
      {"DELETE /api/v1/promotions/:id", {"/api/v1/promotions/{promo2}", "", 403}},
      // A rep gives promotions to and reads those of their own customers only.
      {"POST /api/v1/promotions/:id/assign",
       {"/api/v1/promotions/{promo}/assign", R"({"customerId":"{cust}"})", 403}},
      {"GET /api/v1/customers/:id/promotions", {"/api/v1/customers/{cust}/promotions", "", 403}},
      // A rep logs only their own work: logging for the owner is 403.
      {"POST /api/v1/worklogs",
       {"/api/v1/worklogs",
        R"({"userId":"{user}","customerId":"{cust}","logDate":"2026-01-05","durationMinutes":{n}})",
        403}},
      {"GET /api/v1/worklogs", {"/api/v1/worklogs"}},  // a rep's: their own and their customers'
      {"GET /api/v1/worklogs/summary", {"/api/v1/worklogs/summary?by=customer"}},
      {"GET /api/v1/customers/:id/worklogs", {"/api/v1/customers/{cust}/worklogs", "", 403}},
      {"POST /api/v1/orders",
       {"/api/v1/orders", R"({"customerId":"{cust}","orderAmount":5})", 403}},
      // A rep records and reads only their own customers' payments (the list: theirs alone).
      {"POST /api/v1/transactions",
       {"/api/v1/transactions",
        R"({"customerId":"{cust}","orderId":"{order}","paymentMethod":"cash","amount":0.01})",
        403}},
      {"GET /api/v1/transactions", {"/api/v1/transactions"}},
      {"GET /api/v1/transactions/:id", {"/api/v1/transactions/{txn}", "", 403}},
      {"GET /api/v1/customers/:id/transactions",
       {"/api/v1/customers/{cust}/transactions", "", 403}},
      {"GET /api/v1/orders/:id/balance", {"/api/v1/orders/{order}/balance", "", 403}},
      {"GET /api/v1/orders", {"/api/v1/orders"}},  // a rep's: their own customers' orders
      {"GET /api/v1/orders/:id", {"/api/v1/orders/{order}", "", 403}},
      {"PATCH /api/v1/orders/:id/status",
       {"/api/v1/orders/{order}/status", R"({"status":"Shipped"})", 403}},
      // The owner's tasks on their customer: another rep neither reads nor changes them.
      {"POST /api/v1/tasks",
       {"/api/v1/tasks", R"({"title":"Walk {n}","dueDate":"2026-12-10","customerId":"{cust}"})",
        403}},
      {"GET /api/v1/tasks", {"/api/v1/tasks"}},  // a rep's: their own and their customers'
      {"GET /api/v1/tasks/my-tasks", {"/api/v1/tasks/my-tasks"}},
      {"GET /api/v1/tasks/reminders", {"/api/v1/tasks/reminders"}},
      {"GET /api/v1/tasks/:id", {"/api/v1/tasks/{task}", "", 403}},
      {"PUT /api/v1/tasks/:id",
       {"/api/v1/tasks/{task}",
        R"({"title":"Walked {n}","dueDate":"2026-12-11","assignedToUserId":"{user}"})", 403}},
      {"PUT /api/v1/tasks/:id/status",
       {"/api/v1/tasks/{task2}/status", R"({"status":"in_progress"})", 403}},
      {"POST /api/v1/ingest/customers",
       {"/api/v1/ingest/customers", R"([{"name":"Bulk","email":"bulk{n}@x.io"}])", 403}},
      {"POST /api/v1/ingest/orders",
       {"/api/v1/ingest/orders", R"([{"customerId":"{cust}","orderAmount":1}])", 403}},
      {"GET /api/v1/ingest/jobs/:id", {"/api/v1/ingest/jobs/{job}", "", 403}},
      {"GET /api/v1/admin/projections", {"/api/v1/admin/projections", "", 403}},
      {"GET /api/v1/admin/dead-letters", {"/api/v1/admin/dead-letters", "", 403}},
      {"POST /api/v1/admin/projections/:name/rebuild",
       {"/api/v1/admin/projections/customers/rebuild", "", 403}},
  };
  return kSamples;
}

std::string Fill(std::string s, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    for (size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  }
  return s;
}

TEST(AccessWalkTest, EveryRouteAnswersAsTheRoleModelSays) {
  AppConfig config;
  // Google sign-in configured (never reached: the walk stops at the redirect and a bad state).
  config.oidc.client_id = "walk-client";
  config.oidc.redirect_uri = "http://127.0.0.1/api/v1/auth/google/callback";
  TestApp app(config);
  const std::string admin_token = app.token();
  HttpClient admin(app.base(), admin_token);
  auto make_user = [&](const std::string& email, const std::string& role) {
    auto r = admin.Send("POST", "/api/v1/users",
                        R"({"name":"W","email":")" + email +
                            R"(","password":"password-123","role":")" + role + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  make_user("walker@keel.test", "sales_rep");
  const std::string owner_id = make_user("owner@keel.test", "sales_rep");
  make_user("other@keel.test", "sales_rep");
  const std::string owner_token = LoginToken(app.base(), "owner@keel.test", "password-123");
  const std::string rep_token = LoginToken(app.base(), "other@keel.test", "password-123");

  // The owner's customers and order: the rep's targets.
  HttpClient owner(app.base(), owner_token);
  auto cust = owner.Send("POST", "/api/v1/customers", R"({"name":"Theirs","email":"theirs@x.io"})");
  ASSERT_EQ(cust.status, 201) << cust.body;
  auto cust2 = owner.Send("POST", "/api/v1/customers", R"({"name":"Theirs 2","email":"theirs2@x.io"})");
  ASSERT_EQ(cust2.status, 201);
  std::map<std::string, std::string> values{{"{cust}", Json(cust.body).Str("/data/id")},
                                            {"{cust2}", Json(cust2.body).Str("/data/id")},
                                            {"{user}", owner_id}};
  auto order = owner.Send("POST", "/api/v1/orders",
                          Fill(R"({"customerId":"{cust}","orderAmount":9})", values));
  ASSERT_EQ(order.status, 201) << order.body;
  values["{order}"] = Json(order.body).Str("/data/id");
  auto txn = owner.Send(
      "POST", "/api/v1/transactions",
      Fill(R"({"customerId":"{cust}","orderId":"{order}","paymentMethod":"card","amount":1})",
           values));
  ASSERT_EQ(txn.status, 201) << txn.body;
  values["{txn}"] = Json(txn.body).Str("/data/id");
  ASSERT_EQ(admin
                .Send("GET", AtPosition("/api/v1/transactions/" + values["{txn}"],
                                        txn.headers["x-keel-position"]))
                .status,
            200);
  auto project = owner.Send("POST", "/api/v1/projects",
                            Fill(R"({"name":"Walk project","customerId":"{cust}"})", values));
  ASSERT_EQ(project.status, 201) << project.body;
  values["{proj}"] = Json(project.body).Str("/data/id");
  for (const char* name : {"prod", "prod2"}) {
    auto product = admin.Send(
        "POST", "/api/v1/products",
        std::string(R"({"name":"Walk product","price":1,"sku":"WALK-)") + name + R"("})");
    ASSERT_EQ(product.status, 201) << product.body;
    values["{" + std::string(name) + "}"] = Json(product.body).Str("/data/id");
    // The GET of it below reads the read model, which must have it.
    ASSERT_EQ(admin
                  .Send("GET", AtPosition("/api/v1/products/" + Json(product.body).Str("/data/id"),
                                          product.headers["x-keel-position"]))
                  .status,
              200);
  }
  for (const char* name : {"promo", "promo2"}) {
    auto promotion = admin.Send("POST", "/api/v1/promotions",
                                R"({"title":"Walk promotion","rewardType":"PERCENTAGE",)"
                                R"("rewardValue":10,"condition":{"type":"first_purchase"}})");
    ASSERT_EQ(promotion.status, 201) << promotion.body;
    const std::string id = Json(promotion.body).Str("/data/id");
    values["{" + std::string(name) + "}"] = id;
    ASSERT_EQ(admin
                  .Send("GET", AtPosition("/api/v1/promotions/" + id,
                                          promotion.headers["x-keel-position"]))
                  .status,
              200);
  }
  for (const char* name : {"seg", "seg2"}) {
    auto segment = admin.Send("POST", "/api/v1/segments",
                              std::string(R"({"name":")") + name +
                                  R"(","rules":{"field":"visits","op":">=","value":0}})");
    ASSERT_EQ(segment.status, 201) << segment.body;
    values["{" + std::string(name) + "}"] = Json(segment.body).Str("/data/id");
  }
  values["{future}"] = FormatIso8601(SystemClock().NowMillis() + 86'400'000);
  // Campaigns in the state each command needs: Drafts, and one Running (paused, then resumed).
  for (const char* name : {"campd", "camps", "campl", "campx", "campc", "campp"}) {
    const bool running = std::string(name) == "campp";
    auto campaign =
        admin.Send("POST", "/api/v1/campaigns",
                   Fill(std::string(R"({"name":")") + name +
                            R"(","segmentId":"{seg}","message":"Hi {{name}}","launch":)" +
                            (running ? "true" : "false") + "}",
                        values));
    ASSERT_EQ(campaign.status, 201) << campaign.body;
    values["{" + std::string(name) + "}"] = Json(campaign.body).Str("/data/id");
  }
  for (const char* name : {"task", "task2"}) {
    auto task = owner.Send("POST", "/api/v1/tasks",
                           Fill(std::string(R"({"title":")") + name +
                                    R"(","dueDate":"2026-12-10","customerId":"{cust}"})",
                                values));
    ASSERT_EQ(task.status, 201) << task.body;
    values["{" + std::string(name) + "}"] = Json(task.body).Str("/data/id");
    const std::string position = task.headers["x-keel-position"];
    ASSERT_EQ(
        admin.Send("GET", AtPosition("/api/v1/tasks/" + Json(task.body).Str("/data/id"), position))
            .status,
        200);
  }
  auto job = admin.Send("POST", "/api/v1/ingest/customers?async=true",
                        R"([{"name":"Job","email":"job@x.io"}])");
  ASSERT_EQ(job.status, 202) << job.body;
  const std::string location = job.headers["location"];
  values["{job}"] = location.substr(location.rfind('/') + 1);
  // Reads below must see the commands above.
  ASSERT_EQ(AwaitCustomerTotal(admin, 3), 3);
  AwaitReady(admin, std::chrono::seconds(5));

  int n = 0;
  std::vector<const Route*> routes;
  for (const auto& route : app.app().server().routes()) routes.push_back(&route);
  ASSERT_GT(routes.size(), 30u);
  for (const Route* route : routes) {
    const std::string key = route->method + " " + route->pattern;
    auto sample_it = Samples().find(key);
    ASSERT_NE(sample_it, Samples().end()) << "no walk sample for " << key << ": add one";
    const Sample& sample = sample_it->second;
    const bool is_public = AccessRule(route->method, route->pattern) == "public";
    // The issue's list of what may answer without a session, and nothing else.
    static const std::set<std::string> kPublic = {
        "GET /health", "GET /ready", "GET /openapi.json", "GET /docs", "GET /docs/:asset",
        "GET /api/v1/auth/google", "GET /api/v1/auth/google/callback", "POST /api/v1/auth/login",
        "POST /api/v1/auth/dev-token",
        // The vendor's receipts: authenticated by their HMAC signature, not a session.
        "POST /api/v1/delivery-receipts",
        // A recipient's unsubscribe link: authenticated by its signature.
        "GET /api/v1/unsubscribe", "POST /api/v1/unsubscribe"};
    EXPECT_EQ(is_public, kPublic.contains(key)) << key;

    auto call = [&](const std::string& token) {
      values["{n}"] = std::to_string(++n);
      HttpClient c(app.base(), token);
      return c.Send(route->method, Fill(sample.path, values), Fill(sample.body, values));
    };
    auto expect = [&](int want, const HttpResult& got, const char* who) {
      if (want == 200) {
        EXPECT_TRUE(got.status >= 200 && got.status < 300)
            << who << " " << key << ": " << got.status << " " << got.body;
      } else {
        EXPECT_EQ(got.status, want) << who << " " << key << ": " << got.body;
      }
    };

    // No session: 401 in the auth envelope, unless the route is public (then as for anyone).
    auto anon = call("");
    if (is_public) {
      expect(sample.admin, anon, "anonymous");
    } else {
      EXPECT_EQ(anon.status, 401) << key << ": " << anon.body;
      EXPECT_NE(anon.body.find("redirectUrl"), std::string::npos) << key;
    }
    auto token_for = [&](const std::string& email, const std::string& password,
                         const std::string& standing) {
      return sample.fresh_session ? LoginToken(app.base(), email, password) : standing;
    };
    expect(sample.rep, call(token_for("other@keel.test", "password-123", rep_token)), "rep");
    expect(sample.admin, call(token_for(kTestAdminEmail, kTestAdminPassword, admin_token)),
           "admin");
  }
  EXPECT_EQ(Samples().size(), routes.size()) << "the table names routes the router lacks";
}

}  // namespace
}  // namespace keel

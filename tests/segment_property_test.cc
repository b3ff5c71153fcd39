// Segment audiences against a brute-force evaluator: random customers with random histories,
// random rule trees in each seed's shape, every count and member list checked against
// EvaluateRules over the customers as the API serves them: live (the audience columns kept
// current batch by batch), after a restart (loaded from the store) and after a replay (a read
// model rebuilt from the log).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "api/generations.h"
#include "domain/customer.h"
#include "domain/segment.h"
#include "domain/segment_rules.h"
#include "tests/test_app.h"

namespace keel {
namespace {

std::string Num(int64_t n) { return std::to_string(n); }

class RuleGenerator {
 public:
  explicit RuleGenerator(uint64_t seed) : rng_(seed) {}

  // A preview body in one of the three shapes.
  std::string Body() {
    switch (rng_() % 3) {
      case 0: {  // seed 001: nested
        std::string body = R"({"rules":)";
        body += Node(0);
        body += "}";
        return body;
      }
      case 1: {  // seed 000: a logicalOperator per rule
        std::string body = R"({"rules":[)";
        const int n = 1 + static_cast<int>(rng_() % 4);
        for (int i = 0; i < n; ++i) {
          if (i) body += ",";
          std::string c = Condition();
          c.pop_back();
          c += rng_() % 2 ? R"(,"logicalOperator":"OR"})" : R"(,"logicalOperator":"AND"})";
          body += c;
        }
        body += "]}";
        return body;
      }
      default: {  // seed 004: one top-level logicalOperator
        std::string body = R"({"rules":[)";
        const int n = 1 + static_cast<int>(rng_() % 3);
        for (int i = 0; i < n; ++i) {
          if (i) body += ",";
          body += Condition();
        }
        body += rng_() % 2 ? R"(],"logicalOperator":"OR"})" : R"(],"logicalOperator":"AND"})";
        return body;
      }
    }
  }

 private:
  std::string Node(int depth) {
    const uint64_t pick = rng_() % 10;
    if (depth >= 3 || pick < 5) return Condition();
    if (pick < 6) return R"({"not":)" + Node(depth + 1) + "}";
    std::string group = pick < 8 ? R"({"and":[)" : R"({"or":[)";
    const int n = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) {
      if (i) group += ",";
      group += Node(depth + 1);
    }
    return group + "]}";
  }

  std::string Pick(std::initializer_list<const char*> options) {
    auto it = options.begin();
    std::advance(it, static_cast<long>(rng_() % options.size()));
    return *it;
  }
  std::string Money() {
    return Num(static_cast<int64_t>(rng_() % 3000)) + "." +
           Num(10 + static_cast<int64_t>(rng_() % 90));
  }
  std::string Count() { return Num(static_cast<int64_t>(rng_() % 12)); }
  std::string Days() { return Num(1 + static_cast<int64_t>(rng_() % 400)); }
  std::string Date() {
    char at[40];
    std::snprintf(at, sizeof at, "\"2026-%02d-%02dT%02d:00:00Z\"",
                  1 + static_cast<int>(rng_() % 11), 1 + static_cast<int>(rng_() % 28),
                  static_cast<int>(rng_() % 24));
    return at;
  }
  std::string Text() {
    return Pick({"\"a\"", "\"AN\"", "\"é\"", "\"x.io\"", "\"+1\"", "\"zoë\"", "\"Ü\""});
  }

  std::string Condition() {
    auto cond = [](const std::string& field, const std::string& op, const std::string& value) {
      std::string c = R"({"field":")" + field + R"(","op":")" + op + "\"";
      if (!value.empty()) c += R"(,"value":)" + value;
      return c + "}";
    };
    const std::string cmp = Pick({">", ">=", "<", "<=", "=", "!="});
    switch (rng_() % 8) {
      case 0: {
        const std::string field = Pick({"totalSpending", "averageOrderValue", "spend"});
        if (rng_() % 4 == 0) return cond(field, "between", "[" + Money() + "," + Num(5000) + "]");
        return cond(field, cmp, Money());
      }
      case 1: {
        const std::string field = Pick({"visits", "orderCount", "inactive_days", "numVisits"});
        if (rng_() % 4 == 0)
          return cond(field, Pick({"in", "not_in"}), "[" + Count() + "," + Count() + "]");
        return cond(field, cmp, field == "inactive_days" ? Days() : Count());
      }
      case 2:
      case 3: {
        const std::string field = Pick({"lastVisit", "lastOrderAt", "firstOrderAt", "createdAt"});
        switch (rng_() % 4) {
          case 0:
            return cond(field, Pick({"in_last_days", "not_in_last_days"}), Days());
          case 1:
            return cond(field, Pick({"is_empty", "is_not_empty"}), "");
          default:
            return cond(field, Pick({">", "<", ">=", "<="}), Date());
        }
      }
      case 4:
      case 5: {
        const std::string field = Pick({"name", "email", "phone"});
        const std::string op = Pick({"contains", "startsWith", "endsWith", "=", "!=", "is_empty"});
        return cond(field, op,
                    op == "is_empty"          ? ""
                    : op == "=" || op == "!=" ? "\"zoë ann\""
                                              : Text());
      }
      case 6:
        return cond("isActive", Pick({"=", "!="}), rng_() % 2 ? "true" : "false");
      default:
        return cond("ownerId", Pick({"is_empty", "is_not_empty"}), "");
    }
  }

  std::mt19937_64 rng_;
};

// Every customer as the API serves it.
std::vector<Customer> AllCustomers(HttpClient& client) {
  std::vector<Customer> out;
  for (int page = 1;; ++page) {
    std::string path = "/api/v1/customers?limit=100&page=";
    path += Num(page);
    auto r = client.Send("GET", path);
    EXPECT_EQ(r.status, 200) << r.body;
    Json j(r.body);
    const size_t n = j.Size("/data");
    for (size_t i = 0; i < n; ++i) {
      auto e = j.At("/data/" + Num(static_cast<int64_t>(i)));
      auto c = CustomerFromJson(simdjson::minify(*e));
      EXPECT_TRUE(c) << c.error().message;
      if (c) out.push_back(std::move(*c));
    }
    if (n < 100) return out;
  }
}

// Compares every preview count, and the members of the saved segments, with brute force.
void ExpectAudiences(HttpClient& client, const std::vector<std::string>& bodies,
                     const std::vector<std::string>& segments, const std::string& when) {
  const std::vector<Customer> customers = AllCustomers(client);
  ASSERT_GT(customers.size(), 50u);
  const Millis now = SystemClock().NowMillis();
  size_t some_but_not_all = 0;  // the trees that tell customers apart
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto rules = ParsePreviewInput(bodies[i]);
    ASSERT_TRUE(rules) << bodies[i] << ": " << rules.error().message;
    std::set<std::string> expected;
    for (const Customer& c : customers) {
      if (EvaluateRules(*rules, c, now)) expected.insert(c.id);
    }
    auto r = client.Send("POST", "/api/v1/segments/preview", bodies[i]);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Json(r.body).Int("/data/audienceSize"), static_cast<int64_t>(expected.size()))
        << when << ": " << bodies[i];
    if (!expected.empty() && expected.size() < customers.size()) ++some_but_not_all;
    if (i >= segments.size()) continue;
    std::set<std::string> members;
    for (int page = 1; page <= 10; ++page) {
      std::string path = "/api/v1/segments/" + segments[i] + "/members?limit=100&page=";
      path += Num(page);
      auto m = client.Send("GET", path);
      ASSERT_EQ(m.status, 200) << m.body;
      Json j(m.body);
      for (size_t k = 0; k < j.Size("/data"); ++k) {
        members.insert(j.Str("/data/" + Num(static_cast<int64_t>(k)) + "/id"));
      }
      if (j.Size("/data") < 100) break;
    }
    EXPECT_EQ(members, expected) << when << ": members of " << bodies[i];
  }
  EXPECT_GT(some_but_not_all, bodies.size() / 3) << "the random trees should mostly discriminate";
}

TEST(SegmentPropertyTest, RandomRulesCountWhatABruteForceEvaluatorCountsLiveAfterRestartAndReplay) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  std::vector<std::string> bodies, segments;
  std::mt19937_64 rng(20261201);
  {
    TestApp app(config);
    HttpClient client(app.base(), app.token());
    std::vector<std::string> customers;
    static const char* kNames[] = {"Zoë Ann", "ANNA", "Émile", "Ülla Marsh", "bob", "Jan Novák"};
    for (int i = 0; i < 80; ++i) {
      std::string body = R"({"name":")";
      body += kNames[rng() % 6];
      body += R"(","email":"p)";
      body += Num(i);
      body += rng() % 2 ? "@x.io\"" : "@mail.example\"";
      if (rng() % 2) body += R"(,"phone":"+1 555 01)" + Num(i % 10) + "\"";
      body += R"(,"totalSpending":)" + Num(static_cast<int64_t>(rng() % 2000)) + ".5";
      body += R"(,"visits":)" + Num(static_cast<int64_t>(rng() % 6));
      if (rng() % 2) {
        char at[40];
        std::snprintf(at, sizeof at, R"(,"lastVisit":"2026-%02d-03T10:00:00Z")",
                      1 + static_cast<int>(rng() % 11));
        body += at;
      }
      body += "}";
      auto r = client.Send("POST", "/api/v1/customers", body);
      ASSERT_EQ(r.status, 201) << r.body;
      customers.push_back(Json(r.body).Str("/data/id"));
    }
    static const char* kStatuses[] = {"Pending", "Shipped", "Delivered", "Cancelled"};
    for (int step = 0; step < 200; ++step) {
      const std::string& c = customers[rng() % customers.size()];
      const uint64_t kind = rng() % 10;
      if (kind < 7) {
        char date[40];
        std::snprintf(date, sizeof date, "2026-%02d-%02dT%02d:00:00Z",
                      1 + static_cast<int>(rng() % 11), 1 + static_cast<int>(rng() % 28),
                      static_cast<int>(rng() % 24));
        std::string body = R"({"customerId":")" + c + R"(","orderAmount":)";
        body += Num(1 + static_cast<int64_t>(rng() % 500));
        body += R"(,"orderDate":")";
        body += date;
        body += R"(","status":")";
        body += kStatuses[rng() % 4];
        body += "\"}";
        auto placed = client.Send("POST", "/api/v1/orders", body);
        // 400: the customer was deactivated meanwhile.
        ASSERT_TRUE(placed.status == 201 || placed.status == 400) << body << ": " << placed.body;
      } else if (kind < 9) {
        ASSERT_EQ(client.Send("POST", "/api/v1/customers/" + c + "/visits", "{}").status, 200);
      } else {
        auto r = client.Send("DELETE", "/api/v1/customers/" + c);
        ASSERT_EQ(r.status, 200) << r.body;
      }
    }
    RuleGenerator gen(7);
    for (int i = 0; i < 60; ++i) bodies.push_back(gen.Body());
    // The first ten are also saved, so that their members are listed.
    for (int i = 0; i < 10; ++i) {
      std::string body = bodies[static_cast<size_t>(i)];
      body.insert(1, R"("name":"Property )" + Num(i) + "\",");
      auto r = client.Send("POST", "/api/v1/segments", body);
      ASSERT_EQ(r.status, 201) << body << ": " << r.body;
      segments.push_back(Json(r.body).Str("/data/id"));
    }
    for (int i = 0; i < 500 && !app.app().customer_projection().caught_up(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ExpectAudiences(client, bodies, segments, "live");
    app.Restart();
    HttpClient again(app.base(), app.token());
    ExpectAudiences(again, bodies, segments, "after a restart");
  }
  auto replayed = Replay(config, nullptr);
  ASSERT_TRUE(replayed) << replayed.error().message;
  TestApp after(config);
  HttpClient client(after.base(), after.token());
  ExpectAudiences(client, bodies, segments, "after a replay");
}

}  // namespace
}  // namespace keel

// A few hundred hostile bodies: each gets a 4xx in the error envelope, nothing is appended and
// the server stays healthy.
#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "domain/topics.h"
#include "tests/test_app.h"

namespace keel {
namespace {

std::vector<std::string> HostileBodies() {
  std::vector<std::string> bodies = {
      "", " ", "null", "true", "0", "-1", "\"x\"", "[]", "[{}]", "{", "}", "{]", "{\"name\"",
      "{\"name\":", "{\"name\":\"a\",}", "{\"name\":\"a\" \"email\":\"b\"}", "{'name':'a'}",
      "{\"name\":\"\\ud800\",\"email\":\"a@b.io\"}", "{\"name\":\"a\\u0000b\",\"email\":\"a@b.io\"}",
      "{\"name\":1e999,\"email\":\"a@b.io\"}", "{\"name\":\"a\",\"email\":\"a@b.io\",\"visits\":1e400}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"visits\":18446744073709551616}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"visits\":-9223372036854775809}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"totalSpending\":NaN}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"totalSpending\":\"12\"}",
      "{\"name\":[\"a\"],\"email\":{\"x\":1}}", "{\"name\":null,\"email\":null}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"lastVisit\":\"2026-02-30T00:00:00Z\"}",
      "{\"name\":\"a\",\"email\":\"a@b.io\",\"isActive\":\"true\"}",
      std::string("{\"name\":\"\xff\xfe\",\"email\":\"a@b.io\"}"),
      std::string("{\"name\":\"a\",\"email\":\"a@b.io\"}\0garbage", 38),
  };
  // Deep nesting, beyond any sane depth.
  bodies.push_back(std::string(5000, '[') + std::string(5000, ']'));
  bodies.push_back("{\"name\":" + std::string(3000, '{') + std::string(3000, '}') + "}");
  // Truncations of a valid body at every length.
  const std::string valid = R"({"name":"Trunc","email":"trunc@x.io","visits":3,"isActive":true})";
  for (size_t n = 0; n + 1 < valid.size(); ++n) bodies.push_back(valid.substr(0, n));
  // Random bytes and random mutations of the valid body.
  std::mt19937 rng(12345);
  for (int i = 0; i < 150; ++i) {
    std::string b(static_cast<size_t>(rng() % 200), '\0');
    for (auto& c : b) c = static_cast<char>(rng());
    bodies.push_back(b);
    std::string m = valid;
    for (int k = 0; k < 3; ++k) m[rng() % m.size()] = static_cast<char>(rng() % 128);
    if (m.find("Trunc") != std::string::npos) bodies.push_back(m);  // still refused: see below
  }
  return bodies;
}

TEST(MalformedInputTest, HostileBodiesGet4xxInTheEnvelope) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  int sent = 0, accepted = 0;
  for (const auto& body : HostileBodies()) {
    for (const char* method : {"POST", "PATCH"}) {
      const std::string path = std::string(method) == "POST" ? "/api/v1/customers"
                                                             : "/api/v1/customers/some-id";
      auto r = client.Send(method, path, body);
      ASSERT_TRUE(r.curl_error.empty()) << r.curl_error << " for body of " << body.size() << " bytes";
      ++sent;
      // A random mutation of the valid body can still be valid; that one may be accepted.
      if (r.status == 201) {
        ++accepted;
        continue;
      }
      EXPECT_GE(r.status, 400) << body;
      EXPECT_LT(r.status, 500) << body << " -> " << r.body;
      Json doc(r.body);
      ASSERT_TRUE(doc.ok()) << r.body;
      EXPECT_FALSE(doc.Bool("/success"));
      EXPECT_FALSE(doc.Str("/message").empty());
    }
  }
  EXPECT_GT(sent, 400);
  EXPECT_EQ(LogSize(app.app()), accepted);
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(MalformedInputTest, HostileBodiesOnOrderVisitAndIngestRoutes) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  int sent = 0;
  int64_t created = 0;
  for (const auto& body : HostileBodies()) {
    for (const char* path : {"/api/v1/orders", "/api/v1/orders/x/status", "/api/v1/customers/x/visits",
                             "/api/v1/ingest/customers", "/api/v1/ingest/orders"}) {
      const std::string method = std::string(path).ends_with("/status") ? "PATCH" : "POST";
      auto r = client.Send(method, path, body);
      ASSERT_TRUE(r.curl_error.empty()) << r.curl_error << " for body of " << body.size() << " bytes";
      ++sent;
      Json doc(r.body);
      ASSERT_TRUE(doc.ok()) << path << ": " << r.body;
      if (std::string(path).starts_with("/api/v1/ingest/") && r.status == 200) {
        // Bulk answers list the bad records; a mutated valid customer may even be one.
        created += doc.Int("/data/created");
        EXPECT_EQ(doc.Int("/data/created") + doc.Int("/data/rejected"), doc.Int("/data/total"));
        continue;
      }
      EXPECT_GE(r.status, 400) << path << " " << body;
      EXPECT_LT(r.status, 500) << path << " " << body << " -> " << r.body;
      EXPECT_FALSE(doc.Bool("/success"));
      EXPECT_FALSE(doc.Str("/message").empty());
    }
  }
  EXPECT_GT(sent, 1500);
  EXPECT_EQ(LogSize(app.app()), created);
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(MalformedInputTest, HostileBodiesOnProjectAndWorklogRoutes) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  int sent = 0;
  for (const auto& body : HostileBodies()) {
    for (auto [method, path] :
         {std::pair{"POST", "/api/v1/projects"}, std::pair{"PUT", "/api/v1/projects/x"},
          std::pair{"POST", "/api/v1/worklogs"}}) {
      auto r = client.Send(method, path, body);
      ASSERT_TRUE(r.curl_error.empty())
          << r.curl_error << " for body of " << body.size() << " bytes";
      ++sent;
      EXPECT_GE(r.status, 400) << path << " " << body;
      EXPECT_LT(r.status, 500) << path << " " << body << " -> " << r.body;
      Json doc(r.body);
      ASSERT_TRUE(doc.ok()) << path << ": " << r.body;
      EXPECT_FALSE(doc.Bool("/success"));
      EXPECT_FALSE(doc.Str("/message").empty());
    }
  }
  EXPECT_GT(sent, 900);
  EXPECT_EQ(LogSize(app.app(), std::string(kProjectsTopic)), 0);
  EXPECT_EQ(LogSize(app.app(), std::string(kWorklogsTopic)), 0);
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(MalformedInputTest, HostileBodiesAndTokensOnSignInAndUserRoutes) {
  TestApp app;
  HttpClient admin(app.base(), app.token());
  const std::string me = Json(admin.Send("GET", "/api/v1/auth/me").body).Str("/data/user/id");
  const int64_t before = LogSize(app.app(), std::string(kUsersTopic));
  int sent = 0;
  HttpClient anon(app.base());
  for (const auto& body : HostileBodies()) {
    for (auto [client, method, path] : std::vector<std::tuple<HttpClient*, std::string, std::string>>{
             {&anon, "POST", "/api/v1/auth/login"}, {&admin, "POST", "/api/v1/auth/register"},
             {&admin, "POST", "/api/v1/users"}, {&admin, "PATCH", "/api/v1/users/" + me},
             {&admin, "POST", "/api/v1/roles"}, {&admin, "POST", "/api/v1/permissions"}}) {
      auto r = client->Send(method, path, body);
      ASSERT_TRUE(r.curl_error.empty()) << r.curl_error;
      ++sent;
      EXPECT_GE(r.status, 400) << path << " " << body;
      EXPECT_LT(r.status, 500) << path << " " << body << " -> " << r.body;
      Json doc(r.body);
      ASSERT_TRUE(doc.ok()) << path << ": " << r.body;
      EXPECT_FALSE(doc.Bool("/success"));
    }
  }
  EXPECT_GT(sent, 1500);
  EXPECT_EQ(LogSize(app.app(), std::string(kUsersTopic)), before)
      << "no hostile body changed a user, role or permission";

  // Hostile credentials: 401, never a crash.
  const std::string valid = app.token();
  std::vector<std::string> tokens = {"", ".", "..", "...", "a.b.c", "Bearer", std::string(20000, 'a'),
                                     valid + "x", valid.substr(0, valid.size() / 2),
                                     "e30.e30.", "eyJhbGciOiJub25lIn0.e30.",
                                     "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
                                     std::string("\xff\xfe.\x00.", 5)};
  std::mt19937 rng(7);
  for (int i = 0; i < 100; ++i) {
    std::string t = valid;
    t[rng() % t.size()] = "AZaz09-_."[rng() % 9];
    if (t != valid) tokens.push_back(t);
  }
  for (const auto& t : tokens) {
    HttpClient c(app.base());
    auto r = c.Send("GET", "/api/v1/customers", "", {"Authorization: Bearer " + t});
    ASSERT_TRUE(r.curl_error.empty()) << r.curl_error;
    EXPECT_EQ(r.status, 401) << t << " -> " << r.body;
    auto cookie = c.Send("GET", "/api/v1/customers", "", {"Cookie: keel_session=" + t});
    EXPECT_EQ(cookie.status, 401) << t;
  }
  EXPECT_EQ(admin.Send("GET", "/api/v1/auth/me").status, 200);
}

TEST(MalformedInputTest, BodiesOverTheLimitGet413) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  const std::string huge = "{\"name\":\"" + std::string(2 << 20, 'a') + "\",\"email\":\"a@b.io\"}";
  auto r = client.Send("POST", "/api/v1/customers", huge);
  EXPECT_EQ(r.status, 413) << r.curl_error;
  Json doc(r.body);
  EXPECT_EQ(doc.Str("/error/code"), "PAYLOAD_TOO_LARGE");
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(MalformedInputTest, WrongContentIsRefusedOnEveryCommandRoute) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  for (auto [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/api/v1/customers"},
                                                        {"PUT", "/api/v1/customers/x"},
                                                        {"PATCH", "/api/v1/customers/x"},
                                                        {"POST", "/api/v1/orders"},
                                                        {"PATCH", "/api/v1/orders/x/status"},
                                                        {"POST", "/api/v1/customers/x/visits"},
                                                        {"POST", "/api/v1/projects"},
                                                        {"PUT", "/api/v1/projects/x"},
                                                        {"POST", "/api/v1/worklogs"}}) {
    auto r = client.Send(method, path, "<xml/>");
    EXPECT_EQ(r.status, 400) << method << " " << path;
    EXPECT_NE(Json(r.body).Str("/message").find("not valid JSON"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace keel

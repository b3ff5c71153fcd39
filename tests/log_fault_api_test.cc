// The server over an event log that stops writing: reads are still served, /health answers,
// /ready and every command answer 503 with the reason, nothing is re-folded per command, and
// a restart on a healthy disk holds exactly what was acknowledged.
#include <gtest/gtest.h>

#include "tests/faulty_io.h"
#include "tests/test_app.h"

namespace keel {
namespace {

TEST(LogFaultApiTest, AStoppedLogRefusesCommandsAndKeepsServingReads) {
  auto io = std::make_shared<FaultyIo>();
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.log_io = io;
  std::vector<std::string> ids;
  std::string position;
  {
    TestApp app(config);
    HttpClient client(app.base(), app.token());
    for (int i = 0; i < 3; ++i) {
      auto r = client.Send("POST", "/api/v1/customers",
                           R"({"name":"Kept )" + std::to_string(i) + R"(","email":"kept)" +
                               std::to_string(i) + R"(@example.com"})");
      ASSERT_EQ(r.status, 201) << r.body;
      ids.push_back(Json(r.body).Str("/data/id"));
      position = r.headers["x-keel-position"];
    }
    ASSERT_EQ(client.Send("GET", AtPosition("/api/v1/customers/" + ids[0], position)).status, 200);

    io->sync_errno = EIO;
    auto refused =
        client.Send("POST", "/api/v1/customers", R"({"name":"Lost","email":"lost@example.com"})");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(Json(refused.body).Str("/error/code"), "UNAVAILABLE") << refused.body;
    io->sync_errno = 0;  // the disk is fine again: the log stays stopped all the same

    const int64_t preads = io->preads.load();
    for (int i = 0; i < 20; ++i) {
      auto r = client.Send(
          "POST", "/api/v1/customers",
          R"({"name":"Later","email":"later)" + std::to_string(i) + R"(@example.com"})");
      EXPECT_EQ(r.status, 503) << r.body;
      EXPECT_NE(r.body.find("stopped writing"), std::string::npos) << r.body;
    }
    EXPECT_EQ(io->preads.load(), preads) << "the log was re-read while it could not be written";

    auto ready = client.Send("GET", "/ready");
    EXPECT_EQ(ready.status, 503);
    EXPECT_NE(ready.body.find("fdatasync"), std::string::npos) << ready.body;
    EXPECT_EQ(client.Send("GET", "/health").status, 200);
    auto read = client.Send("GET", "/api/v1/customers/" + ids[2]);
    EXPECT_EQ(read.status, 200) << read.body;
    EXPECT_EQ(Json(read.body).Str("/data/name"), "Kept 2");
  }
  config.log_io = nullptr;
  TestApp app(config);
  HttpClient client(app.base(), app.token());
  for (const auto& id : ids) {
    EXPECT_EQ(client.Send("GET", AtPosition("/api/v1/customers/" + id, position)).status, 200);
  }
  auto list = client.Send("GET", AtPosition("/api/v1/customers?search=example.com", position));
  EXPECT_EQ(list.body.find("lost@example.com"), std::string::npos) << list.body;
  EXPECT_EQ(list.body.find("later"), std::string::npos) << list.body;
  EXPECT_EQ(client.Send("GET", "/ready").status, 200);
}

// A user command the log refuses takes no effect: not a role, not a password, not in memory
// either, where sessions and sign-ins are checked.
TEST(LogFaultApiTest, AUserCommandTheLogRefusedTakesNoEffect) {
  auto io = std::make_shared<FaultyIo>();
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.log_io = io;
  TestApp app(config);
  HttpClient admin(app.base(), app.token());
  auto created =
      admin.Send("POST", "/api/v1/users",
                 R"({"name":"Rep","email":"rep@example.com","password":"rep-password-1",)"
                 R"("role":"sales_rep"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string rep_id = Json(created.body).Str("/data/id");
  const std::string rep_token = LoginToken(app.base(), "rep@example.com", "rep-password-1");
  ASSERT_FALSE(rep_token.empty());

  io->sync_errno = EIO;
  auto refused = admin.Send("PATCH", "/api/v1/users/" + rep_id,
                            R"({"role":"admin","password":"new-password-1"})");
  EXPECT_EQ(refused.status, 503) << refused.body;

  HttpClient rep(app.base(), rep_token);
  EXPECT_EQ(rep.Send("GET", "/api/v1/users").status, 403) << "the refused role took effect";
  auto me = rep.Send("GET", "/api/v1/auth/me");
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Json(me.body).Str("/data/user/role"), "sales_rep") << me.body;
  HttpClient anonymous(app.base());
  auto with_new = anonymous.Send("POST", "/api/v1/auth/login",
                                 R"({"email":"rep@example.com","password":"new-password-1"})");
  EXPECT_EQ(with_new.status, 401) << "the refused password took effect: " << with_new.body;
}

}  // namespace
}  // namespace keel

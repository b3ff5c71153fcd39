// Sign-in, sessions, roles and owner scoping, end to end over HTTP on the real server.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "api/auth_service.h"
#include "domain/json.h"
#include "domain/topics.h"
#include "domain/user.h"
#include "infra/auth_crypto.h"
#include "infra/embedded_log.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class AuthApiTest : public ::testing::Test {
 protected:
  AuthApiTest() : admin_(app_.base(), app_.token()) {}

  // Creates a user through the admin API and signs them in; returns {id, token}.
  std::pair<std::string, std::string> User(const std::string& email, const std::string& role) {
    auto r = admin_.Send("POST", "/api/v1/users",
                         R"({"name":"U","email":")" + email +
                             R"(","password":"password-123","role":")" + role + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return {Json(r.body).Str("/data/id"), LoginToken(app_.base(), email, "password-123")};
  }

  TestApp app_;
  HttpClient admin_;
};

TEST_F(AuthApiTest, WithoutASessionBusinessRoutesAre401InTheAuthEnvelope) {
  HttpClient anon(app_.base());
  auto r = anon.Send("GET", "/api/v1/customers");
  ASSERT_EQ(r.status, 401) << r.body;
  Json body(r.body);
  EXPECT_FALSE(body.Bool("/success"));
  EXPECT_EQ(body.Str("/redirectUrl"), "/api/v1/auth/google");
  EXPECT_EQ(body.Str("/message"), "Authentication required. Please log in to access this resource.");
  EXPECT_EQ(anon.Send("GET", "/health").status, 200);
  EXPECT_EQ(anon.Send("GET", "/api/v1/auth/me").status, 401);
  auto basic = anon.Send("GET", "/api/v1/customers", "", {"Authorization: Basic YWRtaW46eA=="});
  EXPECT_EQ(basic.status, 401);
  EXPECT_NE(basic.body.find("Bearer"), std::string::npos) << basic.body;
}

TEST_F(AuthApiTest, LoginAnswersATokenAndAnHttpOnlyCookie) {
  HttpClient anon(app_.base());
  auto wrong = anon.Send("POST", "/api/v1/auth/login",
                         R"({"email":"admin@keel.test","password":"nope-nope-nope"})");
  EXPECT_EQ(wrong.status, 401);
  auto unknown = anon.Send("POST", "/api/v1/auth/login",
                           R"({"email":"ghost@keel.test","password":"nope-nope-nope"})");
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(Json(wrong.body).Str("/message"), Json(unknown.body).Str("/message"));
  EXPECT_EQ(anon.Send("POST", "/api/v1/auth/login", R"({"email":"x"})").status, 400);

  auto ok = anon.Send("POST", "/api/v1/auth/login",
                      R"({"email":"ADMIN@keel.test","password":"admin-password-1"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  Json body(ok.body);
  const std::string token = body.Str("/data/token");
  EXPECT_EQ(body.Str("/data/user/role"), "admin");
  EXPECT_EQ(body.At("/data/user/passwordHash"), std::nullopt);
  const std::string cookie = ok.headers["set-cookie"];
  EXPECT_NE(cookie.find("keel_session=" + token), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos);
  EXPECT_NE(cookie.find("Secure"), std::string::npos) << "outside dev mode";
  EXPECT_NE(cookie.find("Max-Age=86400"), std::string::npos);

  // The cookie alone is a session too.
  auto me = anon.Send("GET", "/api/v1/auth/me", "", {"Cookie: keel_session=" + token});
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Json(me.body).Str("/data/user/email"), "admin@keel.test");
  // Every sign-in is an event of the user's history.
  EXPECT_GE(Json(me.body).Int("/data/user/version"), 3);
}

TEST_F(AuthApiTest, RepeatedFailuresAreThrottledPerAccountAndPerAddress) {
  User("slow@keel.test", "sales_rep");
  HttpClient anon(app_.base());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(anon.Send("POST", "/api/v1/auth/login",
                        R"({"email":"slow@keel.test","password":"wrong-password"})").status, 401);
  }
  auto blocked = anon.Send("POST", "/api/v1/auth/login",
                           R"({"email":"slow@keel.test","password":"password-123"})");
  EXPECT_EQ(blocked.status, 429) << blocked.body;
  EXPECT_EQ(blocked.headers["retry-after"], "900");
  // Other accounts from this address still sign in (5 failures so far, the address allows 20).
  EXPECT_EQ(anon.Send("POST", "/api/v1/auth/login",
                      R"({"email":"admin@keel.test","password":"admin-password-1"})").status, 200);
  for (int i = 0; i < 15; ++i) {
    anon.Send("POST", "/api/v1/auth/login",
              R"({"email":"nobody)" + std::to_string(i) + R"(@keel.test","password":"wrong-password"})");
  }
  EXPECT_EQ(anon.Send("POST", "/api/v1/auth/login",
                      R"({"email":"admin@keel.test","password":"admin-password-1"})").status, 429);
}

// Sign-ins as they arrive through a reverse proxy on 127.0.0.1 (the test client's address).
class ProxiedAuthApiTest : public ::testing::Test {
 protected:
  static AppConfig Proxied() {
    AppConfig config;
    config.trusted_proxies = "127.0.0.1, 10.0.0.0/8";
    return config;
  }
  HttpResult Login(const std::string& password, const std::string& forwarded_for) {
    HttpClient c(app_.base());
    return c.Send("POST", "/api/v1/auth/login",
                  R"({"email":"admin@keel.test","password":")" + password + R"("})",
                  {"X-Forwarded-For: " + forwarded_for});
  }
  TestApp app_{Proxied()};
};

TEST_F(ProxiedAuthApiTest, AFloodFromOneAddressDoesNotLockTheAdminOutElsewhere) {
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Login("wrong-password", "203.0.113.9").status, 401);
  EXPECT_EQ(Login(kTestAdminPassword, "203.0.113.9").status, 429) << "the attacker's address";
  // What the client wrote left of the proxy's own entry is not believed.
  EXPECT_EQ(Login(kTestAdminPassword, "198.51.100.1, 203.0.113.9").status, 429);
  EXPECT_EQ(Login(kTestAdminPassword, "203.0.113.9, 10.1.1.1").status, 429)
      << "trusted hops are skipped";
  auto admin = Login(kTestAdminPassword, "198.51.100.1");
  EXPECT_EQ(admin.status, 200) << "the admin, from their own address: " << admin.body;
}

TEST(AuthThrottleTest, WithoutTrustedProxiesXForwardedForIsIgnored) {
  TestApp app;
  HttpClient c(app.base());
  for (int i = 0; i < 5; ++i) {
    auto r = c.Send("POST", "/api/v1/auth/login",
                    R"({"email":"admin@keel.test","password":"wrong-password"})",
                    {"X-Forwarded-For: 203.0.113." + std::to_string(i)});
    EXPECT_EQ(r.status, 401);
  }
  auto r = c.Send("POST", "/api/v1/auth/login",
                  R"({"email":"admin@keel.test","password":"admin-password-1"})",
                  {"X-Forwarded-For: 198.51.100.1"});
  EXPECT_EQ(r.status, 429) << "every attempt came from the peer, whatever the header said";
}

TEST_F(AuthApiTest, ForgedExpiredAndAlgNoneTokensAreRefused) {
  const std::string good = app_.token();
  auto get = [&](const std::string& token) {
    HttpClient c(app_.base(), token);
    return c.Send("GET", "/api/v1/auth/me");
  };
  ASSERT_EQ(get(good).status, 200);
  const auto parts = crypto::SplitJwt(good);
  ASSERT_TRUE(parts);

  // alg: none, the same claims, no signature.
  const std::string none = crypto::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                           crypto::Base64UrlEncode(parts->payload_json) + ".";
  auto r = get(none);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("none"), std::string::npos) << r.body;

  // A bad signature: the same claims signed with another secret, and a flipped byte.
  auto forged = crypto::SignHs256(parts->payload_json, "another-secret-another-secret-000");
  ASSERT_TRUE(forged);
  EXPECT_EQ(get(*forged).status, 401);
  std::string flipped = good;
  flipped[flipped.size() - 2] = flipped[flipped.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_EQ(get(flipped).status, 401);

  // Expired: the right secret and session, exp in the past.
  std::string claims = parts->payload_json;
  const size_t exp = claims.find("\"exp\":");
  ASSERT_NE(exp, std::string::npos);
  const size_t digits = exp + 6;
  claims.replace(digits, claims.find_first_not_of("0123456789", digits) - digits, "1000000000");
  auto expired = crypto::SignHs256(claims, kTestJwtSecret);
  ASSERT_TRUE(expired);
  r = get(*expired);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body << " " << claims;

  // A validly signed token for a session that never started.
  auto invented = crypto::SignHs256(
      R"({"iss":"keel","sub":"x","sid":"made-up","exp":4000000000})", kTestJwtSecret);
  EXPECT_EQ(get(*invented).status, 401);
  EXPECT_EQ(get("garbage").status, 401);
}

// Another process that follows keel.users (Kafka, several servers) signs a session out: this
// one refuses the session as soon as its sessions read model has the event, though its own
// directory never saw the command.
TEST_F(AuthApiTest, ASessionEndedByAnotherProcessIsRefusedHere) {
  auto [id, token] = User("elsewhere@x.io", "sales_rep");
  HttpClient user(app_.base(), token);
  ASSERT_EQ(user.Send("GET", "/api/v1/auth/me").status, 200);
  // The session and the user's last version, as the log has them.
  std::string session_id;
  int64_t version = 0;
  ASSERT_TRUE(app_.app().log().ReadAll(std::string(kUsersTopic), [&](const LogRecord& r) {
    auto e = DecodeEvent(r.value);
    if (!e || e->aggregate_id != id) return;
    version = std::max(version, e->aggregate_version);
    if (e->type == kSessionStarted) session_id = DecodeSessionChange(*e)->session_id;
  }));
  ASSERT_FALSE(session_id.empty());
  EventEnvelope revoked;
  revoked.event_id = "revoked-elsewhere";
  revoked.type = std::string(kSessionRevoked);
  revoked.schema_version = CurrentSchemaVersion(revoked.type);
  revoked.aggregate_type = std::string(kUserAggregate);
  revoked.aggregate_id = id;
  revoked.aggregate_version = version + 1;
  revoked.occurred_at = revoked.recorded_at = SystemClock().NowMillis();
  revoked.payload = EncodeSession({.id = session_id, .expires_at = revoked.occurred_at + 60'000});
  ASSERT_TRUE(app_.app().log().Append(std::string(kUsersTopic), id, {EncodeEvent(revoked)}));

  HttpResult me;
  for (int i = 0; i < 200; ++i) {
    me = user.Send("GET", "/api/v1/auth/me");
    if (me.status == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(me.status, 401) << me.body;
  EXPECT_EQ(Json(me.body).Str("/message"), "Session has ended: signed out") << me.body;
  EXPECT_EQ(admin_.Send("GET", "/api/v1/auth/me").status, 200);  // other sessions go on
}

TEST_F(AuthApiTest, LogoutRevokesTheSessionAndSessionsOutliveRestarts) {
  const std::string token = LoginToken(app_.base(), kTestAdminEmail, kTestAdminPassword);
  const std::string other = LoginToken(app_.base(), kTestAdminEmail, kTestAdminPassword);
  HttpClient c(app_.base(), token);
  auto out = c.Send("POST", "/api/v1/auth/logout");
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  auto after = c.Send("GET", "/api/v1/auth/me");
  EXPECT_EQ(after.status, 401);
  EXPECT_NE(after.body.find("signed out"), std::string::npos) << after.body;

  app_.Restart();
  HttpClient c2(app_.base(), token);
  EXPECT_EQ(c2.Send("GET", "/api/v1/auth/me").status, 401) << "revocation is durable";
  HttpClient c3(app_.base(), other);
  EXPECT_EQ(c3.Send("GET", "/api/v1/auth/me").status, 200) << "other sessions survive";
}

TEST_F(AuthApiTest, APasswordChangeEndsTheOtherSessionsButTheOneThatMadeIt) {
  auto [rep_id, rep] = User("rep@keel.test", "sales_rep");
  const std::string rep_too = LoginToken(app_.base(), "rep@keel.test", "password-123");
  HttpClient as_rep(app_.base(), rep), as_rep_too(app_.base(), rep_too);
  ASSERT_EQ(as_rep.Send("GET", "/api/v1/auth/me").status, 200);

  // An admin resets the rep's password: every session of the rep ends.
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + rep_id, R"({"password":"another-password-1"})")
                .status,
            200);
  for (HttpClient* c : {&as_rep, &as_rep_too}) {
    auto r = c->Send("GET", "/api/v1/auth/me");
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(r.body.find("password was changed"), std::string::npos) << r.body;
  }
  const std::string after = LoginToken(app_.base(), "rep@keel.test", "another-password-1");
  HttpClient as_rep_now(app_.base(), after);
  EXPECT_EQ(as_rep_now.Send("GET", "/api/v1/auth/me").status, 200)
      << "later sessions are not touched";

  // The admin changes their own password: the session that did it stays, the others end.
  const std::string admin_id =
      Json(admin_.Send("GET", "/api/v1/auth/me").body).Str("/data/user/id");
  HttpClient other_admin(app_.base(), LoginToken(app_.base(), kTestAdminEmail, kTestAdminPassword));
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + admin_id, R"({"password":"admin-password-2"})")
                .status,
            200);
  EXPECT_EQ(admin_.Send("GET", "/api/v1/auth/me").status, 200);
  EXPECT_EQ(other_admin.Send("GET", "/api/v1/auth/me").status, 401);

  app_.Restart();
  HttpClient rep_again(app_.base(), rep), rep_now_again(app_.base(), after);
  EXPECT_EQ(rep_again.Send("GET", "/api/v1/auth/me").status, 401) << "revocation is durable";
  EXPECT_EQ(rep_now_again.Send("GET", "/api/v1/auth/me").status, 200);
}

TEST_F(AuthApiTest, ADisabledAccountsSessionsStayEndedWhenItIsEnabledAgain) {
  auto [rep_id, rep] = User("rep@keel.test", "sales_rep");
  HttpClient as_rep(app_.base(), rep);
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + rep_id, R"({"isActive":false})").status, 200);
  EXPECT_EQ(as_rep.Send("GET", "/api/v1/auth/me").status, 401);
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + rep_id, R"({"isActive":true})").status, 200);
  auto r = as_rep.Send("GET", "/api/v1/auth/me");
  EXPECT_EQ(r.status, 401) << "enabling the account brings back none of its old sessions";
  EXPECT_NE(r.body.find("disabled"), std::string::npos) << r.body;
  EXPECT_FALSE(LoginToken(app_.base(), "rep@keel.test", "password-123").empty())
      << "signing in again starts a new session";
}

TEST_F(AuthApiTest, CookieSignedChangesMustComeFromKeelsOwnOriginAsJson) {
  const std::string cookie = "Cookie: keel_session=" + app_.token();
  const std::string self = "Origin: " + app_.base();  // the Host header's origin: the default
  const std::string body = R"({"name":"A","email":"csrf@x.io"})";
  HttpClient browser(app_.base());
  const int64_t before = LogSize(app_.app());
  auto refused = [&](const std::string& method, const std::string& path,
                     const std::vector<std::string>& headers, const std::string& why) {
    auto r = browser.Send(method, path, body, headers);
    EXPECT_EQ(r.status, 403) << why << ": " << r.body;
    Json j(r.body);
    EXPECT_FALSE(j.Bool("/success")) << why;
    EXPECT_EQ(j.Str("/error/code"), "FORBIDDEN") << why;
  };
  refused("POST", "/api/v1/customers", {cookie}, "no Origin");
  refused("POST", "/api/v1/customers", {cookie, "Origin: https://evil.example"}, "another site");
  refused("POST", "/api/v1/customers", {cookie, "Origin: null"}, "an opaque origin");
  refused("POST", "/api/v1/customers", {cookie, self, "Content-Type: text/plain"}, "a form");
  refused("POST", "/api/v1/customers",
          {cookie, self, "Content-Type: application/x-www-form-urlencoded"}, "a form");
  refused("POST", "/api/v1/customers", {cookie, self, "Content-Type: application/x-ndjson"},
          "NDJSON outside ingestion");
  refused("PATCH", "/api/v1/users/x", {cookie}, "PATCH");
  refused("DELETE", "/api/v1/customers/x", {cookie}, "DELETE");
  refused("POST", "/api/v1/auth/logout", {cookie}, "a sign-out forced from elsewhere");
  EXPECT_EQ(browser.Send("GET", "/api/v1/auth/me", "", {cookie}).status, 200)
      << "reads need no Origin, and the session was not signed out";
  EXPECT_EQ(LogSize(app_.app()), before) << "nothing refused was appended";

  // From Keel's own pages.
  auto created = browser.Send("POST", "/api/v1/customers", body, {cookie, self});
  EXPECT_EQ(created.status, 201) << created.body;
  auto ingested = browser.Send("POST", "/api/v1/ingest/customers",
                               R"({"name":"B","email":"b-csrf@x.io"})"
                               "\n",
                               {cookie, self, "Content-Type: application/x-ndjson"});
  EXPECT_EQ(ingested.status, 200) << ingested.body;
  // A bearer token is no ambient credential: no Origin needed.
  auto by_token = admin_.Send("POST", "/api/v1/customers", R"({"name":"C","email":"c-csrf@x.io"})");
  EXPECT_EQ(by_token.status, 201) << by_token.body;
}

// Login CSRF: another site's page posting a sign-in form would sign the victim's browser in
// to the attacker's account. A sign-in naming a foreign Origin is refused; Keel's own pages
// and clients that are no browser (no Origin) sign in.
TEST_F(AuthApiTest, ASignInFromAnotherSitesPageIsRefused) {
  const std::string body = std::string(R"({"email":")") + kTestAdminEmail + R"(","password":")" +
                           kTestAdminPassword + R"("})";
  HttpClient browser(app_.base());
  auto forged = browser.Send("POST", "/api/v1/auth/login", body,
                             {"Origin: https://evil.example", "Content-Type: text/plain"});
  EXPECT_EQ(forged.status, 403) << forged.body;
  EXPECT_EQ(forged.headers.count("set-cookie"), 0u) << forged.body;
  EXPECT_EQ(browser.Send("POST", "/api/v1/auth/login", body, {"Origin: null"}).status, 403);
  EXPECT_EQ(browser.Send("POST", "/api/v1/auth/login", body, {"Origin: " + app_.base()}).status,
            200);
  EXPECT_EQ(browser.Send("POST", "/api/v1/auth/login", body).status, 200);
}

TEST(CsrfConfigTest, ConfiguredPublicOriginsAreTheOnlyOnesAccepted) {
  AppConfig config;
  config.public_origins = "https://crm.example.test";
  TestApp app(config);
  const std::string cookie = "Cookie: keel_session=" + app.token();
  HttpClient browser(app.base());
  auto other = browser.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})",
                            {cookie, "Origin: " + app.base()});
  EXPECT_EQ(other.status, 403) << other.body;
  auto own = browser.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})",
                          {cookie, "Origin: https://crm.example.test"});
  EXPECT_EQ(own.status, 201) << own.body;
  config.public_origins = "crm.example.test";
  TempDir dir;
  config.data_dir = dir.path();
  config.port = 0;
  WithTestAuth(config);
  auto refused = App::Start(config);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("KEEL_PUBLIC_ORIGINS"), std::string::npos);
}

TEST_F(AuthApiTest, RolesDecideWhatEachUserMayDo) {
  auto [rep_id, rep] = User("rep@keel.test", "sales_rep");
  auto [mgr_id, mgr] = User("mgr@keel.test", "manager");
  HttpClient as_rep(app_.base(), rep), as_mgr(app_.base(), mgr);

  // Register is admin only; so are roles.
  EXPECT_EQ(as_rep.Send("POST", "/api/v1/auth/register",
                        R"({"name":"X","email":"x@keel.test","password":"password-123"})").status, 403);
  EXPECT_EQ(as_mgr.Send("POST", "/api/v1/auth/register",
                        R"({"name":"X","email":"x@keel.test","password":"password-123"})").status, 403);
  auto short_pw = admin_.Send("POST", "/api/v1/auth/register",
                              R"({"name":"X","email":"x@keel.test","password":"short"})");
  EXPECT_EQ(short_pw.status, 400);
  EXPECT_EQ(Json(short_pw.body).Str("/errors/0/field"), "password");
  EXPECT_EQ(as_rep.Send("GET", "/api/v1/users").status, 403);
  EXPECT_EQ(as_mgr.Send("GET", "/api/v1/users").status, 200);
  auto denied = as_mgr.Send("POST", "/api/v1/roles", R"({"name":"support","permissions":[]})");
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(Json(denied.body).Str("/error/code"), "FORBIDDEN");
  EXPECT_EQ(as_rep.Send("POST", "/api/v1/ingest/customers", "[]").status, 403);
  EXPECT_EQ(as_rep.Send("GET", "/metrics").status, 403);

  // A new role, defined and granted.
  auto role = admin_.Send("POST", "/api/v1/roles",
                          R"({"name":"support","description":"Desk","permissions":["customers:read_all","nope:x"]})");
  EXPECT_EQ(role.status, 400) << role.body;
  role = admin_.Send("POST", "/api/v1/roles",
                     R"({"name":"support","description":"Desk","permissions":["customers:read_all"]})");
  ASSERT_EQ(role.status, 201) << role.body;
  EXPECT_EQ(admin_.Send("POST", "/api/v1/roles", R"({"name":"admin","permissions":[]})").status, 409);
  auto perm = admin_.Send("POST", "/api/v1/permissions", R"({"name":"reports:export","description":"CSV"})");
  EXPECT_EQ(perm.status, 201) << perm.body;
  EXPECT_NE(admin_.Send("GET", "/api/v1/permissions").body.find("reports:export"), std::string::npos);
  EXPECT_EQ(as_rep.Send("GET", "/api/v1/customers").status, 200);
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + rep_id, R"({"role":"support"})").status, 200);
  // The role change ends the user's sessions (issue 17); the next one has the new role.
  auto ended = as_rep.Send("GET", "/api/v1/customers");
  EXPECT_EQ(ended.status, 401);
  EXPECT_NE(ended.body.find("role was changed"), std::string::npos) << ended.body;
  HttpClient as_support(app_.base(), LoginToken(app_.base(), "rep@keel.test", "password-123"));
  EXPECT_EQ(as_support.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})").status,
            403);
  EXPECT_EQ(as_support.Send("GET", "/api/v1/customers").status, 200);
  // A role redefined applies to the sessions that hold it at once.
  ASSERT_EQ(
      admin_
          .Send("POST", "/api/v1/roles",
                R"({"name":"support","permissions":["customers:read_all","customers:create"]})")
          .status,
      201);
  EXPECT_EQ(as_support.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})").status,
            201);

  // Disabled: the session stops working and sign-in is refused.
  ASSERT_EQ(admin_.Send("PATCH", "/api/v1/users/" + rep_id, R"({"isActive":false})").status, 200);
  EXPECT_EQ(as_support.Send("GET", "/api/v1/customers").status, 401);
  HttpClient anon(app_.base());
  EXPECT_EQ(anon.Send("POST", "/api/v1/auth/login",
                      R"({"email":"rep@keel.test","password":"password-123"})").status, 403);

  // The last active admin stays one.
  const std::string admin_id = Json(admin_.Send("GET", "/api/v1/auth/me").body).Str("/data/user/id");
  auto demote = admin_.Send("PATCH", "/api/v1/users/" + admin_id, R"({"role":"manager"})");
  EXPECT_EQ(demote.status, 409) << demote.body;
}

TEST_F(AuthApiTest, SalesRepsSeeAndChangeOnlyTheirOwnCustomers) {
  auto [a_id, a] = User("a@keel.test", "sales_rep");
  auto [b_id, b] = User("b@keel.test", "sales_rep");
  HttpClient as_a(app_.base(), a), as_b(app_.base(), b);

  auto created = as_a.Send("POST", "/api/v1/customers", R"({"name":"Mine","email":"mine@x.io"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  const std::string pos = created.headers["x-keel-position"];
  EXPECT_EQ(Json(created.body).Str("/data/ownerId"), a_id);
  EXPECT_EQ(as_a.Send("POST", "/api/v1/customers",
                      R"({"name":"Gift","email":"gift@x.io","ownerId":")" + b_id + R"("})").status, 403);
  auto open = admin_.Send("POST", "/api/v1/customers", R"({"name":"Open","email":"open@x.io"})");
  ASSERT_EQ(open.status, 201) << open.body;
  Positions customers;  // Mine and Open may sit in different partitions
  customers.Remember(pos);
  customers.Remember(open.headers["x-keel-position"]);

  EXPECT_EQ(as_a.Send("GET", AtPosition("/api/v1/customers/" + id, pos)).status, 200);
  EXPECT_EQ(as_b.Send("GET", AtPosition("/api/v1/customers/" + id, pos)).status, 403);
  EXPECT_EQ(as_b.Send("GET", "/api/v1/customers/" + id + "/events").status, 403);
  EXPECT_EQ(as_b.Send("GET", "/api/v1/customers/" + id + "/orders").status, 403);
  const int64_t before = LogSize(app_.app());
  EXPECT_EQ(as_b.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":3})").status, 403);
  EXPECT_EQ(as_b.Send("PATCH", "/api/v1/customers/" + id, R"({"name":"Mine"})").status, 403)
      << "even a change to nothing says nothing about another rep's customer";
  EXPECT_EQ(as_b.Send("POST", "/api/v1/customers/" + id + "/visits", "{}").status, 403);
  EXPECT_EQ(as_b.Send("POST", "/api/v1/orders", R"({"customerId":")" + id + R"(","orderAmount":5})").status, 403);
  EXPECT_EQ(as_b.Send("DELETE", "/api/v1/customers/" + id).status, 403);
  EXPECT_EQ(LogSize(app_.app()), before) << "refused commands append nothing";

  auto order = as_a.Send("POST", "/api/v1/orders", R"({"customerId":")" + id + R"(","orderAmount":5})");
  ASSERT_EQ(order.status, 201) << order.body;
  const std::string order_id = Json(order.body).Str("/data/id");
  const std::string order_pos = order.headers["x-keel-position"];
  EXPECT_EQ(as_b.Send("GET", AtPosition("/api/v1/orders/" + order_id, order_pos)).status, 403);
  EXPECT_EQ(as_a.Send("GET", AtPosition("/api/v1/orders/" + order_id, order_pos)).status, 200);
  EXPECT_EQ(as_b.Send("PATCH", "/api/v1/orders/" + order_id + "/status", R"({"status":"Shipped"})").status, 403);
  EXPECT_EQ(as_b.Send("GET", "/api/v1/orders?customerId=" + id).status, 403);
  EXPECT_EQ(as_a.Send("GET", "/api/v1/orders?customerId=" + id).status, 200);
  // Without customerId, each lists their own customers' orders.
  EXPECT_EQ(Json(as_b.Send("GET", AtPosition("/api/v1/orders", order_pos)).body).Int("/meta/total"),
            0);
  Json a_orders(as_a.Send("GET", AtPosition("/api/v1/orders", order_pos)).body);
  EXPECT_EQ(a_orders.Int("/meta/total"), 1);
  EXPECT_EQ(a_orders.Str("/data/0/id"), order_id);

  // Lists show only their own.
  auto list_a = Json(as_a.Send("GET", AtPosition("/api/v1/customers", order_pos)).body);
  EXPECT_EQ(list_a.Int("/meta/total"), 1);
  EXPECT_EQ(list_a.Str("/data/0/id"), id);
  EXPECT_EQ(Json(as_b.Send("GET", "/api/v1/customers").body).Int("/meta/total"), 0);
  EXPECT_EQ(Json(as_b.Send("GET", "/api/v1/customers?ownerId=" + a_id).body).Int("/meta/total"), 0);
  EXPECT_EQ(Json(admin_.Send("GET", AtPosition("/api/v1/customers", customers.Joined())).body)
                .Int("/meta/total"),
            2);
  EXPECT_EQ(Json(admin_.Send("GET", "/api/v1/customers?ownerId=" + a_id).body).Int("/meta/total"), 1);

  // Reassigned by a manager: the customer moves from A to B.
  auto [m_id, m] = User("m@keel.test", "manager");
  HttpClient as_m(app_.base(), m);
  EXPECT_EQ(as_m.Send("PATCH", "/api/v1/customers/" + id, R"({"ownerId":"01a1fd4d-3cce-727c-a07f-3aea5fb634ff"})").status, 400);
  auto moved = as_m.Send("PATCH", "/api/v1/customers/" + id, R"({"ownerId":")" + b_id + R"("})");
  ASSERT_EQ(moved.status, 200) << moved.body;
  ASSERT_FALSE(moved.headers["x-keel-position"].empty()) << moved.body << b_id;
  const std::string moved_pos = moved.headers["x-keel-position"];
  EXPECT_EQ(as_b.Send("GET", AtPosition("/api/v1/customers/" + id, moved_pos)).status, 200);
  EXPECT_EQ(as_a.Send("GET", AtPosition("/api/v1/customers/" + id, moved_pos)).status, 403);

  // Who did what.
  Json events(admin_.Send("GET", AtPosition("/api/v1/customers/" + id + "/events", moved_pos)).body);
  EXPECT_EQ(events.Str("/data/0/actor"), a_id);
  EXPECT_EQ(events.Str("/data/2/actor"), m_id);
}

TEST_F(AuthApiTest, ARepListsTheOrdersOfAllTheirCustomersInDateOrder) {
  auto [a_id, a] = User("a@keel.test", "sales_rep");
  auto [b_id, b] = User("b@keel.test", "sales_rep");
  HttpClient as_a(app_.base(), a), as_b(app_.base(), b);
  auto customer = [](HttpClient& as, const std::string& email) {
    auto r = as.Send("POST", "/api/v1/customers", R"({"name":"C","email":")" + email + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  };
  const std::string c1 = customer(as_a, "c1@x.io"), c2 = customer(as_a, "c2@x.io");
  const std::string other = customer(as_b, "other@x.io");
  std::string pos;  // every order's position: reads wait for all of them
  auto order = [&](HttpClient& as, const std::string& c, const std::string& date,
                   const std::string& status) {
    auto r = as.Send("POST", "/api/v1/orders",
                     R"({"customerId":")" + c + R"(","orderAmount":5,"orderDate":")" + date +
                         R"(","status":")" + status + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    pos += (pos.empty() ? "" : ",") + r.headers["x-keel-position"];  // other partitions
    return Json(r.body).Str("/data/id");
  };
  const std::string o1 = order(as_a, c1, "2026-01-05T00:00:00Z", "Pending");
  const std::string o2 = order(as_a, c2, "2026-03-01T00:00:00Z", "Shipped");
  const std::string o3 = order(as_a, c1, "2026-02-10T00:00:00Z", "Shipped");
  order(as_b, other, "2026-02-01T00:00:00Z", "Pending");

  Json all(as_a.Send("GET", AtPosition("/api/v1/orders", pos)).body);
  EXPECT_EQ(all.Int("/meta/total"), 3);
  EXPECT_EQ(all.Str("/data/0/id"), o2);
  EXPECT_EQ(all.Str("/data/1/id"), o3);
  EXPECT_EQ(all.Str("/data/2/id"), o1);
  Json oldest(as_a.Send("GET", AtPosition("/api/v1/orders?order=asc&limit=1&page=2", pos)).body);
  EXPECT_EQ(oldest.Int("/meta/total"), 3);
  EXPECT_EQ(oldest.Str("/data/0/id"), o3);
  Json shipped(
      as_a.Send("GET", AtPosition("/api/v1/orders?status=Shipped&to=2026-02-28T00:00:00Z", pos))
          .body);
  EXPECT_EQ(shipped.Int("/meta/total"), 1);
  EXPECT_EQ(shipped.Str("/data/0/id"), o3);
  EXPECT_EQ(Json(as_b.Send("GET", AtPosition("/api/v1/orders", pos)).body).Int("/meta/total"), 1);
  EXPECT_EQ(Json(admin_.Send("GET", AtPosition("/api/v1/orders", pos)).body).Int("/meta/total"), 4);
}

TEST_F(AuthApiTest, IngestedCustomersAreAssignedAsPostAssignsThem) {
  auto [rep_id, rep] = User("rep@keel.test", "sales_rep");
  auto [m_id, m] = User("m@keel.test", "manager");
  HttpClient as_m(app_.base(), m);
  const std::string unknown = "01a1fd4d-3cce-727c-a07f-3aea5fb634ff";
  auto r = as_m.Send("POST", "/api/v1/ingest/customers",
                     R"({"name":"A","email":"a@x.io","ownerId":")" + rep_id + "\"}\n" +
                         R"({"name":"B","email":"b@x.io","ownerId":")" + unknown + "\"}\n" +
                         R"({"name":"C","email":"c@x.io","ownerId":null})" + "\n",
                     {"Content-Type: application/x-ndjson"});
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.Int("/data/accepted"), 2);
  EXPECT_EQ(j.Int("/data/rejected"), 1);
  EXPECT_EQ(j.Int("/data/errors/0/index"), 1);
  EXPECT_NE(r.body.find("No active user " + unknown), std::string::npos) << r.body;

  // Without customers:assign, an ingest may name no other owner (and assigns none by default).
  ASSERT_EQ(admin_
                .Send("POST", "/api/v1/roles",
                      R"({"name":"loader","permissions":["ingest:run","customers:read_all"]})")
                .status,
            201);
  auto [l_id, l] = User("loader@keel.test", "loader");
  HttpClient as_l(app_.base(), l);
  r = as_l.Send("POST", "/api/v1/ingest/customers",
                R"({"name":"D","email":"d@x.io","ownerId":")" + rep_id + "\"}\n" +
                    R"({"name":"E","email":"e@x.io"})" + "\n",
                {"Content-Type: application/x-ndjson"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r.body).Int("/data/accepted"), 1);
  EXPECT_EQ(Json(r.body).Int("/data/errors/0/index"), 0);
  EXPECT_NE(r.body.find("customers:assign"), std::string::npos) << r.body;

  HttpClient as_rep(app_.base(), rep);
  for (int i = 0; i < 200; ++i) {
    if (Json(as_rep.Send("GET", "/api/v1/customers").body).Int("/meta/total") == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  Json mine(as_rep.Send("GET", "/api/v1/customers").body);
  EXPECT_EQ(mine.Int("/meta/total"), 1);
  EXPECT_EQ(mine.Str("/data/0/email"), "a@x.io");
}

TEST(AuthConfigTest, RefusesToStartWithoutASecretOutsideDevMode) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.port = 0;
  config.host = "127.0.0.1";
  auto app = App::Start(config);
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message.find("KEEL_JWT_SECRET"), std::string::npos);
  config.auth.jwt_secret = "short";
  EXPECT_FALSE(App::Start(config));
}

TEST(AuthConfigTest, RefusesAVendorSecretShorterThan32Characters) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.port = 0;
  config.host = "127.0.0.1";
  WithTestAuth(config);
  config.vendor_secret = std::string(31, 'v');
  auto app = App::Start(config);
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(app.error().message, "KEEL_VENDOR_SECRET must be at least 32 characters");
  // Refused from the settings alone: nothing was locked, opened or written.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  config.vendor_secret = std::string(32, 'v');
  EXPECT_TRUE(App::Start(config));
}

TEST(AuthConfigTest, RefusesToStartWithAMalformedGoogleAllowList) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.port = 0;
  config.host = "127.0.0.1";
  WithTestAuth(config);
  config.auth.google_allowed_domains = "example.com, @example.org";
  auto app = App::Start(config);
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message.find("KEEL_GOOGLE_ALLOWED_DOMAINS"), std::string::npos)
      << app.error().message;
}

TEST(AuthConfigTest, RefusesToStartWithAMalformedTrustedProxy) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  config.port = 0;
  config.host = "127.0.0.1";
  WithTestAuth(config);
  config.trusted_proxies = "10.0.0.0/8, proxy.internal";
  auto app = App::Start(config);
  ASSERT_FALSE(app);
  EXPECT_NE(app.error().message.find("KEEL_TRUSTED_PROXIES"), std::string::npos)
      << app.error().message;
}

TEST(AuthConfigTest, DevTokensExistOnlyInDevMode) {
  {
    TestApp app;
    HttpClient anon(app.base());
    EXPECT_EQ(anon.Send("POST", "/api/v1/auth/dev-token").status, 404);
  }
  AppConfig config;
  config.auth.dev_mode = true;
  TestApp app(config);
  HttpClient anon(app.base());
  auto r = anon.Send("POST", "/api/v1/auth/dev-token", R"({"email":"dev@x.io","role":"manager"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["set-cookie"].find("Secure"), std::string::npos) << "no Secure in dev mode";
  HttpClient dev(app.base(), Json(r.body).Str("/data/token"));
  auto me = Json(dev.Send("GET", "/api/v1/auth/me").body);
  EXPECT_EQ(me.Str("/data/user/role"), "manager");
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// The first admin without KEEL_ADMIN_PASSWORD: a random password, announced once, that signs in;
// the next start finds the admin and announces nothing. Sessions expire after 24 hours.
class SteppingClock final : public Clock {
 public:
  Millis NowMillis() override { return now.load(); }
  std::atomic<Millis> now{1'790'000'000'000};
};

TEST(AuthServiceTest, TheFirstAdminsPasswordIsRandomAndAnnouncedOnce) {
  TempDir dir;
  SteppingClock clock;
  UuidV7Generator ids(clock, 1);
  auto log = EmbeddedLog::Open({.dir = dir.path(), .partitions = 4, .fsync = false});
  ASSERT_TRUE(log);
  AuthConfig config{.jwt_secret = kTestJwtSecret};
  std::vector<std::pair<std::string, std::string>> announced;
  auto announce = [&](const std::string& email, const std::string& password) {
    announced.emplace_back(email, password);
  };
  std::string token;
  {
    AuthService auth(config, **log, clock, ids);
    ASSERT_TRUE(auth.Load(announce));
    ASSERT_EQ(announced.size(), 1u);
    EXPECT_EQ(announced[0].first, "admin@keel.local");
    EXPECT_GE(announced[0].second.size(), 20u);
    auto session = auth.Login("admin@keel.local", announced[0].second, "127.0.0.1", {});
    ASSERT_TRUE(session) << session.error().message;
    token = session->token;
    auto who = auth.Authenticate(token);
    ASSERT_TRUE(who);
    EXPECT_EQ((*who)->role, "admin");
  }
  AuthService again(config, **log, clock, ids);
  ASSERT_TRUE(again.Load(announce));
  EXPECT_EQ(announced.size(), 1u) << "announced once, at the first start only";
  EXPECT_TRUE(again.Authenticate(token)) << "sessions are folded from the log";
  clock.now += kSessionLifetime + 1000;
  auto expired = again.Authenticate(token);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
}

}  // namespace
}  // namespace keel

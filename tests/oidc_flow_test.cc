// Google sign-in end to end: Keel against an OpenID Connect provider started inside the test,
// over HTTPS with its own certificate and RSA keys. Covers the happy path and each refusal.
#include <gtest/gtest.h>

#include "tests/oidc_provider.h"
#include "tests/test_app.h"

namespace keel {
namespace {

using testing::OidcTestProvider;

class OidcFlowTest : public ::testing::Test {
 protected:
  OidcFlowTest() : provider_("keel-client", "keel-secret") {}

  void SetUp() override {
    AppConfig config;
    config.oidc.client_id = "keel-client";
    config.oidc.client_secret = "keel-secret";
    config.oidc.issuer = provider_.issuer();
    config.oidc.authorization_endpoint = provider_.base() + "/authorize";
    config.oidc.token_endpoint = provider_.base() + "/token";
    config.oidc.jwks_uri = provider_.base() + "/jwks";
    config.oidc.redirect_uri = "http://127.0.0.1/api/v1/auth/google/callback";
    config.oidc.ca_file = provider_.ca_file();
    config.oidc.success_redirect = "/welcome";
    Configure(config);
    app_ = std::make_unique<TestApp>(config);
  }
  virtual void Configure(AppConfig&) {}

  struct Attempt {
    std::string state, code;
    std::string cookie;  // the state cookie Keel gave the browser ("" when it gave none)
  };
  // The browser's first half: Keel's redirect, then the person signs in at the provider.
  Attempt Begin(OidcTestProvider::Identity who = {}, const std::string& return_to = "") {
    HttpClient browser(app_->base());
    auto r = browser.Send("GET", "/api/v1/auth/google" + (return_to.empty() ? "" : "?returnTo=" + return_to));
    EXPECT_EQ(r.status, 302) << r.body;
    const std::string location = r.headers["location"];
    EXPECT_EQ(location.rfind(provider_.base() + "/authorize?", 0), 0u) << location;
    const std::string code = provider_.Authorize(location, std::move(who));
    return {provider_.last_authorization()["state"], code, CookieValue(r, "keel_oidc_state")};
  }
  // The second half: the provider sends the browser back to the callback, with the browser's
  // state cookie when it has one.
  HttpResult Callback(const Attempt& a) {
    HttpClient browser(app_->base());
    std::vector<std::string> headers;
    if (!a.cookie.empty()) headers.push_back("Cookie: keel_oidc_state=" + a.cookie);
    return browser.Send("GET", "/api/v1/auth/google/callback?state=" + a.state + "&code=" + a.code,
                        "", headers);
  }
  // The value a response's Set-Cookie gives `name` ("" when none).
  static std::string CookieValue(const HttpResult& r, const std::string& name) {
    auto it = r.headers.find("set-cookie");
    if (it == r.headers.end()) return "";
    const size_t at = it->second.find(name + "=");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 1;
    return it->second.substr(start, it->second.find(';', start) - start);
  }
  // The Set-Cookie line of `name`.
  static std::string SetCookieOf(const HttpResult& r, const std::string& name) {
    auto it = r.headers.find("set-cookie");
    if (it == r.headers.end()) return "";
    const size_t at = it->second.find(name + "=");
    if (at == std::string::npos) return "";
    return it->second.substr(at, it->second.find('\n', at) - at);
  }

  OidcTestProvider provider_;
  std::unique_ptr<TestApp> app_;
};

// One client cannot fill the table of sign-ins in progress that everyone shares: 20 at once
// from one address, and a finished one gives its place back.
TEST_F(OidcFlowTest, OneAddressHasAtMostTwentySignInsInProgress) {
  auto attempt = Begin();
  HttpClient browser(app_->base());
  for (int i = 1; i < 20; ++i) {
    ASSERT_EQ(browser.Send("GET", "/api/v1/auth/google").status, 302) << i;
  }
  auto refused = browser.Send("GET", "/api/v1/auth/google");
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(Callback(attempt).status, 302);
  EXPECT_EQ(browser.Send("GET", "/api/v1/auth/google").status, 302) << "the place came back";
}

TEST_F(OidcFlowTest, SignInCreatesTheUserAndStartsASession) {
  auto attempt = Begin({}, "/app/customers");
  auto params = provider_.last_authorization();
  EXPECT_EQ(params["response_type"], "code");
  EXPECT_EQ(params["client_id"], "keel-client");
  EXPECT_EQ(params["scope"], "openid email profile");
  EXPECT_EQ(params["code_challenge_method"], "S256");
  EXPECT_EQ(params["code_challenge"].size(), 43u);
  EXPECT_GE(params["state"].size(), 32u);
  EXPECT_GE(params["nonce"].size(), 16u);

  auto r = Callback(attempt);
  ASSERT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(r.headers["location"], "/app/customers");
  EXPECT_NE(r.headers["set-cookie"].find("keel_session="), std::string::npos);
  const std::string token = Json(r.body).Str("/data/token");
  HttpClient c(app_->base(), token);
  Json me(c.Send("GET", "/api/v1/auth/me").body);
  EXPECT_EQ(me.Str("/data/user/email"), "ann@gmail.test");
  EXPECT_EQ(me.Str("/data/user/googleId"), "google-sub-1");
  EXPECT_EQ(me.Str("/data/user/provider"), "google");
  EXPECT_EQ(me.Str("/data/user/avatar"), "https://example.test/ann.png");
  // Without an allow-list a new Google user gets no role (issue 17; it was sales_rep).
  ASSERT_TRUE(me.At("/data/user/role"));
  EXPECT_TRUE(me.At("/data/user/role")->is_null()) << me.Str("/data/user/role");
  const std::string id = me.Str("/data/user/id");

  // Again, renamed at Google: the same user, updated; the keys come from the cache.
  OidcTestProvider::Identity renamed;
  renamed.name = "Ann Renamed";
  auto again = Callback(Begin(renamed));
  ASSERT_EQ(again.status, 302) << again.body;
  EXPECT_EQ(again.headers["location"], "/welcome");
  HttpClient c2(app_->base(), Json(again.body).Str("/data/token"));
  Json me2(c2.Send("GET", "/api/v1/auth/me").body);
  EXPECT_EQ(me2.Str("/data/user/id"), id);
  EXPECT_EQ(me2.Str("/data/user/name"), "Ann Renamed");
  EXPECT_EQ(provider_.jwks_fetches(), 1);
}

TEST_F(OidcFlowTest, AReplayedStateIsRefused) {
  auto attempt = Begin();
  ASSERT_EQ(Callback(attempt).status, 302);
  auto replay = Callback(attempt);
  EXPECT_EQ(replay.status, 401);
  EXPECT_NE(replay.body.find("already used"), std::string::npos) << replay.body;
  EXPECT_EQ(provider_.token_requests(), 1) << "a replayed state never reaches the provider";
  Attempt made_up{"made-up-state", "x"};
  EXPECT_EQ(Callback(made_up).status, 401);
}

TEST_F(OidcFlowTest, AForgedSignatureIsRefused) {
  auto attempt = Begin();
  provider_.Forge({.sign_with_stranger = true});
  auto r = Callback(attempt);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("signature"), std::string::npos) << r.body;
  EXPECT_EQ(r.headers.count("set-cookie"), 0u);
}

TEST_F(OidcFlowTest, AWrongAudienceIsRefused) {
  auto attempt = Begin();
  provider_.Forge({.audience = "someone-elses-client"});
  auto r = Callback(attempt);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("aud"), std::string::npos) << r.body;
}

TEST_F(OidcFlowTest, AnExpiredTokenIsRefused) {
  auto attempt = Begin();
  provider_.Forge({.expires_in = -3600});
  auto r = Callback(attempt);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("expired"), std::string::npos) << r.body;
}

TEST_F(OidcFlowTest, AnotherSignInsNonceIsRefused) {
  auto attempt = Begin();
  provider_.Forge({.nonce = "nonce-of-another-sign-in"});
  auto r = Callback(attempt);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("nonce"), std::string::npos) << r.body;
}

TEST_F(OidcFlowTest, AnUnverifiedEmailIsRefused) {
  OidcTestProvider::Identity who;
  who.email_verified = false;
  auto r = Callback(Begin(who));
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("verified"), std::string::npos) << r.body;
}

TEST_F(OidcFlowTest, ARotatedKeyIsFetchedOnItsUnknownKid) {
  ASSERT_EQ(Callback(Begin()).status, 302);
  EXPECT_EQ(provider_.jwks_fetches(), 1);
  provider_.RotateKey("key-2");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // Keel refetches at most 1/s
  auto r = Callback(Begin());
  EXPECT_EQ(r.status, 302) << r.body;
  EXPECT_EQ(provider_.jwks_fetches(), 2);
}

TEST_F(OidcFlowTest, AnExistingLocalAccountIsLinkedNotDuplicated) {
  HttpClient admin(app_->base(), app_->token());
  auto created = admin.Send("POST", "/api/v1/users",
                            R"({"name":"Ann","email":"ann@gmail.test","password":"password-123","role":"manager"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto r = Callback(Begin());
  ASSERT_EQ(r.status, 302) << r.body;
  HttpClient c(app_->base(), Json(r.body).Str("/data/token"));
  Json me(c.Send("GET", "/api/v1/auth/me").body);
  EXPECT_EQ(me.Str("/data/user/id"), Json(created.body).Str("/data/id"));
  EXPECT_EQ(me.Str("/data/user/role"), "manager");
  EXPECT_EQ(me.Str("/data/user/googleId"), "google-sub-1");
}

TEST_F(OidcFlowTest, TheStateIsBoundToTheBrowserThatStartedTheSignIn) {
  HttpClient browser(app_->base());
  auto begun = browser.Send("GET", "/api/v1/auth/google");
  ASSERT_EQ(begun.status, 302) << begun.body;
  const std::string cookie = SetCookieOf(begun, "keel_oidc_state");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Lax"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Secure"), std::string::npos) << "outside dev mode: " << cookie;
  EXPECT_NE(cookie.find("Path=/api/v1/auth/google/callback;"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("Max-Age=600"), std::string::npos) << cookie;
  EXPECT_EQ(CookieValue(begun, "keel_oidc_state"),
            testing::ParseForm(begun.headers["location"].substr(
                begun.headers["location"].find('?') + 1))["state"]);

  // Login CSRF: the attacker signs in as themself and sends the victim's browser to the
  // callback with the attacker's state and code.
  const Attempt attackers = Begin();
  Attempt victim_without_cookie = attackers;
  victim_without_cookie.cookie = "";
  auto r = Callback(victim_without_cookie);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("did not start this sign-in"), std::string::npos) << r.body;
  EXPECT_EQ(SetCookieOf(r, "keel_session"), "");
  Attempt victim_with_own_sign_in = attackers;
  victim_with_own_sign_in.cookie = Begin().cookie;
  EXPECT_EQ(Callback(victim_with_own_sign_in).status, 401);
  EXPECT_EQ(provider_.token_requests(), 0) << "refused before the code is used";

  // The browser that started it signs in; the state cookie is cleared.
  auto ok = Callback(attackers);
  ASSERT_EQ(ok.status, 302) << ok.body;
  EXPECT_NE(
      SetCookieOf(ok, "keel_session").find("keel_session=" + Json(ok.body).Str("/data/token")),
      std::string::npos);
  const std::string cleared = SetCookieOf(ok, "keel_oidc_state");
  EXPECT_EQ(cleared.rfind("keel_oidc_state=;", 0), 0u) << cleared;
  EXPECT_NE(cleared.find("Max-Age=0"), std::string::npos) << cleared;
}

TEST_F(OidcFlowTest, AReturnToThatCouldLeaveTheSiteFallsBackToTheSuccessRedirect) {
  // As the browser sends them, percent-encoded in the query string.
  for (const std::string bad : {"/%09/evil.com", "//evil.com", "/%5Cevil.com", "/%2509/evil.com",
                                "/%252F/evil.com", "https://evil.com", "/a%0d%0aSet-Cookie:x=1",
                                "/%7F", "evil.com", "%2F%2Fevil.com", "/a%5Cb"}) {
    auto r = Callback(Begin({}, bad));
    ASSERT_EQ(r.status, 302) << bad << ": " << r.body;
    EXPECT_EQ(r.headers["location"], "/welcome") << bad;
  }
  for (const std::string good : {"/", "/app/customers?tab=orders", "/a/b%20c"}) {
    auto r = Callback(Begin({}, good));
    ASSERT_EQ(r.status, 302) << good << ": " << r.body;
    EXPECT_EQ(r.headers["location"], testing::ParseForm("x=" + good)["x"]) << good;
  }
}

TEST(OidcReturnPathTest, OnlyPathsOnThisServer) {
  for (std::string_view good : {"/", "/app", "/app/x?y=1#z", "/a%20b", "/%7Euser", "/.."}) {
    EXPECT_TRUE(IsLocalReturnPath(good)) << good;
  }
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "", "app", "//evil.com", "/\\evil.com", "/\t/evil.com", "/%09/evil.com", "/%2F/evil.com",
           "/%5Cevil.com", "/a\\b", "/a%5Cb", "/a\nb", "/a%0Ab", "/a\x7f", "/a%7f",
           "https://evil.com", std::string_view("/a\0b", 4)}) {
    EXPECT_FALSE(IsLocalReturnPath(bad)) << bad;
  }
  EXPECT_FALSE(IsLocalReturnPath("/" + std::string(3000, 'a'))) << "bounded";
}

TEST_F(OidcFlowTest, AMissingEmailVerifiedClaimCountsAsUnverified) {
  OidcTestProvider::Identity who;
  who.email_verified = std::nullopt;
  auto r = Callback(Begin(who));
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("not verified"), std::string::npos) << r.body;
  EXPECT_EQ(SetCookieOf(r, "keel_session"), "");
}

TEST_F(OidcFlowTest, WithoutAnAllowListANewGoogleUserCanDoNothingUntilAnAdminGrantsARole) {
  auto r = Callback(Begin());
  ASSERT_EQ(r.status, 302) << r.body;
  HttpClient ann(app_->base(), Json(r.body).Str("/data/token"));
  Json me(ann.Send("GET", "/api/v1/auth/me").body);
  EXPECT_EQ(me.Size("/data/permissions"), 0u);
  auto denied = ann.Send("GET", "/api/v1/customers");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("no role"), std::string::npos) << denied.body;
  EXPECT_EQ(ann.Send("POST", "/api/v1/customers", R"({"name":"A","email":"a@x.io"})").status, 403);

  HttpClient admin(app_->base(), app_->token());
  ASSERT_EQ(
      admin.Send("PATCH", "/api/v1/users/" + me.Str("/data/user/id"), R"({"role":"sales_rep"})")
          .status,
      200);
  auto again = Callback(Begin());
  ASSERT_EQ(again.status, 302) << again.body;
  HttpClient granted(app_->base(), Json(again.body).Str("/data/token"));
  EXPECT_EQ(Json(granted.Send("GET", "/api/v1/auth/me").body).Str("/data/user/role"), "sales_rep");
  EXPECT_EQ(granted.Send("GET", "/api/v1/customers").status, 200);
}

class OidcAllowListTest : public OidcFlowTest {
  void Configure(AppConfig& config) override {
    config.auth.google_allowed_domains = "example.com, Ann@Gmail.test";
  }
};

TEST_F(OidcAllowListTest, OnlyAllowedDomainsAndEmailsSignInAndGetTheDefaultRole) {
  auto role_of = [&](const HttpResult& r) {
    HttpClient c(app_->base(), Json(r.body).Str("/data/token"));
    return Json(c.Send("GET", "/api/v1/auth/me").body).Str("/data/user/role");
  };
  auto ann = Callback(Begin());  // ann@gmail.test: an exact email
  ASSERT_EQ(ann.status, 302) << ann.body;
  EXPECT_EQ(role_of(ann), "sales_rep");

  OidcTestProvider::Identity bob{.sub = "sub-bob", .email = "bob@example.com", .name = "Bob"};
  auto by_email_domain = Callback(Begin(bob));
  ASSERT_EQ(by_email_domain.status, 302) << by_email_domain.body;
  EXPECT_EQ(role_of(by_email_domain), "sales_rep");

  OidcTestProvider::Identity cat{.sub = "sub-cat", .email = "cat@example-alias.org", .name = "Cat"};
  cat.hosted_domain = "example.com";
  auto by_hosted_domain = Callback(Begin(cat));
  ASSERT_EQ(by_hosted_domain.status, 302) << by_hosted_domain.body;

  HttpClient admin(app_->base(), app_->token());
  const size_t users = Json(admin.Send("GET", "/api/v1/users").body).Size("/data");
  for (OidcTestProvider::Identity eve :
       {OidcTestProvider::Identity{.sub = "sub-eve", .email = "eve@gmail.test"},
        OidcTestProvider::Identity{.sub = "sub-eve2", .email = "eve@example.com.evil.test"},
        OidcTestProvider::Identity{
            .sub = "sub-eve3", .email = "eve@evil.test", .hosted_domain = "evil.test"}}) {
    auto r = Callback(Begin(eve));
    EXPECT_EQ(r.status, 403) << eve.email << ": " << r.body;
    EXPECT_NE(r.body.find("allow-list"), std::string::npos) << r.body;
    EXPECT_EQ(SetCookieOf(r, "keel_session"), "");
  }
  EXPECT_EQ(Json(admin.Send("GET", "/api/v1/users").body).Size("/data"), users)
      << "a refused account is not registered";
}

class OidcPlainHttpTest : public OidcFlowTest {
  void Configure(AppConfig& config) override {
    config.oidc.token_endpoint = "http://127.0.0.1:1/token";  // never over plain HTTP
  }
};

TEST_F(OidcPlainHttpTest, TheCodeIsNeverExchangedOverPlainHttp) {
  auto r = Callback(Begin());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.headers.count("set-cookie"), 0u);
  EXPECT_EQ(provider_.token_requests(), 0);
}

}  // namespace
}  // namespace keel

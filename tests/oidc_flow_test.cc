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
  };
  // The browser's first half: Keel's redirect, then the person signs in at the provider.
  Attempt Begin(OidcTestProvider::Identity who = {}, const std::string& return_to = "") {
    HttpClient browser(app_->base());
    auto r = browser.Send("GET", "/api/v1/auth/google" + (return_to.empty() ? "" : "?returnTo=" + return_to));
    EXPECT_EQ(r.status, 302) << r.body;
    const std::string location = r.headers["location"];
    EXPECT_EQ(location.rfind(provider_.base() + "/authorize?", 0), 0u) << location;
    const std::string code = provider_.Authorize(location, std::move(who));
    return {provider_.last_authorization()["state"], code};
  }
  // The second half: the provider sends the browser back to the callback.
  HttpResult Callback(const Attempt& a) {
    HttpClient browser(app_->base());
    return browser.Send("GET", "/api/v1/auth/google/callback?state=" + a.state + "&code=" + a.code);
  }

  OidcTestProvider provider_;
  std::unique_ptr<TestApp> app_;
};

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
  EXPECT_EQ(me.Str("/data/user/role"), "sales_rep");
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

// Starts the real Keel (embedded log, RocksDB, HTTP on port 0) in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "api/app.h"
#include "infra/event_log.h"
#include "projections/projector_runner.h"
#include "tests/http_client.h"
#include "tests/test_util.h"

namespace keel {

inline constexpr const char* kTestJwtSecret = "test-secret-0123456789abcdef0123456789abcdef";
inline constexpr const char* kTestAdminEmail = "admin@keel.test";
inline constexpr const char* kTestAdminPassword = "admin-password-1";

// Signs in with a password; the session token, or "" (with a test failure) when refused.
inline std::string LoginToken(const std::string& base, const std::string& email,
                              const std::string& password) {
  HttpClient c(base);
  auto r = c.Send("POST", "/api/v1/auth/login",
                  R"({"email":")" + email + R"(","password":")" + password + R"("})");
  EXPECT_EQ(r.status, 200) << r.body << r.curl_error;
  return Json(r.body).Str("/data/token");
}

// The auth settings every test server runs with: a fixed secret and first admin.
inline void WithTestAuth(AppConfig& config) {
  if (config.auth.jwt_secret.empty()) config.auth.jwt_secret = kTestJwtSecret;
  if (config.auth.admin_email.empty()) config.auth.admin_email = kTestAdminEmail;
  if (config.auth.admin_password.empty()) config.auth.admin_password = kTestAdminPassword;
}

class TestApp {
 public:
  explicit TestApp(AppConfig config = {}) : config_(std::move(config)) {
    if (config_.data_dir == AppConfig{}.data_dir) config_.data_dir = dir_.path();
    config_.port = 0;
    config_.host = "127.0.0.1";
    // The level keeper appends to the customers stream on its own: a test that wants it sets an
    // interval other than the default, or runs its passes by hand (App::levels).
    if (config_.level_interval_ms == AppConfig{}.level_interval_ms) config_.level_interval_ms = 0;
    WithTestAuth(config_);
    Start();
  }

  void Start() {
    auto app = App::Start(config_);
    ASSERT_TRUE(app) << app.error().message;
    app_ = std::move(*app);
    base_ = "http://127.0.0.1:" + std::to_string(app_->port());
  }
  void Stop() { app_.reset(); }
  void Restart() {
    Stop();
    Start();
  }

  // Later starts listen on the port of this one (a vendor's receipt URL names it).
  void KeepPort() { config_.port = app_->port(); }
  // Settings for the next Start or Restart.
  AppConfig& mutable_config() { return config_; }

  App& app() { return *app_; }
  const std::string& base() const { return base_; }
  // The first admin's session token (signed in once; sessions outlive restarts).
  const std::string& token() {
    if (token_.empty()) token_ = LoginToken(base_, kTestAdminEmail, kTestAdminPassword);
    return token_;
  }
  const AppConfig& config() const { return config_; }

 private:
  TempDir dir_;
  AppConfig config_;
  std::unique_ptr<App> app_;
  std::string base_;
  std::string token_;
};

// `path` with minPosition=`position` added: a read that waits for that command's events.
inline std::string AtPosition(const std::string& path, const std::string& position) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + "minPosition=" + position;
}

// The furthest position each partition of a stream has reached in a test's answers. A stream's
// partitions are folded independently, so a read after several commands waits on all of them.
class Positions {
 public:
  // Remembers a command's `x-keel-position` (empty when it appended nothing).
  void Remember(const std::string& position) {
    if (position.empty()) return;
    const size_t colon = position.find(':');
    ASSERT_NE(colon, std::string::npos) << position;
    int64_t& at = furthest_[std::stoi(position.substr(0, colon))];
    at = std::max<int64_t>(at, std::stoll(position.substr(colon + 1)));
  }
  // "p:o,p:o": the minPosition that waits for every remembered command ("0:0" for none).
  std::string Joined() const {
    std::string all;
    for (auto [partition, offset] : furthest_) {
      if (!all.empty()) all.push_back(',');
      all.append(std::to_string(partition)).append(":").append(std::to_string(offset));
    }
    return all.empty() ? "0:0" : all;
  }

 private:
  std::map<int32_t, int64_t> furthest_;
};

// Records in a topic (by default the customers topic), over every partition.
inline int64_t LogSize(App& app, const std::string& topic = "keel.customers") {
  int64_t total = 0;
  for (int32_t p = 0; p < app.log().PartitionCount(); ++p) {
    total += app.log().EndOffset(topic, p).value_or(0);
  }
  return total;
}

// Registers customers "<prefix> i" with emails "<prefix>i@x.io", i in [0, count); each must
// be answered 201.
inline void RegisterCustomers(HttpClient& client, const std::string& prefix, int count) {
  for (int i = 0; i < count; ++i) {
    const std::string n = std::to_string(i);
    auto r = client.Send("POST", "/api/v1/customers",
                         R"({"name":")" + prefix + " " + n + R"(","email":")" + prefix + n + R"(@x.io"})");
    ASSERT_EQ(r.status, 201) << r.body << r.curl_error;
  }
}

// The customer list's total once it reaches `expected`, or what it is after five seconds.
inline int64_t AwaitCustomerTotal(HttpClient& client, int64_t expected) {
  int64_t total = -1;
  for (int i = 0; i < 250; ++i) {
    total = Json(client.Send("GET", "/api/v1/customers?limit=1").body).Int("/meta/total");
    if (total >= expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return total;
}

// Polls /ready until it answers 200 (every projection has caught up with the log since the
// start) or `limit` passes; returns its last answer.
inline HttpResult AwaitReady(HttpClient& client,
                             std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  HttpResult ready = client.Send("GET", "/ready");
  while (ready.status != 200 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ready = client.Send("GET", "/ready");
  }
  return ready;
}

}  // namespace keel

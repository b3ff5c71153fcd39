// Starts the real Keel (embedded log, RocksDB, HTTP on port 0) in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <string>

#include "api/app.h"
#include "infra/event_log.h"
#include "projections/projector_runner.h"
#include "tests/http_client.h"
#include "tests/test_util.h"

namespace keel {

class TestApp {
 public:
  explicit TestApp(AppConfig config = {}) : config_(std::move(config)) {
    if (config_.data_dir == AppConfig{}.data_dir) config_.data_dir = dir_.path();
    config_.port = 0;
    config_.host = "127.0.0.1";
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

  App& app() { return *app_; }
  const std::string& base() const { return base_; }
  const AppConfig& config() const { return config_; }

 private:
  TempDir dir_;
  AppConfig config_;
  std::unique_ptr<App> app_;
  std::string base_;
};

// `path` with minPosition=`position` added: a read that waits for that command's events.
inline std::string AtPosition(const std::string& path, const std::string& position) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + "minPosition=" + position;
}

// Records in the customers topic, over every partition.
inline int64_t LogSize(App& app) {
  int64_t total = 0;
  for (int32_t p = 0; p < app.log().PartitionCount(); ++p) {
    total += app.log().EndOffset("keel.customers", p).value_or(0);
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

}  // namespace keel

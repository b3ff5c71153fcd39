// Starts the real Keel (embedded log, RocksDB, HTTP on port 0) in a temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <memory>
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

}  // namespace keel

// A dummy vendor (infra/vendor/dummy_vendor.h) on loopback for the tests of a TestApp: it calls
// back the app's receipts route, and the app's next start sends to it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "infra/vendor/dummy_vendor.h"
#include "tests/test_app.h"

namespace keel {

// Starts the vendor (`seed`: its outcomes per message id) and points `app`'s config at it,
// keeping the app's port so that the receipt address stays right across the restart to come.
// nullptr (with a test failure) when it does not start.
inline std::unique_ptr<vendor::DummyVendor> StartVendorFor(TestApp& app, const std::string& secret,
                                                           uint64_t seed) {
  app.KeepPort();
  vendor::DummyVendor::Options options;
  options.secret = secret;
  options.receipt_url = app.base() + "/api/v1/delivery-receipts";
  options.seed = seed;
  auto vendor = vendor::DummyVendor::Start(options);
  EXPECT_TRUE(vendor) << vendor.error().message;
  if (!vendor) return nullptr;
  AppConfig& config = app.mutable_config();
  config.vendor_url = "http://127.0.0.1:" + std::to_string((*vendor)->port());
  config.vendor_secret = secret;
  return std::move(*vendor);
}

}  // namespace keel

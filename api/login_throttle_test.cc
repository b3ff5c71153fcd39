#include "api/login_throttle.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kMinute = 60 * 1000;

TEST(LoginThrottleTest, AFloodFromOneAddressDoesNotLockTheAccountElsewhere) {
  LoginThrottle t({});
  for (int i = 0; i < 5; ++i) t.RecordFailure("admin@x.io", "203.0.113.9", i);
  EXPECT_TRUE(t.Throttled("admin@x.io", "203.0.113.9", 10));
  EXPECT_FALSE(t.Throttled("admin@x.io", "198.51.100.1", 10)) << "the owner, elsewhere";
  EXPECT_FALSE(t.Throttled("rep@x.io", "203.0.113.9", 10)) << "another account, same place";
  for (int i = 0; i < 15; ++i) t.RecordFailure(std::to_string(i) + "@x.io", "203.0.113.9", 20);
  EXPECT_TRUE(t.Throttled("rep@x.io", "203.0.113.9", 30)) << "20 from one address";
  EXPECT_FALSE(t.Throttled("admin@x.io", "198.51.100.1", 30));
  // The window passes; what expired is dropped at the next failure.
  EXPECT_FALSE(t.Throttled("admin@x.io", "203.0.113.9", 15 * kMinute + 100));
  t.RecordFailure("admin@x.io", "198.51.100.1", 15 * kMinute + 100);
  EXPECT_EQ(t.size(), 2u);
}

TEST(LoginThrottleTest, ASuccessForgetsThePairNotTheAddress) {
  LoginThrottle t({.max_per_account_and_address = 3, .max_per_address = 5});
  for (int i = 0; i < 2; ++i) t.RecordFailure("a@x.io", "192.0.2.1", i);
  t.RecordSuccess("a@x.io", "192.0.2.1");
  for (int i = 0; i < 2; ++i) t.RecordFailure("a@x.io", "192.0.2.1", 10 + i);
  EXPECT_FALSE(t.Throttled("a@x.io", "192.0.2.1", 20)) << "2 since the success";
  t.RecordFailure("b@x.io", "192.0.2.1", 21);
  EXPECT_TRUE(t.Throttled("c@x.io", "192.0.2.1", 22)) << "5 from the address";
}

TEST(LoginThrottleTest, IPv6AddressesOfOneSlash64CountTogether) {
  LoginThrottle t({});
  for (int i = 0; i < 20; ++i) {
    t.RecordFailure("a@x.io", "2001:db8:0:1::" + std::to_string(i + 1), i);
  }
  EXPECT_TRUE(t.Throttled("b@x.io", "2001:db8:0:1:ffff::1", 30));
  EXPECT_FALSE(t.Throttled("b@x.io", "2001:db8:0:2::1", 30));
}

TEST(LoginThrottleTest, MemoryIsBoundedAndTheStalestGoFirst) {
  LoginThrottle t({.max_keys = 100});
  // A throttled pair, then a flood from many addresses that fills the throttle over and over.
  for (int i = 0; i < 5; ++i) t.RecordFailure("admin@x.io", "203.0.113.9", 1000);
  Millis now = 2000;
  for (int i = 0; i < 1000; ++i) {
    t.RecordFailure("x@x.io", "198.51.100." + std::to_string(i % 250), now++);
    // The attacker keeps failing: their keys stay the freshest.
    if (i % 10 == 0) t.RecordFailure("admin@x.io", "203.0.113.9", now++);
    ASSERT_LE(t.size(), 100u);
  }
  EXPECT_TRUE(t.Throttled("admin@x.io", "203.0.113.9", now));
  // The oldest flood addresses went; the newest are still counted.
  EXPECT_EQ(t.size(), 100u);
}

}  // namespace
}  // namespace keel

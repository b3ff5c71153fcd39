#include "domain/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace keel {
namespace {

class StoppedClock final : public Clock {
 public:
  Millis NowMillis() override { return now; }
  Millis now = 1'700'000'000'000;
};

TEST(UuidV7GeneratorTest, IdsAreCanonicalVersion7) {
  StoppedClock clock;
  UuidV7Generator ids(clock, 1);
  const std::string id = ids.NewId();
  EXPECT_TRUE(IsUuid(id));
  EXPECT_EQ(id[14], '7');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
  // The first 48 bits are the milliseconds.
  EXPECT_EQ(id.substr(0, 8) + id.substr(9, 4), "018bcfe56800");
}

TEST(UuidV7GeneratorTest, IdsStrictlyIncreaseWithinAMillisecondAndBeyondTheCounter) {
  StoppedClock clock;
  UuidV7Generator ids(clock, 2);
  std::string previous = ids.NewId();
  for (int i = 0; i < 10000; ++i) {  // more than the 12-bit counter holds
    std::string next = ids.NewId();
    ASSERT_LT(previous, next) << i;
    previous = next;
  }
  clock.now -= 5000;  // a clock that steps back never makes ids go back
  EXPECT_LT(previous, ids.NewId());
}

TEST(UuidV7GeneratorTest, IsUuidRejectsOtherShapes) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("018bcfe5-6800-7000-8000-00000000000"));
  EXPECT_FALSE(IsUuid("018bcfe5x6800-7000-8000-000000000000"));
  EXPECT_FALSE(IsUuid("018bcfe5-6800-7000-8000-00000000000g"));
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

TEST(DeriveUuidTest, SameNameSameIdOtherwiseDifferent) {
  const std::string a = DeriveUuid("scope", "order-1");
  EXPECT_TRUE(IsUuid(a));
  EXPECT_EQ(a[14], '8');  // version 8
  EXPECT_EQ(a, DeriveUuid("scope", "order-1"));
  EXPECT_NE(a, DeriveUuid("scope", "order-2"));
  EXPECT_NE(a, DeriveUuid("scope2", "order-1"));
  EXPECT_NE(DeriveUuid("ab", "c"), DeriveUuid("a", "bc"));
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(DeriveUuid("s", std::to_string(i)));
  EXPECT_EQ(seen.size(), 100000u);
}

}  // namespace
}  // namespace keel

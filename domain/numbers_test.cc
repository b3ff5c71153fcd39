#include "domain/numbers.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(NumbersTest, ParsesWholeDecimalIntegersOnly) {
  EXPECT_EQ(ParseInt64("0"), 0);
  EXPECT_EQ(ParseInt64("1204"), 1204);
  EXPECT_EQ(ParseInt64("-7"), -7);
  EXPECT_EQ(ParseInt64("9223372036854775807"), INT64_MAX);
  for (const char* bad : {"", "+1", "1.5", "12a", " 1", "1 ", "9223372036854775808", "x"}) {
    EXPECT_EQ(ParseInt64(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace keel

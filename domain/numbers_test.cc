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

TEST(NumbersTest, AddsWithoutOverflow) {
  EXPECT_EQ(CheckedAdd(2, 3), 5);
  EXPECT_EQ(CheckedAdd(INT64_MAX, 0), INT64_MAX);
  EXPECT_EQ(CheckedAdd(INT64_MAX - 1, 1), INT64_MAX);
  EXPECT_EQ(CheckedAdd(INT64_MAX, 1), std::nullopt);
  EXPECT_EQ(CheckedAdd(INT64_MIN, -1), std::nullopt);
  EXPECT_EQ(CheckedAdd(INT64_MIN, INT64_MAX), -1);
  EXPECT_EQ(SaturatingAdd(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(SaturatingAdd(INT64_MAX, INT64_MAX), INT64_MAX);
  EXPECT_EQ(SaturatingAdd(INT64_MIN, -1), INT64_MIN);
  EXPECT_EQ(SaturatingAdd(-5, 7), 2);
  EXPECT_EQ(CheckedSub(5, 7), -2);
  EXPECT_EQ(CheckedSub(0, INT64_MIN), std::nullopt);
  EXPECT_EQ(CheckedSub(INT64_MIN, 1), std::nullopt);
  EXPECT_EQ(CheckedSub(-1, INT64_MIN), INT64_MAX);
}

}  // namespace
}  // namespace keel

#include "domain/time.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(TimeTest, FormatsEpochAndLeapDay) {
  EXPECT_EQ(FormatIso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(951782400123), "2000-02-29T00:00:00.123Z");
  EXPECT_EQ(FormatIso8601(-1), "1969-12-31T23:59:59.999Z");
}

TEST(TimeTest, ParsesZonesAndFractions) {
  EXPECT_EQ(ParseIso8601("2000-02-29T00:00:00.123Z"), 951782400123);
  EXPECT_EQ(ParseIso8601("2000-02-29T01:30:00+01:30"), 951782400000);
  EXPECT_EQ(ParseIso8601("2000-02-28T20:00:00-04:00"), 951782400000);
  EXPECT_EQ(ParseIso8601("2000-02-29T00:00Z"), 951782400000);
  EXPECT_EQ(ParseIso8601("2000-02-29T00:00:00.5Z"), 951782400500);
}

TEST(TimeTest, RefusesMalformedOrZonelessOrImpossibleDates) {
  for (const char* bad : {"", "2000-02-29", "2000-02-29T00:00:00", "2001-02-29T00:00:00Z",
                          "2000-13-01T00:00:00Z", "2000-01-01T24:00:00Z", "2000-01-01T00:00:00Zx",
                          "not a date", "2000-01-01T00:00:00.Z", "2000-01-01T00:00:00+5"}) {
    EXPECT_FALSE(ParseIso8601(bad).has_value()) << bad;
  }
}

TEST(TimeTest, RoundTrips) {
  for (Millis ms : {0LL, 1LL, 1700000000123LL, 4102444799999LL, -86400000LL}) {
    EXPECT_EQ(ParseIso8601(FormatIso8601(ms)), ms);
  }
}

}  // namespace
}  // namespace keel

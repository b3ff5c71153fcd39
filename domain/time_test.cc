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

// Every instant the parser accepts is one the formatter writes back in the same four-digit
// layout: years 1 to 9999 in UTC, whatever the offset was.
TEST(TimeTest, AcceptsOnlyYearsOneTo9999AfterTheOffset) {
  for (const char* bad :
       {"0000-01-01T00:00:00Z", "0000-01-01T00:00:00+00:01", "0001-01-01T00:00:00+00:01",
        "0001-01-01T00:59:59.999+01:00", "9999-12-31T23:00:00-01:00",
        "9999-12-31T23:59:59.999-00:01", "9999-12-31T23:59:60-23:59"}) {
    EXPECT_FALSE(ParseIso8601(bad).has_value()) << bad;
  }
  EXPECT_EQ(ParseIso8601("0001-01-01T00:00:00Z"), kMinTimestampMillis);
  EXPECT_EQ(ParseIso8601("0001-01-01T01:00:00+01:00"), kMinTimestampMillis);
  EXPECT_EQ(ParseIso8601("9999-12-31T23:59:59.999Z"), kMaxTimestampMillis);
  EXPECT_EQ(ParseIso8601("9999-12-31T22:59:59.999-01:00"), kMaxTimestampMillis);
  EXPECT_EQ(ParseIso8601("9999-12-31T23:59:60.999Z"), kMaxTimestampMillis);  // a leap second
  EXPECT_EQ(FormatIso8601(kMinTimestampMillis), "0001-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatIso8601(kMaxTimestampMillis), "9999-12-31T23:59:59.999Z");
  for (Millis ms : {kMinTimestampMillis, kMinTimestampMillis + 1, kMaxTimestampMillis - 1,
                    kMaxTimestampMillis, Millis{-62'000'000'000'001}}) {
    EXPECT_EQ(ParseIso8601(FormatIso8601(ms)), ms) << ms;
  }
  for (Millis ms :
       {kMinTimestampMillis - 1, kMaxTimestampMillis + 1, Millis{INT64_MIN}, Millis{INT64_MAX}}) {
    EXPECT_FALSE(ParseIso8601(FormatIso8601(ms)).has_value()) << ms;
  }
}

}  // namespace
}  // namespace keel

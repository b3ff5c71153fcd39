#include "domain/automation.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

Millis T(std::string_view iso) { return *ParseIso8601(iso); }

Customer Born(std::string date) {
  Customer c;
  c.id = "c1";
  c.created_at = T("2020-01-01T00:00:00Z");
  c.details.mut().birth_date = std::move(date);
  return c;
}

TEST(AutomationTest, OccasionNamesRoundTrip) {
  for (Occasion o :
       {Occasion::kNone, Occasion::kWelcome, Occasion::kBirthday, Occasion::kInactivity}) {
    EXPECT_EQ(ParseOccasion(OccasionName(o)), o);
  }
  EXPECT_EQ(ParseOccasion("Birthday"), std::nullopt);
}

TEST(AutomationTest, BirthdayIsTheUtcMonthAndDay) {
  const Customer c = Born("1990-12-04");
  EXPECT_TRUE(HasBirthdayOn(c, T("2026-12-04T00:00:00Z")));
  EXPECT_TRUE(HasBirthdayOn(c, T("2026-12-04T23:59:59.999Z")));
  EXPECT_FALSE(HasBirthdayOn(c, T("2026-12-03T23:59:59.999Z")));
  EXPECT_FALSE(HasBirthdayOn(c, T("2026-12-05T00:00:00Z")));
  EXPECT_FALSE(HasBirthdayOn(Customer{}, T("2026-12-04T10:00:00Z")));  // no birthDate
  EXPECT_EQ(OccasionKeyFor(Occasion::kBirthday, 0, c, T("2026-12-04T10:00:00Z")), "birthday/2026");
  EXPECT_EQ(OccasionKeyFor(Occasion::kBirthday, 0, c, T("2027-12-04T10:00:00Z")), "birthday/2027");
  EXPECT_EQ(OccasionKeyFor(Occasion::kBirthday, 0, c, T("2027-12-05T10:00:00Z")), std::nullopt);
}

TEST(AutomationTest, TheTwentyNinthOfFebruaryFallsOnTheTwentyEighthInOtherYears) {
  const Customer c = Born("2000-02-29");
  EXPECT_TRUE(HasBirthdayOn(c, T("2027-02-28T12:00:00Z")));
  EXPECT_FALSE(HasBirthdayOn(c, T("2027-03-01T12:00:00Z")));
  EXPECT_TRUE(HasBirthdayOn(c, T("2028-02-29T12:00:00Z")));
  EXPECT_FALSE(HasBirthdayOn(c, T("2028-02-28T12:00:00Z")));  // a leap year has its own day
  EXPECT_FALSE(HasBirthdayOn(Born("2000-02-28"), T("2028-02-29T12:00:00Z")));
}

TEST(AutomationTest, BirthdaysAreFoundByMonthAndDay) {
  EXPECT_EQ(BirthdayOf(Born("1990-12-04")), "12-04");
  EXPECT_EQ(BirthdayOf(Born("2000-02-29")), "02-29");
  EXPECT_EQ(BirthdayOf(Customer{}), std::nullopt);
  EXPECT_EQ(BirthdaysOn(T("2026-12-04T23:59:59Z")), std::vector<std::string>{"12-04"});
  EXPECT_EQ(BirthdaysOn(T("2027-02-28T00:00:00Z")), (std::vector<std::string>{"02-28", "02-29"}));
  EXPECT_EQ(BirthdaysOn(T("2028-02-28T00:00:00Z")), std::vector<std::string>{"02-28"});
  EXPECT_EQ(BirthdaysOn(T("2028-02-29T00:00:00Z")), std::vector<std::string>{"02-29"});
}

TEST(AutomationTest, InactivityIsOncePerSpellWithoutOrders) {
  Customer c = Born("1990-01-01");
  c.created_at = T("2026-01-01T00:00:00Z");
  // Without orders the spell counts from createdAt.
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-03-01T23:59:59Z")), std::nullopt);
  const auto first = OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-03-02T00:00:00Z"));
  ASSERT_TRUE(first);
  // Later in the same spell: the same key, and not sent again.
  const Millis sent = T("2026-03-02T00:00:00Z");
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-06-01T00:00:00Z")), first);
  EXPECT_FALSE(SentAgain(Occasion::kInactivity, c, sent));
  // An order dated before the message (a historical one, imported later) ends no spell.
  c.stats.order_count = 1;
  c.stats.last_order_at = T("2025-11-10T08:00:00Z");
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-06-01T00:00:00Z")), first);
  EXPECT_FALSE(SentAgain(Occasion::kInactivity, c, sent));
  // An order after it ends the spell; 60 days without another start the next.
  c.stats.last_order_at = T("2026-06-10T08:00:00Z");
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-08-01T00:00:00Z")), std::nullopt);
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 60, c, T("2026-08-09T08:00:00Z")), first);
  EXPECT_TRUE(SentAgain(Occasion::kInactivity, c, sent));
  EXPECT_FALSE(SentAgain(Occasion::kBirthday, c, sent));
  EXPECT_EQ(OccasionKeyFor(Occasion::kInactivity, 0, c, T("2030-01-01T00:00:00Z")), std::nullopt);
}

TEST(AutomationTest, WelcomeIsForCustomersOnly) {
  Customer c = Born("1990-01-01");
  EXPECT_EQ(OccasionKeyFor(Occasion::kWelcome, 0, c, 0), "welcome");
  c.status = CustomerStatus::kLead;
  EXPECT_EQ(OccasionKeyFor(Occasion::kWelcome, 0, c, 0), std::nullopt);
  EXPECT_EQ(OccasionKeyFor(Occasion::kNone, 0, c, 0), std::nullopt);
}

TEST(AutomationTest, RunNamesNameTheRun) {
  const Millis at = T("2026-12-04T05:45:12.345Z");  // a Friday
  EXPECT_EQ(OccasionRunName(Occasion::kWelcome, at), "Welcome messages 2026-12-04T05:45:12Z");
  EXPECT_EQ(OccasionRunName(Occasion::kBirthday, at), "Birthday messages 2026-12-04");
  EXPECT_EQ(OccasionRunName(Occasion::kInactivity, at), "Inactivity messages, week of 2026-11-30");
  EXPECT_EQ(OccasionRunName(Occasion::kInactivity, T("2026-11-30T00:00:00Z")),
            "Inactivity messages, week of 2026-11-30");
  EXPECT_EQ(OccasionRunName(Occasion::kInactivity, T("2026-11-29T23:59:59Z")),
            "Inactivity messages, week of 2026-11-23");
  EXPECT_EQ(OccasionRunName(Occasion::kInactivity, T("1969-12-31T12:00:00Z")),
            "Inactivity messages, week of 1969-12-29");
}

}  // namespace
}  // namespace keel

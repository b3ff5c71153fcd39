#include "domain/automation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "domain/loyalty.h"
#include "domain/segment_rules.h"

namespace keel {
namespace {

constexpr int64_t kDayMillis = 86'400'000;

std::chrono::year_month_day UtcDateOf(Millis at) {
  return std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{DayNumber(at)}}};
}

// The date part (YYYY-MM-DD) of an instant's ISO-8601 form.
std::string DateText(Millis at) {
  std::string text = FormatIso8601(at);
  return text.substr(0, text.find('T'));
}

// "MM-DD".
std::string MonthDay(const std::chrono::year_month_day& date) {
  char text[8];
  std::snprintf(text, sizeof text, "%02u-%02u", static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  return text;
}

}  // namespace

std::string_view OccasionName(Occasion occasion) {
  switch (occasion) {
    case Occasion::kNone:
      return "";
    case Occasion::kWelcome:
      return "welcome";
    case Occasion::kBirthday:
      return "birthday";
    case Occasion::kInactivity:
      return "inactivity";
  }
  return "";
}

std::optional<Occasion> ParseOccasion(std::string_view name) {
  for (Occasion o :
       {Occasion::kNone, Occasion::kWelcome, Occasion::kBirthday, Occasion::kInactivity}) {
    if (OccasionName(o) == name) return o;
  }
  return std::nullopt;
}

bool HasBirthdayOn(const Customer& customer, Millis at) {
  const auto day = BirthdayOf(customer);
  if (!day) return false;
  const auto days = BirthdaysOn(at);
  return std::find(days.begin(), days.end(), *day) != days.end();
}

std::optional<std::string> BirthdayOf(const Customer& customer) {
  const auto& birth = customer.details.get().birth_date;
  if (!birth) return std::nullopt;
  auto born = BirthDateMillis(*birth);
  if (!born) return std::nullopt;
  return MonthDay(UtcDateOf(*born));
}

std::vector<std::string> BirthdaysOn(Millis at) {
  const auto today = UtcDateOf(at);
  std::vector<std::string> days{MonthDay(today)};
  using std::chrono::February;
  if (today.month() == February && today.day() == std::chrono::day{28} && !today.year().is_leap()) {
    days.push_back("02-29");
  }
  return days;
}

std::optional<std::string> OccasionKeyFor(Occasion occasion, int64_t days, const Customer& customer,
                                          Millis at) {
  switch (occasion) {
    case Occasion::kNone:
      return std::nullopt;
    case Occasion::kWelcome:
      if (customer.status != CustomerStatus::kCustomer) return std::nullopt;
      return std::string("welcome");
    case Occasion::kBirthday:
      if (!HasBirthdayOn(customer, at)) return std::nullopt;
      return "birthday/" + std::to_string(static_cast<int>(UtcDateOf(at).year()));
    case Occasion::kInactivity: {
      const Millis since = customer.stats.last_order_at.value_or(customer.created_at);
      if (days < 1 || WholeDaysSince(since, at) < days) return std::nullopt;
      return std::string("inactivity");
    }
  }
  return std::nullopt;
}

bool SentAgain(Occasion occasion, const Customer& customer, Millis sent_at) {
  return occasion == Occasion::kInactivity && customer.stats.last_order_at &&
         *customer.stats.last_order_at > sent_at;
}

std::string OccasionRunName(Occasion occasion, Millis at) {
  switch (occasion) {
    case Occasion::kWelcome: {
      std::string t = FormatIso8601(at);  // YYYY-MM-DDTHH:MM:SS.mmmZ: to the second
      return "Welcome messages " + t.substr(0, 19) + "Z";
    }
    case Occasion::kBirthday:
      return "Birthday messages " + DateText(at);
    case Occasion::kInactivity: {
      const int64_t day = DayNumber(at);
      const int64_t monday = day - ((day + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
      return "Inactivity messages, week of " + DateText(monday * kDayMillis);
    }
    case Occasion::kNone:
      break;
  }
  return "";
}

}  // namespace keel

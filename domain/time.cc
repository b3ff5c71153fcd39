#include "domain/time.h"

#include <chrono>
#include <cstdio>

namespace keel {
namespace {

// Howard Hinnant's civil-date algorithms: exact for the proleptic Gregorian calendar.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at s[i..i+n).
bool Digits(std::string_view s, size_t i, size_t n, int& out) {
  if (i + n > s.size()) return false;
  out = 0;
  for (size_t k = i; k < i + n; ++k) {
    if (s[k] < '0' || s[k] > '9') return false;
    out = out * 10 + (s[k] - '0');
  }
  return true;
}

}  // namespace

std::string FormatIso8601(Millis ms) {
  // Floor division that cannot overflow, whatever `ms` is.
  int64_t days = ms / 86400000;
  int64_t rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  if (y < 1 || y > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld-%02u-%02uT00:00:00.000Z", static_cast<long long>(y), m, d);
    return buf;
  }
  // Fixed layout, written digit by digit: this runs for every event and every response.
  char b[25] = "0000-00-00T00:00:00.000Z";
  auto put = [&b](int pos, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) b[pos + i] = static_cast<char>('0' + value % 10);
  };
  put(0, y, 4);
  put(5, m, 2);
  put(8, d, 2);
  put(11, rem / 3600000, 2);
  put(14, rem / 60000 % 60, 2);
  put(17, rem / 1000 % 60, 2);
  put(20, rem % 1000, 3);
  return std::string(b, 24);
}

std::optional<Millis> ParseIso8601(std::string_view s) {
  int year, month, day, hour, minute, second = 0;
  if (!Digits(s, 0, 4, year) || s.size() < 16 || s[4] != '-' || !Digits(s, 5, 2, month) ||
      s[7] != '-' || !Digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !Digits(s, 11, 2, hour) || s[13] != ':' || !Digits(s, 14, 2, minute)) {
    return std::nullopt;
  }
  size_t i = 16;
  int millis = 0;
  if (i < s.size() && s[i] == ':') {
    if (!Digits(s, i + 1, 2, second)) return std::nullopt;
    i += 3;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      ++i;
      size_t start = i;
      int scale = 100;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        millis += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
      }
      if (i == start || i - start > 9) return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > static_cast<int>(DaysInMonth(year, month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  int offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!Digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
        !Digits(s, i + 4, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_minutes = (oh * 60 + om) * (s[i] == '+' ? 1 : -1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + (second == 60 ? 59 : second) -
                       offset_minutes * 60;
  const Millis at = secs * 1000 + millis;
  if (at < kMinTimestampMillis || at > kMaxTimestampMillis) return std::nullopt;
  return at;
}

Millis SystemClock::NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace keel

// Timestamps are int64 milliseconds since the Unix epoch, UTC. On the wire: ISO-8601 with
// milliseconds and a Z suffix. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {

using Millis = int64_t;

// The instants Keel takes and writes: years 1 to 9999 in UTC, the years ISO-8601 spells with
// four digits. Whatever ParseIso8601 accepts, FormatIso8601 writes so that it parses back.
inline constexpr Millis kMinTimestampMillis = -62'135'596'800'000;  // 0001-01-01T00:00:00.000Z
inline constexpr Millis kMaxTimestampMillis = 253'402'300'799'999;  // 9999-12-31T23:59:59.999Z

// Outside [kMinTimestampMillis, kMaxTimestampMillis] the date is written as a plain number of
// years, which ParseIso8601 refuses.
std::string FormatIso8601(Millis ms);

// Accepts YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z or ±HH:MM. A date without a time or
// zone is refused: a CRM timestamp without a zone is ambiguous. So is an instant outside years
// 1 to 9999 once the offset is applied (0001-01-01T00:00:00+00:01 is in year 0).
std::optional<Millis> ParseIso8601(std::string_view s);
// The field error for an input ParseIso8601 refuses.
inline constexpr std::string_view kInvalidDatetimeMessage =
    "Must be an ISO-8601 datetime with a zone, in years 1 to 9999 once in UTC, e.g. "
    "2026-01-31T09:30:00Z";

// Injected wherever "now" matters, so that tests and replays are deterministic.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis NowMillis() = 0;
};

class SystemClock final : public Clock {
 public:
  Millis NowMillis() override;
};

}  // namespace keel

// Timestamps are int64 milliseconds since the Unix epoch, UTC. On the wire: ISO-8601 with
// milliseconds and a Z suffix. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keel {

using Millis = int64_t;

std::string FormatIso8601(Millis ms);

// Accepts YYYY-MM-DDTHH:MM[:SS[.fraction]] followed by Z or ±HH:MM. A date without a time or
// zone is refused: a CRM timestamp without a zone is ambiguous.
std::optional<Millis> ParseIso8601(std::string_view s);

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

// Strict parsing of decimal integers, for keys, checkpoints, query parameters and headers; and
// int64 arithmetic that never overflows, for figures summed from the log. Pure.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace keel {

// The whole of `s` as a decimal int64; nullopt for anything else (empty, signs aside from a
// leading '-', trailing characters, overflow).
inline std::optional<int64_t> ParseInt64(std::string_view s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// a + b, or nullopt where int64 would overflow.
inline std::optional<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

// a - b, or nullopt where int64 would overflow.
inline std::optional<int64_t> CheckedSub(int64_t a, int64_t b) {
  int64_t difference;
  if (__builtin_sub_overflow(a, b, &difference)) return std::nullopt;
  return difference;
}

// a + b, held at the int64 limit it would pass.
inline int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (auto sum = CheckedAdd(a, b)) return *sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace keel

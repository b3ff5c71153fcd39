// Strict parsing of decimal integers, for keys, checkpoints, query parameters and headers. Pure.
#pragma once

#include <charconv>
#include <cstdint>
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

}  // namespace keel

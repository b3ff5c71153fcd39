// Structured logs: one JSON object per line on stdout ({"ts","level","msg", fields...}),
// written through spdlog. Callers pass only what is safe to log: never request bodies, headers
// or credentials. Thread-safe.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keel {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

std::optional<LogLevel> ParseLogLevel(std::string_view name);  // debug, info, warn, error
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

using LogField = std::pair<std::string_view, std::string_view>;
void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});

// The JSON line Log writes, without the trailing newline. Pure; exposed for tests.
std::string FormatLogLine(int64_t unix_millis, LogLevel level, std::string_view message,
                          std::initializer_list<LogField> fields);

// Names the calling thread as `top -H`, `ps -L` and profilers show it; longer names are cut to
// the 15 bytes Linux keeps.
void SetThreadName(std::string_view name);

}  // namespace keel

#include "infra/log.h"

#include <pthread.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include "domain/json.h"
#include "domain/time.h"

namespace keel {
namespace {

std::atomic<int> current_level{static_cast<int>(LogLevel::kInfo)};

const char* Name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

spdlog::logger& Logger() {
  // The message is the whole JSON line: no prefix, no colours.
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("keel", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *logger;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view name) {
  for (auto level : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    if (name == Name(level)) return level;
  }
  return std::nullopt;
}

void SetLogLevel(LogLevel level) { current_level = static_cast<int>(level); }

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= current_level.load(); }

std::string FormatLogLine(int64_t unix_millis, LogLevel level, std::string_view message,
                          std::initializer_list<LogField> fields) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ts").String(FormatIso8601(unix_millis));
  w.Key("level").String(Name(level));
  w.Key("msg").String(message);
  for (const auto& [key, value] : fields) w.Key(key).String(value);
  w.EndObject();
  return w.Take();
}

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  Logger().info(FormatLogLine(now, level, message, fields));
}

void SetThreadName(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace keel

// The work log (seed 002, issue 19): time a user spent, on a date, perhaps for a customer, a
// project or a task. A work log is recorded once and never changes (corrections and deletions
// are not part of this version: a wrong log stays in the sums). Its event, the validation of
// input and the fold that the write side and the projector share. Pure; value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kWorklogAggregate = "worklog";
// {userId, customerId?, taskId?, projectId?, logDate, durationMinutes, description, result}.
// projectId and customerId are resolved when the command is decided (from the task and the
// project) and recorded, so that the sums per project and per customer need no join.
inline constexpr std::string_view kWorklogRecorded = "WorklogRecorded";

inline constexpr int64_t kMaxWorklogMinutes = 1440;    // one day
inline constexpr size_t kMaxWorklogTextLength = 2000;  // description, result
inline constexpr size_t kMaxWorklogIdLength = 100;     // userId, customerId, …

struct Worklog {
  std::string id;
  std::string user_id;
  std::optional<std::string> customer_id;
  std::optional<std::string> task_id;
  std::optional<std::string> project_id;
  std::string log_date;  // "YYYY-MM-DD"
  int64_t duration_minutes = 0;
  std::string description;
  std::string result;
  std::string created_by;  // the actor (differs from user_id when logged for someone else)
  Millis created_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Worklog&) const = default;
};

// POST's body: {userId? (default: the caller), customerId?, taskId?, projectId?, logDate
// ("YYYY-MM-DD", required), durationMinutes (whole number 1–1440, required), description
// (≤ 2000, optional), result (≤ 2000, optional)}. Text trimmed; unknown fields refused by name.
struct WorklogInput {
  std::optional<std::string> user_id;
  std::optional<std::string> customer_id;
  std::optional<std::string> task_id;
  std::optional<std::string> project_id;
  std::string log_date;
  int64_t duration_minutes = 0;
  std::string description;
  std::string result;
};

// kInvalidArgument ("Validation failed") listing every violation with its field.
Result<WorklogInput> ParseWorklogInput(std::string_view body);

// Whether `s` is a calendar date "YYYY-MM-DD" (years 1900–2999).
bool IsIsoDate(std::string_view s);
// The UTC calendar date of `t`, "YYYY-MM-DD".
std::string IsoDateOf(Millis t);

// The event's payload, for a log whose user, customer and project are resolved.
std::string EncodeWorklogRecorded(const Worklog& log);

// The fold. kDataLoss when the payload is bad or the log exists already.
Status ApplyWorklogEvent(Worklog& log, const EventEnvelope& event);

// As served and as the read model stores it: {id, userId, customerId, taskId, projectId
// (null when none), logDate, durationMinutes, description, result, createdBy, createdAt,
// version}.
std::string WorklogToJson(const Worklog& log);
Result<Worklog> WorklogFromJson(std::string_view json);

}  // namespace keel

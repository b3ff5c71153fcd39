#include "domain/worklog.h"

#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

int Digits(std::string_view s) {
  int n = 0;
  for (char c : s) n = n * 10 + (c - '0');
  return n;
}

std::optional<std::string> OptionalString(element doc, std::string_view key, bool& bad) {
  element v;
  if (doc.at_key(key).get(v)) return std::nullopt;
  if (v.type() == element_type::NULL_VALUE) return std::nullopt;
  std::string_view text;
  if (v.get(text) || text.empty()) {
    bad = true;
    return std::nullopt;
  }
  return std::string(text);
}

}  // namespace

bool IsIsoDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  const int year = Digits(s.substr(0, 4)), month = Digits(s.substr(5, 2)),
            day = Digits(s.substr(8, 2));
  if (year < 1900 || year > 2999 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::string IsoDateOf(Millis t) { return FormatIso8601(t).substr(0, 10); }

Result<WorklogInput> ParseWorklogInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  WorklogInput in;
  bool date_seen = false, duration_seen = false;
  auto id = [&](element value, std::string_view field) -> std::optional<std::string> {
    if (value.type() == element_type::NULL_VALUE) return std::nullopt;
    return json::ReadTrimmedText(value, field, 1, kMaxWorklogIdLength, errors);
  };
  for (auto [key, value] : *obj) {
    if (key == "userId") {
      in.user_id = id(value, "userId");
    } else if (key == "customerId") {
      in.customer_id = id(value, "customerId");
    } else if (key == "taskId") {
      in.task_id = id(value, "taskId");
    } else if (key == "projectId") {
      in.project_id = id(value, "projectId");
    } else if (key == "logDate") {
      date_seen = true;
      std::string_view text;
      if (value.get(text) || !IsIsoDate(text)) {
        errors.push_back({"logDate", "Must be a date YYYY-MM-DD, e.g. 2026-01-31"});
      } else {
        in.log_date = std::string(text);
      }
    } else if (key == "durationMinutes") {
      duration_seen = true;
      auto minutes = json::ToInt(value);
      if (!minutes || *minutes < 1 || *minutes > kMaxWorklogMinutes) {
        errors.push_back({"durationMinutes", "Must be a whole number of minutes from 1 to 1440"});
      } else {
        in.duration_minutes = *minutes;
      }
    } else if (key == "description" || key == "result") {
      if (value.type() == element_type::NULL_VALUE) continue;
      auto text = json::ReadTrimmedText(value, key, 0, kMaxWorklogTextLength, errors);
      if (text) (key == "description" ? in.description : in.result) = std::move(*text);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!date_seen) errors.push_back({"logDate", "Is required"});
  if (!duration_seen) errors.push_back({"durationMinutes", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return in;
}

std::string EncodeWorklogRecorded(const Worklog& log) {
  JsonWriter w;
  w.BeginObject();
  w.Key("userId").String(log.user_id);
  auto optional = [&](std::string_view key, const std::optional<std::string>& v) {
    if (v) w.Key(key).String(*v);
  };
  optional("customerId", log.customer_id);
  optional("taskId", log.task_id);
  optional("projectId", log.project_id);
  w.Key("logDate").String(log.log_date);
  w.Key("durationMinutes").Int(log.duration_minutes);
  w.Key("description").String(log.description);
  w.Key("result").String(log.result);
  w.EndObject();
  return w.Take();
}

Status ApplyWorklogEvent(Worklog& log, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, log.version); !st) return st;
  auto bad = [&](std::string_view why) {
    std::string message = "WorklogRecorded of ";
    message += event.aggregate_id;
    message += ": ";
    message += why;
    return Fail(Error::DataLoss(std::move(message)));
  };
  if (event.type != kWorklogRecorded) {
    return Fail(Error::DataLoss("Not a work log event: " + event.type));
  }
  if (log.version != 0) return bad("the work log exists; it is recorded once");
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view user, date, description, result;
  int64_t minutes = 0;
  if (doc->at_key("userId").get(user) || doc->at_key("logDate").get(date) ||
      doc->at_key("durationMinutes").get(minutes) || doc->at_key("description").get(description) ||
      doc->at_key("result").get(result)) {
    return bad("a field is missing");
  }
  if (user.empty() || !IsIsoDate(date) || minutes < 1 || minutes > kMaxWorklogMinutes) {
    return bad("a field is out of range");
  }
  bool malformed = false;
  Worklog next;
  next.customer_id = OptionalString(*doc, "customerId", malformed);
  next.task_id = OptionalString(*doc, "taskId", malformed);
  next.project_id = OptionalString(*doc, "projectId", malformed);
  if (malformed) return bad("an id is not a non-empty string");
  next.id = event.aggregate_id;
  next.user_id = std::string(user);
  next.log_date = std::string(date);
  next.duration_minutes = minutes;
  next.description = std::string(description);
  next.result = std::string(result);
  next.created_by = event.actor;
  next.created_at = event.occurred_at;
  next.version = event.aggregate_version;
  log = std::move(next);
  return {};
}

std::string WorklogToJson(const Worklog& log) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(log.id);
  w.Key("userId").String(log.user_id);
  auto optional = [&](std::string_view key, const std::optional<std::string>& v) {
    w.Key(key);
    v ? w.String(*v) : w.Null();
  };
  optional("customerId", log.customer_id);
  optional("taskId", log.task_id);
  optional("projectId", log.project_id);
  w.Key("logDate").String(log.log_date);
  w.Key("durationMinutes").Int(log.duration_minutes);
  w.Key("description").String(log.description);
  w.Key("result").String(log.result);
  w.Key("createdBy").String(log.created_by);
  w.Key("createdAt").String(FormatIso8601(log.created_at));
  w.Key("version").Int(log.version);
  w.EndObject();
  return w.Take();
}

Result<Worklog> WorklogFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Work log record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view id, user, date, description, result, created_by, created_at;
  int64_t minutes = 0, version = 0;
  if (doc->at_key("id").get(id) || doc->at_key("userId").get(user) ||
      doc->at_key("logDate").get(date) || doc->at_key("durationMinutes").get(minutes) ||
      doc->at_key("description").get(description) || doc->at_key("result").get(result) ||
      doc->at_key("createdBy").get(created_by) || doc->at_key("createdAt").get(created_at) ||
      doc->at_key("version").get(version)) {
    return Fail(Error::DataLoss("Work log record lacks a field"));
  }
  bool malformed = false;
  Worklog log;
  log.customer_id = OptionalString(*doc, "customerId", malformed);
  log.task_id = OptionalString(*doc, "taskId", malformed);
  log.project_id = OptionalString(*doc, "projectId", malformed);
  auto created = ParseIso8601(created_at);
  if (malformed || !created) {
    return Fail(Error::DataLoss("Work log record " + std::string(id) + " is malformed"));
  }
  log.id = std::string(id);
  log.user_id = std::string(user);
  log.log_date = std::string(date);
  log.duration_minutes = minutes;
  log.description = std::string(description);
  log.result = std::string(result);
  log.created_by = std::string(created_by);
  log.created_at = *created;
  log.version = version;
  return log;
}

}  // namespace keel

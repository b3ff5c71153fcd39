#include "domain/event.h"

#include "domain/customer.h"
#include "domain/order.h"
#include "domain/user.h"
#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct EventTypeInfo {
  std::string_view type;
  int current_version;
};

// Every event type this build understands, with its current schema version.
constexpr EventTypeInfo kEventTypes[] = {
    {kCustomerRegistered, kCustomerRegisteredVersion},
    {kCustomerUpdated, 1},
    {kCustomerDeactivated, 1},
    {kCustomerVisitRecorded, 1},
    {kOrderPlaced, 1},
    {kOrderStatusChanged, 1},
    {kUserRegistered, 1},
    {kUserUpdated, 1},
    {kUserRoleChanged, 1},
    {kUserDisabled, 1},
    {kUserEnabled, 1},
    {kUserPasswordChanged, 1},
    {kSessionStarted, 1},
    {kSessionRevoked, 1},
    {kRoleDefined, 1},
    {kPermissionDefined, 1},
};

// The one place where old schema versions become current ones. Each step lifts a payload by
// one version; DecodeEvent applies them in order.
Status Upcast(EventEnvelope& e) {
  const int current = CurrentSchemaVersion(e.type);
  while (current != 0 && e.schema_version < current) {
    if (e.type == kCustomerRegistered && e.schema_version == 1) {
      auto lifted = UpcastCustomerRegisteredV1(e.payload);
      if (!lifted) return Fail(lifted.error());
      e.payload = std::move(*lifted);
    } else {
      return Fail(Error::DataLoss("No upcaster for " + e.type + " v" +
                                  std::to_string(e.schema_version)));
    }
    ++e.schema_version;
  }
  return {};
}

// The exact text of a top-level member's value in an object that simdjson has already
// validated, so that payloads keep their bytes (number formatting included) through decoding.
std::string_view RawMemberValue(std::string_view json, std::string_view key) {
  size_t i = json.find('{');
  if (i == json.npos) return {};
  ++i;
  auto skip_ws = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r')) ++i;
  };
  auto skip_string = [&] {  // json[i] == '"'
    for (++i; i < json.size() && json[i] != '"'; ++i) {
      if (json[i] == '\\') ++i;
    }
    ++i;
  };
  while (i < json.size()) {
    skip_ws();
    if (i >= json.size() || json[i] != '"') return {};
    const size_t key_start = i + 1;
    skip_string();
    const std::string_view name = json.substr(key_start, i - 1 - key_start);
    skip_ws();
    ++i;  // ':'
    skip_ws();
    const size_t value_start = i;
    int depth = 0;
    while (i < json.size()) {
      const char c = json[i];
      if (c == '"') {
        skip_string();
        if (depth == 0) break;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
        if (depth == 0) {
          ++i;
          break;
        }
      }
      if (c == ',' && depth == 0) break;
      ++i;
    }
    size_t value_end = i;
    while (value_end > value_start && (json[value_end - 1] == ' ' || json[value_end - 1] == '\n' ||
                                       json[value_end - 1] == '\t' || json[value_end - 1] == '\r')) {
      --value_end;
    }
    if (name == key) return json.substr(value_start, value_end - value_start);
    skip_ws();
    if (i < json.size() && json[i] == ',') ++i;
  }
  return {};
}

}  // namespace

int CurrentSchemaVersion(std::string_view type) {
  for (const auto& info : kEventTypes) {
    if (info.type == type) return info.current_version;
  }
  return 0;
}

EventSupport CheckSupport(const EventEnvelope& event) {
  const int current = CurrentSchemaVersion(event.type);
  if (current == 0) return EventSupport::kUnknownType;
  if (event.schema_version > current) return EventSupport::kNewerVersion;
  return EventSupport::kSupported;
}

Status CheckNextVersion(const EventEnvelope& e, int64_t current) {
  if (e.aggregate_version == current + 1) return {};
  return Fail(Error::DataLoss("Event version " + std::to_string(e.aggregate_version) +
                              " does not follow version " + std::to_string(current) + " of " +
                              e.aggregate_type + " " + e.aggregate_id));
}

std::string EncodeEvent(const EventEnvelope& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("event_id").String(e.event_id);
  w.Key("type").String(e.type);
  w.Key("schema_version").Int(e.schema_version);
  w.Key("aggregate_type").String(e.aggregate_type);
  w.Key("aggregate_id").String(e.aggregate_id);
  w.Key("aggregate_version").Int(e.aggregate_version);
  w.Key("occurred_at").String(FormatIso8601(e.occurred_at));
  w.Key("recorded_at").String(FormatIso8601(e.recorded_at));
  w.Key("actor").String(e.actor);
  w.Key("correlation_id").String(e.correlation_id);
  w.Key("causation_id").String(e.causation_id);
  if (!e.idempotency_key.empty()) w.Key("idempotency_key").String(e.idempotency_key);
  w.Key("payload").Raw(e.payload);
  w.EndObject();
  return w.Take();
}

Result<EventEnvelope> DecodeEvent(std::string_view json) {
  auto doc = json::Parse(json, "Event", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Error::DataLoss("Event is not an object"));
  EventEnvelope e;
  auto missing = [](std::string_view f) {
    return Fail(Error::DataLoss("Event field '" + std::string(f) + "' is missing or invalid"));
  };
  auto str = [&](const char* key, std::string& out, bool required) -> bool {
    std::string_view v;
    if (doc->at_key(key).get(v)) return !required;
    out = v;
    return true;
  };
  if (!str("event_id", e.event_id, true)) return missing("event_id");
  if (!str("type", e.type, true) || e.type.empty()) return missing("type");
  int64_t version;
  if (doc->at_key("schema_version").get(version) || version < 1 || version > 1'000'000) {
    return missing("schema_version");
  }
  e.schema_version = static_cast<int>(version);
  if (!str("aggregate_type", e.aggregate_type, true)) return missing("aggregate_type");
  if (!str("aggregate_id", e.aggregate_id, true) || e.aggregate_id.empty()) {
    return missing("aggregate_id");
  }
  if (doc->at_key("aggregate_version").get(e.aggregate_version) || e.aggregate_version < 1) {
    return missing("aggregate_version");
  }
  std::string when;
  if (!str("occurred_at", when, true)) return missing("occurred_at");
  auto occurred = ParseIso8601(when);
  if (!occurred) return missing("occurred_at");
  e.occurred_at = *occurred;
  when.clear();
  str("recorded_at", when, false);
  auto recorded = when.empty() ? occurred : ParseIso8601(when);
  if (!recorded) return missing("recorded_at");
  e.recorded_at = *recorded;
  str("actor", e.actor, false);
  str("correlation_id", e.correlation_id, false);
  str("causation_id", e.causation_id, false);
  str("idempotency_key", e.idempotency_key, false);
  element payload;
  if (doc->at_key("payload").get(payload) || payload.type() != element_type::OBJECT) {
    return missing("payload");
  }
  // A key written with escapes is not found by the raw scan; minify is exact enough then.
  std::string_view raw = RawMemberValue(json, "payload");
  e.payload = raw.empty() ? simdjson::minify(payload) : std::string(raw);
  if (CheckSupport(e) == EventSupport::kSupported) {
    if (auto st = Upcast(e); !st) return Fail(st.error());
  }
  return e;
}

}  // namespace keel

// EventEnvelope: the metadata every event carries, and its JSON codec. The payload stays JSON
// text here; each aggregate decodes its own payloads. Value type.
//
// Wire format (one JSON object per log record; also what `kcat -P` must produce):
//   {"event_id":"<uuid>","type":"CustomerRegistered","schema_version":2,
//    "aggregate_type":"customer","aggregate_id":"<id>","aggregate_version":1,
//    "occurred_at":"2026-01-01T00:00:00.000Z","recorded_at":"2026-01-01T00:00:00.000Z",
//    "actor":"...","correlation_id":"...","causation_id":"...","payload":{...}}
// Optional: "idempotency_key". Unknown envelope fields are ignored (forward compatibility).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/time.h"

namespace keel {

struct EventEnvelope {
  std::string event_id;
  std::string type;
  int schema_version = 1;
  std::string aggregate_type;
  std::string aggregate_id;
  int64_t aggregate_version = 0;
  Millis occurred_at = 0;
  Millis recorded_at = 0;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string idempotency_key;  // empty when the command carried none
  std::string payload = "{}";   // JSON object text

  bool operator==(const EventEnvelope&) const = default;
};

std::string EncodeEvent(const EventEnvelope& event);

// Decodes and upcasts to the current schema version of its type. kDataLoss when the text is
// not a well-formed envelope. An unknown type or newer version decodes fine: the caller asks
// IsKnownEvent() and skips what it cannot understand.
Result<EventEnvelope> DecodeEvent(std::string_view json);

// 0 for a type this build does not know.
int CurrentSchemaVersion(std::string_view type);

enum class EventSupport { kSupported, kUnknownType, kNewerVersion };
EventSupport CheckSupport(const EventEnvelope& event);

// Every fold's first check: kDataLoss unless `event` is the next version of its aggregate,
// which is at `current` ("Event version 4 does not follow version 2 of customer <id>").
Status CheckNextVersion(const EventEnvelope& event, int64_t current);

}  // namespace keel

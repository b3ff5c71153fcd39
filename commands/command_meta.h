// What every command carries into its events' envelopes, and the one constructor of a new
// event. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/event.h"
#include "domain/ids.h"
#include "domain/time.h"

namespace keel {

// Who asked, when, and under which request: copied into every event's envelope.
struct CommandMeta {
  Millis now = 0;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string idempotency_key;
  // When set, the command may touch only customers assigned to this user (a sales rep's
  // _own scope); others are refused with kPermissionDenied. Not recorded in events.
  std::optional<std::string> owner_scope;
};

// A command's expected version (If-Match) against the aggregate's: kAborted naming both when
// they differ ("<What> <id> is at version V, not E; re-read it and retry"), OK without one.
inline Status CheckExpectedVersion(std::string_view what, const std::string& id, int64_t version,
                                   std::optional<int64_t> expected) {
  if (!expected || *expected == version) return {};
  std::string message(what);
  message += ' ';
  message += id;
  message += " is at version ";
  message += std::to_string(version);
  message += ", not ";
  message += std::to_string(*expected);
  message += "; re-read it and retry";
  return Fail(Error::Aborted(std::move(message)));
}

inline EventEnvelope NewEvent(std::string_view aggregate_type, std::string_view type,
                              const std::string& id, int64_t version, std::string payload,
                              const CommandMeta& meta, IdGenerator& ids) {
  EventEnvelope e;
  e.event_id = ids.NewId();
  e.type = std::string(type);
  e.schema_version = CurrentSchemaVersion(type);
  e.aggregate_type = std::string(aggregate_type);
  e.aggregate_id = id;
  e.aggregate_version = version;
  e.occurred_at = meta.now;
  e.recorded_at = meta.now;
  e.actor = meta.actor;
  e.correlation_id = meta.correlation_id;
  e.causation_id = meta.causation_id;
  e.idempotency_key = meta.idempotency_key;
  e.payload = std::move(payload);
  return e;
}

}  // namespace keel

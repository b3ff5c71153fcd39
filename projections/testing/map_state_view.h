// For the projectors' unit tests: the state a projector reads, as a map, and events to fold.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/event.h"
#include "domain/time.h"
#include "projections/projector.h"

namespace keel::testing {

class MapStateView final : public StateView {
 public:
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    auto it = rows.find(Key(table, key));
    if (it == rows.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    const std::string from = Key(table, prefix);
    for (auto it = rows.lower_bound(Key(table, std::max(prefix, start)));
         it != rows.end() && it->first.starts_with(from); ++it) {
      if (!visit(std::string_view(it->first).substr(table.size() + 1), it->second)) break;
    }
    return {};
  }
  // Applies writes as the runner commits them.
  void Commit(const std::vector<StoreWrite>& writes) {
    for (const auto& w : writes) {
      if (w.value) {
        rows[Key(w.table, w.key)] = *w.value;
      } else {
        rows.erase(Key(w.table, w.key));
      }
    }
  }
  std::optional<std::string> At(std::string_view table, std::string_view key) const {
    auto it = rows.find(Key(table, key));
    return it == rows.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  static std::string Key(std::string_view table, std::string_view key) {
    return std::string(table) + "|" + std::string(key);
  }
  std::map<std::string, std::string> rows;
};

// An event of the current schema version.
inline EventEnvelope MakeTestEvent(std::string_view type, std::string_view aggregate_type,
                                   const std::string& id, int64_t version, std::string payload,
                                   Millis at) {
  EventEnvelope e;
  e.type = std::string(type);
  e.event_id = e.type;
  e.event_id += '-';
  e.event_id += id;
  e.event_id += '-';
  e.event_id += std::to_string(version);
  e.schema_version = CurrentSchemaVersion(e.type);
  e.aggregate_type = std::string(aggregate_type);
  e.aggregate_id = id;
  e.aggregate_version = version;
  e.occurred_at = e.recorded_at = at;
  e.payload = std::move(payload);
  return e;
}

}  // namespace keel::testing

// The segments read model: each segment's definition as served (domain/segment.h
// SegmentToJson), active and archived, folded from the segments stream. Segments are few (a
// list reads them all); their live audiences are counted by the API from the customers' audience
// columns. The projector holds no state of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/segment.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// segment id → its document.
inline constexpr std::string_view kSegmentsTable = "segments";

class SegmentsProjector final : public Projector {
 public:
  std::string_view name() const override { return "segments"; }
  std::vector<std::string_view> topics() const override { return {kSegmentsTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kSegmentsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One segment (archived ones too); nullopt for an unknown id.
Result<std::optional<Segment>> QuerySegment(ReadStore& store, std::string_view id);
// Every segment, oldest first (ids are time-ordered); archived ones only when asked.
Result<std::vector<Segment>> QuerySegments(ReadStore& store, bool include_archived);

}  // namespace keel

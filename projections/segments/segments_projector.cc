#include "projections/segments/segments_projector.h"

namespace keel {

Status SegmentsProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                                std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kSegmentAggregate) return {};
  Segment segment;
  auto stored = view.Get(kSegmentsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = SegmentFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    segment = std::move(*decoded);
  }
  if (auto st = ApplySegmentEvent(segment, event); !st) return st;
  writes.push_back({kSegmentsTable, event.aggregate_id, SegmentToJson(segment)});
  return {};
}

Result<std::optional<Segment>> QuerySegment(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kSegmentsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Segment>();
  auto segment = SegmentFromJson(**stored);
  if (!segment) return Fail(segment.error());
  return std::optional<Segment>(std::move(*segment));
}

Result<std::vector<Segment>> QuerySegments(ReadStore& store, bool include_archived) {
  std::vector<Segment> out;
  Status bad;
  auto st = store.Scan(kSegmentsTable, "", "", [&](std::string_view, std::string_view value) {
    auto segment = SegmentFromJson(value);
    if (!segment) {
      bad = Fail(segment.error());
      return false;
    }
    if (include_archived || !segment->archived) out.push_back(std::move(*segment));
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return out;
}

}  // namespace keel

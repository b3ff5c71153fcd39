// The segments stream's write model and its pure decide functions: (model, command) → events
// or an error. Segment names are unique among active segments, case-insensitively.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/segment.h"

namespace keel {

// Every segment defined (a few thousand at most: each is a name and its rules), and the
// active ones by folded name. A value type; not thread-safe.
class SegmentWriteModel final {
 public:
  const Segment* Find(std::string_view id) const;
  // The active segment named `name` (case-insensitively), if any.
  const Segment* FindActiveByName(std::string_view name) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  size_t size() const { return segments_.size(); }
  // Every segment, archived ones too, by id.
  const std::map<std::string, Segment, std::less<>>& all() const { return segments_; }

 private:
  std::map<std::string, Segment, std::less<>> segments_;
  std::unordered_map<std::string, std::string> active_names_;  // folded name → id
};

// A new segment `id` (from the caller's id generator).
Result<EventEnvelope> DecideDefineSegment(const SegmentWriteModel& model, const std::string& id,
                                          const SegmentInput& input, const CommandMeta& meta,
                                          IdGenerator& ids);
// A new version of an active segment's definition; none when nothing changes. kNotFound,
// kAborted (If-Match), kFailedPrecondition (archived), kAlreadyExists (the name is taken).
Result<std::vector<EventEnvelope>> DecideRedefineSegment(const SegmentWriteModel& model,
                                                         const std::string& id,
                                                         const SegmentInput& input,
                                                         std::optional<int64_t> expected_version,
                                                         const CommandMeta& meta, IdGenerator& ids);
// Archives a segment; none when it is archived already. kNotFound, kAborted (If-Match).
Result<std::vector<EventEnvelope>> DecideArchiveSegment(const SegmentWriteModel& model,
                                                        const std::string& id,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

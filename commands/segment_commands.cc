#include "commands/segment_commands.h"

namespace keel {
namespace {

Result<const Segment*> FindChecked(const SegmentWriteModel& model, const std::string& id,
                                   std::optional<int64_t> expected_version) {
  const Segment* s = model.Find(id);
  if (!s) return Fail(Error::NotFound("Segment " + id + " not found"));
  if (auto st = CheckExpectedVersion("Segment", id, s->version, expected_version); !st) {
    return Fail(st.error());
  }
  return s;
}

Status CheckNameFree(const SegmentWriteModel& model, const std::string& name,
                     std::string_view self) {
  const Segment* other = model.FindActiveByName(name);
  if (other && other->id != self) {
    return Fail(Error::AlreadyExists("A segment named \"" + other->name + "\" already exists"));
  }
  return {};
}

}  // namespace

const Segment* SegmentWriteModel::Find(std::string_view id) const {
  auto it = segments_.find(id);
  return it == segments_.end() ? nullptr : &it->second;
}

const Segment* SegmentWriteModel::FindActiveByName(std::string_view name) const {
  auto it = active_names_.find(FoldCase(name));
  return it == active_names_.end() ? nullptr : Find(it->second);
}

Status SegmentWriteModel::Apply(const EventEnvelope& event) {
  Segment next;
  if (const Segment* s = Find(event.aggregate_id)) next = *s;
  const Segment before = next;
  if (auto st = ApplySegmentEvent(next, event); !st) return st;
  if (before.version != 0 && !before.archived) active_names_.erase(FoldCase(before.name));
  if (!next.archived) active_names_[FoldCase(next.name)] = next.id;
  segments_[event.aggregate_id] = std::move(next);
  return {};
}

Result<EventEnvelope> DecideDefineSegment(const SegmentWriteModel& model, const std::string& id,
                                          const SegmentInput& input, const CommandMeta& meta,
                                          IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Segment " + id + " already exists"));
  if (auto st = CheckNameFree(model, input.name, id); !st) return Fail(st.error());
  EventEnvelope e = NewEvent(kSegmentAggregate, kSegmentDefined, id, 1,
                             EncodeSegmentDefinition(input), meta, ids);
  e.schema_version = RulesSchemaVersion(input.rules);
  return e;
}

Result<std::vector<EventEnvelope>> DecideRedefineSegment(
    const SegmentWriteModel& model, const std::string& id, const SegmentInput& input,
    std::optional<int64_t> expected_version, const CommandMeta& meta, IdGenerator& ids) {
  auto s = FindChecked(model, id, expected_version);
  if (!s) return Fail(s.error());
  if ((*s)->archived) {
    return Fail(Error::FailedPrecondition("Segment " + id + " is archived; define a new one"));
  }
  if (auto st = CheckNameFree(model, input.name, id); !st) return Fail(st.error());
  if ((*s)->name == input.name && (*s)->description == input.description &&
      (*s)->rules_json == EncodeSegmentRules(input.rules)) {
    return std::vector<EventEnvelope>{};
  }
  EventEnvelope e = NewEvent(kSegmentAggregate, kSegmentRedefined, id, (*s)->version + 1,
                             EncodeSegmentDefinition(input), meta, ids);
  e.schema_version = RulesSchemaVersion(input.rules);
  return std::vector<EventEnvelope>{std::move(e)};
}

Result<std::vector<EventEnvelope>> DecideArchiveSegment(const SegmentWriteModel& model,
                                                        const std::string& id,
                                                        std::optional<int64_t> expected_version,
                                                        const CommandMeta& meta, IdGenerator& ids) {
  auto s = FindChecked(model, id, expected_version);
  if (!s) return Fail(s.error());
  if ((*s)->archived) return std::vector<EventEnvelope>{};
  return std::vector<EventEnvelope>{
      NewEvent(kSegmentAggregate, kSegmentArchived, id, (*s)->version + 1, "{}", meta, ids)};
}

}  // namespace keel

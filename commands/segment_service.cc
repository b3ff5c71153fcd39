#include "commands/segment_service.h"

namespace keel {

Result<SegmentOutcome> SegmentService::Stream::AnswerFor(const SegmentWriteModel& model,
                                                         const Decision& decision) {
  const Segment* s = model.Find(decision.key);
  if (!s) return Fail(Error::Internal("Segment " + decision.key + " is not in the write model"));
  return SegmentOutcome{*s, decision.created, std::nullopt};
}

std::optional<SegmentOutcome> SegmentService::Stream::Remembered(const SegmentWriteModel& model,
                                                                 const EventEnvelope& event) {
  const Segment* s = model.Find(event.aggregate_id);
  if (!s) return std::nullopt;
  return SegmentOutcome{*s, event.type == kSegmentDefined, std::nullopt};
}

SegmentService::SegmentService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{}, log, clock) {}

Status SegmentService::Load() {
  if (auto st = runtime_.Load(); !st) return st;
  std::lock_guard lock(acknowledged_mu_);
  runtime_.Read([&](const SegmentWriteModel& model) {
    for (const auto& [id, segment] : model.all()) acknowledged_[id] = segment;
  });
  return {};
}

SegmentService::Done SegmentService::Notifying(Done done) {
  return [this, done = std::move(done)](Result<SegmentOutcome> out) {
    if (out && out->position) {
      {
        std::lock_guard lock(acknowledged_mu_);
        Segment& known = acknowledged_[out->segment.id];
        if (known.version < out->segment.version) known = out->segment;
      }
      if (changed_) changed_();
    }
    done(std::move(out));
  };
}

std::vector<Segment> SegmentService::Segments() const {
  std::lock_guard lock(acknowledged_mu_);
  std::vector<Segment> out;
  out.reserve(acknowledged_.size());
  for (const auto& [id, segment] : acknowledged_) out.push_back(segment);
  return out;
}

std::optional<Segment> SegmentService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

Result<SegmentService::Decision> SegmentService::On(const std::string& id,
                                                    Result<std::vector<EventEnvelope>> events) {
  if (!events) return Fail(events.error());
  return Decision{id, std::move(*events), false};
}

void SegmentService::Define(SegmentInput input, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input)](const SegmentWriteModel& model,
                                       const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto event = DecideDefineSegment(model, id, input, m, ids_);
        if (!event) return Fail(event.error());
        return Decision{id, {std::move(*event)}, true};
      },
      Notifying(std::move(done)));
}

void SegmentService::Redefine(std::string id, SegmentInput input,
                              std::optional<int64_t> expected_version, CommandMeta meta,
                              Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), input = std::move(input), expected_version](
          const SegmentWriteModel& model, const CommandMeta& m) -> Result<Decision> {
        return On(id, DecideRedefineSegment(model, id, input, expected_version, m, ids_));
      },
      Notifying(std::move(done)));
}

void SegmentService::Archive(std::string id, std::optional<int64_t> expected_version,
                             CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), expected_version](const SegmentWriteModel& model,
                                                   const CommandMeta& m) -> Result<Decision> {
        return On(id, DecideArchiveSegment(model, id, expected_version, m, ids_));
      },
      Notifying(std::move(done)));
}

}  // namespace keel

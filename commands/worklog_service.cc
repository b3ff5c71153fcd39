#include "commands/worklog_service.h"

namespace keel {

Result<WorklogOutcome> WorklogService::Stream::AnswerFor(const WorklogWriteModel& model,
                                                         const Decision& decision) {
  const Worklog* w = model.Find(decision.key);
  if (!w) return Fail(Error::Internal("Work log " + decision.key + " is not in the write model"));
  return WorklogOutcome{*w, true, std::nullopt};
}

std::optional<WorklogOutcome> WorklogService::Stream::Remembered(const WorklogWriteModel& model,
                                                                 const EventEnvelope& event) {
  const Worklog* w = model.Find(event.aggregate_id);
  if (!w) return std::nullopt;
  return WorklogOutcome{*w, true, std::nullopt};
}

WorklogService::WorklogService(EventLog& log, Clock& clock, IdGenerator& ids,
                               WorklogTaskLookup tasks, WorklogProjectLookup projects)
    : clock_(clock),
      ids_(ids),
      tasks_(std::move(tasks)),
      projects_(std::move(projects)),
      runtime_(Stream{}, log, clock) {}

Status WorklogService::Load() { return runtime_.Load(); }

Result<Worklog> WorklogService::Resolve(const WorklogInput& input, const std::string& user_id,
                                        const WorklogTaskGate& gate) const {
  return ResolveWorklog(input, user_id, tasks_, projects_, clock_.NowMillis(), gate);
}

void WorklogService::Record(Worklog log, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, log = std::move(log)](const WorklogWriteModel& model,
                                   const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto event = DecideRecordWorklog(model, id, log, m, ids_);
        if (!event) return Fail(event.error());
        return Decision{id, {std::move(*event)}};
      },
      std::move(done));
}

}  // namespace keel

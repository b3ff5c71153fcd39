#include "commands/project_service.h"

namespace keel {

Result<ProjectOutcome> ProjectService::Stream::AnswerFor(const ProjectWriteModel& model,
                                                         const Decision& decision) {
  const Project* p = model.Find(decision.key);
  if (!p) return Fail(Error::Internal("Project " + decision.key + " is not in the write model"));
  return ProjectOutcome{*p, decision.created, std::nullopt};
}

std::optional<ProjectOutcome> ProjectService::Stream::Remembered(const ProjectWriteModel& model,
                                                                 const EventEnvelope& event) {
  const Project* p = model.Find(event.aggregate_id);
  if (!p) return std::nullopt;
  return ProjectOutcome{*p, event.type == kProjectCreated, std::nullopt};
}

void ProjectService::Stream::Loaded(ProjectWriteModel& model, Millis) {
  std::lock_guard lock(service->acknowledged_mu_);
  for (const auto& [id, project] : model.all()) {
    Project& known = service->acknowledged_[id];
    if (known.version <= project.version) known = project;
  }
}

ProjectService::ProjectService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{{}, this}, log, clock) {}

Status ProjectService::Load() { return runtime_.Load(); }

ProjectService::Done ProjectService::Acknowledging(Done done) {
  return [this, done = std::move(done)](Result<ProjectOutcome> out) {
    if (out && out->position) {
      std::lock_guard lock(acknowledged_mu_);
      Project& known = acknowledged_[out->project.id];
      if (known.version < out->project.version) known = out->project;
    }
    done(std::move(out));
  };
}

std::optional<Project> ProjectService::Find(const std::string& id) const {
  std::lock_guard lock(acknowledged_mu_);
  auto it = acknowledged_.find(id);
  if (it == acknowledged_.end()) return std::nullopt;
  return it->second;
}

void ProjectService::Create(ProjectInput input, std::string owner_id, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, input = std::move(input), owner_id = std::move(owner_id)](
          const ProjectWriteModel& model, const CommandMeta& m) -> Result<Decision> {
        const std::string id = ids_.NewId();
        auto event = DecideCreateProject(model, id, input, owner_id, m, ids_);
        if (!event) return Fail(event.error());
        return Decision{id, {std::move(*event)}, true};
      },
      Acknowledging(std::move(done)));
}

void ProjectService::Change(std::string id, ProjectPatch patch,
                            std::optional<int64_t> expected_version, CommandMeta meta, Done done) {
  runtime_.Execute(
      std::move(meta),
      [this, id = std::move(id), patch = std::move(patch), expected_version](
          const ProjectWriteModel& model, const CommandMeta& m) -> Result<Decision> {
        auto events = DecideChangeProject(model, id, patch, expected_version, m, ids_);
        if (!events) return Fail(events.error());
        return Decision{id, std::move(*events), false};
      },
      Acknowledging(std::move(done)));
}

}  // namespace keel

#include "commands/project_commands.h"

namespace keel {

const Project* ProjectWriteModel::Find(std::string_view id) const {
  auto it = projects_.find(id);
  return it == projects_.end() ? nullptr : &it->second;
}

Status ProjectWriteModel::Apply(const EventEnvelope& event) {
  Project next;
  if (const Project* p = Find(event.aggregate_id)) next = *p;
  if (auto st = ApplyProjectEvent(next, event); !st) return st;
  projects_[event.aggregate_id] = std::move(next);
  return {};
}

Result<EventEnvelope> DecideCreateProject(const ProjectWriteModel& model, const std::string& id,
                                          const ProjectInput& input, const std::string& owner_id,
                                          const CommandMeta& meta, IdGenerator& ids) {
  if (model.Find(id)) return Fail(Error::AlreadyExists("Project " + id + " already exists"));
  return NewEvent(kProjectAggregate, kProjectCreated, id, 1, EncodeProjectCreated(input, owner_id),
                  meta, ids);
}

Result<std::vector<EventEnvelope>> DecideChangeProject(const ProjectWriteModel& model,
                                                       const std::string& id,
                                                       const ProjectPatch& patch,
                                                       std::optional<int64_t> expected_version,
                                                       const CommandMeta& meta, IdGenerator& ids) {
  const Project* p = model.Find(id);
  if (!p) return Fail(Error::NotFound("Project " + id + " not found"));
  if (meta.owner_scope && p->owner_id != *meta.owner_scope) {
    return Fail(Error::PermissionDenied("Project " + id + " is not yours"));
  }
  if (auto st = CheckExpectedVersion("Project", id, p->version, expected_version); !st) {
    return Fail(st.error());
  }
  const bool moves = patch.status && *patch.status != p->status;
  if (moves && !CanMoveProject(p->status, *patch.status)) {
    return Fail(Error::FailedPrecondition(IllegalProjectMove(id, p->status, *patch.status)));
  }
  std::vector<EventEnvelope> events;
  int64_t version = p->version;
  if (auto edited = EncodeProjectEdited(*p, patch)) {
    if (IsFinalProjectStatus(p->status)) {
      std::string message = "Project " + id;
      message += " is ";
      message += ProjectStatusName(p->status);
      message += "; it takes no more changes";
      return Fail(Error::FailedPrecondition(std::move(message)));
    }
    events.push_back(
        NewEvent(kProjectAggregate, kProjectEdited, id, ++version, std::move(*edited), meta, ids));
  }
  if (moves) {
    events.push_back(NewEvent(kProjectAggregate, kProjectStatusChanged, id, ++version,
                              EncodeProjectStatusChanged(p->status, *patch.status), meta, ids));
  }
  return events;
}

}  // namespace keel

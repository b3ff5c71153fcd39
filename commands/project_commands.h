// The projects stream's write model and its pure decide functions: (model, command) → events
// or an error. The checks that need other streams (the customer exists and is the caller's, the
// owner is an active user) are the API's, made before the command; what is decided here needs
// only the project: its version (If-Match), the state machine (domain/project.h) and, for a
// caller whose scope is _own (CommandMeta::owner_scope), that the project is theirs.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_meta.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/ids.h"
#include "domain/project.h"

namespace keel {

// Every project, by id. A value type; not thread-safe.
class ProjectWriteModel final {
 public:
  const Project* Find(std::string_view id) const;
  // The fold; a refused event changes nothing.
  Status Apply(const EventEnvelope& event);
  const std::map<std::string, Project, std::less<>>& all() const { return projects_; }

 private:
  std::map<std::string, Project, std::less<>> projects_;
};

// A new project `id` owned by `owner_id` (the caller, or whom a projects:write_all caller
// named). kAlreadyExists for an id taken.
Result<EventEnvelope> DecideCreateProject(const ProjectWriteModel& model, const std::string& id,
                                          const ProjectInput& input, const std::string& owner_id,
                                          const CommandMeta& meta, IdGenerator& ids);

// PUT: ProjectEdited with the fields that change, then ProjectStatusChanged when the status
// moves; none when nothing changes. kNotFound; kPermissionDenied when meta.owner_scope is set
// and the project is someone else's ("Project X is not yours"); kAborted for a stale If-Match;
// kFailedPrecondition (409) for an illegal move ("Project X is done; it cannot become active")
// and for an edit of a closed project ("Project X is done; it takes no more changes").
Result<std::vector<EventEnvelope>> DecideChangeProject(const ProjectWriteModel& model,
                                                       const std::string& id,
                                                       const ProjectPatch& patch,
                                                       std::optional<int64_t> expected_version,
                                                       const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

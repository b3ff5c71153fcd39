// ProjectService: runs the commands of the projects stream (create, change) against the
// ProjectWriteModel, on a pipelined CommandRuntime (command_runtime.h): decided and folded under
// the stream's lock, answered once the log has the events. Idempotency-Keys as
// IdempotentAnswers says.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "commands/command_runtime.h"
#include "commands/project_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct ProjectOutcome {
  Project project;  // as the command left it
  bool created = false;
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

class ProjectService final {
 public:
  using Done = std::function<void(Result<ProjectOutcome>)>;

  ProjectService(EventLog& log, Clock& clock, IdGenerator& ids);
  ProjectService(const ProjectService&) = delete;
  ProjectService& operator=(const ProjectService&) = delete;

  // Folds the whole projects topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // The project as the log holds it: as Load found it, then as each command whose events the
  // log acknowledged left it (never a version still being appended). nullopt for an id the log
  // has no acknowledged project of. What other streams validate a projectId with.
  std::optional<Project> Find(const std::string& id) const;

  // `owner_id`: the resolved owner (the caller unless a projects:write_all caller named one).
  void Create(ProjectInput input, std::string owner_id, CommandMeta meta, Done done);
  // meta.owner_scope set: only the caller's own projects (projects:write_own).
  void Change(std::string id, ProjectPatch patch, std::optional<int64_t> expected_version,
              CommandMeta meta, Done done);

 private:
  struct Decision {
    std::string key;  // the project's id
    std::vector<EventEnvelope> events;
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = ProjectWriteModel;
    using Decision = ProjectService::Decision;
    using Answer = ProjectOutcome;
    static constexpr std::string_view kTopic = kProjectsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<ProjectOutcome> AnswerFor(const ProjectWriteModel& model, const Decision& decision);
    std::optional<ProjectOutcome> Remembered(const ProjectWriteModel& model,
                                             const EventEnvelope& event);
    // After every fold from the log (Load, and a refold after a failed append), under the
    // runtime's lock: what the log holds is acknowledged. The lock order is the runtime's, then
    // acknowledged_mu_, as in the answers' callbacks; nothing takes them the other way round.
    void Loaded(ProjectWriteModel& model, Millis now);
    ProjectService* service = nullptr;
  };
  using Runtime = CommandRuntime<Stream>;

  // `done`, after recording what the log acknowledged.
  Done Acknowledging(Done done);

  IdGenerator& ids_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Project> acknowledged_;  // guarded by acknowledged_mu_
  Runtime runtime_;
};

}  // namespace keel

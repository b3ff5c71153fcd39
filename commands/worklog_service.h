// WorklogService: records work logs on the worklogs stream, on a pipelined CommandRuntime
// (command_runtime.h), answered once the log has the event. Idempotency-Keys as
// IdempotentAnswers says. Resolve looks a work log's task and project up through the lookups
// given at construction (worklog_commands.h).
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block. The lookups are called on the caller's thread, outside the
// stream's lock.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "commands/command_runtime.h"
#include "commands/worklog_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct WorklogOutcome {
  Worklog worklog;
  bool created = false;
  std::optional<AppendResult> position;
};

class WorklogService final {
 public:
  using Done = std::function<void(Result<WorklogOutcome>)>;

  // `tasks` may be empty: a work log naming a task is then refused (worklog_commands.h).
  WorklogService(EventLog& log, Clock& clock, IdGenerator& ids, WorklogTaskLookup tasks,
                 WorklogProjectLookup projects);
  WorklogService(const WorklogService&) = delete;
  WorklogService& operator=(const WorklogService&) = delete;

  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // ResolveWorklog with this service's lookups and clock, and the caller's `gate`.
  Result<Worklog> Resolve(const WorklogInput& input, const std::string& user_id,
                          const WorklogTaskGate& gate = {}) const;
  // Records a resolved work log under a new id.
  void Record(Worklog log, CommandMeta meta, Done done);

 private:
  struct Decision {
    std::string key;  // the work log's id
    std::vector<EventEnvelope> events;
  };
  struct Stream : StreamDefaults {
    using Model = WorklogWriteModel;
    using Decision = WorklogService::Decision;
    using Answer = WorklogOutcome;
    static constexpr std::string_view kTopic = kWorklogsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<WorklogOutcome> AnswerFor(const WorklogWriteModel& model, const Decision& decision);
    std::optional<WorklogOutcome> Remembered(const WorklogWriteModel& model,
                                             const EventEnvelope& event);
  };
  using Runtime = CommandRuntime<Stream>;

  Clock& clock_;
  IdGenerator& ids_;
  const WorklogTaskLookup tasks_;
  const WorklogProjectLookup projects_;
  Runtime runtime_;
};

}  // namespace keel

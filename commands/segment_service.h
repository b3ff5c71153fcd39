// SegmentService: runs the commands of the segments stream (define, redefine, archive) against
// the SegmentWriteModel, on a pipelined CommandRuntime (command_runtime.h): decided and folded
// under the stream's lock (names are unique across segments), answered once the log has the
// events. Idempotency-Keys as IdempotentAnswers says.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "commands/command_runtime.h"
#include "commands/segment_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct SegmentOutcome {
  Segment segment;  // as the command left it
  bool created = false;
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

class SegmentService final {
 public:
  using Done = std::function<void(Result<SegmentOutcome>)>;

  SegmentService(EventLog& log, Clock& clock, IdGenerator& ids);
  SegmentService(const SegmentService&) = delete;
  SegmentService& operator=(const SegmentService&) = delete;

  // Folds the whole segments topic. Until it has succeeded, commands get kUnavailable.
  Status Load() { return runtime_.Load(); }
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  void Define(SegmentInput input, CommandMeta meta, Done done);
  void Redefine(std::string id, SegmentInput input, std::optional<int64_t> expected_version,
                CommandMeta meta, Done done);
  void Archive(std::string id, std::optional<int64_t> expected_version, CommandMeta meta,
               Done done);

 private:
  struct Decision {
    std::string key;  // the segment's id
    std::vector<EventEnvelope> events;
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = SegmentWriteModel;
    using Decision = SegmentService::Decision;
    using Answer = SegmentOutcome;
    static constexpr std::string_view kTopic = kSegmentsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<SegmentOutcome> AnswerFor(const SegmentWriteModel& model, const Decision& decision);
    std::optional<SegmentOutcome> Remembered(const SegmentWriteModel& model,
                                             const EventEnvelope& event);
  };
  using Runtime = CommandRuntime<Stream>;

  // A decision on the segment `id`, from events or a refusal.
  static Result<Decision> On(const std::string& id, Result<std::vector<EventEnvelope>> events);

  IdGenerator& ids_;
  Runtime runtime_;
};

}  // namespace keel

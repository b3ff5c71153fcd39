// SegmentService: runs the commands of the segments stream (define, redefine, archive) against
// the SegmentWriteModel, on a pipelined CommandRuntime (command_runtime.h): decided and folded
// under the stream's lock (names are unique across segments), answered once the log has the
// events. Idempotency-Keys as IdempotentAnswers says.
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
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // Called after each command that appended events, on the thread that answers it; set before
  // the first command. Must be quick.
  void OnChange(std::function<void()> changed) { changed_ = std::move(changed); }

  // Every segment, archived ones too, as the log holds it: as Load found it, then as each
  // command whose events the log acknowledged left it (never a version still being appended,
  // which may yet fail).
  std::vector<Segment> Segments() const;
  // One of them; nullopt for an id the log has no acknowledged segment of.
  std::optional<Segment> Find(const std::string& id) const;

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

  // `done`, after telling OnChange's callback of events appended.
  Done Notifying(Done done);

  IdGenerator& ids_;
  std::function<void()> changed_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Segment> acknowledged_;  // guarded by acknowledged_mu_
  Runtime runtime_;
};

}  // namespace keel

// LoyaltyService: runs the loyalty stream's one command (change the settings) against the
// LoyaltyWriteModel, on a pipelined CommandRuntime (command_runtime.h): decided and folded under
// the stream's lock, answered once the log has the event. Idempotency-Keys as IdempotentAnswers
// says.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <optional>

#include "commands/command_runtime.h"
#include "commands/loyalty_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct LoyaltyOutcome {
  LoyaltySettingsState state;            // as the command left it
  std::optional<AppendResult> position;  // where its event landed; none if unchanged
};

class LoyaltyService final {
 public:
  using Done = std::function<void(Result<LoyaltyOutcome>)>;

  LoyaltyService(EventLog& log, Clock& clock, IdGenerator& ids);
  LoyaltyService(const LoyaltyService&) = delete;
  LoyaltyService& operator=(const LoyaltyService&) = delete;

  // Folds the whole loyalty topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // `expected_version`: If-Match (0 before the first change).
  void Change(LoyaltySettingsPatch patch, std::optional<int64_t> expected_version, CommandMeta meta,
              Done done);

 private:
  struct Stream : StreamDefaults {
    using Model = LoyaltyWriteModel;
    using Answer = LoyaltyOutcome;
    static constexpr std::string_view kTopic = kLoyaltyTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<LoyaltyOutcome> AnswerFor(const LoyaltyWriteModel& model, const Decided&) {
      return LoyaltyOutcome{model.state(), std::nullopt};
    }
    std::optional<LoyaltyOutcome> Remembered(const LoyaltyWriteModel& model, const EventEnvelope&) {
      return LoyaltyOutcome{model.state(), std::nullopt};
    }
  };

  IdGenerator& ids_;
  CommandRuntime<Stream> runtime_;
};

}  // namespace keel

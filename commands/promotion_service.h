// PromotionService: runs the commands of the promotions stream (create, replace, deactivate)
// against the PromotionWriteModel, on a pipelined CommandRuntime (command_runtime.h), as
// ProductService does for products. Idempotency-Keys as IdempotentAnswers says.
//
// Find is what the customers stream looks a promotion up with when one is assigned
// (CommandService::AssignPromotion): it answers only what the log acknowledged.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "commands/command_runtime.h"
#include "commands/promotion_commands.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct PromotionOutcome {
  Promotion promotion;  // as the command left it
  bool created = false;
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

class PromotionService final {
 public:
  using Done = std::function<void(Result<PromotionOutcome>)>;

  PromotionService(EventLog& log, Clock& clock, IdGenerator& ids);
  PromotionService(const PromotionService&) = delete;
  PromotionService& operator=(const PromotionService&) = delete;

  // Folds the whole promotions topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // The promotion as the log holds it: as Load found it, then as each command whose events the
  // log acknowledged left it (never a version still being appended). nullopt for an id the log
  // has no acknowledged promotion of.
  std::optional<Promotion> Find(const std::string& id) const;
  // The acknowledged promotions that may be earned (EarnedAutomatically), by id: what
  // CommandService assigns automatically at order time, on a level change and on a referral. One
  // shared list, rebuilt when an acknowledged promotion changes, so that an order pays a lock
  // and a pointer copy for it.
  std::shared_ptr<const std::vector<Promotion>> EarnedAtOrder() const;

  void Create(PromotionInput input, CommandMeta meta, Done done);
  void Replace(std::string id, PromotionInput input, std::optional<int64_t> expected_version,
               CommandMeta meta, Done done);
  void Deactivate(std::string id, std::optional<int64_t> expected_version, CommandMeta meta,
                  Done done);

 private:
  struct Decision {
    std::string key;  // the promotion's id
    std::vector<EventEnvelope> events;
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = PromotionWriteModel;
    using Decision = PromotionService::Decision;
    using Answer = PromotionOutcome;
    static constexpr std::string_view kTopic = kPromotionsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<PromotionOutcome> AnswerFor(const PromotionWriteModel& model, const Decision& decision);
    std::optional<PromotionOutcome> Remembered(const PromotionWriteModel& model,
                                               const EventEnvelope& event);
    // After every fold from the log, under the runtime's lock: what the log holds is
    // acknowledged. Lock order: the runtime's, then acknowledged_mu_.
    void Loaded(PromotionWriteModel& model, Millis now);
    PromotionService* service = nullptr;
  };
  using Runtime = CommandRuntime<Stream>;
  using DecideChange = std::function<Result<std::vector<EventEnvelope>>(const PromotionWriteModel&,
                                                                        const CommandMeta&)>;

  // `done`, after recording what the log acknowledged.
  Done Acknowledging(Done done);
  // Rebuilds earned_at_order_ from acknowledged_; acknowledged_mu_ held.
  void AcknowledgedChanged();
  // Runs a decision on one existing promotion.
  void Change(std::string id, CommandMeta meta, DecideChange decide, Done done);

  IdGenerator& ids_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Promotion> acknowledged_;  // guarded by acknowledged_mu_
  std::shared_ptr<const std::vector<Promotion>> earned_at_order_ =
      std::make_shared<const std::vector<Promotion>>();  // guarded by acknowledged_mu_
  Runtime runtime_;
};

}  // namespace keel

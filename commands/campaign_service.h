// CampaignService: runs the commands of the campaigns stream against the CampaignWriteModel on a
// pipelined CommandRuntime (command_runtime.h): create, edit, schedule, launch, pause, resume,
// cancel, and the launcher's freezing of an audience. Answered once the log has the events;
// Idempotency-Keys as IdempotentAnswers says.
//
// Thread-safety: all methods may be called from any thread; `done` runs on a log thread or the
// caller's and must not block.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "commands/campaign_commands.h"
#include "commands/command_runtime.h"
#include "domain/topics.h"
#include "infra/event_log.h"

namespace keel {

struct CampaignOutcome {
  Campaign campaign;  // as the command left it
  bool created = false;
  std::optional<AppendResult> position;  // where its last event landed; none if unchanged
};

class CampaignService final {
 public:
  using Done = std::function<void(Result<CampaignOutcome>)>;
  // Why a segment cannot be targeted now (unknown, archived); none: it can. Called under the
  // stream's lock: must be quick and must not call back.
  using SegmentChecker = std::function<SegmentCheck(const std::string& segment_id)>;

  CampaignService(EventLog& log, Clock& clock, IdGenerator& ids, SegmentChecker segments);
  CampaignService(const CampaignService&) = delete;
  CampaignService& operator=(const CampaignService&) = delete;

  // Folds the whole campaigns topic. Until it has succeeded, commands get kUnavailable.
  Status Load();
  bool loaded() const { return runtime_.loaded(); }
  int64_t in_flight() const { return runtime_.in_flight(); }

  // Called after each command that appended events, on the thread that answers it; set before
  // the first command. Must be quick.
  void OnChange(std::function<void()> changed) { changed_ = std::move(changed); }
  // Every campaign as the log holds it (never a version still being appended).
  std::vector<Campaign> Campaigns() const;
  // One campaign as the log holds it; nullopt for an unknown id.
  std::optional<Campaign> Find(const std::string& id) const;
  // Reads campaign `id` again from the write model into what Campaigns and Find give, if the
  // model holds just what the log holds (CommandRuntime::ReadAsLogged; else nothing, try later).
  // An append whose answer was lost (a timeout after the log wrote it) leaves them a version
  // behind the log, and the next command of the campaign would be decided on the log's: the
  // dispatcher calls it after a record fails, so that its next chunk starts at the log's cursor.
  void Refresh(const std::string& id);

  void Create(CampaignInput input, CommandMeta meta, Done done);
  void Edit(std::string id, CampaignEdit edit, std::optional<int64_t> expected_version,
            CommandMeta meta, Done done);
  void Schedule(std::string id, Millis at, std::optional<int64_t> expected_version,
                CommandMeta meta, Done done);
  // `trigger`: "manual", or "schedule" (the scheduler: only a Scheduled campaign that is due).
  void Launch(std::string id, std::string trigger, std::optional<int64_t> expected_version,
              CommandMeta meta, Done done);
  // Pause, resume (to kRunning), cancel or fail.
  void Move(std::string id, CampaignState to, std::string reason,
            std::optional<int64_t> expected_version, CommandMeta meta, Done done);
  void FreezeAudience(std::string id, CampaignAudience audience, CommandMeta meta, Done done);
  // Why a campaign's audience cannot be resolved now (none: it can): a segment's campaign needs
  // its segment `segment_id` targetable; an automated message's (an occasion) needs none.
  SegmentCheck CheckAudience(Occasion occasion, const std::string& segment_id) const {
    return occasion == Occasion::kNone ? segments_(segment_id) : SegmentCheck();
  }
  // The dispatcher's progress, its completion of a campaign, and the vendor's receipts.
  void RecordMessagesSent(std::string id, MessagesSent sent, CommandMeta meta, Done done);
  void Complete(std::string id, CommandMeta meta, Done done);
  void RecordReceipts(std::string id, std::vector<DeliveryReceipt> receipts, CommandMeta meta,
                      Done done);

 private:
  struct Decision {
    std::string key;  // the campaign's id
    std::vector<EventEnvelope> events;
    bool created = false;
  };
  struct Stream : StreamDefaults {
    using Model = CampaignWriteModel;
    using Decision = CampaignService::Decision;
    using Answer = CampaignOutcome;
    static constexpr std::string_view kTopic = kCampaignsTopic;
    static constexpr Visibility kVisibility = Visibility::kPipelined;
    static constexpr bool kIdempotent = true;
    Result<CampaignOutcome> AnswerFor(const CampaignWriteModel& model, const Decision& decision);
    std::optional<CampaignOutcome> Remembered(const CampaignWriteModel& model,
                                              const EventEnvelope& event);
  };
  using Runtime = CommandRuntime<Stream>;

  void Run(std::string id, CommandMeta meta, Done done,
           std::function<Result<std::vector<EventEnvelope>>(const CampaignWriteModel&,
                                                            const CommandMeta&)>
               decide);
  Done Notifying(Done done);

  IdGenerator& ids_;
  SegmentChecker segments_;
  std::function<void()> changed_;
  mutable std::mutex acknowledged_mu_;
  std::map<std::string, Campaign> acknowledged_;  // guarded by acknowledged_mu_
  Runtime runtime_;
};

// Runs one of a CampaignService's commands (`command` calls it with the `done` given) and waits
// for its answer: for the process managers' threads, never an HTTP thread.
Result<CampaignOutcome> AwaitCampaignCommand(
    const std::function<void(CampaignService::Done)>& command);
// Moves the campaign to Failed with `reason` and waits for the answer (AwaitCampaignCommand):
// how the process managers end a campaign that no wait would mend.
Status FailCampaign(CampaignService& campaigns, const std::string& id, std::string reason,
                    CommandMeta meta);

}  // namespace keel

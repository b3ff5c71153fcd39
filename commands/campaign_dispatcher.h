// CampaignDispatcher: the process manager between a frozen audience and the messaging vendor
// (issue 18, "Delivery: the dispatcher"). For each Running campaign whose audience is frozen and
// not fully dispatched, one chunk at a time: read the next messages after the campaign's
// dispatch cursor (`next`, from the read side), hand them to the `sender`, wait for every
// answer, then record the chunk (CampaignService::RecordMessagesSent). The record is awaited
// only before the next chunk's record, so that its append and fsync overlap the next chunk's
// round trip to the vendor: at most two chunks are unrecorded at once, recorded in order. After
// a failed record (the campaign is in its retry delay) each record is awaited again. The
// cursor moves only once the vendor has answered, so a crash re-sends the unrecorded chunks
// with the same message ids, which the vendor deduplicates: one acceptance per recipient.
// - A Paused campaign gets no new chunk (the one in flight is recorded); Cancelled, Failed and
//   Sent ones get none.
// - A message the sender gave up on (the retry budget spent, the vendor unreachable): the chunk
//   is recorded with it as given up (what the vendor accepted in it is sent), then the campaign
//   is Failed with the reason.
// - A campaign whose frozen audience a partition answers it cannot resolve (`next` answers
//   kFailedPrecondition: a rebuild under a build that refuses its message) is Failed with the
//   reason, not retried forever, once what the vendor accepted is recorded (chunks whose record
//   failed are kept in memory for that, and recorded again); one whose every message was
//   answered already is completed by its receipts instead.
// - A campaign fully dispatched whose every queued recipient is terminal (delivered, failed or
//   rejected, as `read` says from the campaigns read model) is completed (Sent).
//
// Ownership: the sender and the service are borrowed and must outlive the dispatcher.
// Thread-safety: Start/Stop from one thread; Changed from any. RunOnce is not reentrant (tests
// call it with the thread stopped). Stop abandons a chunk in flight without recording it (the
// next start re-sends it); sender callbacks that come later are harmless.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands/campaign_service.h"
#include "commands/wake_loop.h"
#include "domain/campaign.h"
#include "domain/error.h"
#include "domain/time.h"

namespace keel {

// One recipient's message as the vendor gets it.
struct OutgoingCampaignMessage {
  std::string id;  // campaign id + ":" + customer id: the vendor's idempotency key
  std::string customer_id;
  std::string channel;
  std::string to;
  std::string text;
};

enum class SendAnswer { kAccepted, kRejected, kGaveUp };

struct SendReport {
  std::string id;
  SendAnswer answer = SendAnswer::kGaveUp;
  bool duplicate = false;  // accepted before under the same id
  std::string reason;      // when not accepted
};

// What the dispatcher sends through (app.cc adapts the vendor client to it).
class MessageSender {
 public:
  virtual ~MessageSender() = default;
  // Answers each message exactly once, in one or more calls of `done`, from any thread.
  virtual void Send(std::vector<OutgoingCampaignMessage> messages,
                    std::function<void(std::vector<SendReport>)> done) = 0;
};

class CampaignDispatcher final {
 public:
  struct Options {
    size_t chunk_size = 2000;
    // Between two passes when nothing wakes it (how soon receipts counted on the read side
    // complete a campaign).
    std::chrono::milliseconds poll_interval{200};
    // After a campaign's pass failed (the vendor's answers could not be recorded, the read model
    // could not be read), its next try waits this long, doubled at each further failure up to
    // max_retry_delay, so that a log that refuses appends is not handed the same chunk (and the
    // vendor the same messages) every poll.
    std::chrono::milliseconds retry_delay{200};
    std::chrono::milliseconds max_retry_delay{30'000};
  };
  // The campaign's messages in customer-id order after the customer `after` (empty: from the
  // first), at most `limit`; kFailedPrecondition when it cannot be resolved (fails the
  // campaign), any other error to be retried.
  using NextMessages = std::function<Result<std::vector<OutgoingCampaignMessage>>(
      const std::string& campaign_id, const std::string& after, size_t limit)>;
  // The campaign as the campaigns read model holds it (receipts counted); nullopt if unknown.
  using ReadCampaign =
      std::function<Result<std::optional<Campaign>>(const std::string& campaign_id)>;

  // Counters since construction (metrics): chunks the vendor answered (a chunk sent ahead of a
  // record that then failed counts, and counts again when re-sent); messages accepted (new),
  // accepted as duplicates, rejected, given up; messages of the chunks in flight.
  struct Stats {
    uint64_t chunks = 0, sent = 0, duplicates = 0, rejected = 0, gave_up = 0, in_flight = 0;
  };

  CampaignDispatcher(CampaignService& campaigns, MessageSender& sender, Clock& clock,
                     Options options, NextMessages next, ReadCampaign read);
  ~CampaignDispatcher();  // Stop()s
  CampaignDispatcher(const CampaignDispatcher&) = delete;
  CampaignDispatcher& operator=(const CampaignDispatcher&) = delete;

  void Start();
  void Stop();
  // A campaign changed: the thread makes a pass soon.
  void Changed();
  // The read side counted more receipts: a pass soon if a campaign fully dispatched waits for
  // its last ones (to be completed), else nothing.
  void ReceiptsMoved();
  // One pass: at most one chunk per campaign, skipping those still waiting after a failure. The
  // first failure is returned. Not concurrently with itself (the thread's pass, or a test's).
  Status RunOnce();
  Stats stats() const;

 private:
  // Sends one chunk and records it, or fails the campaign; false when there was nothing to do.
  Result<bool> DispatchChunk(const Campaign& c);
  Status MaybeComplete(const Campaign& c);
  // The campaign's audience cannot be resolved (`reason`): what the vendor accepted is recorded,
  // then the campaign is Failed, unless every message was answered already (false: its receipts
  // complete it). What this process kept: a chunk answered before a restart whose record failed
  // is not recorded (its receipts are still counted by the read model).
  Result<bool> FailUnreadable(const Campaign& c, const std::string& reason);
  // The campaign's next try waits (retry_delay, doubled at each further failure).
  void RetryLater(const std::string& campaign_id, const Status& failure);
  // The kept chunk of the same range as `chunk`, if any.
  MessagesSent* FindKept(const std::string& campaign_id, const MessagesSent& chunk);
  // Keeps a chunk whose record failed (once per range: a range sent again merges its answers).
  void Keep(const std::string& campaign_id, MessagesSent sent);
  // Forgets the kept chunks through `cursor`.
  void DropRecorded(const std::string& campaign_id, const std::string& cursor);
  // Records the kept chunks that follow the campaign's cursor, in order; the first failure is
  // returned (the rest kept). A campaign that takes no record any more drops them.
  Status RecordKept(const std::string& campaign_id);
  // Waits for the campaign's chunk record on its way, if any.
  Status AwaitRecorded(const std::string& campaign_id);
  CommandMeta SystemMeta() const;
  bool stopping() const;

  CampaignService& campaigns_;
  MessageSender& sender_;
  Clock& clock_;
  const Options options_;
  const NextMessages next_;
  const ReadCampaign read_;

  struct Retry {
    int failures = 0;
    Millis not_before = 0;
  };
  std::map<std::string, Retry> retries_;  // by campaign id; only RunOnce touches it
  // A chunk whose record was appended but not yet answered, by campaign id (at most one each):
  // the next chunk is read after `through` and sent meanwhile. Only RunOnce touches it.
  struct PendingRecord {
    std::future<Result<CampaignOutcome>> answered;
    std::string through;
    MessagesSent sent;  // what it records
  };
  std::map<std::string, PendingRecord> recording_;
  // Chunks the vendor answered whose record failed, by campaign id, until the cursor passes them
  // (they were sent again and recorded) or RecordKept records them. Only RunOnce touches it.
  // In memory only: a restart forgets them (see FailUnreadable).
  std::map<std::string, std::vector<MessagesSent>> unrecorded_;

  // After RunOnce: a Running campaign had nothing left to send and was not completed yet.
  std::atomic<bool> awaiting_receipts_{false};

  mutable std::mutex mu_;
  Stats stats_;    // guarded by mu_
  WakeLoop loop_;  // last: its thread uses the members above
};

}  // namespace keel

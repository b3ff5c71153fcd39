// The campaign aggregate (seed 000's model and state machine): a message template sent to a
// segment's audience through the messaging vendor. Its events, the validation of input, the
// state machine and the one fold that the write side and the projector use. Pure; value types.
//
// States: Draft → Scheduled → Running ⇄ Paused → Sent | Failed | Cancelled. A launch (by hand,
// or by the scheduler once its time has come) makes a campaign Running; its audience is then
// frozen once, at the log positions where the customers stream was told of the launch
// (CampaignAudienceFrozen: the size, the exclusions by reason and those positions).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/automation.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kCampaignAggregate = "campaign";
// {name, segmentId, message, channel, occasion?, occasionDays?}: a new campaign, a Draft.
inline constexpr std::string_view kCampaignCreated = "CampaignCreated";
// {name, segmentId, message}: a Draft's new definition.
inline constexpr std::string_view kCampaignEdited = "CampaignEdited";
// {scheduledAt}: to be launched then (a Draft, or a Scheduled one moved).
inline constexpr std::string_view kCampaignScheduled = "CampaignScheduled";
// {trigger ("manual" | "schedule"), segmentId, message, channel, occasion?}: Running; the
// audience is resolved next.
inline constexpr std::string_view kCampaignLaunched = "CampaignLaunched";
// {audienceSize, queued, excluded {inactive, noAddress, unsubscribed, frequencyCap},
//  positions [offset per partition of the customers stream]}.
inline constexpr std::string_view kCampaignAudienceFrozen = "CampaignAudienceFrozen";
inline constexpr std::string_view kCampaignPaused = "CampaignPaused";    // {}
inline constexpr std::string_view kCampaignResumed = "CampaignResumed";  // {}
// {reason}: no more messages leave; those sent keep their receipts.
inline constexpr std::string_view kCampaignCancelled = "CampaignCancelled";
// {}: every recipient has reached a terminal state.
inline constexpr std::string_view kCampaignCompleted = "CampaignCompleted";
// {reason}: the vendor stayed unreachable past the retry budget, or the audience could not be
// resolved.
inline constexpr std::string_view kCampaignFailed = "CampaignFailed";
// {after, through, accepted, duplicates, rejected [{customerId, reason}], gaveUp [same]}: the
// dispatcher's
// progress, recorded once the vendor has answered every message of a chunk (the audience's
// messages in customer-id order after the customer `after`, up to `through`). Accepted and
// duplicates are sent (a duplicate: accepted before a crash kept it from being recorded).
inline constexpr std::string_view kCampaignMessagesSent = "CampaignMessagesSent";
// {receipts [{eventId, customerId, status ("DELIVERED" | "FAILED"), reason, occurredAt}]}: the
// vendor's delivery receipts for this campaign's messages, as received (a repeat included: the
// campaigns read model applies the first receipt of a message and ignores the rest).
inline constexpr std::string_view kDeliveryReceiptsRecorded = "DeliveryReceiptsRecorded";

inline constexpr size_t kMaxCampaignNameLength = 100;      // code points, after trimming
inline constexpr size_t kMaxCampaignMessageLength = 1000;  // code points of the template
// What one recipient's text may reach, rendered for the longest values a customer may hold.
inline constexpr size_t kMaxRenderedMessageBytes = 8 << 10;
// How far ahead a campaign may be scheduled.
inline constexpr Millis kMaxScheduleAhead = 5LL * 366 * 86'400'000;

enum class CampaignState { kDraft, kScheduled, kRunning, kPaused, kSent, kFailed, kCancelled };
// "Draft", "Scheduled", … as served and named in errors.
std::string_view CampaignStateName(CampaignState state);

// Why members of the segment get no message.
enum class Exclusion { kInactive, kNoAddress, kUnsubscribed, kFrequencyCap };
inline constexpr size_t kExclusionCount = 4;
std::string_view ExclusionName(Exclusion reason);  // "inactive", "noAddress", …

// Who the launch reached: counted once the customers stream has folded the launch everywhere.
struct CampaignAudience {
  int64_t size = 0;    // members of the segment at the launch positions
  int64_t queued = 0;  // of them, those who get a message
  std::array<int64_t, kExclusionCount> excluded{};
  std::vector<int64_t> positions;  // per partition of the customers stream

  bool operator==(const CampaignAudience&) const = default;
};

struct Campaign {
  std::string id;
  std::string name;
  std::string segment_id;
  std::string message;  // the template's source (message_template.h)
  std::string channel = "email";
  // An automated message's campaign (domain/automation.h): its audience is the occasion's, not a
  // segment's (segment_id is empty). Set by the automation keeper alone, at creation.
  Occasion occasion = Occasion::kNone;
  int64_t occasion_days = 0;  // the inactivity's N; a welcome's oldest, in days
  CampaignState state = CampaignState::kDraft;
  std::optional<Millis> scheduled_at;
  std::optional<Millis> launched_at;
  std::string launch_trigger;  // "manual" | "schedule", once launched
  std::optional<CampaignAudience> audience;
  std::optional<Millis> finished_at;  // Sent, Failed or Cancelled
  std::string reason;                 // why it failed or was cancelled
  // Dispatch (the write side's fold): every message up to this customer id has been answered by
  // the vendor; empty: none yet.
  std::string dispatch_cursor;
  int64_t sent = 0;      // accepted by the vendor
  int64_t rejected = 0;  // refused by the vendor for good (400)
  // Receipts: counted by the campaigns read model only (it knows each message's status, so a
  // repeated receipt counts once); the write side leaves them 0.
  int64_t delivered = 0;
  int64_t failed = 0;
  std::map<std::string, int64_t, std::less<>> failed_by_reason;
  std::string created_by;
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Campaign&) const = default;
};

// A new campaign's body: {name, segmentId, message, channel?, scheduledAt?, launch?}.
struct CampaignInput {
  std::string name;
  std::string segment_id;
  std::string message;
  std::optional<Millis> scheduled_at;
  bool launch = false;
  // Not from a request body: the automation keeper's (Campaign::occasion).
  Occasion occasion = Occasion::kNone;
  int64_t occasion_days = 0;
};
// A Draft's edit (PATCH): the fields present.
struct CampaignEdit {
  std::optional<std::string> name;
  std::optional<std::string> segment_id;
  std::optional<std::string> message;
};

// Validate a request body, listing every violation with its field (kInvalidArgument): name
// 1–100 code points, a segment id, a message template (message_template.h), the only channel
// "email", scheduledAt an ISO-8601 time after `now` (and not with launch: true).
Result<CampaignInput> ParseCampaignInput(std::string_view body, Millis now);
Result<CampaignEdit> ParseCampaignEdit(std::string_view body);
// {scheduledAt}: a time after `now`.
Result<Millis> ParseScheduleInput(std::string_view body, Millis now);

// POST /campaigns/preview: {segmentId, message}.
struct CampaignPreviewInput {
  std::string segment_id;
  std::string message;
};
Result<CampaignPreviewInput> ParseCampaignPreviewInput(std::string_view body);

// The payloads.
std::string EncodeCampaignCreated(const CampaignInput& input);
std::string EncodeCampaignEdited(const Campaign& edited);
std::string EncodeCampaignScheduled(Millis at);
std::string EncodeCampaignLaunched(const Campaign& campaign, std::string_view trigger);
std::string EncodeCampaignAudience(const CampaignAudience& audience);
std::string EncodeCampaignReason(std::string_view reason);

// A dispatched chunk (kCampaignMessagesSent).
struct MessagesSent {
  std::string after;    // the cursor it was read after
  std::string through;  // its last customer id: the new cursor
  int64_t accepted = 0;
  int64_t duplicates = 0;
  struct Rejection {
    std::string customer_id;
    std::string reason;
    bool operator==(const Rejection&) const = default;
  };
  std::vector<Rejection> rejected;
  // Given up (the vendor unreachable past the retry budget): never accepted; the campaign
  // fails with them, and the read model counts them failed with their reason.
  std::vector<Rejection> gave_up;

  bool operator==(const MessagesSent&) const = default;
};
std::string EncodeMessagesSent(const MessagesSent& sent);
Result<MessagesSent> DecodeMessagesSent(const EventEnvelope& event);  // kDataLoss if bad

// One delivery receipt of a campaign's message (kDeliveryReceiptsRecorded).
struct DeliveryReceipt {
  std::string event_id;  // the vendor's, unique per receipt
  std::string customer_id;
  bool delivered = false;  // else FAILED
  std::string reason;      // why it failed ("" when delivered)
  Millis occurred_at = 0;

  bool operator==(const DeliveryReceipt&) const = default;
};
std::string EncodeDeliveryReceipts(const std::vector<DeliveryReceipt>& receipts);
Result<std::vector<DeliveryReceipt>> DecodeDeliveryReceipts(const EventEnvelope& event);

// Whether the state machine lets a campaign in `from` go to `to`.
bool CampaignMayMove(CampaignState from, CampaignState to);
// The refusal of a move the state machine does not allow (kFailedPrecondition, naming both).
Error IllegalCampaignMove(const Campaign& campaign, CampaignState to);

// The fold. kDataLoss when the payload is bad, the version does not follow or the move is not
// one the state machine allows.
Status ApplyCampaignEvent(Campaign& campaign, const EventEnvelope& event);

}  // namespace keel

// Partition markers: events that the segments stream and the clock place on every partition of
// the customers stream, so that a projector folding one partition sees segment definitions and
// the passing of time at one fixed place among that partition's customer events. A replay then
// folds them in the same order and gives the same segment membership.
//
// - ClockTicked {at}: time has reached `at` (a scheduler appends one per partition every
//   minute by default). Ticks at or before one already folded in a partition change nothing.
// - SegmentRulesPublished {segmentId, version, rules | null}: from here on, the partition's
//   customers are members of the segment by these rules (its version `version`); null rules:
//   archived, no member. A version at or below one already folded in a partition changes
//   nothing, so a marker appended twice (a publisher retrying, two processes) is harmless.
// - CampaignAudienceRequested {campaignId, segmentId, message, channel, frequencyCap?, occasion?,
//   occasionDays?, occasionAt?}: a campaign was launched; the partition's members of the segment
//   here are its audience (each gets the message rendered for them). Once per campaign and
//   partition: a repeat changes nothing.
//
// Markers are aggregate type "marker" (aggregate version always 1); the customer and order
// folds pass over them. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/automation.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kMarkerAggregate = "marker";
inline constexpr std::string_view kClockTicked = "ClockTicked";
inline constexpr std::string_view kSegmentRulesPublished = "SegmentRulesPublished";
inline constexpr std::string_view kCampaignAudienceRequested = "CampaignAudienceRequested";

inline bool IsPartitionMarker(const EventEnvelope& event) {
  return event.aggregate_type == kMarkerAggregate;
}

struct PublishedRules {
  std::string segment_id;
  int64_t version = 0;
  std::optional<std::string> rules_json;  // canonical (EncodeSegmentRules); none: archived

  bool operator==(const PublishedRules&) const = default;
};

// A launched campaign's request for its audience.
struct AudienceRequest {
  std::string campaign_id;
  std::string segment_id;
  std::string message;  // the template's source
  std::string channel;
  // At most this many campaign messages per customer in the 24 hours before the request, this
  // one included (0: no cap): the setting in force when the launcher asked, so that a replay
  // resolves the same audience whatever the setting is then.
  int64_t frequency_cap = 0;
  // An automated message's campaign (domain/automation.h): the audience is every customer of the
  // partition due on this occasion at the request (a welcome: those who became CUSTOMER since
  // the last welcome request, at most `occasion_days` days ago) and not yet sent it, in place of
  // a segment's members (segment_id is then empty). `occasion_days`: the inactivity's N.
  Occasion occasion = Occasion::kNone;
  int64_t occasion_days = 0;
  // The run's instant (its campaign's creation): the date a birthday falls on, where an
  // inactivity spell and a welcome's age are counted to. Not the request's own time, which a
  // launcher retrying after midnight would move to the next day.
  Millis occasion_at = 0;

  bool operator==(const AudienceRequest&) const = default;
};

// A marker of `type` ("ClockTicked", "SegmentRulesPublished") recorded at `at`: aggregate
// `id` of type "marker", version 1, by the system's clock.
EventEnvelope MakeMarker(std::string_view type, std::string id, std::string payload, Millis at,
                         std::string event_id);

// The payloads, and their reading back (kDataLoss when malformed).
std::string EncodeClockTicked(Millis at);
Result<Millis> DecodeClockTicked(const EventEnvelope& event);
std::string EncodePublishedRules(const PublishedRules& rules);
Result<PublishedRules> DecodePublishedRules(const EventEnvelope& event);
std::string EncodeAudienceRequest(const AudienceRequest& request);
Result<AudienceRequest> DecodeAudienceRequest(const EventEnvelope& event);

// A key that the partitioner (partitioner.h) sends to `partition` of `partition_count`: what a
// marker for that partition is appended under.
std::string KeyForPartition(int32_t partition, int32_t partition_count);

}  // namespace keel

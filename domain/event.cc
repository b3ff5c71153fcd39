#include "domain/event.h"

#include <simdjson.h>

#include "domain/campaign.h"
#include "domain/customer.h"
#include "domain/json.h"
#include "domain/loyalty.h"
#include "domain/order.h"
#include "domain/partition_markers.h"
#include "domain/product.h"
#include "domain/project.h"
#include "domain/promotion.h"
#include "domain/promotion_assignment.h"
#include "domain/segment.h"
#include "domain/task.h"
#include "domain/transaction.h"
#include "domain/user.h"
#include "domain/worklog.h"

namespace keel {
namespace {

struct EventTypeInfo {
  std::string_view type;
  int current_version;
};

// Every event type this build understands, with its current schema version.
constexpr EventTypeInfo kEventTypes[] = {
    {kCustomerRegistered, kCustomerRegisteredVersion},
    {kCustomerUpdated, 1},
    {kCustomerDeactivated, 1},
    {kCustomerVisitRecorded, 1},
    {kCustomerUnsubscribed, 1},
    {kCustomerResubscribed, 1},
    {kCustomerStatusChanged, 1},
    {kOrderPlaced, kOrderPlacedVersion},
    {kOrderStatusChanged, 1},
    {kUserRegistered, 1},
    {kUserUpdated, 1},
    {kUserRoleChanged, 1},
    {kUserDisabled, 1},
    {kUserEnabled, 1},
    {kUserPasswordChanged, 1},
    {kSessionStarted, 1},
    {kSessionRevoked, 1},
    {kUserSessionsRevoked, 1},
    {kRoleDefined, 1},
    {kPermissionDefined, 1},
    {kSegmentDefined, kSegmentRulesVersion},
    {kSegmentRedefined, kSegmentRulesVersion},
    {kSegmentArchived, 1},
    {kClockTicked, 1},
    {kSegmentRulesPublished, kSegmentRulesVersion},
    {kCampaignAudienceRequested, 1},
    {kCampaignCreated, 1},
    {kCampaignEdited, 1},
    {kCampaignScheduled, 1},
    {kCampaignLaunched, 1},
    {kCampaignAudienceFrozen, 1},
    {kCampaignPaused, 1},
    {kCampaignResumed, 1},
    {kCampaignCancelled, 1},
    {kCampaignCompleted, 1},
    {kCampaignFailed, 1},
    {kCampaignMessagesSent, 1},
    {kDeliveryReceiptsRecorded, 1},
    {kProjectCreated, 1},
    {kProjectEdited, 1},
    {kProjectStatusChanged, 1},
    {kLoyaltySettingsChanged, 1},
    {kWorklogRecorded, 1},
    {kProductCreated, 1},
    {kProductUpdated, 1},
    {kProductDeactivated, 1},
    {kTaskCreated, 1},
    {kTaskEdited, 1},
    {kTaskStatusChanged, 1},
    {kTaskRecurred, 1},
    {kTaskReminderDue, 1},
    {kTaskSeriesEnded, 1},
    {kTransactionRecorded, 1},
    {kPromotionCreated, 1},
    {kPromotionUpdated, 1},
    {kPromotionDeactivated, 1},
    {kPromotionAssigned, 1},
    {kCustomerLevelChanged, 1},
    {kCustomerScoresChanged, 1},
    {kReferralQualified, 1},
    {kReferralCredited, 1},
};

// The one place where old schema versions become current ones. Each step lifts a payload by
// one version; DecodeEvent applies them in order.
Status Upcast(EventEnvelope& e) {
  const int current = CurrentSchemaVersion(e.type);
  while (current != 0 && e.schema_version < current) {
    if (e.type == kCustomerRegistered && e.schema_version == 1) {
      auto lifted = UpcastCustomerRegisteredV1(e.payload);
      if (!lifted) return Fail(lifted.error());
      e.payload = std::move(*lifted);
    } else if (e.schema_version == 1 &&
               (e.type == kOrderPlaced || e.type == kSegmentDefined ||
                e.type == kSegmentRedefined || e.type == kSegmentRulesPublished)) {
      // v2 only added members (an item's product; seed 002's rule fields): nothing to lift.
    } else if (e.schema_version == 2 && e.type == kOrderPlaced) {
      // v3 only added members (the promotion an order redeemed): nothing to lift.
    } else if (e.schema_version == 2 && (e.type == kSegmentDefined || e.type == kSegmentRedefined ||
                                         e.type == kSegmentRulesPublished)) {
      // v3 only added rule fields (the loyalty level and scores): nothing to lift.
    } else {
      return Fail(Error::DataLoss("No upcaster for " + e.type + " v" +
                                  std::to_string(e.schema_version)));
    }
    ++e.schema_version;
  }
  return {};
}

}  // namespace

int CurrentSchemaVersion(std::string_view type) {
  for (const auto& info : kEventTypes) {
    if (info.type == type) return info.current_version;
  }
  return 0;
}

EventSupport CheckSupport(const EventEnvelope& event) {
  const int current = CurrentSchemaVersion(event.type);
  if (current == 0) return EventSupport::kUnknownType;
  if (event.schema_version > current) return EventSupport::kNewerVersion;
  return EventSupport::kSupported;
}

Status CheckNextVersion(const EventEnvelope& e, int64_t current) {
  if (e.aggregate_version == current + 1) return {};
  return Fail(Error::DataLoss("Event version " + std::to_string(e.aggregate_version) +
                              " does not follow version " + std::to_string(current) + " of " +
                              e.aggregate_type + " " + e.aggregate_id));
}

std::string EncodeEvent(const EventEnvelope& e) {
  JsonWriter w;
  w.BeginObject();
  w.Key("event_id").String(e.event_id);
  w.Key("type").String(e.type);
  w.Key("schema_version").Int(e.schema_version);
  w.Key("aggregate_type").String(e.aggregate_type);
  w.Key("aggregate_id").String(e.aggregate_id);
  w.Key("aggregate_version").Int(e.aggregate_version);
  w.Key("occurred_at").String(FormatIso8601(e.occurred_at));
  w.Key("recorded_at").String(FormatIso8601(e.recorded_at));
  w.Key("actor").String(e.actor);
  w.Key("correlation_id").String(e.correlation_id);
  w.Key("causation_id").String(e.causation_id);
  if (!e.idempotency_key.empty()) w.Key("idempotency_key").String(e.idempotency_key);
  w.Key("payload").Raw(e.payload);
  w.EndObject();
  return w.Take();
}

Result<EventEnvelope> DecodeEvent(std::string_view json) {
  // One pass with simdjson's On-Demand API: every projection decodes every event, and looking
  // each member up in a parsed tree scanned the object once per member. The payload is kept as
  // its raw text, bytes exact (projections parse it as they need).
  auto invalid = [](const std::string& why) {
    return Fail(Error::DataLoss("Event is not valid JSON: " + why));
  };
  if (json.empty()) return invalid("it is empty");
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string buffer;
  buffer.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  buffer.assign(json);
  simdjson::ondemand::document doc;
  if (auto err = parser.iterate(buffer.data(), json.size(), buffer.capacity()).get(doc)) {
    return invalid(simdjson::error_message(err));
  }
  simdjson::ondemand::object object;
  if (auto err = doc.get_object().get(object); err) {
    if (err == simdjson::INCORRECT_TYPE) return Fail(Error::DataLoss("Event is not an object"));
    return invalid(simdjson::error_message(err));
  }
  EventEnvelope e;
  auto missing = [](std::string_view f) {
    return Fail(Error::DataLoss("Event field '" + std::string(f) + "' is missing or invalid"));
  };
  // Members seen so far, by the bit of their position in this list; the first of a repeated
  // member counts, as in a lookup.
  enum Member {
    kEventId,
    kType,
    kSchemaVersion,
    kAggregateType,
    kAggregateId,
    kAggregateVersion,
    kOccurredAt,
    kRecordedAt,
    kActor,
    kCorrelationId,
    kCausationId,
    kIdempotencyKey,
    kPayload,
    kMembers
  };
  static constexpr std::string_view kNames[kMembers] = {
      "event_id",       "type",         "schema_version",
      "aggregate_type", "aggregate_id", "aggregate_version",
      "occurred_at",    "recorded_at",  "actor",
      "correlation_id", "causation_id", "idempotency_key",
      "payload"};
  uint32_t seen = 0;             // present
  uint32_t invalid_members = 0;  // present with the wrong type
  int64_t schema_version = 0;
  std::string recorded_text, occurred_text;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return invalid("a member name is malformed");
    int m = 0;
    while (m < kMembers && kNames[m] != key) ++m;
    if (m == kMembers || (seen & (1u << m))) continue;  // skipped, as On-Demand does
    seen |= 1u << m;
    auto value = field.value();
    bool ok = true;
    switch (m) {
      case kSchemaVersion:
        ok = !value.get_int64().get(schema_version);
        break;
      case kAggregateVersion:
        ok = !value.get_int64().get(e.aggregate_version);
        break;
      case kPayload: {
        simdjson::ondemand::object payload;
        std::string_view raw;
        ok = !value.get_object().get(payload) && !payload.raw_json().get(raw);
        // The raw text runs to the next token: without the whitespace before it.
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                                raw.back() == '\t')) {
          raw.remove_suffix(1);
        }
        if (ok) e.payload = raw;
        break;
      }
      default: {
        std::string_view text;
        ok = !value.get_string().get(text);
        if (!ok) break;
        switch (m) {
          case kEventId:
            e.event_id = text;
            break;
          case kType:
            e.type = text;
            break;
          case kAggregateType:
            e.aggregate_type = text;
            break;
          case kAggregateId:
            e.aggregate_id = text;
            break;
          case kOccurredAt:
            occurred_text = text;
            break;
          case kRecordedAt:
            recorded_text = text;
            break;
          case kActor:
            e.actor = text;
            break;
          case kCorrelationId:
            e.correlation_id = text;
            break;
          case kCausationId:
            e.causation_id = text;
            break;
          case kIdempotencyKey:
            e.idempotency_key = text;
            break;
        }
      }
    }
    if (!ok) invalid_members |= 1u << m;
  }
  // At the end of the document, the location is out of bounds.
  if (!doc.current_location().error()) return invalid("content after the event");
  auto has = [&](Member m) { return (seen & (1u << m)) && !(invalid_members & (1u << m)); };
  if (!has(kEventId)) return missing("event_id");
  if (!has(kType) || e.type.empty()) return missing("type");
  if (!has(kSchemaVersion) || schema_version < 1 || schema_version > 1'000'000) {
    return missing("schema_version");
  }
  e.schema_version = static_cast<int>(schema_version);
  if (!has(kAggregateType)) return missing("aggregate_type");
  if (!has(kAggregateId) || e.aggregate_id.empty()) return missing("aggregate_id");
  if (!has(kAggregateVersion) || e.aggregate_version < 1) return missing("aggregate_version");
  auto occurred_at = has(kOccurredAt) ? ParseIso8601(occurred_text) : std::nullopt;
  if (!occurred_at) return missing("occurred_at");
  e.occurred_at = *occurred_at;
  auto recorded_at =
      has(kRecordedAt) && !recorded_text.empty() ? ParseIso8601(recorded_text) : occurred_at;
  if (!recorded_at) return missing("recorded_at");
  e.recorded_at = *recorded_at;
  if (!has(kPayload)) return missing("payload");
  if (CheckSupport(e) == EventSupport::kSupported) {
    if (auto st = Upcast(e); !st) return Fail(st.error());
  }
  return e;
}

}  // namespace keel

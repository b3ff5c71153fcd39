#include "domain/partition_markers.h"

#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/partitioner.h"

namespace keel {

using simdjson::dom::element;

EventEnvelope MakeMarker(std::string_view type, std::string id, std::string payload, Millis at,
                         std::string event_id) {
  EventEnvelope e;
  e.event_id = std::move(event_id);
  e.type = std::string(type);
  e.schema_version = CurrentSchemaVersion(type);
  e.aggregate_type = std::string(kMarkerAggregate);
  e.aggregate_id = std::move(id);
  e.aggregate_version = 1;  // markers are facts, not versions of an aggregate
  e.occurred_at = e.recorded_at = at;
  e.actor = "system:clock";
  e.correlation_id = e.event_id;
  e.payload = std::move(payload);
  return e;
}

std::string EncodeClockTicked(Millis at) {
  JsonWriter w;
  w.BeginObject();
  w.Key("at").String(FormatIso8601(at));
  w.EndObject();
  return w.Take();
}

Result<Millis> DecodeClockTicked(const EventEnvelope& event) {
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view at;
  if (doc->at_key("at").get(at)) return Fail(Error::DataLoss("ClockTicked without at"));
  auto parsed = ParseIso8601(at);
  if (!parsed) return Fail(Error::DataLoss("ClockTicked with a bad time: " + std::string(at)));
  return *parsed;
}

std::string EncodePublishedRules(const PublishedRules& rules) {
  JsonWriter w;
  w.BeginObject();
  w.Key("segmentId").String(rules.segment_id);
  w.Key("version").Int(rules.version);
  w.Key("rules");
  if (rules.rules_json) {
    w.Raw(*rules.rules_json);
  } else {
    w.Null();
  }
  w.EndObject();
  return w.Take();
}

Result<PublishedRules> DecodePublishedRules(const EventEnvelope& event) {
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view id;
  int64_t version = 0;
  element rules;
  if (doc->at_key("segmentId").get(id) || doc->at_key("version").get(version) ||
      doc->at_key("rules").get(rules) || id.empty() || version < 1) {
    return Fail(Error::DataLoss("SegmentRulesPublished without segmentId, version or rules"));
  }
  PublishedRules out{std::string(id), version, std::nullopt};
  if (!rules.is_null()) out.rules_json = simdjson::minify(rules);
  return out;
}

std::string EncodeAudienceRequest(const AudienceRequest& request) {
  JsonWriter w;
  w.BeginObject();
  w.Key("campaignId").String(request.campaign_id);
  w.Key("segmentId").String(request.segment_id);
  w.Key("message").String(request.message);
  w.Key("channel").String(request.channel);
  if (request.frequency_cap > 0) w.Key("frequencyCap").Int(request.frequency_cap);
  if (request.occasion != Occasion::kNone) {
    w.Key("occasion").String(OccasionName(request.occasion));
    w.Key("occasionDays").Int(request.occasion_days);
    w.Key("occasionAt").Int(request.occasion_at);
  }
  w.EndObject();
  return w.Take();
}

Result<AudienceRequest> DecodeAudienceRequest(const EventEnvelope& event) {
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view campaign, segment, message, channel;
  if (doc->at_key("campaignId").get(campaign) || doc->at_key("segmentId").get(segment) ||
      doc->at_key("message").get(message) || doc->at_key("channel").get(channel) ||
      campaign.empty()) {
    return Fail(
        Error::DataLoss("CampaignAudienceRequested without campaignId, segmentId, "
                        "message or channel"));
  }
  int64_t cap = 0;
  if (auto v = doc->at_key("frequencyCap"); v.error() != simdjson::NO_SUCH_FIELD) {
    if (v.get(cap) || cap < 0) {
      return Fail(Error::DataLoss("CampaignAudienceRequested with a bad frequencyCap"));
    }
  }
  AudienceRequest request{std::string(campaign), std::string(segment), std::string(message),
                          std::string(channel), cap};
  if (auto v = doc->at_key("occasion"); v.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view name;
    std::optional<Occasion> occasion;
    if (!v.get(name)) occasion = ParseOccasion(name);
    int64_t days = 0;
    int64_t at = 0;
    if (!occasion || *occasion == Occasion::kNone || doc->at_key("occasionDays").get(days) ||
        days < 0 || doc->at_key("occasionAt").get(at)) {
      return Fail(Error::DataLoss("CampaignAudienceRequested with a bad occasion"));
    }
    request.occasion = *occasion;
    request.occasion_days = days;
    request.occasion_at = at;
  }
  if (request.segment_id.empty() && request.occasion == Occasion::kNone) {
    return Fail(Error::DataLoss("CampaignAudienceRequested without a segmentId or an occasion"));
  }
  return request;
}

std::string KeyForPartition(int32_t partition, int32_t partition_count) {
  // About partition_count tries on average: murmur2 spreads "partition-N" evenly.
  for (int64_t n = partition;; ++n) {
    std::string key = "partition-";
    key += std::to_string(n);
    if (PartitionForKey(key, partition_count) == partition) return key;
  }
}

}  // namespace keel

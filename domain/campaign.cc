#include "domain/campaign.h"

#include <algorithm>

#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/message_template.h"
#include "domain/text.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kStateNames[] = {"Draft", "Scheduled", "Running",  "Paused",
                                            "Sent",  "Failed",    "Cancelled"};
constexpr std::string_view kExclusionNames[] = {"inactive", "noAddress", "unsubscribed",
                                                "frequencyCap"};
constexpr size_t kMaxIdLength = 64;

std::optional<std::string> ReadName(element v, std::vector<FieldError>& errors) {
  return json::ReadTrimmedText(v, "name", 1, kMaxCampaignNameLength, errors);
}

std::optional<std::string> ReadSegmentId(element v, std::vector<FieldError>& errors) {
  std::string_view s;
  if (v.get(s) || s.empty() || s.size() > kMaxIdLength ||
      std::any_of(s.begin(), s.end(), [](char c) {
        return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_');
      })) {
    errors.push_back({"segmentId", "Must be a segment's id"});
    return std::nullopt;
  }
  return std::string(s);
}

// The template's source, checked by the template language.
std::optional<std::string> ReadMessage(element v, std::vector<FieldError>& errors) {
  if (v.type() != element_type::STRING) {
    errors.push_back({"message", "Expected a string, got " + std::string(json::TypeName(v))});
    return std::nullopt;
  }
  const std::string_view s = v.get_string().value_unsafe();
  auto parsed = MessageTemplate::Parse(s, "message", kMaxCampaignMessageLength);
  if (!parsed) {
    const Error& e = parsed.error();
    if (e.field_errors.empty()) errors.push_back({"message", e.message});
    errors.insert(errors.end(), e.field_errors.begin(), e.field_errors.end());
    return std::nullopt;
  }
  // Each recipient's text is resolved at launch and sent as one vendor message: its size is
  // bounded for every customer, whatever their name.
  if (parsed->MaxRenderedBytes() > kMaxRenderedMessageBytes) {
    std::string message = "Rendered for the longest names and addresses, the message could reach ";
    message += std::to_string(parsed->MaxRenderedBytes());
    message += " bytes; at most ";
    message += std::to_string(kMaxRenderedMessageBytes);
    message += " are sent (use fewer placeholders)";
    errors.push_back({"message", std::move(message)});
    return std::nullopt;
  }
  return std::string(s);
}

std::optional<Millis> ReadFutureTime(element v, std::string_view field, Millis now,
                                     std::vector<FieldError>& errors) {
  std::string_view s;
  std::optional<Millis> t;
  if (!v.get(s)) t = ParseIso8601(s);
  if (!t) {
    errors.push_back({std::string(field), "Must be an ISO-8601 time with a zone"});
    return std::nullopt;
  }
  if (*t <= now) {
    errors.push_back({std::string(field), "Must be in the future"});
    return std::nullopt;
  }
  if (*t > now + kMaxScheduleAhead) {
    errors.push_back({std::string(field), "Must be within 5 years"});
    return std::nullopt;
  }
  return t;
}

void ReadChannel(element v, std::vector<FieldError>& errors) {
  std::string_view s;
  if (v.get(s) || s != "email") errors.push_back({"channel", "Must be \"email\""});
}

// An object's members; kDataLoss for a payload that is not one.
Result<simdjson::dom::object> PayloadObject(const EventEnvelope& event) {
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  simdjson::dom::object obj;
  if (doc->get(obj)) return Fail(Error::DataLoss(event.type + " payload is not an object"));
  return obj;
}

Error Malformed(const EventEnvelope& event) {
  return Error::DataLoss(event.type + " for campaign " + event.aggregate_id + " is malformed");
}

// Reads name, segmentId and message from a creation or an edit.
Status ReadDefinition(const EventEnvelope& event, Campaign& c) {
  auto obj = PayloadObject(event);
  if (!obj) return Fail(obj.error());
  std::string_view name, segment, message;
  if (obj->at_key("name").get(name) || obj->at_key("segmentId").get(segment) ||
      obj->at_key("message").get(message)) {
    return Fail(Malformed(event));
  }
  c.name = std::string(name);
  c.segment_id = std::string(segment);
  c.message = std::string(message);
  return {};
}

// Reads the occasion of an automated message's campaign from its creation (none: a segment's).
Status ReadOccasion(const EventEnvelope& event, Campaign& c) {
  auto obj = PayloadObject(event);
  if (!obj) return Fail(obj.error());
  auto v = obj->at_key("occasion");
  if (v.error() == simdjson::NO_SUCH_FIELD) return {};
  std::string_view name;
  std::optional<Occasion> occasion;
  if (!v.get(name)) occasion = ParseOccasion(name);
  int64_t days = 0;
  if (!occasion || *occasion == Occasion::kNone || obj->at_key("occasionDays").get(days) ||
      days < 0) {
    return Fail(Malformed(event));
  }
  c.occasion = *occasion;
  c.occasion_days = days;
  return {};
}

Result<CampaignAudience> ReadAudience(const EventEnvelope& event) {
  auto obj = PayloadObject(event);
  if (!obj) return Fail(obj.error());
  CampaignAudience a;
  simdjson::dom::object excluded;
  simdjson::dom::array positions;
  if (obj->at_key("audienceSize").get(a.size) || obj->at_key("queued").get(a.queued) ||
      obj->at_key("excluded").get(excluded) || obj->at_key("positions").get(positions)) {
    return Fail(Malformed(event));
  }
  for (size_t i = 0; i < kExclusionCount; ++i) {
    if (excluded.at_key(kExclusionNames[i]).get(a.excluded[i])) return Fail(Malformed(event));
  }
  for (element p : positions) {
    int64_t offset = 0;
    if (p.get(offset)) return Fail(Malformed(event));
    a.positions.push_back(offset);
  }
  return a;
}

std::string ReasonOf(const EventEnvelope& event) {
  auto obj = PayloadObject(event);
  std::string_view reason;
  if (!obj || obj->at_key("reason").get(reason)) return {};
  return std::string(reason);
}

// The state an event moves a campaign to (the edits and the audience keep it).
std::optional<CampaignState> TargetOf(std::string_view type, CampaignState current) {
  if (type == kCampaignEdited || type == kCampaignAudienceFrozen || type == kCampaignMessagesSent ||
      type == kDeliveryReceiptsRecorded) {
    return current;
  }
  if (type == kCampaignScheduled) return CampaignState::kScheduled;
  if (type == kCampaignLaunched || type == kCampaignResumed) return CampaignState::kRunning;
  if (type == kCampaignPaused) return CampaignState::kPaused;
  if (type == kCampaignCancelled) return CampaignState::kCancelled;
  if (type == kCampaignCompleted) return CampaignState::kSent;
  if (type == kCampaignFailed) return CampaignState::kFailed;
  return std::nullopt;
}

}  // namespace

std::string_view CampaignStateName(CampaignState state) {
  return kStateNames[static_cast<size_t>(state)];
}

std::string_view ExclusionName(Exclusion reason) {
  return kExclusionNames[static_cast<size_t>(reason)];
}

Result<CampaignInput> ParseCampaignInput(std::string_view body, Millis now) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<std::string> name, segment, message;
  bool name_seen = false, segment_seen = false, message_seen = false;
  CampaignInput input;
  for (auto [key, value] : *obj) {
    if (key == "name") {
      name_seen = true;
      name = ReadName(value, errors);
    } else if (key == "segmentId") {
      segment_seen = true;
      segment = ReadSegmentId(value, errors);
    } else if (key == "message") {
      message_seen = true;
      message = ReadMessage(value, errors);
    } else if (key == "channel") {
      ReadChannel(value, errors);
    } else if (key == "scheduledAt") {
      if (value.type() != element_type::NULL_VALUE) {
        input.scheduled_at = ReadFutureTime(value, "scheduledAt", now, errors);
      }
    } else if (key == "launch") {
      if (value.get(input.launch)) errors.push_back({"launch", "Must be true or false"});
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!name_seen) errors.push_back({"name", "Is required"});
  if (!segment_seen) errors.push_back({"segmentId", "Is required"});
  if (!message_seen) errors.push_back({"message", "Is required"});
  if (input.launch && input.scheduled_at) {
    errors.push_back({"launch", "A campaign is launched now or scheduled, not both"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  input.name = std::move(*name);
  input.segment_id = std::move(*segment);
  input.message = std::move(*message);
  return input;
}

Result<CampaignEdit> ParseCampaignEdit(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  CampaignEdit edit;
  for (auto [key, value] : *obj) {
    if (key == "name") {
      edit.name = ReadName(value, errors);
    } else if (key == "segmentId") {
      edit.segment_id = ReadSegmentId(value, errors);
    } else if (key == "message") {
      edit.message = ReadMessage(value, errors);
    } else if (key == "channel") {
      ReadChannel(value, errors);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return edit;
}

Result<Millis> ParseScheduleInput(std::string_view body, Millis now) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<Millis> at;
  bool seen = false;
  for (auto [key, value] : *obj) {
    if (key == "scheduledAt") {
      seen = true;
      at = ReadFutureTime(value, "scheduledAt", now, errors);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!seen) errors.push_back({"scheduledAt", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return *at;
}

Result<CampaignPreviewInput> ParseCampaignPreviewInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<std::string> segment, message;
  bool segment_seen = false, message_seen = false;
  for (auto [key, value] : *obj) {
    if (key == "segmentId") {
      segment_seen = true;
      segment = ReadSegmentId(value, errors);
    } else if (key == "message") {
      message_seen = true;
      message = ReadMessage(value, errors);
    } else if (key == "channel") {
      ReadChannel(value, errors);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!segment_seen) errors.push_back({"segmentId", "Is required"});
  if (!message_seen) errors.push_back({"message", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return CampaignPreviewInput{std::move(*segment), std::move(*message)};
}

std::string EncodeCampaignCreated(const CampaignInput& input) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(input.name);
  w.Key("segmentId").String(input.segment_id);
  w.Key("message").String(input.message);
  w.Key("channel").String("email");
  if (input.occasion != Occasion::kNone) {
    w.Key("occasion").String(OccasionName(input.occasion));
    w.Key("occasionDays").Int(input.occasion_days);
  }
  w.EndObject();
  return w.Take();
}

std::string EncodeCampaignEdited(const Campaign& edited) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(edited.name);
  w.Key("segmentId").String(edited.segment_id);
  w.Key("message").String(edited.message);
  w.EndObject();
  return w.Take();
}

std::string EncodeCampaignScheduled(Millis at) {
  JsonWriter w;
  w.BeginObject().Key("scheduledAt").String(FormatIso8601(at)).EndObject();
  return w.Take();
}

std::string EncodeCampaignLaunched(const Campaign& c, std::string_view trigger) {
  JsonWriter w;
  w.BeginObject();
  w.Key("trigger").String(trigger);
  w.Key("segmentId").String(c.segment_id);
  w.Key("message").String(c.message);
  w.Key("channel").String(c.channel);
  if (c.occasion != Occasion::kNone) w.Key("occasion").String(OccasionName(c.occasion));
  w.EndObject();
  return w.Take();
}

std::string EncodeCampaignAudience(const CampaignAudience& a) {
  JsonWriter w;
  w.BeginObject();
  w.Key("audienceSize").Int(a.size);
  w.Key("queued").Int(a.queued);
  w.Key("excluded").BeginObject();
  for (size_t i = 0; i < kExclusionCount; ++i) w.Key(kExclusionNames[i]).Int(a.excluded[i]);
  w.EndObject();
  w.Key("positions").BeginArray();
  for (int64_t p : a.positions) w.Int(p);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodeCampaignReason(std::string_view reason) {
  JsonWriter w;
  w.BeginObject().Key("reason").String(reason).EndObject();
  return w.Take();
}

std::string EncodeMessagesSent(const MessagesSent& m) {
  JsonWriter w;
  w.BeginObject();
  w.Key("after").String(m.after);
  w.Key("through").String(m.through);
  w.Key("accepted").Int(m.accepted);
  w.Key("duplicates").Int(m.duplicates);
  w.Key("rejected").BeginArray();
  for (const auto& r : m.rejected) {
    w.BeginObject().Key("customerId").String(r.customer_id).Key("reason").String(r.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("gaveUp").BeginArray();
  for (const auto& r : m.gave_up) {
    w.BeginObject().Key("customerId").String(r.customer_id).Key("reason").String(r.reason);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

Result<MessagesSent> DecodeMessagesSent(const EventEnvelope& event) {
  auto obj = PayloadObject(event);
  if (!obj) return Fail(obj.error());
  MessagesSent m;
  std::string_view after, through;
  simdjson::dom::array rejected;
  if (obj->at_key("after").get(after) || obj->at_key("through").get(through) ||
      obj->at_key("accepted").get(m.accepted) || obj->at_key("duplicates").get(m.duplicates) ||
      obj->at_key("rejected").get(rejected) || m.accepted < 0 || m.duplicates < 0) {
    return Fail(Malformed(event));
  }
  m.after = std::string(after);
  m.through = std::string(through);
  for (element r : rejected) {
    std::string_view customer, reason;
    if (r.at_key("customerId").get(customer) || r.at_key("reason").get(reason)) {
      return Fail(Malformed(event));
    }
    m.rejected.push_back({std::string(customer), std::string(reason)});
  }
  simdjson::dom::array gave_up;
  if (!obj->at_key("gaveUp").get(gave_up)) {
    for (element r : gave_up) {
      std::string_view customer, reason;
      if (r.at_key("customerId").get(customer) || r.at_key("reason").get(reason)) {
        return Fail(Malformed(event));
      }
      m.gave_up.push_back({std::string(customer), std::string(reason)});
    }
  }
  return m;
}

std::string EncodeDeliveryReceipts(const std::vector<DeliveryReceipt>& receipts) {
  JsonWriter w;
  w.BeginObject().Key("receipts").BeginArray();
  for (const auto& r : receipts) {
    w.BeginObject();
    w.Key("eventId").String(r.event_id);
    w.Key("customerId").String(r.customer_id);
    w.Key("status").String(r.delivered ? "DELIVERED" : "FAILED");
    w.Key("reason").String(r.reason);
    w.Key("occurredAt").String(FormatIso8601(r.occurred_at));
    w.EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::vector<DeliveryReceipt>> DecodeDeliveryReceipts(const EventEnvelope& event) {
  auto obj = PayloadObject(event);
  if (!obj) return Fail(obj.error());
  simdjson::dom::array receipts;
  if (obj->at_key("receipts").get(receipts)) return Fail(Malformed(event));
  std::vector<DeliveryReceipt> out;
  for (element e : receipts) {
    std::string_view event_id, customer, status, reason, at;
    std::optional<Millis> t;
    if (e.at_key("eventId").get(event_id) || e.at_key("customerId").get(customer) ||
        e.at_key("status").get(status) || e.at_key("reason").get(reason) ||
        e.at_key("occurredAt").get(at) || (status != "DELIVERED" && status != "FAILED") ||
        !(t = ParseIso8601(at))) {
      return Fail(Malformed(event));
    }
    out.push_back({std::string(event_id), std::string(customer), status == "DELIVERED",
                   std::string(reason), *t});
  }
  return out;
}

bool CampaignMayMove(CampaignState from, CampaignState to) {
  using S = CampaignState;
  switch (from) {
    case S::kDraft:
      return to == S::kScheduled || to == S::kRunning || to == S::kCancelled;
    case S::kScheduled:  // Failed: its segment was archived before its time came
      return to == S::kScheduled || to == S::kRunning || to == S::kCancelled || to == S::kFailed;
    case S::kRunning:
      return to == S::kPaused || to == S::kSent || to == S::kFailed || to == S::kCancelled;
    case S::kPaused:  // Sent: nobody was left to send to
      return to == S::kRunning || to == S::kCancelled || to == S::kFailed || to == S::kSent;
    case S::kSent:
    case S::kFailed:
    case S::kCancelled:
      return false;
  }
  return false;
}

Error IllegalCampaignMove(const Campaign& c, CampaignState to) {
  std::string message = "Campaign ";
  message += c.id;
  message += " is ";
  message += CampaignStateName(c.state);
  message += "; it cannot become ";
  message += CampaignStateName(to);
  return Error::FailedPrecondition(std::move(message));
}

Status ApplyCampaignEvent(Campaign& c, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, c.version); !st) return st;
  if (event.type == kCampaignCreated) {
    if (c.version != 0) {
      return Fail(Error::DataLoss("CampaignCreated for existing campaign " + event.aggregate_id));
    }
    if (auto st = ReadDefinition(event, c); !st) return st;
    if (auto st = ReadOccasion(event, c); !st) return st;
    c.id = event.aggregate_id;
    c.state = CampaignState::kDraft;
    c.created_by = event.actor;
    c.created_at = event.occurred_at;
  } else {
    if (c.version == 0) {
      return Fail(Error::DataLoss(event.type + " for unknown campaign " + event.aggregate_id));
    }
    auto to = TargetOf(event.type, c.state);
    if (!to) return Fail(Error::DataLoss("Not a campaign event: " + event.type));
    const bool same_state_event =
        event.type == kCampaignEdited || event.type == kCampaignAudienceFrozen ||
        event.type == kCampaignMessagesSent || event.type == kDeliveryReceiptsRecorded;
    if (!same_state_event && !CampaignMayMove(c.state, *to)) {
      return Fail(Error::DataLoss(IllegalCampaignMove(c, *to).message));
    }
    if (event.type == kCampaignEdited) {
      if (c.state != CampaignState::kDraft) {
        return Fail(Error::DataLoss("CampaignEdited for a campaign that is not a Draft: " + c.id));
      }
      if (auto st = ReadDefinition(event, c); !st) return st;
    } else if (event.type == kCampaignScheduled) {
      auto obj = PayloadObject(event);
      if (!obj) return Fail(obj.error());
      std::string_view at;
      std::optional<Millis> t;
      if (!obj->at_key("scheduledAt").get(at)) t = ParseIso8601(at);
      if (!t) return Fail(Malformed(event));
      c.scheduled_at = *t;
    } else if (event.type == kCampaignLaunched) {
      auto obj = PayloadObject(event);
      if (!obj) return Fail(obj.error());
      std::string_view trigger;
      if (obj->at_key("trigger").get(trigger)) return Fail(Malformed(event));
      c.launch_trigger = std::string(trigger);
      c.launched_at = event.occurred_at;
    } else if (event.type == kCampaignAudienceFrozen) {
      if (c.audience || (c.state != CampaignState::kRunning && c.state != CampaignState::kPaused)) {
        return Fail(Error::DataLoss("CampaignAudienceFrozen twice or out of order: " + c.id));
      }
      auto audience = ReadAudience(event);
      if (!audience) return Fail(audience.error());
      c.audience = std::move(*audience);
    } else if (event.type == kCampaignMessagesSent) {
      // A chunk in flight when the campaign was paused or cancelled is still recorded.
      if (!c.audience || (c.state != CampaignState::kRunning && c.state != CampaignState::kPaused &&
                          c.state != CampaignState::kCancelled)) {
        return Fail(Error::DataLoss("CampaignMessagesSent out of order: " + c.id));
      }
      auto sent = DecodeMessagesSent(event);
      if (!sent) return Fail(sent.error());
      if (sent->after != c.dispatch_cursor || sent->through <= c.dispatch_cursor) {
        return Fail(Error::DataLoss("CampaignMessagesSent does not follow the cursor: " + c.id));
      }
      c.dispatch_cursor = sent->through;
      c.sent += sent->accepted + sent->duplicates;
      c.rejected += static_cast<int64_t>(sent->rejected.size());
    } else if (event.type == kDeliveryReceiptsRecorded) {
      if (!c.audience) {
        return Fail(Error::DataLoss("DeliveryReceiptsRecorded before the audience: " + c.id));
      }
    } else if (event.type == kCampaignCompleted) {
      if (!c.audience) {
        return Fail(Error::DataLoss("CampaignCompleted before its audience: " + c.id));
      }
    }
    if (event.type == kCampaignCancelled || event.type == kCampaignFailed) {
      c.reason = ReasonOf(event);
    }
    if (*to == CampaignState::kSent || *to == CampaignState::kFailed ||
        *to == CampaignState::kCancelled) {
      c.finished_at = event.occurred_at;
    }
    c.state = *to;
  }
  c.updated_at = event.occurred_at;
  c.version = event.aggregate_version;
  return {};
}

}  // namespace keel

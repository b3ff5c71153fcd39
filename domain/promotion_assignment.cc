#include "domain/promotion_assignment.h"

#include <vector>

#include "domain/customer.h"  // kMaxCents
#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kStatusNames[] = {"available", "used", "expired"};
constexpr Millis kDayMillis = 86'400'000;
constexpr size_t kMaxIdLength = 100;

Error Lost(std::string_view why) {
  std::string message = "PromotionAssigned: ";
  message += why;
  return Error::DataLoss(std::move(message));
}

std::optional<std::string_view> Text(element doc, std::string_view key) {
  std::string_view v;
  if (doc.at_key(key).get(v) || v.empty()) return std::nullopt;
  return v;
}

// null or absent: none; an ISO-8601 time: it; anything else: an error.
Result<std::optional<Millis>> OptionalTime(element doc, std::string_view key) {
  element v;
  if (doc.at_key(key).get(v) || v.is_null()) return std::optional<Millis>();
  std::string_view s;
  if (v.get(s)) return Fail(Lost(std::string(key) + " is not a time"));
  auto t = ParseIso8601(s);
  if (!t) return Fail(Lost(std::string(key) + " is not a time"));
  return std::optional<Millis>(*t);
}

// The members the event and the record share (all but id, assignedBy and usedAt).
Status ReadShared(element doc, PromotionAssignment& a) {
  auto promotion = Text(doc, "promotionId");
  auto customer = Text(doc, "customerId");
  auto title = Text(doc, "title");
  auto reason = Text(doc, "reason");
  auto type = Text(doc, "rewardType");
  auto assigned = Text(doc, "assignedAt");
  if (!promotion || !customer || !title || !reason || !type || !assigned) {
    return Fail(Lost("a field is missing"));
  }
  auto reward_type = ParseRewardType(*type);
  element value;
  std::optional<int64_t> reward;
  if (!doc.at_key("rewardValue").get(value)) reward = json::ToCents(value);
  const int64_t max = reward_type == RewardType::kPercentage ? kMaxPercentageReward : kMaxCents;
  if (!reward_type || !reward || *reward <= 0 || *reward > max) {
    return Fail(Lost("the reward is out of range"));
  }
  auto at = ParseIso8601(*assigned);
  if (!at) return Fail(Lost("assignedAt is not a time"));
  auto expires = OptionalTime(doc, "expiresAt");
  if (!expires) return Fail(expires.error());
  if (reason->size() > kMaxAssignmentReasonLength) return Fail(Lost("reason is too long"));
  a.promotion_id = std::string(*promotion);
  a.customer_id = std::string(*customer);
  a.title = std::string(*title);
  a.reason = std::string(*reason);
  a.reward_type = *reward_type;
  a.reward_value = *reward;
  a.assigned_at = *at;
  a.expires_at = *expires;
  return {};
}

void WriteShared(JsonWriter& w, const PromotionAssignment& a) {
  w.Key("promotionId").String(a.promotion_id);
  w.Key("customerId").String(a.customer_id);
  w.Key("title").String(a.title);
  w.Key("rewardType").String(RewardTypeName(a.reward_type));
  w.Key("rewardValue").Cents(a.reward_value);
  w.Key("reason").String(a.reason);
  w.Key("assignedAt").String(FormatIso8601(a.assigned_at));
  w.Key("expiresAt");
  a.expires_at ? w.String(FormatIso8601(*a.expires_at)) : w.Null();
}

}  // namespace

std::string_view AssignmentStatusName(AssignmentStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

std::optional<AssignmentStatus> ParseAssignmentStatus(std::string_view name) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (kStatusNames[i] == name) return static_cast<AssignmentStatus>(i);
  }
  return std::nullopt;
}

AssignmentStatus PromotionAssignment::StatusAt(Millis now) const {
  if (used_at) return AssignmentStatus::kUsed;
  if (expires_at && now >= *expires_at) return AssignmentStatus::kExpired;
  return AssignmentStatus::kAvailable;
}

Result<std::string> ParseAssignPromotionInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<std::string> customer;
  bool seen = false;
  for (auto [key, value] : *obj) {
    if (key == "customerId") {
      seen = true;
      customer = json::ReadTrimmedText(value, "customerId", 1, kMaxIdLength, errors);
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!seen) errors.push_back({"customerId", "Is required"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return std::move(*customer);
}

PromotionAssignment NewAssignment(std::string id, const Promotion& promotion,
                                  std::string customer_id, std::string reason, Millis now,
                                  std::string actor) {
  PromotionAssignment a;
  a.id = std::move(id);
  a.promotion_id = promotion.id;
  a.customer_id = std::move(customer_id);
  a.title = promotion.definition.title;
  a.reward_type = promotion.definition.reward_type;
  a.reward_value = promotion.definition.reward_value;
  a.reason = std::move(reason);
  a.assigned_at = now;
  if (promotion.definition.duration_days) {
    a.expires_at = now + *promotion.definition.duration_days * kDayMillis;
  }
  a.assigned_by = std::move(actor);
  return a;
}

std::string EncodePromotionAssigned(const PromotionAssignment& a) {
  JsonWriter w;
  w.BeginObject();
  w.Key("assignmentId").String(a.id);
  WriteShared(w, a);
  w.EndObject();
  return w.Take();
}

Result<PromotionAssignment> DecodePromotionAssigned(const EventEnvelope& event) {
  if (event.aggregate_type != kPromotionAssignmentAggregate || event.type != kPromotionAssigned) {
    std::string got = "event expected, got ";
    got += event.aggregate_type;
    got += ' ';
    got += event.type;
    return Fail(Lost(got));
  }
  if (event.aggregate_version != 1) return Fail(Lost(event.aggregate_id + " assigned twice"));
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Lost("payload is not an object"));
  PromotionAssignment a;
  if (auto st = ReadShared(*doc, a); !st) return Fail(st.error());
  auto id = Text(*doc, "assignmentId");
  if (!id || *id != event.aggregate_id) return Fail(Lost("assignmentId is not the aggregate's"));
  a.id = event.aggregate_id;
  a.assigned_by = event.actor;
  return a;
}

std::string EncodeReferral(const Referral& referral) {
  JsonWriter w;
  w.BeginObject();
  w.Key("referrerId").String(referral.referrer_id);
  w.Key("referredCustomerId").String(referral.referred_id);
  w.Key("orderId").String(referral.order_id);
  w.EndObject();
  return w.Take();
}

Result<Referral> DecodeReferral(const EventEnvelope& event) {
  auto lost = [](std::string why) { return Error::DataLoss("Referral event: " + why); };
  const bool qualified = event.type == kReferralQualified;
  if (event.aggregate_type != kCustomerReferralAggregate ||
      (!qualified && event.type != kReferralCredited)) {
    return Fail(lost("expected, got " + event.aggregate_type + ' ' + event.type));
  }
  if (event.aggregate_version != (qualified ? 1 : 2)) {
    return Fail(lost(event.type + " of " + event.aggregate_id + " at version " +
                     std::to_string(event.aggregate_version)));
  }
  auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(lost("payload is not an object"));
  auto referrer = Text(*doc, "referrerId");
  auto referred = Text(*doc, "referredCustomerId");
  auto order = Text(*doc, "orderId");
  if (!referrer || !referred || !order) return Fail(lost("a field is missing"));
  if (*referred != event.aggregate_id) {
    return Fail(lost("referredCustomerId is not the aggregate's"));
  }
  return Referral{std::string(*referrer), std::string(*referred), std::string(*order)};
}

std::string AssignmentToJson(const PromotionAssignment& a, std::optional<Millis> status_at) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(a.id);
  WriteShared(w, a);
  w.Key("assignedBy").String(a.assigned_by);
  w.Key("usedAt");
  a.used_at ? w.String(FormatIso8601(*a.used_at)) : w.Null();
  w.Key("orderId");
  a.order_id ? w.String(*a.order_id) : w.Null();
  if (status_at) w.Key("status").String(AssignmentStatusName(a.StatusAt(*status_at)));
  w.EndObject();
  return w.Take();
}

Result<PromotionAssignment> AssignmentFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Promotion assignment record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) return Fail(Lost("record is not an object"));
  PromotionAssignment a;
  auto id = Text(*doc, "id");
  if (!id) return Fail(Lost("record without id"));
  a.id = std::string(*id);
  if (auto st = ReadShared(*doc, a); !st) return Fail(st.error());
  std::string_view by;
  if (doc->at_key("assignedBy").get(by)) return Fail(Lost("record without assignedBy"));
  a.assigned_by = std::string(by);
  auto used = OptionalTime(*doc, "usedAt");
  if (!used) return Fail(used.error());
  a.used_at = *used;
  // Records from before redemption have no orderId.
  if (auto order = Text(*doc, "orderId")) a.order_id = std::string(*order);
  return a;
}

}  // namespace keel

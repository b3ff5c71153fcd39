#include "domain/promotion.h"

#include <vector>

#include "domain/customer.h"  // kMaxCents
#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr std::string_view kRewardTypeNames[] = {"PERCENTAGE", "FIXED_AMOUNT"};
constexpr std::string_view kConditionTypeNames[] = {"first_purchase", "minimum_purchase",
                                                    "customer_level", "referral"};

bool IsNumber(element v) {
  return v.type() == element_type::INT64 || v.type() == element_type::UINT64 ||
         v.type() == element_type::DOUBLE;
}

std::string TypeError(std::string_view expected, element v) {
  std::string message = "Expected ";
  message += expected;
  message += ", got ";
  message += json::TypeName(v);
  return message;
}

// A number above 0 and at most `max` / 100 with at most two decimals, in hundredths; nullopt
// with the error at `field` otherwise.
std::optional<int64_t> ReadPositiveHundredths(element v, std::string_view field, int64_t max,
                                              std::vector<FieldError>& errors) {
  if (!IsNumber(v)) {
    errors.push_back({std::string(field), TypeError("a number", v)});
    return std::nullopt;
  }
  auto out_of_range = [&] {
    std::string message = "Must be above 0 and at most ";
    message += std::to_string(max / 100);
    errors.push_back({std::string(field), std::move(message)});
    return std::nullopt;
  };
  // The range first: a huge number is out of range, whatever its decimals.
  const double units = v.get_double().value_unsafe();
  if (!(units > 0 && units <= static_cast<double>(max / 100))) return out_of_range();
  auto hundredths = json::ToCents(v);
  if (!hundredths) {
    errors.push_back({std::string(field), "Must have at most two decimal places"});
    return std::nullopt;
  }
  if (*hundredths <= 0 || *hundredths > max) return out_of_range();
  return hundredths;
}

std::optional<ConditionType> ParseConditionType(std::string_view name) {
  for (size_t i = 0; i < std::size(kConditionTypeNames); ++i) {
    if (kConditionTypeNames[i] == name) return static_cast<ConditionType>(i);
  }
  return std::nullopt;
}

std::optional<PromotionCondition> ReadCondition(element v, std::vector<FieldError>& errors) {
  simdjson::dom::object obj;
  if (v.get(obj)) {
    errors.push_back({"condition", TypeError("an object", v)});
    return std::nullopt;
  }
  const size_t before = errors.size();
  std::optional<ConditionType> type;
  std::optional<int64_t> amount;
  std::optional<LoyaltyLevel> level;
  bool type_seen = false, amount_seen = false, level_seen = false;
  for (auto [key, value] : obj) {
    std::string_view text;
    if (key == "type") {
      type_seen = true;
      if (value.get(text)) {
        errors.push_back({"condition.type", TypeError("a string", value)});
      } else if (!(type = ParseConditionType(text))) {
        errors.push_back({"condition.type",
                          "Must be one of first_purchase, minimum_purchase, customer_level, "
                          "referral"});
      }
    } else if (key == "amount") {
      amount_seen = true;
      amount = ReadPositiveHundredths(value, "condition.amount", kMaxCents, errors);
    } else if (key == "level") {
      level_seen = true;
      if (value.get(text)) {
        errors.push_back({"condition.level", TypeError("a string", value)});
      } else if (!(level = ParseLoyaltyLevel(text))) {
        errors.push_back({"condition.level", "Must be one of Bronze, Silver, Gold, Platinum"});
      }
    } else {
      std::string field = "condition.";
      field += key;
      errors.push_back({std::move(field), "Unknown field"});
    }
  }
  if (!type_seen) errors.push_back({"condition.type", "Is required"});
  if (type) {
    const bool minimum = *type == ConditionType::kMinimumPurchase;
    const bool by_level = *type == ConditionType::kCustomerLevel;
    if (minimum && !amount_seen) {
      errors.push_back({"condition.amount", "Is required for minimum_purchase"});
    }
    if (by_level && !level_seen) {
      errors.push_back({"condition.level", "Is required for customer_level"});
    }
    if (amount_seen && !minimum) {
      errors.push_back({"condition.amount", "Only a minimum_purchase condition has an amount"});
    }
    if (level_seen && !by_level) {
      errors.push_back({"condition.level", "Only a customer_level condition has a level"});
    }
  }
  if (errors.size() != before) return std::nullopt;
  PromotionCondition c;
  c.type = *type;
  if (amount) c.amount_cents = *amount;
  if (level) c.level = *level;
  return c;
}

// Which required members a definition had.
struct Seen {
  bool title = false, reward_type = false, reward_value = false, condition = false;
};

// Reads one member of a definition into `in` (errors at its field); false when `key` is not a
// member of a definition.
bool ReadDefinitionField(std::string_view key, element value, PromotionInput& in, Seen& seen,
                         std::vector<FieldError>& errors) {
  if (key == "title") {
    seen.title = true;
    if (auto title = json::ReadTrimmedText(value, "title", 1, kMaxPromotionTitleLength, errors)) {
      in.title = std::move(*title);
    }
  } else if (key == "description") {
    if (value.is_null()) {
      in.description.reset();
    } else if (auto text = json::ReadTrimmedText(value, "description", 0,
                                                 kMaxPromotionDescriptionLength, errors)) {
      in.description = text->empty() ? std::nullopt : std::optional(std::move(*text));
    }
  } else if (key == "rewardType") {
    seen.reward_type = true;
    std::string_view text;
    std::optional<RewardType> type;
    if (value.get(text)) {
      errors.push_back({"rewardType", TypeError("a string", value)});
    } else if (!(type = ParseRewardType(text))) {
      errors.push_back({"rewardType", "Must be PERCENTAGE or FIXED_AMOUNT"});
    } else {
      in.reward_type = *type;
    }
  } else if (key == "rewardValue") {
    seen.reward_value = true;
    if (auto v = ReadPositiveHundredths(value, "rewardValue", kMaxCents, errors)) {
      in.reward_value = *v;
    }
  } else if (key == "condition") {
    seen.condition = true;
    if (auto c = ReadCondition(value, errors)) in.condition = *c;
  } else if (key == "durationDays") {
    if (value.is_null()) {
      in.duration_days.reset();
      return true;
    }
    if (!IsNumber(value)) {
      errors.push_back({"durationDays", TypeError("an integer", value)});
      return true;
    }
    const int64_t days = json::ToInt(value).value_or(0);
    if (days < 1 || days > kMaxPromotionDurationDays) {
      errors.push_back({"durationDays", "Must be an integer from 1 to 3650"});
    } else {
      in.duration_days = days;
    }
  } else if (key == "isActive") {
    bool flag = false;
    if (value.get(flag)) {
      errors.push_back({"isActive", TypeError("a boolean", value)});
    } else {
      in.is_active = flag;
    }
  } else {
    return false;
  }
  return true;
}

// What depends on two fields: a percentage is at most 100.
void CheckReward(const PromotionInput& in, std::vector<FieldError>& errors) {
  if (in.reward_type == RewardType::kPercentage && in.reward_value > kMaxPercentageReward) {
    errors.push_back({"rewardValue", "Must be at most 100 for a PERCENTAGE reward"});
  }
}

void WriteFields(JsonWriter& w, const PromotionInput& in) {
  w.Key("title").String(in.title);
  w.Key("description");
  if (in.description) {
    w.String(*in.description);
  } else {
    w.Null();
  }
  w.Key("rewardType").String(RewardTypeName(in.reward_type));
  w.Key("rewardValue").Cents(in.reward_value);
  w.Key("condition").Raw(PromotionConditionToJson(in.condition));
  w.Key("durationDays");
  if (in.duration_days) {
    w.Int(*in.duration_days);
  } else {
    w.Null();
  }
  w.Key("isActive").Bool(in.is_active);
}

}  // namespace

std::string_view RewardTypeName(RewardType type) {
  return kRewardTypeNames[static_cast<size_t>(type)];
}

std::optional<RewardType> ParseRewardType(std::string_view name) {
  if (name == kRewardTypeNames[0]) return RewardType::kPercentage;
  if (name == kRewardTypeNames[1]) return RewardType::kFixedAmount;
  return std::nullopt;
}

std::string_view ConditionTypeName(ConditionType type) {
  return kConditionTypeNames[static_cast<size_t>(type)];
}

Result<PromotionInput> ParsePromotionInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  PromotionInput input;
  Seen seen;
  for (auto [key, value] : *obj) {
    if (!ReadDefinitionField(key, value, input, seen, errors)) {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!seen.title) errors.push_back({"title", "Is required"});
  if (!seen.reward_type) errors.push_back({"rewardType", "Is required"});
  if (!seen.reward_value) errors.push_back({"rewardValue", "Is required"});
  if (!seen.condition) errors.push_back({"condition", "Is required"});
  if (errors.empty()) CheckReward(input, errors);
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return input;
}

std::string EncodePromotionCreated(const PromotionInput& input) {
  JsonWriter w;
  w.BeginObject();
  WriteFields(w, input);
  w.EndObject();
  return w.Take();
}

std::optional<std::string> EncodePromotionUpdated(const Promotion& current,
                                                  const PromotionInput& next) {
  const PromotionInput& was = current.definition;
  JsonWriter w;
  w.BeginObject();
  bool any = false;
  auto changed = [&](std::string_view key) -> JsonWriter& {
    any = true;
    return w.Key(key);
  };
  if (next.title != was.title) changed("title").String(next.title);
  if (next.description != was.description) {
    if (next.description) {
      changed("description").String(*next.description);
    } else {
      changed("description").Null();
    }
  }
  if (next.reward_type != was.reward_type) {
    changed("rewardType").String(RewardTypeName(next.reward_type));
  }
  if (next.reward_value != was.reward_value) changed("rewardValue").Cents(next.reward_value);
  if (next.condition != was.condition) {
    changed("condition").Raw(PromotionConditionToJson(next.condition));
  }
  if (next.duration_days != was.duration_days) {
    if (next.duration_days) {
      changed("durationDays").Int(*next.duration_days);
    } else {
      changed("durationDays").Null();
    }
  }
  if (next.is_active != was.is_active) changed("isActive").Bool(next.is_active);
  w.EndObject();
  if (!any) return std::nullopt;
  return w.Take();
}

Status ApplyPromotionEvent(Promotion& p, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, p.version); !st) return st;
  auto bad = [&](std::string_view why) {
    std::string message(event.type);
    message += " of promotion ";
    message += event.aggregate_id;
    message += ": ";
    message += why;
    return Fail(Error::DataLoss(std::move(message)));
  };
  if (event.type == kPromotionDeactivated) {
    if (p.version == 0) return bad("no such promotion");
    p.definition.is_active = false;
  } else if (event.type == kPromotionCreated || event.type == kPromotionUpdated) {
    const bool create = event.type == kPromotionCreated;
    if (create && p.version != 0) return bad("the promotion exists");
    if (!create && p.version == 0) return bad("no such promotion");
    auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
    if (!doc) return Fail(doc.error());
    simdjson::dom::object fields;
    if (doc->get(fields)) return bad("the payload is not an object");
    PromotionInput next = create ? PromotionInput{} : p.definition;
    std::vector<FieldError> errors;
    Seen seen;
    int changed = 0;
    for (auto [key, value] : fields) {
      if (!ReadDefinitionField(key, value, next, seen, errors)) return bad("unknown field");
      ++changed;
    }
    if (create && !(seen.title && seen.reward_type && seen.reward_value && seen.condition)) {
      return bad("a field is missing");
    }
    if (changed == 0) return bad("nothing changed");
    CheckReward(next, errors);
    if (!errors.empty()) return bad(errors.front().field + ": " + errors.front().message);
    if (create) {
      p.id = event.aggregate_id;
      p.created_by = event.actor;
      p.created_at = event.occurred_at;
    }
    p.definition = std::move(next);
  } else {
    return Fail(Error::DataLoss("Not a promotion event: " + event.type));
  }
  p.updated_at = event.occurred_at;
  p.version = event.aggregate_version;
  return {};
}

std::string PromotionConditionToJson(const PromotionCondition& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("type").String(ConditionTypeName(c.type));
  if (c.type == ConditionType::kMinimumPurchase) w.Key("amount").Cents(c.amount_cents);
  if (c.type == ConditionType::kCustomerLevel) w.Key("level").String(LoyaltyLevelName(c.level));
  w.EndObject();
  return w.Take();
}

std::string PromotionToJson(const Promotion& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(p.id);
  WriteFields(w, p.definition);
  w.Key("createdBy").String(p.created_by);
  w.Key("createdAt").String(FormatIso8601(p.created_at));
  w.Key("updatedAt").String(FormatIso8601(p.updated_at));
  w.Key("version").Int(p.version);
  w.EndObject();
  return w.Take();
}

Result<Promotion> PromotionFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Promotion record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  simdjson::dom::object obj;
  if (doc->get(obj)) return Fail(Error::DataLoss("Promotion record is not an object"));
  Promotion p;
  std::vector<FieldError> errors;
  Seen seen;
  std::optional<Millis> created, updated;
  bool id_seen = false, version_seen = false, by_seen = false;
  for (auto [key, value] : obj) {
    std::string_view text;
    if (key == "id" && !value.get(text)) {
      p.id = std::string(text);
      id_seen = true;
    } else if (key == "createdBy" && !value.get(text)) {
      p.created_by = std::string(text);
      by_seen = true;
    } else if (key == "createdAt" && !value.get(text)) {
      created = ParseIso8601(text);
    } else if (key == "updatedAt" && !value.get(text)) {
      updated = ParseIso8601(text);
    } else if (key == "version" && !value.get(p.version)) {
      version_seen = true;
    } else if (!ReadDefinitionField(key, value, p.definition, seen, errors)) {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!errors.empty() || !id_seen || !version_seen || !by_seen || !created || !updated ||
      !(seen.title && seen.reward_type && seen.reward_value && seen.condition)) {
    return Fail(Error::DataLoss("Promotion record " + p.id + " is malformed"));
  }
  p.created_at = *created;
  p.updated_at = *updated;
  return p;
}

}  // namespace keel

#include "domain/segment.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/text.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

// Conditions that scan the customers' text (name, email, phone): the costly ones to count.
int TextConditions(const RuleNode& node) {
  if (node.kind != RuleNode::Kind::kCondition) {
    int n = 0;
    for (const auto& child : node.children) n += TextConditions(child);
    return n;
  }
  return RuleFieldOf(node.condition.field).type == RuleType::kText ? 1 : 0;
}

// The body's rules (and seed 004's top-level logicalOperator), their errors added to `errors`.
std::optional<RuleNode> ReadRules(std::optional<element> rules,
                                  std::optional<element> logical_operator,
                                  std::vector<FieldError>& errors) {
  if (!rules) {
    errors.push_back({"rules", "Is required"});
    return std::nullopt;
  }
  auto parsed = ParseSegmentRules(*rules, logical_operator);
  if (!parsed) {
    const Error& e = parsed.error();
    if (e.field_errors.empty()) errors.push_back({"rules", e.message});
    errors.insert(errors.end(), e.field_errors.begin(), e.field_errors.end());
    return std::nullopt;
  }
  // What one count may cost: each text condition is a pass over every customer's text.
  if (TextConditions(*parsed) > kMaxTextConditions) {
    std::string message = "At most ";
    message += std::to_string(kMaxTextConditions);
    message += " conditions on name, email or phone are allowed";
    errors.push_back({"rules", std::move(message)});
    return std::nullopt;
  }
  // The canonical form may be longer than the body (1e11 written out): it must fit an event.
  if (EncodeSegmentRules(*parsed).size() > kMaxEncodedRulesBytes) {
    errors.push_back({"rules", "The rules are too long: at most 256 KiB once written out"});
    return std::nullopt;
  }
  return std::move(*parsed);
}

}  // namespace

Result<SegmentInput> ParseSegmentInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<std::string> name, description;
  std::optional<element> rules, logical_operator;
  for (auto [key, value] : *obj) {
    if (key == "name") {
      name = json::ReadTrimmedText(value, "name", 1, kMaxSegmentNameLength, errors);
      if (!name) name = std::string();  // reported; not "required" as well
    } else if (key == "description") {
      if (value.type() != element_type::NULL_VALUE) {
        description =
            json::ReadTrimmedText(value, "description", 0, kMaxSegmentDescriptionLength, errors);
      }
    } else if (key == "rules") {
      rules = value;
    } else if (key == "logicalOperator") {
      logical_operator = value;
    } else {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  if (!name) errors.push_back({"name", "Is required"});
  auto tree = ReadRules(rules, logical_operator, errors);
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return SegmentInput{std::move(*name), description.value_or(""), std::move(*tree)};
}

Result<RuleNode> ParsePreviewInput(std::string_view body) {
  auto obj = json::BodyObject(body);
  if (!obj) return Fail(obj.error());
  std::vector<FieldError> errors;
  std::optional<element> rules, logical_operator;
  for (auto [key, value] : *obj) {
    if (key == "rules") {
      rules = value;
    } else if (key == "logicalOperator") {
      logical_operator = value;
    } else if (key != "message" && key != "name" && key != "description") {
      errors.push_back({std::string(key), "Unknown field"});
    }
  }
  auto tree = ReadRules(rules, logical_operator, errors);
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return std::move(*tree);
}

std::string EncodeSegmentDefinition(const SegmentInput& input) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(input.name);
  w.Key("description").String(input.description);
  w.Key("rules").Raw(EncodeSegmentRules(input.rules));
  w.EndObject();
  return w.Take();
}

Status ApplySegmentEvent(Segment& s, const EventEnvelope& event) {
  if (auto st = CheckNextVersion(event, s.version); !st) return st;
  if (event.type == kSegmentDefined || event.type == kSegmentRedefined) {
    if (event.type == kSegmentDefined && s.version != 0) {
      return Fail(Error::DataLoss("SegmentDefined for existing segment " + event.aggregate_id));
    }
    if (event.type == kSegmentRedefined && (s.version == 0 || s.archived)) {
      return Fail(Error::DataLoss("SegmentRedefined for a segment that is not active: " +
                                  event.aggregate_id));
    }
    auto doc = json::Parse(event.payload, "Event payload", ErrorCode::kDataLoss);
    if (!doc) return Fail(doc.error());
    std::string_view name, description;
    element rules;
    if (doc->at_key("name").get(name) || doc->at_key("description").get(description) ||
        doc->at_key("rules").get(rules)) {
      return Fail(Error::DataLoss("Segment definition without name, description or rules"));
    }
    std::string rules_json = simdjson::minify(rules);
    std::string name_copy(name), description_copy(description);
    // The rules must be ones this build can evaluate (the API accepted them).
    auto tree = ParseSegmentRulesJson(rules_json);
    if (!tree) {
      return Fail(Error::DataLoss("Segment " + event.aggregate_id +
                                  " has rules this build refuses: " + tree.error().message));
    }
    s.id = event.aggregate_id;
    s.name = std::move(name_copy);
    s.description = std::move(description_copy);
    s.rules_json = EncodeSegmentRules(*tree);
    if (event.type == kSegmentDefined) {
      s.created_by = event.actor;
      s.created_at = event.occurred_at;
    }
    s.updated_at = event.occurred_at;
  } else if (event.type == kSegmentArchived) {
    if (s.version == 0 || s.archived) {
      return Fail(Error::DataLoss("SegmentArchived for a segment that is not active: " +
                                  event.aggregate_id));
    }
    s.archived = true;
    s.updated_at = event.occurred_at;
  } else {
    return Fail(Error::DataLoss("Not a segment event: " + event.type));
  }
  s.version = event.aggregate_version;
  return {};
}

std::string SegmentToJson(const Segment& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(s.id);
  w.Key("name").String(s.name);
  w.Key("description").String(s.description);
  w.Key("rules").Raw(s.rules_json);
  w.Key("status").String(s.archived ? "archived" : "active");
  w.Key("createdBy").String(s.created_by);
  w.Key("createdAt").String(FormatIso8601(s.created_at));
  w.Key("updatedAt").String(FormatIso8601(s.updated_at));
  w.Key("version").Int(s.version);
  w.EndObject();
  return w.Take();
}

Result<Segment> SegmentFromJson(std::string_view json) {
  auto doc = json::Parse(json, "Segment record", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  std::string_view id, name, description, status, created_by, created_at, updated_at;
  element rules;
  int64_t version = 0;
  if (doc->at_key("id").get(id) || doc->at_key("name").get(name) ||
      doc->at_key("description").get(description) || doc->at_key("rules").get(rules) ||
      doc->at_key("status").get(status) || doc->at_key("createdBy").get(created_by) ||
      doc->at_key("createdAt").get(created_at) || doc->at_key("updatedAt").get(updated_at) ||
      doc->at_key("version").get(version)) {
    return Fail(Error::DataLoss("Segment record lacks a field"));
  }
  auto created = ParseIso8601(created_at);
  auto updated = ParseIso8601(updated_at);
  if (!created || !updated || (status != "active" && status != "archived")) {
    return Fail(Error::DataLoss("Segment record " + std::string(id) + " is malformed"));
  }
  Segment s;
  s.id = std::string(id);
  s.name = std::string(name);
  s.description = std::string(description);
  s.rules_json = simdjson::minify(rules);
  s.created_by = std::string(created_by);
  s.created_at = *created;
  s.updated_at = *updated;
  s.version = version;
  s.archived = status == "archived";
  return s;
}

}  // namespace keel

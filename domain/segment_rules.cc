#include "domain/segment_rules.h"

#include <utf8proc.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>

#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/loyalty.h"
#include "domain/numbers.h"
#include "domain/text.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

constexpr int64_t kDayMillis = 86'400'000;
constexpr int64_t kMaxDays = 36'500;
constexpr size_t kMaxTextLength = 254;
constexpr size_t kMaxListValues = 1000;
constexpr int64_t kMinScore = 1;  // LoyaltyStanding's scores
constexpr int64_t kMaxScore = 5;

// In the order of RuleField: RuleFieldOf indexes it.
constexpr RuleFieldInfo kFields[] = {
    {"totalSpending", RuleField::kTotalSpending, RuleType::kMoney, false},
    {"averageOrderValue", RuleField::kAverageOrderValue, RuleType::kMoney, false},
    {"visits", RuleField::kVisits, RuleType::kCount, false},
    {"orderCount", RuleField::kOrderCount, RuleType::kCount, false},
    {"inactive_days", RuleField::kInactiveDays, RuleType::kCount, false},
    {"lastVisit", RuleField::kLastVisit, RuleType::kTime, true},
    {"lastOrderAt", RuleField::kLastOrderAt, RuleType::kTime, true},
    {"firstOrderAt", RuleField::kFirstOrderAt, RuleType::kTime, true},
    {"createdAt", RuleField::kCreatedAt, RuleType::kTime, false},
    {"name", RuleField::kName, RuleType::kText, false},
    {"email", RuleField::kEmail, RuleType::kText, false},
    {"phone", RuleField::kPhone, RuleType::kText, true},
    {"ownerId", RuleField::kOwnerId, RuleType::kId, true},
    {"isActive", RuleField::kIsActive, RuleType::kBool, false},
    {"status", RuleField::kStatus, RuleType::kId, false},
    {"customerType", RuleField::kCustomerType, RuleType::kId, false},
    {"birthDate", RuleField::kBirthDate, RuleType::kTime, true},
    {"tags", RuleField::kTags, RuleType::kList, true},
    {"level", RuleField::kLevel, RuleType::kLevel, true},
    {"recencyScore", RuleField::kRecencyScore, RuleType::kScore, true},
    {"frequencyScore", RuleField::kFrequencyScore, RuleType::kScore, true},
    {"monetaryScore", RuleField::kMonetaryScore, RuleType::kScore, true},
};

struct Alias {
  std::string_view name;
  RuleField field;
};
// The names the seeds use for the same figures.
constexpr Alias kAliases[] = {
    {"spend", RuleField::kTotalSpending},       {"totalSpend", RuleField::kTotalSpending},
    {"total_spend", RuleField::kTotalSpending}, {"numVisits", RuleField::kVisits},
    {"visits_count", RuleField::kVisits},       {"lastVisitDate", RuleField::kLastVisit},
    {"last_active", RuleField::kLastVisit},     {"last_active_at", RuleField::kLastVisit},
    {"loyaltyLevel", RuleField::kLevel},        {"customerLevel", RuleField::kLevel},
};

struct OpInfo {
  RuleOp op;
  std::string_view name;  // canonical
};
// In the order of RuleOp: RuleOpName indexes it.
constexpr OpInfo kOps[] = {
    {RuleOp::kGt, ">"},
    {RuleOp::kGe, ">="},
    {RuleOp::kLt, "<"},
    {RuleOp::kLe, "<="},
    {RuleOp::kEq, "="},
    {RuleOp::kNe, "!="},
    {RuleOp::kContains, "contains"},
    {RuleOp::kStartsWith, "startsWith"},
    {RuleOp::kEndsWith, "endsWith"},
    {RuleOp::kInLastDays, "in_last_days"},
    {RuleOp::kNotInLastDays, "not_in_last_days"},
    {RuleOp::kIn, "in"},
    {RuleOp::kNotIn, "not_in"},
    {RuleOp::kBetween, "between"},
    {RuleOp::kIsEmpty, "is_empty"},
    {RuleOp::kIsNotEmpty, "is_not_empty"},
};

static_assert([] {
  for (size_t i = 0; i < std::size(kFields); ++i) {
    if (static_cast<size_t>(kFields[i].field) != i) return false;
  }
  for (size_t i = 0; i < std::size(kOps); ++i) {
    if (static_cast<size_t>(kOps[i].op) != i) return false;
  }
  return std::size(kFields) == static_cast<size_t>(RuleField::kMonetaryScore) + 1 &&
         std::size(kOps) == static_cast<size_t>(RuleOp::kIsNotEmpty) + 1;
}());

std::optional<RuleOp> FindRuleOp(std::string_view name) {
  if (name == "==") return RuleOp::kEq;
  for (const auto& o : kOps) {
    if (o.name == name) return o.op;
  }
  return std::nullopt;
}

std::string_view TypeLabel(RuleType type) {
  switch (type) {
    case RuleType::kMoney:
      return "money";
    case RuleType::kCount:
      return "count";
    case RuleType::kTime:
      return "time";
    case RuleType::kText:
      return "text";
    case RuleType::kId:
      return "id";
    case RuleType::kBool:
      return "boolean";
    case RuleType::kList:
      return "tags";
    case RuleType::kLevel:
      return "level";
    case RuleType::kScore:
      return "score";
  }
  return "unknown";
}

// The operators a type takes, comma-separated, for error messages.
std::string OpsOf(RuleType type) {
  std::string out;
  for (const auto& o : kOps) {
    if (!RuleOpApplies(o.op, type)) continue;
    if (!out.empty()) out += ", ";
    out += o.name;
  }
  return out;
}

// The canonical name of the field whose name or alias is closest to `name` (ASCII case ignored).
std::string_view ClosestFieldName(std::string_view name) {
  // Longer names are no closer to any field: their first bytes suffice, and keep this cheap.
  const std::string lower = AsciiLower(name.substr(0, 64));
  std::string_view best = kFields[0].name;
  size_t best_distance = SIZE_MAX;
  auto consider = [&](std::string_view candidate, RuleField field) {
    const size_t d = EditDistance(lower, AsciiLower(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = RuleFieldOf(field).name;
    }
  };
  for (const auto& f : kFields) consider(f.name, f.field);
  for (const auto& a : kAliases) consider(a.name, a.field);
  return best;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

std::string Indexed(std::string_view path, size_t i) {
  std::string out(path);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

std::string Member(std::string_view path, std::string_view key) {
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

bool IsAbsent(std::optional<element> v) { return !v || v->type() == element_type::NULL_VALUE; }

// A date "YYYY-MM-DD" is midnight UTC that day; otherwise an ISO-8601 datetime with a zone.
std::optional<Millis> ParseRuleTime(std::string_view s) {
  if (s.size() == 10) {
    std::string datetime(s);
    datetime += "T00:00:00Z";
    return ParseIso8601(datetime);
  }
  return ParseIso8601(s);
}

// A group's kind, from a logicalOperator's value ("AND" or "OR", any case).
std::optional<RuleNode::Kind> JoinerKind(element v) {
  if (v.type() != element_type::STRING) return std::nullopt;
  const std::string word = AsciiLower(v.get_string().value_unsafe());
  if (word == "and") return RuleNode::Kind::kAnd;
  if (word == "or") return RuleNode::Kind::kOr;
  return std::nullopt;
}

constexpr std::string_view kJoinerMessage = "Must be \"AND\" or \"OR\"";

bool IsGroupKey(std::string_view key) { return key == "and" || key == "or" || key == "not"; }

RuleNode Group(RuleNode::Kind kind, std::vector<RuleNode> children) {
  if (children.size() == 1) return std::move(children.front());
  RuleNode node;
  node.kind = kind;
  node.children = std::move(children);
  return node;
}

// Reads a rules document, collecting every violation it finds.
class RulesParser {
 public:
  std::optional<RuleNode> Top(element rules, std::optional<element> logical_operator) {
    const std::string path = "rules";
    if (rules.type() == element_type::ARRAY) {
      return FlatList(rules.get_array().value_unsafe(), path, logical_operator);
    }
    if (!IsAbsent(logical_operator)) {
      Add("logicalOperator", "Only a flat list of rules takes a top-level logicalOperator");
    }
    if (rules.type() != element_type::OBJECT) {
      std::string message = "Expected an array or an object of rules, got ";
      message += json::TypeName(rules);
      Add(path, std::move(message));
      return std::nullopt;
    }
    return Node(rules, path, 0);
  }

  std::vector<FieldError> TakeErrors() { return std::move(errors_); }

 private:
  // Past kMaxErrors the parse stops with one more entry saying so: a body of a million bad
  // items must not buy a million error messages.
  static constexpr size_t kMaxErrors = 50;
  void Add(std::string path, std::string message) {
    if (errors_.size() >= kMaxErrors) {
      if (!too_many_) errors_.push_back({"rules", "Too many errors; the rest were not checked"});
      too_many_ = true;
      return;
    }
    errors_.push_back({std::move(path), std::move(message)});
  }
  // A list (flat, or a group's) longer than the conditions allowed is refused whole, before any
  // of its items is read.
  bool TooLong(simdjson::dom::array list) {
    if (list.size() <= static_cast<size_t>(kMaxRuleConditions)) return false;
    std::string message = "At most ";
    message += std::to_string(kMaxRuleConditions);
    message += " conditions are allowed";
    Add("rules", std::move(message));
    too_many_ = true;
    return true;
  }

  // Seeds 000 and 004: conditions joined by their own logicalOperators (AND binding tighter than
  // OR) or by one top-level logicalOperator.
  std::optional<RuleNode> FlatList(simdjson::dom::array list, const std::string& path,
                                   std::optional<element> logical_operator) {
    std::optional<RuleNode::Kind> top;
    if (!IsAbsent(logical_operator)) {
      top = JoinerKind(*logical_operator);
      if (!top) Add("logicalOperator", std::string(kJoinerMessage));
    }
    if (list.size() == 0) {
      Add(path, "At least one rule is required");
      return std::nullopt;
    }
    if (TooLong(list)) return std::nullopt;
    bool ok = true;
    bool rule_joiners = false;
    std::vector<std::vector<RuleNode>> runs(1);  // the AND runs between ORs
    size_t index = 0;
    for (element item : list) {
      if (too_many_) return std::nullopt;
      const bool first = index == 0;
      const std::string item_path = Indexed(path, index++);
      if (item.type() != element_type::OBJECT) {
        std::string message = "Expected a condition object, got ";
        message += json::TypeName(item);
        Add(item_path, std::move(message));
        ok = false;
        continue;
      }
      simdjson::dom::object obj = item.get_object().value_unsafe();
      bool group = false;
      for (auto [key, value] : obj) group = group || IsGroupKey(key);
      if (group) {
        Add(item_path,
            "A flat list holds conditions only; nest groups in the {\"and\": [...]} shape");
        ok = false;
        continue;
      }
      std::optional<element> joiner;
      auto condition = Condition(obj, item_path, &joiner);
      std::optional<RuleNode::Kind> kind = RuleNode::Kind::kAnd;
      if (!IsAbsent(joiner)) {
        rule_joiners = true;
        kind = JoinerKind(*joiner);
        if (!kind) {
          Add(Member(item_path, "logicalOperator"), std::string(kJoinerMessage));
          ok = false;
        }
      }
      if (!condition) {
        ok = false;
        continue;
      }
      if (!first && kind == RuleNode::Kind::kOr) runs.emplace_back();
      runs.back().push_back(std::move(*condition));
    }
    if (top && rule_joiners) {
      Add("logicalOperator",
          "Give either one top-level logicalOperator or one on each rule, not both");
      return std::nullopt;
    }
    if (!ok || (!IsAbsent(logical_operator) && !top)) return std::nullopt;
    if (top) return Group(*top, std::move(runs.front()));
    std::vector<RuleNode> alternatives;
    for (auto& run : runs) alternatives.push_back(Group(RuleNode::Kind::kAnd, std::move(run)));
    return Group(RuleNode::Kind::kOr, std::move(alternatives));
  }

  // Seed 001: a group or a condition, `depth` groups deep.
  std::optional<RuleNode> Node(element v, const std::string& path, int depth) {
    if (too_many_ || too_deep_) return std::nullopt;
    if (depth > kMaxRuleDepth) {
      std::string message = "Rules may be nested at most ";
      message += std::to_string(kMaxRuleDepth);
      message += " groups deep";
      Add(path, std::move(message));
      too_deep_ = true;
      return std::nullopt;
    }
    if (v.type() != element_type::OBJECT) {
      std::string message = "Expected a rule object, got ";
      message += json::TypeName(v);
      Add(path, std::move(message));
      return std::nullopt;
    }
    simdjson::dom::object obj = v.get_object().value_unsafe();
    bool group = false;
    for (auto [key, value] : obj) group = group || IsGroupKey(key);
    if (!group) return Condition(obj, path, nullptr);
    if (obj.size() != 1) {
      Add(path, "A group has exactly one key: \"and\", \"or\" or \"not\"");
      return std::nullopt;
    }
    auto [key, value] = *obj.begin();
    const std::string group_path = Member(path, key);
    if (key == "not") {
      auto child = Node(value, group_path, depth + 1);
      if (!child) return std::nullopt;
      RuleNode node;
      node.kind = RuleNode::Kind::kNot;
      node.children.push_back(std::move(*child));
      return node;
    }
    if (value.type() != element_type::ARRAY) {
      std::string message = "Expected an array of rules, got ";
      message += json::TypeName(value);
      Add(group_path, std::move(message));
      return std::nullopt;
    }
    simdjson::dom::array list = value.get_array().value_unsafe();
    if (list.size() == 0) {
      Add(group_path, "A group needs at least one rule");
      return std::nullopt;
    }
    if (TooLong(list)) return std::nullopt;
    RuleNode node;
    node.kind = key == "and" ? RuleNode::Kind::kAnd : RuleNode::Kind::kOr;
    bool ok = true;
    size_t i = 0;
    for (element child : list) {
      auto parsed = Node(child, Indexed(group_path, i++), depth + 1);
      if (too_many_ || too_deep_) return std::nullopt;
      if (!parsed) {
        ok = false;
        continue;
      }
      node.children.push_back(std::move(*parsed));
    }
    if (!ok) return std::nullopt;
    return node;
  }

  // `{field, op | operator, value}`; in a flat list (`joiner` not null) also `logicalOperator`,
  // handed back unread.
  std::optional<RuleNode> Condition(simdjson::dom::object obj, const std::string& path,
                                    std::optional<element>* joiner) {
    if (++conditions_ > kMaxRuleConditions) {
      std::string message = "At most ";
      message += std::to_string(kMaxRuleConditions);
      message += " conditions are allowed";
      Add("rules", std::move(message));
      too_many_ = true;
      return std::nullopt;
    }
    std::optional<element> field, op, value;
    std::string_view op_key = "op";
    bool ok = true;
    bool both_ops = false;
    for (auto [key, v] : obj) {
      if (key == "field") {
        field = v;
      } else if (key == "op" || key == "operator") {
        if (op) both_ops = true;
        op = v;
        op_key = key == "op" ? "op" : "operator";
      } else if (key == "value") {
        value = v;
      } else if (key == "logicalOperator" && joiner) {
        *joiner = v;
      } else {
        std::string message = "Unknown key ";
        message += Quoted(key);
        if (key == "logicalOperator") message += ": only the conditions of a flat list take one";
        Add(Member(path, key), std::move(message));
        ok = false;
      }
    }

    const RuleFieldInfo* info = nullptr;
    const std::string field_path = Member(path, "field");
    if (!field) {
      Add(field_path, "Is required");
    } else if (field->type() != element_type::STRING) {
      std::string message = "Expected a field name, got ";
      message += json::TypeName(*field);
      Add(field_path, std::move(message));
    } else {
      const std::string_view name = field->get_string().value_unsafe();
      if (auto f = FindRuleField(name)) {
        info = &RuleFieldOf(*f);
      } else {
        std::string message = "Unknown field ";
        message += Quoted(name);
        message += "; did you mean ";
        message += Quoted(ClosestFieldName(name));
        message += '?';
        Add(field_path, std::move(message));
      }
    }

    std::optional<RuleOp> rule_op;
    if (both_ops) {
      Add(Member(path, "operator"), "Give either op or operator, not both");
    } else if (!op) {
      Add(Member(path, "op"), "Is required");
    } else if (op->type() != element_type::STRING) {
      std::string message = "Expected an operator, got ";
      message += json::TypeName(*op);
      Add(Member(path, op_key), std::move(message));
    } else {
      const std::string_view name = op->get_string().value_unsafe();
      rule_op = FindRuleOp(name);
      if (!rule_op) {
        std::string message = "Unknown operator ";
        message += Quoted(name);
        message += "; operators: ";
        for (const auto& o : kOps) {
          if (o.op != RuleOp::kGt) message += ", ";
          message += o.name;
        }
        Add(Member(path, op_key), std::move(message));
      } else if (info && !RuleOpApplies(*rule_op, info->type)) {
        std::string message = "Operator ";
        message += Quoted(name);
        message += " does not apply to ";
        message += info->name;
        message += " (";
        message += TypeLabel(info->type);
        message += "); it takes ";
        message += OpsOf(info->type);
        Add(Member(path, op_key), std::move(message));
        rule_op.reset();
      }
    }
    if (!info || !rule_op) return std::nullopt;

    RuleNode node;
    node.condition.field = info->field;
    node.condition.op = *rule_op;
    if (!Value(value, *info, *rule_op, Member(path, "value"), node.condition) || !ok) {
      return std::nullopt;
    }
    if (!KnownNames(node.condition, Member(path, "value"))) return std::nullopt;
    return node;
  }

  // status and customerType take only their names.
  bool KnownNames(const RuleCondition& c, const std::string& path) {
    if (c.field != RuleField::kStatus && c.field != RuleField::kCustomerType) return true;
    const bool status = c.field == RuleField::kStatus;
    for (const std::string& t : c.texts) {
      if (status ? !ParseCustomerStatus(t) : !ParseCustomerType(t)) {
        Add(path, status ? "Must be LEAD, OPPORTUNITY, CUSTOMER or CHURNED"
                         : "Must be PERSON or COMPANY");
        return false;
      }
    }
    return true;
  }

  bool Value(std::optional<element> v, const RuleFieldInfo& info, RuleOp op,
             const std::string& path, RuleCondition& out) {
    switch (op) {
      case RuleOp::kIsEmpty:
      case RuleOp::kIsNotEmpty:
        if (IsAbsent(v)) return true;
        {
          std::string message(RuleOpName(op));
          message += " takes no value";
          Add(path, std::move(message));
        }
        return false;
      case RuleOp::kInLastDays:
      case RuleOp::kNotInLastDays: {
        if (!v) return Required(path);
        auto days = json::ToInt(*v);
        if (!days || *days < 1 || *days > kMaxDays) {
          std::string message = "Must be a whole number of days, 1 to ";
          message += std::to_string(kMaxDays);
          Add(path, std::move(message));
          return false;
        }
        out.numbers.push_back(*days);
        return true;
      }
      case RuleOp::kBetween: {
        if (!v) return Required(path);
        if (v->type() != element_type::ARRAY || v->get_array().value_unsafe().size() != 2) {
          std::string message = "Expected an array of two ";
          message += ValueNoun(info.type);
          message += " values, [low, high]";
          Add(path, std::move(message));
          return false;
        }
        const simdjson::dom::array ends = v->get_array().value_unsafe();
        bool ok = true;
        size_t i = 0;
        for (element end : ends) {
          ok = Scalar(end, info.type, Indexed(path, i++), out) && ok;
        }
        if (ok && out.numbers[0] > out.numbers[1]) {
          Add(path, "The low end must not be above the high end");
          return false;
        }
        return ok;
      }
      case RuleOp::kIn:
      case RuleOp::kNotIn: {
        if (!v) return Required(path);
        const size_t n =
            v->type() == element_type::ARRAY ? v->get_array().value_unsafe().size() : 0;
        if (n < 1 || n > kMaxListValues) {
          std::string message = "Expected an array of 1 to ";
          message += std::to_string(kMaxListValues);
          message += ' ';
          message += ValueNoun(info.type);
          message += " values";
          Add(path, std::move(message));
          return false;
        }
        const simdjson::dom::array items = v->get_array().value_unsafe();
        bool ok = true;
        size_t i = 0;
        for (element item : items) {
          ok = Scalar(item, info.type, Indexed(path, i++), out) && ok;
        }
        return ok;
      }
      default:
        if (!v) return Required(path);
        return Scalar(*v, info.type, path, out);
    }
  }

  static std::string_view ValueNoun(RuleType type) {
    switch (type) {
      case RuleType::kMoney:
        return "amount";
      case RuleType::kCount:
        return "integer";
      case RuleType::kTime:
        return "time";
      case RuleType::kText:
        return "text";
      case RuleType::kId:
        return "id";
      case RuleType::kBool:
        return "boolean";
      case RuleType::kList:
        return "tag";
      case RuleType::kLevel:
        return "level";
      case RuleType::kScore:
        return "score";
    }
    return "";
  }

  bool Required(const std::string& path) {
    Add(path, "Is required");
    return false;
  }

  // One operand of a field of `type`, appended to `out`.
  bool Scalar(element v, RuleType type, const std::string& path, RuleCondition& out) {
    const bool number = v.type() == element_type::INT64 || v.type() == element_type::UINT64 ||
                        v.type() == element_type::DOUBLE;
    auto expected = [&](std::string_view what) {
      std::string message = "Expected ";
      message += what;
      message += ", got ";
      message += json::TypeName(v);
      Add(path, std::move(message));
      return false;
    };
    switch (type) {
      case RuleType::kMoney: {
        if (!number) return expected("an amount (a number in currency units)");
        // Within one amount's limit the cents are exact: near ToCents' own limit distinct cents
        // share a double, and the amount read could differ from the amount written.
        auto cents = json::ToCents(v);
        if (!cents || *cents > kMaxCents || *cents < -kMaxCents) {
          Add(path,
              "Must be an amount with at most two decimal places, from -1000000000000 to "
              "1000000000000");
          return false;
        }
        out.numbers.push_back(*cents);
        return true;
      }
      case RuleType::kCount: {
        if (!number) return expected("an integer");
        auto n = json::ToInt(v);
        if (!n) {
          const bool fraction =
              v.type() == element_type::DOUBLE &&
              std::trunc(v.get_double().value_unsafe()) != v.get_double().value_unsafe();
          Add(path, fraction ? "Must be an integer" : "Is out of range");
          return false;
        }
        out.numbers.push_back(*n);
        return true;
      }
      case RuleType::kTime: {
        if (v.type() != element_type::STRING) {
          return expected("an ISO-8601 datetime or a date (YYYY-MM-DD)");
        }
        auto t = ParseRuleTime(v.get_string().value_unsafe());
        if (!t) {
          Add(path,
              "Must be an ISO-8601 datetime with a zone (e.g. 2026-01-31T09:30:00Z) or a date "
              "(e.g. 2026-01-31), in years 1 to 9999");
          return false;
        }
        out.numbers.push_back(*t);
        return true;
      }
      case RuleType::kText:
      case RuleType::kId:
      case RuleType::kList: {
        if (v.type() != element_type::STRING) return expected("a string");
        std::string_view s = v.get_string().value_unsafe();
        // Tags are stored trimmed: so is a tag to look for.
        if (type == RuleType::kList) s = TrimSpace(s);
        const size_t length = Utf8Length(s);
        if (length < 1 || length > kMaxTextLength) {
          std::string message = "Must be 1 to ";
          message += std::to_string(kMaxTextLength);
          message += " characters";
          Add(path, std::move(message));
          return false;
        }
        out.texts.emplace_back(s);
        return true;
      }
      case RuleType::kBool:
        if (v.type() != element_type::BOOL) return expected("true or false");
        out.flag = v.get_bool().value_unsafe();
        return true;
      case RuleType::kLevel: {
        if (v.type() != element_type::STRING) return expected("a level name");
        auto level = ParseLoyaltyLevel(v.get_string().value_unsafe());
        if (!level) {
          Add(path, "Must be Bronze, Silver, Gold or Platinum");
          return false;
        }
        out.numbers.push_back(static_cast<int64_t>(*level));
        return true;
      }
      case RuleType::kScore: {
        if (!number) return expected("a score (an integer 1 to 5)");
        auto n = json::ToInt(v);
        if (!n || *n < kMinScore || *n > kMaxScore) {
          Add(path, "Must be an integer from 1 to 5");
          return false;
        }
        out.numbers.push_back(*n);
        return true;
      }
    }
    return false;
  }

  std::vector<FieldError> errors_;
  int conditions_ = 0;
  bool too_many_ = false;  // past kMaxRuleConditions: reported once, parsing stopped
  bool too_deep_ = false;  // past kMaxRuleDepth: reported once, parsing stopped
};

// Cents as a JSON number in currency units, without trailing zeros: 10050 → 100.5.
std::string UnitsText(int64_t cents) {
  std::string out = FormatCents(cents);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

void WriteOperand(JsonWriter& w, RuleType type, const RuleCondition& c, size_t i) {
  switch (type) {
    case RuleType::kMoney:
      if (i < c.numbers.size()) {
        w.Raw(UnitsText(c.numbers[i]));
        return;
      }
      break;
    case RuleType::kCount:
    case RuleType::kScore:
      if (i < c.numbers.size()) {
        w.Int(c.numbers[i]);
        return;
      }
      break;
    case RuleType::kLevel:
      // A rank outside the levels (a tree not built by the parser) is written as a number.
      if (i < c.numbers.size()) {
        if (c.numbers[i] >= 0 && c.numbers[i] < kLoyaltyLevels) {
          w.String(LoyaltyLevelName(static_cast<LoyaltyLevel>(c.numbers[i])));
        } else {
          w.Int(c.numbers[i]);
        }
        return;
      }
      break;
    case RuleType::kTime:
      if (i < c.numbers.size()) {
        w.String(FormatIso8601(c.numbers[i]));
        return;
      }
      break;
    case RuleType::kText:
    case RuleType::kId:
    case RuleType::kList:
      if (i < c.texts.size()) {
        w.String(c.texts[i]);
        return;
      }
      break;
    case RuleType::kBool:
      w.Bool(c.flag);
      return;
  }
  w.Null();  // a tree not built by the parser, short of operands
}

void WriteNode(JsonWriter& w, const RuleNode& node) {
  w.BeginObject();
  switch (node.kind) {
    case RuleNode::Kind::kAnd:
    case RuleNode::Kind::kOr:
      w.Key(node.kind == RuleNode::Kind::kAnd ? "and" : "or").BeginArray();
      for (const auto& child : node.children) WriteNode(w, child);
      w.EndArray();
      break;
    case RuleNode::Kind::kNot:
      w.Key("not");
      if (node.children.empty()) {
        w.Null();
      } else {
        WriteNode(w, node.children.front());
      }
      break;
    case RuleNode::Kind::kCondition: {
      const RuleCondition& c = node.condition;
      const RuleType type = RuleFieldOf(c.field).type;
      w.Key("field").String(RuleFieldOf(c.field).name).Key("op").String(RuleOpName(c.op));
      switch (c.op) {
        case RuleOp::kIsEmpty:
        case RuleOp::kIsNotEmpty:
          break;
        case RuleOp::kInLastDays:
        case RuleOp::kNotInLastDays:
          w.Key("value");
          if (c.numbers.empty()) {
            w.Null();
          } else {
            w.Int(c.numbers.front());
          }
          break;
        case RuleOp::kBetween:
        case RuleOp::kIn:
        case RuleOp::kNotIn: {
          w.Key("value").BeginArray();
          const size_t n =
              type == RuleType::kText || type == RuleType::kId || type == RuleType::kList
                  ? c.texts.size()
                  : c.numbers.size();
          for (size_t i = 0; i < n; ++i) WriteOperand(w, type, c, i);
          w.EndArray();
          break;
        }
        default:
          w.Key("value");
          WriteOperand(w, type, c, 0);
      }
      break;
    }
  }
  w.EndObject();
}

// The figure a customer has for a numeric or time field, if any.
std::optional<int64_t> NumberOf(RuleField field, const Customer& c, Millis now) {
  return RuleNumberOf(field, c, now);
}

// Whether `value` is at or after `now` − `days` days, with no overflow whatever the operands.
bool WithinLastDays(Millis value, Millis now, int64_t days) {
  int64_t span;
  if (__builtin_mul_overflow(days, kDayMillis, &span)) return days > 0;
  auto threshold = CheckedSub(now, span);
  if (!threshold) return span > 0;  // below INT64_MIN: everything is after it
  return value >= *threshold;
}

bool EvaluateNumber(const RuleCondition& c, int64_t v, Millis now) {
  auto operand = [&](size_t i) { return i < c.numbers.size() ? c.numbers[i] : 0; };
  switch (c.op) {
    case RuleOp::kGt:
      return v > operand(0);
    case RuleOp::kGe:
      return v >= operand(0);
    case RuleOp::kLt:
      return v < operand(0);
    case RuleOp::kLe:
      return v <= operand(0);
    case RuleOp::kEq:
      return v == operand(0);
    case RuleOp::kNe:
      return v != operand(0);
    case RuleOp::kBetween:
      return operand(0) <= v && v <= operand(1);
    case RuleOp::kIn:
      return std::find(c.numbers.begin(), c.numbers.end(), v) != c.numbers.end();
    case RuleOp::kNotIn:
      return std::find(c.numbers.begin(), c.numbers.end(), v) == c.numbers.end();
    case RuleOp::kInLastDays:
      return WithinLastDays(v, now, operand(0));
    case RuleOp::kNotInLastDays:
      return !WithinLastDays(v, now, operand(0));
    case RuleOp::kIsEmpty:
      return false;
    case RuleOp::kIsNotEmpty:
      return true;
    default:
      return false;
  }
}

bool EvaluateText(const RuleCondition& c, std::string_view v, bool exact) {
  const std::string value = exact ? std::string(v) : FoldCase(v);
  auto operand = [&](const std::string& s) { return exact ? s : FoldCase(s); };
  auto any_equal = [&] {
    return std::any_of(c.texts.begin(), c.texts.end(),
                       [&](const std::string& s) { return operand(s) == value; });
  };
  const std::string first = c.texts.empty() ? std::string() : operand(c.texts.front());
  switch (c.op) {
    case RuleOp::kEq:
      return value == first;
    case RuleOp::kNe:
      return value != first;
    case RuleOp::kContains:
      return value.find(first) != std::string::npos;
    case RuleOp::kStartsWith:
      return value.starts_with(first);
    case RuleOp::kEndsWith:
      return value.ends_with(first);
    case RuleOp::kIn:
      return any_equal();
    case RuleOp::kNotIn:
      return !any_equal();
    case RuleOp::kIsEmpty:
      return false;
    case RuleOp::kIsNotEmpty:
      return true;
    default:
      return false;
  }
}

bool EvaluateCondition(const RuleCondition& c, const Customer& customer, Millis now) {
  const RuleType type = RuleFieldOf(c.field).type;
  if (type == RuleType::kList) {
    const std::vector<std::string>& tags = customer.details.get().tags;
    if (c.op == RuleOp::kIsEmpty) return tags.empty();
    if (c.op == RuleOp::kIsNotEmpty) return !tags.empty();
    if (c.op != RuleOp::kContains || c.texts.empty()) return false;
    const std::string wanted = FoldCase(c.texts.front());
    return std::any_of(tags.begin(), tags.end(),
                       [&](const std::string& tag) { return FoldCase(tag) == wanted; });
  }
  if (c.field == RuleField::kStatus || c.field == RuleField::kCustomerType) {
    return EvaluateText(c,
                        c.field == RuleField::kStatus ? CustomerStatusName(customer.status)
                                                      : CustomerTypeName(customer.customer_type),
                        /*exact=*/true);
  }
  if (type == RuleType::kBool) {
    const bool v = customer.is_active;
    if (c.op == RuleOp::kEq) return v == c.flag;
    if (c.op == RuleOp::kNe) return v != c.flag;
    return false;
  }
  if (type == RuleType::kText || type == RuleType::kId) {
    const std::string* v = nullptr;
    switch (c.field) {
      case RuleField::kName:
        v = &customer.name;
        break;
      case RuleField::kEmail:
        v = &customer.email;
        break;
      case RuleField::kPhone:
        v = customer.phone ? &*customer.phone : nullptr;
        break;
      case RuleField::kOwnerId:
        v = customer.owner_id ? &*customer.owner_id : nullptr;
        break;
      default:
        break;
    }
    if (!v) {
      return c.op == RuleOp::kIsEmpty || c.op == RuleOp::kNe || c.op == RuleOp::kNotIn;
    }
    return EvaluateText(c, *v, type == RuleType::kId);
  }
  auto v = NumberOf(c.field, customer, now);
  if (!v) {
    return c.op == RuleOp::kIsEmpty || c.op == RuleOp::kNe || c.op == RuleOp::kNotIn ||
           c.op == RuleOp::kNotInLastDays;
  }
  return EvaluateNumber(c, *v, now);
}

}  // namespace

std::span<const RuleFieldInfo> RuleFields() { return kFields; }

const RuleFieldInfo& RuleFieldOf(RuleField field) { return kFields[static_cast<size_t>(field)]; }

int RulesSchemaVersion(const RuleNode& rules) {
  if (rules.kind == RuleNode::Kind::kCondition) {
    const RuleField field = rules.condition.field;
    return field >= RuleField::kLevel ? 3 : field >= RuleField::kStatus ? 2 : 1;
  }
  int version = 1;
  for (const RuleNode& child : rules.children)
    version = std::max(version, RulesSchemaVersion(child));
  return version;
}

std::optional<RuleField> FindRuleField(std::string_view name) {
  for (const auto& f : kFields) {
    if (f.name == name) return f.field;
  }
  for (const auto& a : kAliases) {
    if (a.name == name) return a.field;
  }
  return std::nullopt;
}

std::string_view RuleOpName(RuleOp op) { return kOps[static_cast<size_t>(op)].name; }

bool RuleOpApplies(RuleOp op, RuleType type) {
  switch (type) {
    case RuleType::kMoney:
    case RuleType::kCount:
      return op == RuleOp::kGt || op == RuleOp::kGe || op == RuleOp::kLt || op == RuleOp::kLe ||
             op == RuleOp::kEq || op == RuleOp::kNe || op == RuleOp::kIn || op == RuleOp::kNotIn ||
             op == RuleOp::kBetween;
    case RuleType::kTime:
      return op == RuleOp::kGt || op == RuleOp::kGe || op == RuleOp::kLt || op == RuleOp::kLe ||
             op == RuleOp::kEq || op == RuleOp::kNe || op == RuleOp::kBetween ||
             op == RuleOp::kInLastDays || op == RuleOp::kNotInLastDays || op == RuleOp::kIsEmpty ||
             op == RuleOp::kIsNotEmpty;
    case RuleType::kText:
      return op == RuleOp::kEq || op == RuleOp::kNe || op == RuleOp::kContains ||
             op == RuleOp::kStartsWith || op == RuleOp::kEndsWith || op == RuleOp::kIn ||
             op == RuleOp::kNotIn || op == RuleOp::kIsEmpty || op == RuleOp::kIsNotEmpty;
    case RuleType::kId:
      return op == RuleOp::kEq || op == RuleOp::kNe || op == RuleOp::kIn || op == RuleOp::kNotIn ||
             op == RuleOp::kIsEmpty || op == RuleOp::kIsNotEmpty;
    case RuleType::kBool:
      return op == RuleOp::kEq || op == RuleOp::kNe;
    case RuleType::kList:
      return op == RuleOp::kContains || op == RuleOp::kIsEmpty || op == RuleOp::kIsNotEmpty;
    case RuleType::kLevel:
    case RuleType::kScore:
      return op == RuleOp::kGt || op == RuleOp::kGe || op == RuleOp::kLt || op == RuleOp::kLe ||
             op == RuleOp::kEq || op == RuleOp::kNe || op == RuleOp::kIn || op == RuleOp::kNotIn ||
             op == RuleOp::kBetween || op == RuleOp::kIsEmpty || op == RuleOp::kIsNotEmpty;
  }
  return false;
}

Result<RuleNode> ParseSegmentRules(simdjson::dom::element rules,
                                   std::optional<simdjson::dom::element> logical_operator) {
  RulesParser parser;
  auto tree = parser.Top(rules, logical_operator);
  std::vector<FieldError> errors = parser.TakeErrors();
  if (!errors.empty() || !tree) return Fail(Error::Validation(std::move(errors)));
  return std::move(*tree);
}

Result<RuleNode> ParseSegmentRulesJson(std::string_view rules_json) {
  auto doc = json::Parse(rules_json, "Rules", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  return ParseSegmentRules(*doc, std::nullopt);
}

std::string EncodeSegmentRules(const RuleNode& rules) {
  JsonWriter w;
  WriteNode(w, rules);
  return w.Take();
}

int CountConditions(const RuleNode& rules) {
  if (rules.kind == RuleNode::Kind::kCondition) return 1;
  int n = 0;
  for (const auto& child : rules.children) n += CountConditions(child);
  return n;
}

bool DependsOnTime(const RuleNode& rules) {
  if (rules.kind == RuleNode::Kind::kCondition) {
    const RuleCondition& c = rules.condition;
    return c.field == RuleField::kInactiveDays || c.op == RuleOp::kInLastDays ||
           c.op == RuleOp::kNotInLastDays;
  }
  return std::any_of(rules.children.begin(), rules.children.end(), DependsOnTime);
}

std::string FoldCase(std::string_view text) {
  utf8proc_uint8_t* folded = nullptr;
  const utf8proc_ssize_t n = utf8proc_map(
      reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
      static_cast<utf8proc_ssize_t>(text.size()), &folded,
      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD));
  if (n < 0) return std::string(text);  // not valid UTF-8: compared as it is
  std::string out(reinterpret_cast<const char*>(folded), static_cast<size_t>(n));
  std::free(folded);
  return out;
}

bool EvaluateRules(const RuleNode& rules, const Customer& customer, Millis now) {
  switch (rules.kind) {
    case RuleNode::Kind::kAnd:
      return std::all_of(rules.children.begin(), rules.children.end(), [&](const RuleNode& child) {
        return EvaluateRules(child, customer, now);
      });
    case RuleNode::Kind::kOr:
      return std::any_of(rules.children.begin(), rules.children.end(), [&](const RuleNode& child) {
        return EvaluateRules(child, customer, now);
      });
    case RuleNode::Kind::kNot:
      return !rules.children.empty() && !EvaluateRules(rules.children.front(), customer, now);
    case RuleNode::Kind::kCondition:
      return EvaluateCondition(rules.condition, customer, now);
  }
  return false;
}

Millis InactiveSince(const Customer& c) {
  std::optional<Millis> since = c.stats.last_order_at;
  if (auto visit = LastVisit(c); visit && (!since || *visit > *since)) since = visit;
  return since.value_or(c.created_at);
}

int64_t WholeDaysSince(Millis from, Millis now) {
  if (now <= from) return 0;
  // The difference of two int64 in uint64: exact, as now > from.
  return static_cast<int64_t>((static_cast<uint64_t>(now) - static_cast<uint64_t>(from)) /
                              static_cast<uint64_t>(kDayMillis));
}

std::optional<int64_t> RuleNumberOf(RuleField field, const Customer& c, Millis now) {
  switch (field) {
    case RuleField::kTotalSpending:
      return TotalSpendingCents(c);
    case RuleField::kAverageOrderValue:
      return AverageOrderCents(c);
    case RuleField::kVisits:
      return TotalVisits(c);
    case RuleField::kOrderCount:
      return c.stats.order_count;
    case RuleField::kInactiveDays:
      return WholeDaysSince(InactiveSince(c), now);
    case RuleField::kLastVisit:
      return LastVisit(c);
    case RuleField::kLastOrderAt:
      return c.stats.last_order_at;
    case RuleField::kFirstOrderAt:
      return c.stats.first_order_at;
    case RuleField::kCreatedAt:
      return c.created_at;
    case RuleField::kBirthDate: {
      const auto& date = c.details.get().birth_date;
      return date ? BirthDateMillis(*date) : std::nullopt;
    }
    case RuleField::kLevel:
      if (!c.standing.scored()) return std::nullopt;
      return static_cast<int64_t>(c.standing.level);
    case RuleField::kRecencyScore:
      if (!c.standing.scored()) return std::nullopt;
      return c.standing.recency;
    case RuleField::kFrequencyScore:
      if (!c.standing.scored()) return std::nullopt;
      return c.standing.frequency;
    case RuleField::kMonetaryScore:
      if (!c.standing.scored()) return std::nullopt;
      return c.standing.monetary;
    default:
      return std::nullopt;
  }
}

std::optional<Millis> BirthDateMillis(std::string_view date) {
  if (date.size() != 10) return std::nullopt;
  std::string at(date);
  at += "T00:00:00Z";
  return ParseIso8601(at);
}

}  // namespace keel

#include "domain/segment_rules.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "domain/json_input.h"
#include "domain/text.h"

namespace keel {

// gtest prints trees as their canonical JSON.
void PrintTo(const RuleNode& node, std::ostream* os) { *os << EncodeSegmentRules(node); }

namespace {

using Kind = RuleNode::Kind;

constexpr Millis kDay = 86'400'000;

Millis T(std::string_view iso) {
  auto t = ParseIso8601(iso);
  EXPECT_TRUE(t) << iso;
  return t.value_or(0);
}

// A request body holding `rules` and perhaps a top-level `logicalOperator`.
Result<RuleNode> ParseBody(std::string_view body) {
  auto doc = json::Parse(body, "Body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  simdjson::dom::element rules, logical_operator;
  if ((*doc)["rules"].get(rules)) return Fail(Error::InvalidArgument("test body without rules"));
  std::optional<simdjson::dom::element> top;
  if (!(*doc)["logicalOperator"].get(logical_operator)) top = logical_operator;
  return ParseSegmentRules(rules, top);
}

std::string Describe(const Error& e) {
  if (e.field_errors.empty()) return e.message;
  return e.field_errors[0].field + ": " + e.field_errors[0].message;
}

RuleNode Parsed(std::string_view body) {
  auto r = ParseBody(body);
  EXPECT_TRUE(r) << body << ": " << (r ? "" : Describe(r.error()));
  return r.value_or(RuleNode{});
}

std::vector<FieldError> Errors(std::string_view body) {
  auto r = ParseBody(body);
  EXPECT_FALSE(r) << body;
  if (r) return {};
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().field_errors;
}

std::vector<std::string> ErrorPaths(std::string_view body) {
  std::vector<std::string> paths;
  for (const auto& e : Errors(body)) paths.push_back(e.field);
  return paths;
}

using Paths = std::vector<std::string>;

RuleNode Cond(RuleField field, RuleOp op, std::vector<int64_t> numbers = {},
              std::vector<std::string> texts = {}, bool flag = false) {
  RuleNode n;
  n.condition = {field, op, std::move(numbers), std::move(texts), flag};
  return n;
}

RuleNode Group(Kind kind, std::vector<RuleNode> children) {
  RuleNode n;
  n.kind = kind;
  n.children = std::move(children);
  return n;
}
RuleNode And(std::vector<RuleNode> children) { return Group(Kind::kAnd, std::move(children)); }
RuleNode Or(std::vector<RuleNode> children) { return Group(Kind::kOr, std::move(children)); }
RuleNode Not(RuleNode child) { return Group(Kind::kNot, {std::move(child)}); }

// Seed 000's example, `a AND b OR c AND d`, with these four conditions.
constexpr std::string_view kSeed000 =
    R"({"rules":[{"field":"totalSpending","operator":">","value":100},)"
    R"({"field":"visits","operator":">=","value":3,"logicalOperator":"AND"},)"
    R"({"field":"isActive","operator":"=","value":false,"logicalOperator":"OR"},)"
    R"({"field":"name","operator":"contains","value":"vip","logicalOperator":"AND"}]})";
const RuleNode kA = Cond(RuleField::kTotalSpending, RuleOp::kGt, {10000});
const RuleNode kB = Cond(RuleField::kVisits, RuleOp::kGe, {3});
const RuleNode kC = Cond(RuleField::kIsActive, RuleOp::kEq, {}, {}, false);
const RuleNode kD = Cond(RuleField::kName, RuleOp::kContains, {}, {"vip"});

Customer MakeCustomer() {
  Customer c;
  c.id = "0190d8a0-0000-7000-8000-000000000001";
  c.name = "Ada Lovelace";
  c.email = "ada@example.com";
  c.created_at = T("2025-01-01T00:00:00Z");
  c.updated_at = c.created_at;
  c.version = 1;
  return c;
}

// --- Shapes ---

TEST(SegmentRulesParseTest, FlatListBindsAndTighterThanOr) {
  EXPECT_EQ(Parsed(kSeed000), Or({And({kA, kB}), And({kC, kD})}));
}

TEST(SegmentRulesParseTest, FlatListJoinsWithAndByDefaultAndIgnoresTheFirstRulesOperator) {
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpending","op":">","value":100,)"
                   R"("logicalOperator":"OR"},{"field":"visits","op":">=","value":3}]})"),
            And({kA, kB}));
}

TEST(SegmentRulesParseTest, FlatListOperatorsIgnoreCase) {
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpending","op":">","value":100},)"
                   R"({"field":"visits","op":">=","value":3,"logicalOperator":"or"},)"
                   R"({"field":"isActive","op":"=","value":false,"logicalOperator":"Or"}]})"),
            Or({kA, kB, kC}));
}

TEST(SegmentRulesParseTest, FlatListOfOneIsTheCondition) {
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpending","op":">","value":100}]})"), kA);
}

TEST(SegmentRulesParseTest, OrRunsOfOneAreConditionsUnderTheOr) {
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpending","op":">","value":100},)"
                   R"({"field":"visits","op":">=","value":3,"logicalOperator":"OR"},)"
                   R"({"field":"isActive","op":"=","value":false,"logicalOperator":"AND"}]})"),
            Or({kA, And({kB, kC})}));
}

TEST(SegmentRulesParseTest, Seed004TopLevelOperatorJoinsTheList) {
  const RuleNode expected = And({Cond(RuleField::kTotalSpending, RuleOp::kGt, {10000}),
                                 Cond(RuleField::kVisits, RuleOp::kGe, {3})});
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpend","operator":">","value":100},)"
                   R"({"field":"numVisits","operator":">=","value":3}],"logicalOperator":"AND"})"),
            expected);
  EXPECT_EQ(Parsed(R"({"rules":[{"field":"totalSpend","operator":">","value":100},)"
                   R"({"field":"numVisits","operator":">=","value":3}],"logicalOperator":"or"})"),
            Or(expected.children));
}

TEST(SegmentRulesParseTest, Seed001Group) {
  EXPECT_EQ(Parsed(R"({"rules":{"and":[{"field":"inactive_days","op":">","value":180},)"
                   R"({"field":"spend","op":">","value":5000}]}})"),
            And({Cond(RuleField::kInactiveDays, RuleOp::kGt, {180}),
                 Cond(RuleField::kTotalSpending, RuleOp::kGt, {500000})}));
}

TEST(SegmentRulesParseTest, Seed001NestsGroupsAndNotAndKeepsGroupsOfOne) {
  EXPECT_EQ(Parsed(R"({"rules":{"or":[{"and":[{"field":"totalSpending","op":">","value":100}]},)"
                   R"({"not":{"or":[{"field":"visits","op":">=","value":3},)"
                   R"({"field":"isActive","op":"=","value":false}]}}]}})"),
            Or({And({kA}), Not(Or({kB, kC}))}));
}

TEST(SegmentRulesParseTest, SingleConditionObject) {
  EXPECT_EQ(Parsed(R"({"rules":{"field":"name","op":"contains","value":"vip"}})"), kD);
}

TEST(SegmentRulesParseTest, AliasesNameTheCanonicalFields) {
  const std::pair<std::string_view, RuleField> cases[] = {
      {"spend", RuleField::kTotalSpending},       {"totalSpend", RuleField::kTotalSpending},
      {"total_spend", RuleField::kTotalSpending}, {"numVisits", RuleField::kVisits},
      {"visits_count", RuleField::kVisits},       {"lastVisitDate", RuleField::kLastVisit},
      {"last_active", RuleField::kLastVisit},     {"last_active_at", RuleField::kLastVisit},
      {"loyaltyLevel", RuleField::kLevel},        {"customerLevel", RuleField::kLevel},
  };
  for (auto [alias, field] : cases) {
    std::string body = R"({"rules":{"field":")";
    body += alias;
    body += R"(","op":"!=","value":)";
    const RuleType type = RuleFieldOf(field).type;
    body += type == RuleType::kTime    ? R"("2026-01-01")"
            : type == RuleType::kLevel ? R"("Gold")"
                                       : "1";
    body += "}}";
    EXPECT_EQ(Parsed(body).condition.field, field) << alias;
  }
}

TEST(SegmentRulesParseTest, DoubleEqualsIsEquals) {
  EXPECT_EQ(Parsed(R"({"rules":{"field":"visits","operator":"==","value":3}})"),
            Cond(RuleField::kVisits, RuleOp::kEq, {3}));
}

TEST(SegmentRulesParseTest, ValuesOfEachType) {
  EXPECT_EQ(Parsed(R"({"rules":{"field":"averageOrderValue","op":"<","value":-3.07}})"),
            Cond(RuleField::kAverageOrderValue, RuleOp::kLt, {-307}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"totalSpending","op":"=","value":100.5}})"),
            Cond(RuleField::kTotalSpending, RuleOp::kEq, {10050}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"totalSpending","op":"between",)"
                   R"("value":[-1000000000000,999999999999.99]}})"),
            Cond(RuleField::kTotalSpending, RuleOp::kBetween, {-kMaxCents, kMaxCents - 1}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"orderCount","op":"<=","value":3.0}})"),
            Cond(RuleField::kOrderCount, RuleOp::kLe, {3}));
  EXPECT_EQ(
      Parsed(R"({"rules":{"field":"lastOrderAt","op":">","value":"2026-01-31T10:30:00+01:00"}})"),
      Cond(RuleField::kLastOrderAt, RuleOp::kGt, {T("2026-01-31T09:30:00Z")}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"createdAt","op":">=","value":"2024-02-29"}})"),
            Cond(RuleField::kCreatedAt, RuleOp::kGe, {T("2024-02-29T00:00:00Z")}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"lastVisit","op":"in_last_days","value":30}})"),
            Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {30}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"firstOrderAt","op":"between",)"
                   R"("value":["2026-01-01","2026-01-01T00:00:00Z"]}})"),
            Cond(RuleField::kFirstOrderAt, RuleOp::kBetween,
                 {T("2026-01-01T00:00:00Z"), T("2026-01-01T00:00:00Z")}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"email","op":"in","value":["A@x.io","b@x.io"]}})"),
            Cond(RuleField::kEmail, RuleOp::kIn, {}, {"A@x.io", "b@x.io"}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"name","op":"startsWith","value":" Ada"}})"),
            Cond(RuleField::kName, RuleOp::kStartsWith, {}, {" Ada"}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"ownerId","op":"not_in","value":["u1"]}})"),
            Cond(RuleField::kOwnerId, RuleOp::kNotIn, {}, {"u1"}));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"isActive","op":"!=","value":true}})"),
            Cond(RuleField::kIsActive, RuleOp::kNe, {}, {}, true));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"phone","op":"is_empty"}})"),
            Cond(RuleField::kPhone, RuleOp::kIsEmpty));
  EXPECT_EQ(Parsed(R"({"rules":{"field":"phone","op":"is_not_empty","value":null}})"),
            Cond(RuleField::kPhone, RuleOp::kIsNotEmpty));
  // 254 characters, most of them two bytes long.
  std::string long_text;
  for (int i = 0; i < 254; ++i) long_text += "é";
  EXPECT_EQ(Parsed(R"({"rules":{"field":"name","op":"=","value":")" + long_text + "\"}}"),
            Cond(RuleField::kName, RuleOp::kEq, {}, {long_text}));
}

TEST(SegmentRulesParseTest, AcceptsTheLimits) {
  std::string deep = R"({"field":"visits","op":">","value":1})";
  for (int i = 0; i < kMaxRuleDepth; ++i) deep = R"({"not":)" + deep + "}";
  EXPECT_TRUE(ParseBody(R"({"rules":)" + deep + "}"));

  std::string list = R"({"rules":[)";
  for (int i = 0; i < kMaxRuleConditions; ++i) {
    if (i > 0) list += ',';
    list += R"({"field":"visits","op":">","value":1})";
  }
  list += "]}";
  auto r = ParseBody(list);
  ASSERT_TRUE(r);
  EXPECT_EQ(CountConditions(*r), kMaxRuleConditions);

  std::string in = R"({"rules":{"field":"visits","op":"in","value":[0)";
  for (int i = 1; i < 1000; ++i) in += ",1";
  EXPECT_TRUE(ParseBody(in + "]}}"));
}

// --- Validation ---

TEST(SegmentRulesValidationTest, UnknownFieldNamesTheClosest) {
  EXPECT_EQ(
      Errors(R"({"rules":[{"field":"totalSpnding","op":">","value":1}]})"),
      (std::vector<FieldError>{
          {"rules[0].field", R"(Unknown field "totalSpnding"; did you mean "totalSpending"?)"}}));
  // An alias is closest; its canonical name is suggested.
  EXPECT_EQ(Errors(R"({"rules":{"field":"num_visits","op":">","value":1}})"),
            (std::vector<FieldError>{
                {"rules.field", R"(Unknown field "num_visits"; did you mean "visits"?)"}}));
  EXPECT_EQ(Errors(R"({"rules":{"field":"Phone","op":"is_empty"}})"),
            (std::vector<FieldError>{
                {"rules.field", R"(Unknown field "Phone"; did you mean "phone"?)"}}));
}

TEST(SegmentRulesValidationTest, OperatorMustApplyToTheFieldsType) {
  EXPECT_EQ(
      Errors(R"({"rules":[{"field":"totalSpending","operator":"contains","value":"1"}]})"),
      (std::vector<FieldError>{{"rules[0].operator",
                                R"(Operator "contains" does not apply to totalSpending (money); )"
                                "it takes >, >=, <, <=, =, !=, in, not_in, between"}}));
  EXPECT_EQ(Errors(R"({"rules":{"field":"isActive","op":"in","value":[true]}})"),
            (std::vector<FieldError>{{"rules.op",
                                      R"(Operator "in" does not apply to isActive (boolean); )"
                                      "it takes =, !="}}));
  EXPECT_EQ(ErrorPaths(R"({"rules":{"field":"visits","op":"is_empty"}})"), Paths{"rules.op"});
  EXPECT_EQ(ErrorPaths(R"({"rules":{"field":"ownerId","op":"contains","value":"a"}})"),
            Paths{"rules.op"});
  EXPECT_EQ(ErrorPaths(R"({"rules":{"field":"name","op":"in_last_days","value":3}})"),
            Paths{"rules.op"});
  EXPECT_EQ(ErrorPaths(R"({"rules":{"field":"createdAt","op":"in","value":["2026-01-01"]}})"),
            Paths{"rules.op"});
}

TEST(SegmentRulesValidationTest, UnknownOperator) {
  auto errors = Errors(R"({"rules":{"field":"visits","operator":"=>","value":1}})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "rules.operator");
  EXPECT_TRUE(errors[0].message.starts_with(R"(Unknown operator "=>"; operators: >, >=)"))
      << errors[0].message;
  EXPECT_EQ(ErrorPaths(R"({"rules":{"field":"visits","op":3,"value":1}})"), Paths{"rules.op"});
}

TEST(SegmentRulesValidationTest, ConditionNeedsFieldAndOneOperator) {
  EXPECT_EQ(Errors(R"({"rules":[{}]})"), (std::vector<FieldError>{{"rules[0].field", "Is required"},
                                                                  {"rules[0].op", "Is required"}}));
  EXPECT_EQ(Errors(R"({"rules":{"field":"visits","op":">","operator":">","value":1}})"),
            (std::vector<FieldError>{{"rules.operator", "Give either op or operator, not both"}}));
  EXPECT_EQ(Errors(R"({"rules":{"field":7,"op":">","value":1}})"),
            (std::vector<FieldError>{{"rules.field", "Expected a field name, got number"}}));
}

TEST(SegmentRulesValidationTest, UnknownKeysAreNamed) {
  EXPECT_EQ(Errors(R"({"rules":[{"field":"visits","op":">","value":1,"colour":"red"}]})"),
            (std::vector<FieldError>{{"rules[0].colour", R"(Unknown key "colour")"}}));
  // logicalOperator belongs to the conditions of a flat list only.
  EXPECT_EQ(ErrorPaths(R"({"rules":{"and":[{"field":"visits","op":">","value":1,)"
                       R"("logicalOperator":"AND"}]}})"),
            Paths{"rules.and[0].logicalOperator"});
}

TEST(SegmentRulesValidationTest, LogicalOperators) {
  EXPECT_EQ(Errors(R"({"rules":[{"field":"visits","op":">","value":1},)"
                   R"({"field":"visits","op":"<","value":9,"logicalOperator":"XOR"}]})"),
            (std::vector<FieldError>{{"rules[1].logicalOperator", R"(Must be "AND" or "OR")"}}));
  EXPECT_EQ(ErrorPaths(R"({"rules":[{"field":"visits","op":">","value":1},)"
                       R"({"field":"visits","op":"<","value":9,"logicalOperator":1}]})"),
            Paths{"rules[1].logicalOperator"});
  EXPECT_EQ(Errors(R"({"rules":[{"field":"visits","op":">","value":1},)"
                   R"({"field":"visits","op":"<","value":9,"logicalOperator":"OR"}],)"
                   R"("logicalOperator":"AND"})"),
            (std::vector<FieldError>{
                {"logicalOperator",
                 "Give either one top-level logicalOperator or one on each rule, not both"}}));
  EXPECT_EQ(Errors(R"({"rules":[{"field":"visits","op":">","value":1}],"logicalOperator":"NOR"})"),
            (std::vector<FieldError>{{"logicalOperator", R"(Must be "AND" or "OR")"}}));
  EXPECT_EQ(
      ErrorPaths(R"({"rules":{"field":"visits","op":">","value":1},"logicalOperator":"AND"})"),
      Paths{"logicalOperator"});
}

TEST(SegmentRulesValidationTest, ShapeErrors) {
  EXPECT_EQ(Errors(R"({"rules":[]})"),
            (std::vector<FieldError>{{"rules", "At least one rule is required"}}));
  EXPECT_EQ(Errors(R"({"rules":{"and":[]}})"),
            (std::vector<FieldError>{{"rules.and", "A group needs at least one rule"}}));
  EXPECT_EQ(Errors(R"({"rules":{"or":{"field":"visits","op":">","value":1}}})"),
            (std::vector<FieldError>{{"rules.or", "Expected an array of rules, got object"}}));
  EXPECT_EQ(
      Errors(R"({"rules":{"and":[{"field":"visits","op":">","value":1}],"or":[]}})"),
      (std::vector<FieldError>{{"rules", R"(A group has exactly one key: "and", "or" or "not")"}}));
  EXPECT_EQ(Errors(R"({"rules":{"not":[{"field":"visits","op":">","value":1}]}})"),
            (std::vector<FieldError>{{"rules.not", "Expected a rule object, got array"}}));
  EXPECT_EQ(Errors(R"({"rules":{"and":[1]}})"),
            (std::vector<FieldError>{{"rules.and[0]", "Expected a rule object, got number"}}));
  EXPECT_EQ(
      Errors(R"({"rules":"visits > 1"})"),
      (std::vector<FieldError>{{"rules", "Expected an array or an object of rules, got string"}}));
  EXPECT_EQ(Errors(R"({"rules":[null]})"),
            (std::vector<FieldError>{{"rules[0]", "Expected a condition object, got null"}}));
  EXPECT_EQ(ErrorPaths(R"({"rules":[{"and":[{"field":"visits","op":">","value":1}]}]})"),
            Paths{"rules[0]"});
}

TEST(SegmentRulesValidationTest, ValueErrorsByType) {
  auto error_of = [](std::string_view field, std::string_view op, std::string_view value) {
    std::string body = R"({"rules":[{"field":")";
    body += field;
    body += R"(","op":")";
    body += op;
    body += '"';
    if (!value.empty()) {
      body += R"(,"value":)";
      body += value;
    }
    body += "}]}";
    auto errors = Errors(body);
    return errors.size() == 1 ? errors[0] : FieldError{"(not one error)", body};
  };
  const std::string_view kValue = "rules[0].value";
  EXPECT_EQ(error_of("totalSpending", ">", "1.234"),
            (FieldError{std::string(kValue),
                        "Must be an amount with at most two decimal places, "
                        "from -1000000000000 to 1000000000000"}));
  EXPECT_EQ(error_of("totalSpending", ">", "1000000000000.01").field, kValue);
  EXPECT_EQ(error_of("totalSpending", ">", "-1000000000001").field, kValue);
  EXPECT_EQ(error_of("totalSpending", ">", "1e20").field, kValue);
  EXPECT_EQ(error_of("totalSpending", ">", R"("100")"),
            (FieldError{std::string(kValue),
                        "Expected an amount (a number in currency units), got string"}));
  EXPECT_EQ(error_of("visits", ">", "1.5"),
            (FieldError{std::string(kValue), "Must be an integer"}));
  EXPECT_EQ(error_of("visits", ">", "1e20"), (FieldError{std::string(kValue), "Is out of range"}));
  EXPECT_EQ(error_of("visits", ">", "18446744073709551615").message, "Is out of range");
  EXPECT_EQ(error_of("visits", ">", "true"),
            (FieldError{std::string(kValue), "Expected an integer, got boolean"}));
  const std::string time_message =
      "Must be an ISO-8601 datetime with a zone (e.g. 2026-01-31T09:30:00Z) or a date (e.g. "
      "2026-01-31), in years 1 to 9999";
  EXPECT_EQ(error_of("createdAt", ">", R"("2026-02-30")"),
            (FieldError{std::string(kValue), time_message}));
  EXPECT_EQ(error_of("createdAt", ">", R"("2025-02-29")").message, time_message);
  EXPECT_EQ(error_of("createdAt", ">", R"("2026-01-31T09:30:00")").message, time_message);
  EXPECT_EQ(error_of("createdAt", ">", R"("2026-1-31")").message, time_message);
  EXPECT_EQ(error_of("createdAt", ">", R"("yesterday")").message, time_message);
  EXPECT_EQ(error_of("createdAt", ">", "1700000000000"),
            (FieldError{std::string(kValue),
                        "Expected an ISO-8601 datetime or a date (YYYY-MM-DD), got number"}));
  EXPECT_EQ(error_of("name", "=", R"("")"),
            (FieldError{std::string(kValue), "Must be 1 to 254 characters"}));
  EXPECT_EQ(error_of("email", "=", "\"" + std::string(255, 'a') + "\"").message,
            "Must be 1 to 254 characters");
  EXPECT_EQ(error_of("name", "contains", "1"),
            (FieldError{std::string(kValue), "Expected a string, got number"}));
  EXPECT_EQ(error_of("ownerId", "=", R"("")").message, "Must be 1 to 254 characters");
  EXPECT_EQ(error_of("isActive", "=", R"("yes")"),
            (FieldError{std::string(kValue), "Expected true or false, got string"}));
  EXPECT_EQ(error_of("isActive", "=", "null"),
            (FieldError{std::string(kValue), "Expected true or false, got null"}));
  EXPECT_EQ(error_of("visits", "=", ""), (FieldError{std::string(kValue), "Is required"}));
}

TEST(SegmentRulesValidationTest, ValueErrorsByOperator) {
  auto errors_of = [](std::string_view rule) {
    return Errors(R"({"rules":)" + std::string(rule) + "}");
  };
  const std::string days = "Must be a whole number of days, 1 to 36500";
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"in_last_days","value":0})"),
            (std::vector<FieldError>{{"rules.value", days}}));
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"not_in_last_days","value":36501})"),
            (std::vector<FieldError>{{"rules.value", days}}));
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"in_last_days","value":1.5})"),
            (std::vector<FieldError>{{"rules.value", days}}));
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"in_last_days","value":"7"})"),
            (std::vector<FieldError>{{"rules.value", days}}));
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"in_last_days"})"),
            (std::vector<FieldError>{{"rules.value", "Is required"}}));

  EXPECT_EQ(errors_of(R"({"field":"visits","op":"between","value":[1,2,3]})"),
            (std::vector<FieldError>{
                {"rules.value", "Expected an array of two integer values, [low, high]"}}));
  EXPECT_EQ(errors_of(R"({"field":"visits","op":"between","value":5})"),
            (std::vector<FieldError>{
                {"rules.value", "Expected an array of two integer values, [low, high]"}}));
  EXPECT_EQ(
      errors_of(R"({"field":"totalSpending","op":"between","value":[10,9.99]})"),
      (std::vector<FieldError>{{"rules.value", "The low end must not be above the high end"}}));
  EXPECT_EQ(
      errors_of(R"({"field":"createdAt","op":"between","value":["2026-01-02","2026-01-01"]})"),
      (std::vector<FieldError>{{"rules.value", "The low end must not be above the high end"}}));
  EXPECT_EQ(errors_of(R"({"field":"visits","op":"between","value":["a",1.5]})"),
            (std::vector<FieldError>{{"rules.value[0]", "Expected an integer, got string"},
                                     {"rules.value[1]", "Must be an integer"}}));

  const std::string list = "Expected an array of 1 to 1000 text values";
  EXPECT_EQ(errors_of(R"({"field":"name","op":"in","value":[]})"),
            (std::vector<FieldError>{{"rules.value", list}}));
  EXPECT_EQ(errors_of(R"({"field":"name","op":"not_in","value":"Ada"})"),
            (std::vector<FieldError>{{"rules.value", list}}));
  std::string many = R"({"field":"name","op":"in","value":["a")";
  for (int i = 0; i < 1000; ++i) many += R"(,"a")";
  EXPECT_EQ(errors_of(many + "]}"), (std::vector<FieldError>{{"rules.value", list}}));
  EXPECT_EQ(errors_of(R"({"field":"name","op":"in","value":["a",2,"b",""]})"),
            (std::vector<FieldError>{{"rules.value[1]", "Expected a string, got number"},
                                     {"rules.value[3]", "Must be 1 to 254 characters"}}));

  EXPECT_EQ(errors_of(R"({"field":"phone","op":"is_empty","value":""})"),
            (std::vector<FieldError>{{"rules.value", "is_empty takes no value"}}));
  EXPECT_EQ(errors_of(R"({"field":"lastVisit","op":"is_not_empty","value":false})"),
            (std::vector<FieldError>{{"rules.value", "is_not_empty takes no value"}}));
}

TEST(SegmentRulesValidationTest, ReportsEveryViolationWithItsPath) {
  EXPECT_EQ(
      ErrorPaths(R"({"rules":[{"field":"totalSpnding","op":">","value":1},)"
                 R"({"field":"visits","op":">","value":1},)"
                 R"({"field":"visits","op":">","value":"x","logicalOperator":"OR"},)"
                 R"({"field":"name","op":"~","value":"x","extra":1,"logicalOperator":"?"}]})"),
      (Paths{"rules[0].field", "rules[2].value", "rules[3].extra", "rules[3].op",
             "rules[3].logicalOperator"}));
  EXPECT_EQ(
      ErrorPaths(R"({"rules":{"and":[{"field":"visits","op":">","value":1},)"
                 R"({"or":[{"field":"visits","op":"contains","value":1},)"
                 R"({"not":{"field":"nope","op":"=","value":1}}]},)"
                 R"({"not":{"and":[]}}]}})"),
      (Paths{"rules.and[1].or[0].op", "rules.and[1].or[1].not.field", "rules.and[2].not.and"}));
  EXPECT_EQ(ErrorPaths(R"({"rules":{"not":{"field":"x","op":">"}}})"), Paths{"rules.not.field"});
}

TEST(SegmentRulesValidationTest, TooDeepIsOneError) {
  std::string deep = R"({"field":"visits","op":">","value":1})";
  for (int i = 0; i <= kMaxRuleDepth; ++i) deep = R"({"and":[)" + deep + "," + deep + "]}";
  std::string path = "rules";
  for (int i = 0; i <= kMaxRuleDepth; ++i) path += ".and[0]";
  // 2^11 conditions as well: the depth is reported first and parsing stops there.
  EXPECT_EQ(Errors(R"({"rules":)" + deep + "}"),
            (std::vector<FieldError>{{path, "Rules may be nested at most 10 groups deep"}}));
}

TEST(SegmentRulesValidationTest, TooManyConditionsIsOneError) {
  std::string list = R"({"rules":[)";
  for (int i = 0; i <= kMaxRuleConditions; ++i) {
    if (i > 0) list += ',';
    list += R"({"field":"visits","op":">","value":"bad"})";
  }
  list += "]}";
  // A list that long is refused whole, before its items are read.
  EXPECT_EQ(Errors(list),
            (std::vector<FieldError>{{"rules", "At most 200 conditions are allowed"}}));

  // Errors stop at 50, with one more entry saying so: many bad items buy no more.
  std::string bad = R"({"rules":[)";
  for (int i = 0; i < 150; ++i) {
    if (i > 0) bad += ',';
    bad += R"({"field":"visits","op":">","value":"bad"})";
  }
  bad += "]}";
  auto errors = Errors(bad);
  ASSERT_EQ(errors.size(), 51u);
  EXPECT_EQ(errors.back(), (FieldError{"rules", "Too many errors; the rest were not checked"}));
  EXPECT_EQ(errors.front().field, "rules[0].value");

  std::string group = R"({"rules":{"or":[)";
  for (int i = 0; i < 300; ++i) {
    if (i > 0) group += ',';
    group += R"({"field":"visits","op":">","value":1})";
  }
  group += "]}}";
  EXPECT_EQ(Errors(group),
            (std::vector<FieldError>{{"rules", "At most 200 conditions are allowed"}}));
}

TEST(SegmentRulesValidationTest, RulesJsonMustBeJson) {
  auto r = ParseSegmentRulesJson("{");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(r.error().field_errors.empty());
  auto bad = ParseSegmentRulesJson(R"({"field":"visits","op":">"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().field_errors, (std::vector<FieldError>{{"rules.value", "Is required"}}));
}

// --- Meaning ---

TEST(SegmentRulesEvaluateTest, Seed000PrecedenceDecidesWhoMatches) {
  const RuleNode rules = Parsed(kSeed000);
  const Millis now = T("2026-03-01T00:00:00Z");
  Customer big_regular = MakeCustomer();  // a AND b; `(a AND b OR c) AND d` would say no
  big_regular.total_spending_cents = 20000;
  big_regular.visits = 5;
  Customer lapsed_vip = MakeCustomer();  // c AND d
  lapsed_vip.name = "VIP Grace";
  lapsed_vip.is_active = false;
  Customer lapsed = MakeCustomer();  // c alone
  lapsed.is_active = false;
  lapsed.total_spending_cents = 20000;
  Customer small_vip = MakeCustomer();  // b and d; `a AND (b OR c) AND d` would say no too
  small_vip.name = "vip";
  small_vip.visits = 5;
  EXPECT_TRUE(EvaluateRules(rules, big_regular, now));
  EXPECT_TRUE(EvaluateRules(rules, lapsed_vip, now));
  EXPECT_FALSE(EvaluateRules(rules, lapsed, now));
  EXPECT_FALSE(EvaluateRules(rules, small_vip, now));
}

TEST(SegmentRulesEvaluateTest, NumberOperators) {
  Customer c = MakeCustomer();
  c.total_spending_cents = 10000;
  c.stats.order_cents = 50;  // total 100.50
  const Millis now = T("2026-03-01T00:00:00Z");
  auto is = [&](RuleOp op, std::vector<int64_t> numbers) {
    return EvaluateRules(Cond(RuleField::kTotalSpending, op, std::move(numbers)), c, now);
  };
  EXPECT_TRUE(is(RuleOp::kGt, {10049}));
  EXPECT_FALSE(is(RuleOp::kGt, {10050}));
  EXPECT_TRUE(is(RuleOp::kGe, {10050}));
  EXPECT_FALSE(is(RuleOp::kGe, {10051}));
  EXPECT_TRUE(is(RuleOp::kLt, {10051}));
  EXPECT_FALSE(is(RuleOp::kLt, {10050}));
  EXPECT_TRUE(is(RuleOp::kLe, {10050}));
  EXPECT_FALSE(is(RuleOp::kLe, {10049}));
  EXPECT_TRUE(is(RuleOp::kEq, {10050}));
  EXPECT_FALSE(is(RuleOp::kEq, {10000}));
  EXPECT_TRUE(is(RuleOp::kNe, {10000}));
  EXPECT_FALSE(is(RuleOp::kNe, {10050}));
  EXPECT_TRUE(is(RuleOp::kIn, {1, 10050}));
  EXPECT_FALSE(is(RuleOp::kIn, {1, 2}));
  EXPECT_TRUE(is(RuleOp::kNotIn, {1, 2}));
  EXPECT_FALSE(is(RuleOp::kNotIn, {10050}));
  EXPECT_TRUE(is(RuleOp::kBetween, {10050, 10050}));
  EXPECT_TRUE(is(RuleOp::kBetween, {0, 10050}));
  EXPECT_FALSE(is(RuleOp::kBetween, {10051, 20000}));
}

TEST(SegmentRulesEvaluateTest, EachFieldReadsTheServedFigure) {
  Customer c = MakeCustomer();
  c.total_spending_cents = 1000;
  c.visits = 2;
  c.last_visit = T("2026-01-10T00:00:00Z");
  c.stats.order_count = 3;
  c.stats.order_cents = 1001;  // average 333.67 → 334 cents
  c.stats.recorded_visits = 4;
  c.stats.first_order_at = T("2025-06-01T00:00:00Z");
  c.stats.last_order_at = T("2026-01-20T00:00:00Z");
  c.stats.last_activity = T("2026-02-01T00:00:00Z");
  c.owner_id = "0190d8a0-0000-7000-8000-00000000000a";
  c.phone = "+1 555";
  const Millis now = T("2026-03-01T00:00:00Z");
  auto eq = [&](RuleField field, int64_t v) {
    return EvaluateRules(Cond(field, RuleOp::kEq, {v}), c, now);
  };
  EXPECT_TRUE(eq(RuleField::kTotalSpending, 2001));
  EXPECT_TRUE(eq(RuleField::kAverageOrderValue, 334));
  EXPECT_TRUE(eq(RuleField::kVisits, 9));  // baseline + recorded + orders
  EXPECT_TRUE(eq(RuleField::kOrderCount, 3));
  EXPECT_TRUE(eq(RuleField::kLastVisit, T("2026-02-01T00:00:00Z")));  // the later one
  EXPECT_TRUE(eq(RuleField::kLastOrderAt, T("2026-01-20T00:00:00Z")));
  EXPECT_TRUE(eq(RuleField::kFirstOrderAt, T("2025-06-01T00:00:00Z")));
  EXPECT_TRUE(eq(RuleField::kCreatedAt, T("2025-01-01T00:00:00Z")));
  EXPECT_TRUE(eq(RuleField::kInactiveDays, 28));  // since the last activity, 1 February
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kPhone, RuleOp::kEq, {}, {"+1 555"}), c, now));
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kEmail, RuleOp::kEq, {}, {"ADA@example.com"}), c, now));
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kIsActive, RuleOp::kEq, {}, {}, true), c, now));
  EXPECT_FALSE(EvaluateRules(Cond(RuleField::kIsActive, RuleOp::kNe, {}, {}, true), c, now));
  c.is_active = false;
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kIsActive, RuleOp::kNe, {}, {}, true), c, now));
}

TEST(SegmentRulesEvaluateTest, MissingValuesMatchOnlyTheNegativeOperators) {
  const Customer c = MakeCustomer();  // no phone, no owner, no visit, no order
  const Millis now = T("2026-03-01T00:00:00Z");
  for (RuleField field : {RuleField::kPhone, RuleField::kOwnerId}) {
    auto is = [&](RuleOp op) { return EvaluateRules(Cond(field, op, {}, {"x"}), c, now); };
    EXPECT_TRUE(is(RuleOp::kIsEmpty));
    EXPECT_TRUE(is(RuleOp::kNe));
    EXPECT_TRUE(is(RuleOp::kNotIn));
    EXPECT_FALSE(is(RuleOp::kIsNotEmpty));
    EXPECT_FALSE(is(RuleOp::kEq));
    EXPECT_FALSE(is(RuleOp::kIn));
    if (field == RuleField::kPhone) {
      EXPECT_FALSE(is(RuleOp::kContains));
      EXPECT_FALSE(is(RuleOp::kStartsWith));
      EXPECT_FALSE(is(RuleOp::kEndsWith));
    }
  }
  for (RuleField field :
       {RuleField::kLastVisit, RuleField::kLastOrderAt, RuleField::kFirstOrderAt}) {
    auto is = [&](RuleOp op, std::vector<int64_t> numbers) {
      return EvaluateRules(Cond(field, op, std::move(numbers)), c, now);
    };
    EXPECT_TRUE(is(RuleOp::kIsEmpty, {}));
    EXPECT_TRUE(is(RuleOp::kNe, {now}));
    EXPECT_TRUE(is(RuleOp::kNotInLastDays, {30}));
    EXPECT_FALSE(is(RuleOp::kIsNotEmpty, {}));
    EXPECT_FALSE(is(RuleOp::kInLastDays, {36500}));
    EXPECT_FALSE(is(RuleOp::kGt, {kMinTimestampMillis}));
    EXPECT_FALSE(is(RuleOp::kLt, {kMaxTimestampMillis}));
    EXPECT_FALSE(is(RuleOp::kGe, {kMinTimestampMillis}));
    EXPECT_FALSE(is(RuleOp::kLe, {kMaxTimestampMillis}));
    EXPECT_FALSE(is(RuleOp::kEq, {now}));
    EXPECT_FALSE(is(RuleOp::kBetween, {kMinTimestampMillis, kMaxTimestampMillis}));
  }
  // A value present: is_empty no longer matches.
  Customer with = c;
  with.phone = "+1 555";
  with.stats.last_order_at = now;
  EXPECT_FALSE(EvaluateRules(Cond(RuleField::kPhone, RuleOp::kIsEmpty), with, now));
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kPhone, RuleOp::kIsNotEmpty), with, now));
  EXPECT_FALSE(EvaluateRules(Cond(RuleField::kLastOrderAt, RuleOp::kIsEmpty), with, now));
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kLastOrderAt, RuleOp::kIsNotEmpty), with, now));
}

TEST(SegmentRulesEvaluateTest, InLastDaysIncludesTheBoundaryAndTheFuture) {
  const Millis now = T("2026-03-01T12:00:00Z");
  Customer c = MakeCustomer();
  auto in_last = [&](Millis visit, int64_t days) {
    c.last_visit = visit;
    const bool in = EvaluateRules(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {days}), c, now);
    const bool out =
        EvaluateRules(Cond(RuleField::kLastVisit, RuleOp::kNotInLastDays, {days}), c, now);
    EXPECT_NE(in, out);
    return in;
  };
  EXPECT_TRUE(in_last(now - 7 * kDay, 7));
  EXPECT_FALSE(in_last(now - 7 * kDay - 1, 7));
  EXPECT_TRUE(in_last(now, 1));
  EXPECT_TRUE(in_last(now + 30 * kDay, 1));
  EXPECT_TRUE(in_last(now - 36500 * kDay, 36500));
  EXPECT_FALSE(in_last(kMinTimestampMillis, 36500));
}

TEST(SegmentRulesEvaluateTest, TimeComparisons) {
  const Millis now = T("2026-03-01T00:00:00Z");
  Customer c = MakeCustomer();
  c.stats.first_order_at = T("2026-01-15T10:00:00Z");
  auto is = [&](RuleOp op, std::vector<int64_t> numbers) {
    return EvaluateRules(Cond(RuleField::kFirstOrderAt, op, std::move(numbers)), c, now);
  };
  EXPECT_TRUE(is(RuleOp::kGt, {T("2026-01-15T00:00:00Z")}));
  EXPECT_FALSE(is(RuleOp::kLt, {T("2026-01-15T00:00:00Z")}));
  EXPECT_TRUE(is(RuleOp::kBetween, {T("2026-01-15T00:00:00Z"), T("2026-01-16T00:00:00Z")}));
  EXPECT_TRUE(is(RuleOp::kEq, {T("2026-01-15T10:00:00Z")}));
  EXPECT_FALSE(is(RuleOp::kEq, {T("2026-01-15T10:00:00.001Z")}));
}

TEST(SegmentRulesEvaluateTest, InactiveDays) {
  const Millis now = T("2026-03-01T12:00:00Z");
  auto inactive = [&](const Customer& c, int64_t days) {
    return EvaluateRules(Cond(RuleField::kInactiveDays, RuleOp::kEq, {days}), c, now);
  };
  Customer c = MakeCustomer();
  c.created_at = now - 10 * kDay - 1;
  EXPECT_TRUE(inactive(c, 10));  // from createdAt, rounded down
  c.created_at = now - 10 * kDay + 1;
  EXPECT_TRUE(inactive(c, 9));
  c.stats.last_order_at = now - 3 * kDay;
  EXPECT_TRUE(inactive(c, 3));  // from the last order
  c.last_visit = now - 2 * kDay - kDay / 2;
  EXPECT_TRUE(inactive(c, 2));  // from the later last visit
  c.stats.last_order_at = now + 5 * kDay;
  EXPECT_TRUE(inactive(c, 0));  // never below 0
  Customer old = MakeCustomer();
  old.created_at = std::numeric_limits<Millis>::min();
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kInactiveDays, RuleOp::kGt, {1'000'000'000}), old,
                            std::numeric_limits<Millis>::max()));
}

TEST(SegmentRulesEvaluateTest, ExtremeOperandsDoNotOverflow) {
  Customer c = MakeCustomer();
  c.last_visit = std::numeric_limits<Millis>::min();
  const int64_t huge = std::numeric_limits<int64_t>::max();
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {huge}), c,
                            std::numeric_limits<Millis>::max()));
  EXPECT_FALSE(EvaluateRules(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {-huge}), c, 0));
  EXPECT_TRUE(EvaluateRules(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {1}), c,
                            std::numeric_limits<Millis>::min()));
}

TEST(SegmentRulesEvaluateTest, TextIgnoresCaseInUnicode) {
  const Millis now = 0;
  Customer c = MakeCustomer();
  c.name = "Jürgen STRAUSS";
  auto is = [&](RuleOp op, std::vector<std::string> texts) {
    return EvaluateRules(Cond(RuleField::kName, op, {}, std::move(texts)), c, now);
  };
  EXPECT_TRUE(is(RuleOp::kContains, {"JÜRG"}));
  EXPECT_TRUE(is(RuleOp::kContains, {"strauß"}));
  EXPECT_FALSE(is(RuleOp::kContains, {"jurgen"}));
  EXPECT_TRUE(is(RuleOp::kStartsWith, {"jü"}));
  EXPECT_FALSE(is(RuleOp::kStartsWith, {"strauss"}));
  EXPECT_TRUE(is(RuleOp::kEndsWith, {"Strauss"}));
  EXPECT_TRUE(is(RuleOp::kEq, {"JÜRGEN strauss"}));
  EXPECT_FALSE(is(RuleOp::kEq, {"Jürgen"}));
  EXPECT_TRUE(is(RuleOp::kNe, {"Jürgen"}));
  EXPECT_TRUE(is(RuleOp::kIn, {"x", "jürgen strauß"}));
  EXPECT_FALSE(is(RuleOp::kNotIn, {"x", "jürgen strauß"}));
  c.name = "Σίσυφος";
  EXPECT_TRUE(is(RuleOp::kEq, {"ΣΊΣΥΦΟΣ"}));
}

TEST(SegmentRulesEvaluateTest, OwnerIdIsExact) {
  Customer c = MakeCustomer();
  c.owner_id = "0190d8a0-0000-7000-8000-00000000000a";
  auto is = [&](RuleOp op, std::vector<std::string> texts) {
    return EvaluateRules(Cond(RuleField::kOwnerId, op, {}, std::move(texts)), c, 0);
  };
  EXPECT_TRUE(is(RuleOp::kEq, {"0190d8a0-0000-7000-8000-00000000000a"}));
  EXPECT_FALSE(is(RuleOp::kEq, {"0190D8A0-0000-7000-8000-00000000000A"}));
  EXPECT_TRUE(is(RuleOp::kIn, {"a", "0190d8a0-0000-7000-8000-00000000000a"}));
  EXPECT_TRUE(is(RuleOp::kNotIn, {"0190D8A0-0000-7000-8000-00000000000A"}));
  EXPECT_TRUE(is(RuleOp::kIsNotEmpty, {}));
}

TEST(SegmentRulesEvaluateTest, GroupsAndNot) {
  const Customer c = MakeCustomer();  // no spending, no visits, active
  const RuleNode yes = Cond(RuleField::kIsActive, RuleOp::kEq, {}, {}, true);
  const RuleNode no = Cond(RuleField::kVisits, RuleOp::kGt, {0});
  EXPECT_TRUE(EvaluateRules(And({yes, yes}), c, 0));
  EXPECT_FALSE(EvaluateRules(And({yes, no}), c, 0));
  EXPECT_TRUE(EvaluateRules(Or({no, yes}), c, 0));
  EXPECT_FALSE(EvaluateRules(Or({no, no}), c, 0));
  EXPECT_TRUE(EvaluateRules(Not(no), c, 0));
  EXPECT_FALSE(EvaluateRules(Not(Not(no)), c, 0));
}

// --- Canonical JSON ---

TEST(SegmentRulesEncodeTest, WritesTheSeed001ShapeWithCanonicalNames) {
  const RuleNode rules = Or({
      And({Cond(RuleField::kTotalSpending, RuleOp::kGt, {10050}),
           Cond(RuleField::kAverageOrderValue, RuleOp::kBetween, {-307, 10000})}),
      Not(Cond(RuleField::kPhone, RuleOp::kIsEmpty)),
      Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {30}),
      Cond(RuleField::kCreatedAt, RuleOp::kGe, {T("2026-01-31T00:00:00Z")}),
      Cond(RuleField::kName, RuleOp::kIn, {}, {"Ada \"A\"", "Bo"}),
      Cond(RuleField::kIsActive, RuleOp::kEq, {}, {}, true),
      Cond(RuleField::kVisits, RuleOp::kNotIn, {1, -2}),
      Cond(RuleField::kTotalSpending, RuleOp::kIn, {5, -50, 0, 100}),
  });
  EXPECT_EQ(EncodeSegmentRules(rules),
            R"({"or":[{"and":[{"field":"totalSpending","op":">","value":100.5},)"
            R"({"field":"averageOrderValue","op":"between","value":[-3.07,100]}]},)"
            R"({"not":{"field":"phone","op":"is_empty"}},)"
            R"({"field":"lastVisit","op":"in_last_days","value":30},)"
            R"({"field":"createdAt","op":">=","value":"2026-01-31T00:00:00.000Z"},)"
            R"({"field":"name","op":"in","value":["Ada \"A\"","Bo"]},)"
            R"({"field":"isActive","op":"=","value":true},)"
            R"({"field":"visits","op":"not_in","value":[1,-2]},)"
            R"({"field":"totalSpending","op":"in","value":[0.05,-0.5,0,1]}]})");
}

TEST(SegmentRulesEncodeTest, SeedShapesEncodeCanonically) {
  EXPECT_EQ(EncodeSegmentRules(Parsed(
                R"({"rules":[{"field":"totalSpend","operator":">","value":100},)"
                R"({"field":"numVisits","operator":"==","value":3}],"logicalOperator":"AND"})")),
            R"({"and":[{"field":"totalSpending","op":">","value":100},)"
            R"({"field":"visits","op":"=","value":3}]})");
}

// Random valid trees, from a fixed seed.
class RandomRules {
 public:
  explicit RandomRules(uint64_t seed) : rng_(seed) {}

  RuleNode Tree(int depth) {
    const int pick = Int(0, 9);
    if (depth == 0 || pick < 5) return Condition();
    if (pick == 5) return Not(Tree(depth - 1));
    std::vector<RuleNode> children;
    const int n = Int(1, 3);
    for (int i = 0; i < n; ++i) children.push_back(Tree(depth - 1));
    return Group(pick % 2 ? Kind::kAnd : Kind::kOr, std::move(children));
  }

 private:
  int64_t Int(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }

  int64_t Number(RuleType type) {
    switch (type) {
      case RuleType::kMoney: {
        static constexpr int64_t kEdges[] = {0, 1, -1, 5, 10, 99, 100, -307, 10050};
        if (Int(0, 3) == 0) return kEdges[Int(0, std::size(kEdges) - 1)];
        return Int(-10'000'000'000'000, 10'000'000'000'000);
      }
      case RuleType::kCount:
        if (Int(0, 9) == 0) {
          return Int(0, 1) ? std::numeric_limits<int64_t>::max()
                           : std::numeric_limits<int64_t>::min();
        }
        return Int(-1'000'000, 1'000'000);
      default:
        return Int(kMinTimestampMillis, kMaxTimestampMillis);
    }
  }

  std::string Text() {
    static const std::string_view kPieces[] = {"a",  "Z", "ß", "é",    "Σ", "\"", "\\",
                                               "\n", "😀", " ", "\x01", "/", "İ",  "ﬃ"};
    std::string out;
    const int n = Int(0, 20) == 0 ? 254 : static_cast<int>(Int(1, 12));
    for (int i = 0; i < n; ++i) out += kPieces[Int(0, std::size(kPieces) - 1)];
    return out;
  }

  RuleNode Condition() {
    const auto fields = RuleFields();
    const RuleFieldInfo& info = fields[Int(0, fields.size() - 1)];
    std::vector<RuleOp> ops;
    for (int op = 0; op <= static_cast<int>(RuleOp::kIsNotEmpty); ++op) {
      if (RuleOpApplies(static_cast<RuleOp>(op), info.type)) ops.push_back(static_cast<RuleOp>(op));
    }
    const RuleOp op = ops[Int(0, ops.size() - 1)];
    RuleNode node = Cond(info.field, op);
    RuleCondition& c = node.condition;
    const bool text =
        info.type == RuleType::kText || info.type == RuleType::kId || info.type == RuleType::kList;
    auto operand = [&] {
      if (info.type == RuleType::kBool) {
        c.flag = Int(0, 1) == 1;
      } else if (info.field == RuleField::kStatus) {  // only their names parse
        c.texts.emplace_back(CustomerStatusName(static_cast<CustomerStatus>(Int(0, 3))));
      } else if (info.field == RuleField::kCustomerType) {
        c.texts.emplace_back(CustomerTypeName(static_cast<CustomerType>(Int(0, 1))));
      } else if (info.type == RuleType::kList) {  // a tag looked for is read trimmed
        std::string tag(TrimSpace(Text()));
        c.texts.push_back(tag.empty() ? "t" : tag);
      } else if (info.type == RuleType::kLevel) {  // a level's rank, written as its name
        c.numbers.push_back(Int(0, kLoyaltyLevels - 1));
      } else if (info.type == RuleType::kScore) {
        c.numbers.push_back(Int(1, 5));
      } else if (text) {
        c.texts.push_back(Text());
      } else {
        c.numbers.push_back(Number(info.type));
      }
    };
    switch (op) {
      case RuleOp::kIsEmpty:
      case RuleOp::kIsNotEmpty:
        break;
      case RuleOp::kInLastDays:
      case RuleOp::kNotInLastDays:
        c.numbers.push_back(Int(1, 36500));
        break;
      case RuleOp::kBetween:
        operand();
        operand();
        if (c.numbers[0] > c.numbers[1]) std::swap(c.numbers[0], c.numbers[1]);
        break;
      case RuleOp::kIn:
      case RuleOp::kNotIn:
        for (int i = Int(1, 5); i > 0; --i) operand();
        break;
      default:
        operand();
    }
    return node;
  }

  std::mt19937_64 rng_;
};

TEST(SegmentRulesEncodeTest, RandomTreesParseBackEqual) {
  RandomRules random(15);
  for (int i = 0; i < 3000; ++i) {
    const RuleNode tree = random.Tree(4);
    const std::string json = EncodeSegmentRules(tree);
    auto parsed = ParseSegmentRulesJson(json);
    ASSERT_TRUE(parsed) << json << "\n" << Describe(parsed.error());
    ASSERT_EQ(*parsed, tree) << json;
  }
}

TEST(SegmentRulesEncodeTest, ExtremeValuesParseBackEqual) {
  const RuleNode tree = And({
      Cond(RuleField::kCreatedAt, RuleOp::kBetween, {kMinTimestampMillis, kMaxTimestampMillis}),
      Cond(RuleField::kTotalSpending, RuleOp::kIn, {-kMaxCents, kMaxCents, kMaxCents - 1, 1}),
      Cond(RuleField::kVisits, RuleOp::kBetween,
           {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}),
      Not(Not(Not(Not(Not(
          Not(Not(Not(Not(Cond(RuleField::kLastOrderAt, RuleOp::kNotInLastDays, {36500})))))))))),
  });
  auto parsed = ParseSegmentRulesJson(EncodeSegmentRules(tree));
  ASSERT_TRUE(parsed) << EncodeSegmentRules(tree) << "\n" << Describe(parsed.error());
  EXPECT_EQ(*parsed, tree);
}

// --- Seed 002's fields ---

TEST(SegmentRulesSeed002Test, ParsesAndEvaluatesStatusTypeBirthDateAndTags) {
  auto tree = ParseSegmentRulesJson(
      R"({"and":[{"field":"status","op":"in","value":["LEAD","OPPORTUNITY"]},)"
      R"({"field":"customerType","op":"=","value":"COMPANY"},)"
      R"({"field":"birthDate","op":"<","value":"2000-01-01"},)"
      R"({"field":"tags","op":"contains","value":"VIP"}]})");
  ASSERT_TRUE(tree) << Describe(tree.error());
  auto back = ParseSegmentRulesJson(EncodeSegmentRules(*tree));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *tree);

  Customer c;
  c.id = "c1";
  c.status = CustomerStatus::kLead;
  c.customer_type = CustomerType::kCompany;
  c.details.mut().birth_date = "1990-05-01";
  c.details.mut().tags = {"vip", "b2b"};
  const Millis now = 1'700'000'000'000;
  EXPECT_TRUE(EvaluateRules(*tree, c, now));
  c.status = CustomerStatus::kCustomer;
  EXPECT_FALSE(EvaluateRules(*tree, c, now));
  c.status = CustomerStatus::kOpportunity;
  c.details.mut().tags = {"b2b"};
  EXPECT_FALSE(EvaluateRules(*tree, c, now));
  c.details.mut().tags = {"Vip"};
  EXPECT_TRUE(EvaluateRules(*tree, c, now));
  c.details.mut().birth_date.reset();  // unknown: < matches nothing
  EXPECT_FALSE(EvaluateRules(*tree, c, now));

  auto empty = ParseSegmentRulesJson(
      R"({"and":[{"field":"tags","op":"is_empty"},{"field":"birthDate","op":"is_empty"}]})");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(EvaluateRules(*empty, c, now));
  c.details.mut().tags.clear();
  EXPECT_TRUE(EvaluateRules(*empty, c, now));
}

TEST(SegmentRulesSeed002Test, RefusesUnknownStatusesTypesAndOperators) {
  auto bad =
      ParseSegmentRulesJson(R"({"and":[{"field":"status","op":"=","value":"lead"},)"
                            R"({"field":"customerType","op":"in","value":["PERSON","ROBOT"]},)"
                            R"({"field":"tags","op":"=","value":"vip"},)"
                            R"({"field":"birthDate","op":">","value":"not a date"}]})");
  ASSERT_FALSE(bad);
  std::vector<std::string> fields;
  for (const auto& e : bad.error().field_errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"rules.and[0].value", "rules.and[1].value",
                                              "rules.and[2].op", "rules.and[3].value"}))
      << Describe(bad.error());
}

// --- The loyalty standing ---

constexpr RuleField kStandingFields[] = {RuleField::kLevel, RuleField::kRecencyScore,
                                         RuleField::kFrequencyScore, RuleField::kMonetaryScore};

// A customer the level keeper scored R, F, M at `level`.
Customer Scored(int recency, int frequency, int monetary, LoyaltyLevel level) {
  Customer c = MakeCustomer();
  c.standing = StandingOf({recency, frequency, monetary}, level);
  return c;
}

TEST(SegmentRulesLoyaltyTest, FieldsAreNullableLevelAndScores) {
  EXPECT_EQ(RuleFieldOf(RuleField::kLevel).name, "level");
  EXPECT_EQ(RuleFieldOf(RuleField::kLevel).type, RuleType::kLevel);
  for (RuleField field : kStandingFields) {
    EXPECT_TRUE(RuleFieldOf(field).may_be_empty) << RuleFieldOf(field).name;
    if (field != RuleField::kLevel) {
      EXPECT_EQ(RuleFieldOf(field).type, RuleType::kScore) << RuleFieldOf(field).name;
    }
  }
  EXPECT_EQ(FindRuleField("recencyScore"), RuleField::kRecencyScore);
  EXPECT_EQ(FindRuleField("frequencyScore"), RuleField::kFrequencyScore);
  EXPECT_EQ(FindRuleField("monetaryScore"), RuleField::kMonetaryScore);
  EXPECT_EQ(FindRuleField("loyaltyLevel"), RuleField::kLevel);
  EXPECT_EQ(FindRuleField("customerLevel"), RuleField::kLevel);
  EXPECT_EQ(FindRuleField("Level"), std::nullopt);
}

TEST(SegmentRulesLoyaltyTest, ParsesEveryOperatorOnEachField) {
  struct Case {
    std::string_view op, value;
    RuleOp rule_op;
    std::vector<int64_t> level_numbers, score_numbers;
  };
  const Case cases[] = {
      {">", R"("Silver")", RuleOp::kGt, {1}, {}},
      {">=", R"("Gold")", RuleOp::kGe, {2}, {}},
      {"<", R"("Platinum")", RuleOp::kLt, {3}, {}},
      {"<=", R"("Bronze")", RuleOp::kLe, {0}, {}},
      {"=", R"("Gold")", RuleOp::kEq, {2}, {}},
      {"==", R"("Gold")", RuleOp::kEq, {2}, {}},
      {"!=", R"("Silver")", RuleOp::kNe, {1}, {}},
      {"in", R"(["Gold","Platinum"])", RuleOp::kIn, {2, 3}, {}},
      {"not_in", R"(["Bronze"])", RuleOp::kNotIn, {0}, {}},
      {"between", R"(["Silver","Gold"])", RuleOp::kBetween, {1, 2}, {}},
      {"is_empty", "", RuleOp::kIsEmpty, {}, {}},
      {"is_not_empty", "null", RuleOp::kIsNotEmpty, {}, {}},
  };
  const std::pair<std::string_view, std::vector<int64_t>> score_values[] = {
      {"4", {4}},   {"5", {5}},        {"1", {1}}, {"3.0", {3}},
      {"2", {2}},   {"3", {3}},        {"1", {1}}, {"[1,5,3]", {1, 5, 3}},
      {"[2]", {2}}, {"[2,4]", {2, 4}}, {"", {}},   {"null", {}}};
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& k = cases[i];
    for (RuleField field : kStandingFields) {
      const bool level = field == RuleField::kLevel;
      std::string body = R"({"rules":{"field":")";
      body += RuleFieldOf(field).name;
      body += R"(","op":")";
      body += k.op;
      body += '"';
      const std::string_view value = level ? k.value : score_values[i].first;
      if (!value.empty()) {
        body += R"(,"value":)";
        body += value;
      }
      body += "}}";
      const RuleNode tree = Parsed(body);
      EXPECT_EQ(tree, Cond(field, k.rule_op, level ? k.level_numbers : score_values[i].second))
          << body;
      // Written back canonically (a level by its name) and read back equal.
      const std::string json = EncodeSegmentRules(tree);
      if (level && !k.level_numbers.empty()) {
        std::string name = "\"";
        name += LoyaltyLevelName(static_cast<LoyaltyLevel>(k.level_numbers.front()));
        name += '"';
        EXPECT_NE(json.find(name), std::string::npos) << json;
      }
      auto back = ParseSegmentRulesJson(json);
      ASSERT_TRUE(back) << json;
      EXPECT_EQ(*back, tree) << json;
    }
  }
  EXPECT_EQ(EncodeSegmentRules(Parsed(R"({"rules":{"field":"customerLevel","op":"in",)"
                                      R"("value":["Platinum","Bronze"]}})")),
            R"({"field":"level","op":"in","value":["Platinum","Bronze"]})");
}

TEST(SegmentRulesLoyaltyTest, RefusesBadValuesAndOperatorsNamingThePath) {
  auto errors_of = [](std::string_view rule) {
    return Errors(R"({"rules":)" + std::string(rule) + "}");
  };
  const std::string levels = "Must be Bronze, Silver, Gold or Platinum";
  const std::string scores = "Must be an integer from 1 to 5";
  EXPECT_EQ(errors_of(R"({"field":"level","op":"=","value":"gold"})"),
            (std::vector<FieldError>{{"rules.value", levels}}));
  EXPECT_EQ(errors_of(R"({"field":"loyaltyLevel","op":"=","value":"Diamond"})"),
            (std::vector<FieldError>{{"rules.value", levels}}));
  EXPECT_EQ(errors_of(R"({"field":"level","op":">=","value":2})"),
            (std::vector<FieldError>{{"rules.value", "Expected a level name, got number"}}));
  EXPECT_EQ(errors_of(R"({"field":"level","op":"=","value":""})"),
            (std::vector<FieldError>{{"rules.value", levels}}));
  EXPECT_EQ(
      errors_of(R"({"and":[{"field":"visits","op":">","value":1},)"
                R"({"field":"level","op":"in","value":["Gold","GOLD",null]}]})"),
      (std::vector<FieldError>{{"rules.and[1].value[1]", levels},
                               {"rules.and[1].value[2]", "Expected a level name, got null"}}));
  EXPECT_EQ(
      errors_of(R"({"field":"level","op":"between","value":["Gold","Silver"]})"),
      (std::vector<FieldError>{{"rules.value", "The low end must not be above the high end"}}));
  EXPECT_EQ(
      errors_of(R"({"field":"level","op":"in","value":[]})"),
      (std::vector<FieldError>{{"rules.value", "Expected an array of 1 to 1000 level values"}}));
  EXPECT_EQ(errors_of(R"({"field":"level","op":"is_empty","value":"Gold"})"),
            (std::vector<FieldError>{{"rules.value", "is_empty takes no value"}}));
  EXPECT_EQ(errors_of(R"({"field":"level","op":"="})"),
            (std::vector<FieldError>{{"rules.value", "Is required"}}));

  for (std::string_view field : {"recencyScore", "frequencyScore", "monetaryScore"}) {
    auto rule = [&](std::string_view op, std::string_view value) {
      std::string r = R"({"field":")";
      r += field;
      r += R"(","op":")";
      r += op;
      r += R"(","value":)";
      r += value;
      r += "}";
      return errors_of(r);
    };
    EXPECT_EQ(rule(">", "0"), (std::vector<FieldError>{{"rules.value", scores}})) << field;
    EXPECT_EQ(rule("=", "6"), (std::vector<FieldError>{{"rules.value", scores}})) << field;
    EXPECT_EQ(rule("=", "-1"), (std::vector<FieldError>{{"rules.value", scores}})) << field;
    EXPECT_EQ(rule("<", "2.5"), (std::vector<FieldError>{{"rules.value", scores}})) << field;
    EXPECT_EQ(rule("<", "1e20"), (std::vector<FieldError>{{"rules.value", scores}})) << field;
    EXPECT_EQ(rule("=", R"("3")"),
              (std::vector<FieldError>{
                  {"rules.value", "Expected a score (an integer 1 to 5), got string"}}))
        << field;
    EXPECT_EQ(rule("in", "[1,9,5]"), (std::vector<FieldError>{{"rules.value[1]", scores}}))
        << field;
    EXPECT_EQ(rule("between", "[0,3]"), (std::vector<FieldError>{{"rules.value[0]", scores}}))
        << field;
    EXPECT_EQ(
        rule("between", "[4,2]"),
        (std::vector<FieldError>{{"rules.value", "The low end must not be above the high end"}}))
        << field;
  }

  // Operators of other types, with the ones the field takes.
  auto op_error = [&](std::string_view rule) {
    auto errors = errors_of(rule);
    return errors.size() == 1 ? errors[0] : FieldError{"(not one error)", std::string(rule)};
  };
  EXPECT_EQ(op_error(R"({"field":"level","op":"contains","value":"Gold"})"),
            (FieldError{"rules.op",
                        "Operator \"contains\" does not apply to level (level); it takes >, >=, "
                        "<, <=, =, !=, in, not_in, between, is_empty, is_not_empty"}));
  EXPECT_EQ(op_error(R"({"field":"recencyScore","op":"in_last_days","value":3})"),
            (FieldError{"rules.op",
                        "Operator \"in_last_days\" does not apply to recencyScore (score); it "
                        "takes >, >=, <, <=, =, !=, in, not_in, between, is_empty, is_not_empty"}));
  EXPECT_EQ(op_error(R"({"field":"monetaryScore","op":"startsWith","value":"1"})").field,
            "rules.op");
  // A misspelt field is pointed to the closest.
  EXPECT_EQ(
      op_error(R"({"field":"recencyScor","op":">","value":3})"),
      (FieldError{"rules.field", "Unknown field \"recencyScor\"; did you mean \"recencyScore\"?"}));
}

TEST(SegmentRulesLoyaltyTest, AnUnscoredCustomerMatchesOnlyTheNegativeOperators) {
  // Not scored(): no standing a customer can hold (nothing recorded is Bronze, 1, 1, 1), but the
  // evaluators treat it as missing.
  Customer c = MakeCustomer();
  c.standing = LoyaltyStanding{0, 0, 0};
  ASSERT_FALSE(c.standing.scored());
  const Millis now = T("2026-03-01T00:00:00Z");
  for (RuleField field : kStandingFields) {
    // A standing that is not scored() must not read as Bronze (rank 0) or score 1.
    const int64_t v = field == RuleField::kLevel ? 0 : 1;
    auto is = [&](RuleOp op, std::vector<int64_t> numbers) {
      return EvaluateRules(Cond(field, op, std::move(numbers)), c, now);
    };
    EXPECT_TRUE(is(RuleOp::kIsEmpty, {}));
    EXPECT_TRUE(is(RuleOp::kNe, {v}));
    EXPECT_TRUE(is(RuleOp::kNotIn, {v, 2, 3}));
    EXPECT_FALSE(is(RuleOp::kIsNotEmpty, {}));
    EXPECT_FALSE(is(RuleOp::kEq, {v}));
    EXPECT_FALSE(is(RuleOp::kIn, {v, 1, 2, 3, 4, 5}));
    EXPECT_FALSE(is(RuleOp::kGe, {v}));
    EXPECT_FALSE(is(RuleOp::kGt, {-1}));
    EXPECT_FALSE(is(RuleOp::kLe, {5}));
    EXPECT_FALSE(is(RuleOp::kLt, {6}));
    EXPECT_FALSE(is(RuleOp::kBetween, {v, 5}));
    EXPECT_EQ(RuleNumberOf(field, c, now), std::nullopt);
  }
}

TEST(SegmentRulesLoyaltyTest, ScoredCustomersCompareByLevelOrderAndScore) {
  const Millis now = T("2026-03-01T00:00:00Z");
  const Customer gold = Scored(5, 3, 4, LoyaltyLevel::kGold);
  auto is = [&](const Customer& c, std::string_view rule) {
    auto tree = ParseSegmentRulesJson(rule);
    EXPECT_TRUE(tree) << rule;
    return tree && EvaluateRules(*tree, c, now);
  };
  EXPECT_TRUE(is(gold, R"({"field":"level","op":"=","value":"Gold"})"));
  EXPECT_FALSE(is(gold, R"({"field":"level","op":"!=","value":"Gold"})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":">=","value":"Gold"})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":">","value":"Silver"})"));
  EXPECT_FALSE(is(gold, R"({"field":"level","op":">","value":"Gold"})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":"<","value":"Platinum"})"));
  EXPECT_FALSE(is(gold, R"({"field":"level","op":"<=","value":"Silver"})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":"between","value":["Silver","Platinum"]})"));
  EXPECT_FALSE(is(gold, R"({"field":"level","op":"between","value":["Bronze","Silver"]})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":"in","value":["Platinum","Gold"]})"));
  EXPECT_FALSE(is(gold, R"({"field":"level","op":"not_in","value":["Platinum","Gold"]})"));
  EXPECT_TRUE(is(gold, R"({"field":"level","op":"is_not_empty"})"));
  EXPECT_FALSE(is(gold, R"({"field":"customerLevel","op":"is_empty"})"));

  EXPECT_TRUE(is(gold, R"({"field":"recencyScore","op":"=","value":5})"));
  EXPECT_TRUE(is(gold, R"({"field":"frequencyScore","op":"<","value":4})"));
  EXPECT_FALSE(is(gold, R"({"field":"frequencyScore","op":">","value":3})"));
  EXPECT_TRUE(is(gold, R"({"field":"monetaryScore","op":"between","value":[4,5]})"));
  EXPECT_TRUE(is(gold, R"({"field":"monetaryScore","op":"not_in","value":[1,2,3]})"));
  EXPECT_TRUE(is(gold, R"({"field":"recencyScore","op":"is_not_empty"})"));
  EXPECT_FALSE(is(gold, R"({"field":"frequencyScore","op":"is_empty"})"));
  EXPECT_EQ(RuleNumberOf(RuleField::kLevel, gold, now), 2);
  EXPECT_EQ(RuleNumberOf(RuleField::kRecencyScore, gold, now), 5);
  EXPECT_EQ(RuleNumberOf(RuleField::kFrequencyScore, gold, now), 3);
  EXPECT_EQ(RuleNumberOf(RuleField::kMonetaryScore, gold, now), 4);

  // Bronze is a level like the others once scored.
  const Customer bronze = Scored(1, 1, 2, LoyaltyLevel::kBronze);
  EXPECT_TRUE(is(bronze, R"({"field":"level","op":"=","value":"Bronze"})"));
  EXPECT_TRUE(is(bronze, R"({"field":"level","op":"<","value":"Silver"})"));
  EXPECT_FALSE(is(bronze, R"({"field":"level","op":"is_empty"})"));
  // Nothing recorded stands at Bronze, 1, 1, 1.
  EXPECT_TRUE(is(MakeCustomer(), R"({"field":"level","op":"=","value":"Bronze"})"));
  EXPECT_TRUE(is(MakeCustomer(), R"({"field":"recencyScore","op":"=","value":1})"));

  // A typical seed-002 audience: Gold and above who have not bought lately.
  const std::string_view lapsed = R"({"and":[{"field":"level","op":">=","value":"Gold"},)"
                                  R"({"field":"recencyScore","op":"<=","value":2}]})";
  EXPECT_FALSE(is(gold, lapsed));
  EXPECT_TRUE(is(Scored(2, 5, 5, LoyaltyLevel::kPlatinum), lapsed));
  EXPECT_FALSE(is(Scored(2, 4, 4, LoyaltyLevel::kSilver), lapsed));
  EXPECT_FALSE(is(MakeCustomer(), lapsed));
}

TEST(SegmentRulesLoyaltyTest, RulesOnTheStandingAreSchemaVersion3AndDoNotDependOnTime) {
  EXPECT_EQ(RulesSchemaVersion(Parsed(kSeed000)), 1);
  EXPECT_EQ(RulesSchemaVersion(Parsed(R"({"rules":{"field":"tags","op":"is_empty"}})")), 2);
  const RuleNode level = Parsed(R"({"rules":{"field":"level","op":">=","value":"Gold"}})");
  EXPECT_EQ(RulesSchemaVersion(level), 3);
  for (RuleField field : kStandingFields) {
    const RuleNode tree = Cond(field, RuleOp::kIsNotEmpty);
    EXPECT_EQ(RulesSchemaVersion(tree), 3) << RuleFieldOf(field).name;
    EXPECT_EQ(RulesSchemaVersion(Or({kA, Not(And({kB, tree}))})), 3) << RuleFieldOf(field).name;
    EXPECT_EQ(RulesSchemaVersion(And({Cond(RuleField::kStatus, RuleOp::kIsEmpty), tree})), 3);
    EXPECT_FALSE(DependsOnTime(Or({kA, Not(tree)}))) << RuleFieldOf(field).name;
  }
  EXPECT_FALSE(DependsOnTime(level));
  EXPECT_TRUE(DependsOnTime(And({level, Cond(RuleField::kInactiveDays, RuleOp::kGt, {3})})));
}

// --- Case folding ---

TEST(SegmentRulesFoldCaseTest, FoldsUnicodeCase) {
  EXPECT_EQ(FoldCase("ÄPFEL"), FoldCase("äpfel"));
  EXPECT_EQ(FoldCase("ÄPFEL"), "äpfel");
  EXPECT_EQ(FoldCase("STRASSE"), FoldCase("straße"));
  EXPECT_EQ(FoldCase("straße"), "strasse");
  EXPECT_EQ(FoldCase("ΣΊΣΥΦΟΣ"), FoldCase("σίσυφος"));
  EXPECT_EQ(FoldCase("A\u0308pfel"), FoldCase("äpfel"));  // composed first
  EXPECT_EQ(FoldCase(""), "");
  EXPECT_EQ(FoldCase("plain ascii 123"), "plain ascii 123");
}

// --- The tables ---

TEST(SegmentRulesTableTest, FieldsInCanonicalOrder) {
  std::vector<std::string_view> names;
  for (const auto& f : RuleFields()) {
    names.push_back(f.name);
    EXPECT_EQ(&RuleFieldOf(f.field), &f);
    EXPECT_EQ(FindRuleField(f.name), f.field);
  }
  EXPECT_EQ(names, (std::vector<std::string_view>{"totalSpending",  "averageOrderValue",
                                                  "visits",         "orderCount",
                                                  "inactive_days",  "lastVisit",
                                                  "lastOrderAt",    "firstOrderAt",
                                                  "createdAt",      "name",
                                                  "email",          "phone",
                                                  "ownerId",        "isActive",
                                                  "status",         "customerType",
                                                  "birthDate",      "tags",
                                                  "level",          "recencyScore",
                                                  "frequencyScore", "monetaryScore"}));
  EXPECT_EQ(FindRuleField("totalSpend"), RuleField::kTotalSpending);
  EXPECT_EQ(FindRuleField("TotalSpending"), std::nullopt);
  EXPECT_TRUE(RuleFieldOf(RuleField::kPhone).may_be_empty);
  EXPECT_FALSE(RuleFieldOf(RuleField::kName).may_be_empty);
  EXPECT_EQ(RuleFieldOf(RuleField::kInactiveDays).type, RuleType::kCount);
}

TEST(SegmentRulesTableTest, OperatorNamesAndTypes) {
  EXPECT_EQ(RuleOpName(RuleOp::kGe), ">=");
  EXPECT_EQ(RuleOpName(RuleOp::kEq), "=");
  EXPECT_EQ(RuleOpName(RuleOp::kStartsWith), "startsWith");
  EXPECT_EQ(RuleOpName(RuleOp::kNotInLastDays), "not_in_last_days");
  EXPECT_EQ(RuleOpName(RuleOp::kIsNotEmpty), "is_not_empty");
  EXPECT_TRUE(RuleOpApplies(RuleOp::kBetween, RuleType::kMoney));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kIsEmpty, RuleType::kCount));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kInLastDays, RuleType::kTime));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kIn, RuleType::kTime));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kEndsWith, RuleType::kText));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kContains, RuleType::kId));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kIn, RuleType::kBool));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kGe, RuleType::kLevel));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kIsEmpty, RuleType::kLevel));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kContains, RuleType::kLevel));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kBetween, RuleType::kScore));
  EXPECT_TRUE(RuleOpApplies(RuleOp::kIsNotEmpty, RuleType::kScore));
  EXPECT_FALSE(RuleOpApplies(RuleOp::kInLastDays, RuleType::kScore));
}

TEST(SegmentRulesTableTest, CountsConditionsAndSeesTime) {
  EXPECT_EQ(CountConditions(Parsed(kSeed000)), 4);
  EXPECT_EQ(CountConditions(Not(And({kA, Or({kB, kC})}))), 3);
  EXPECT_FALSE(DependsOnTime(Parsed(kSeed000)));
  EXPECT_TRUE(DependsOnTime(Or({kA, Not(Cond(RuleField::kInactiveDays, RuleOp::kGt, {3}))})));
  EXPECT_TRUE(DependsOnTime(And({kA, Cond(RuleField::kLastVisit, RuleOp::kNotInLastDays, {3})})));
  EXPECT_FALSE(DependsOnTime(Cond(RuleField::kLastVisit, RuleOp::kGt, {3})));
}

}  // namespace
}  // namespace keel

#include "domain/segment_match.h"

#include <algorithm>
#include <utility>

#include "domain/numbers.h"

namespace keel {

namespace {

constexpr int64_t kDayMillis = 86'400'000;

bool IsLastDays(RuleOp op) { return op == RuleOp::kInLastDays || op == RuleOp::kNotInLastDays; }

// What a customer with no value for a field matches (segment_rules.h: missing values).
bool MatchesMissing(RuleOp op, RuleType type) {
  return op == RuleOp::kIsEmpty || op == RuleOp::kNe || op == RuleOp::kNotIn ||
         (op == RuleOp::kNotInLastDays && type != RuleType::kText && type != RuleType::kId);
}

// The least d > v at which a number condition's answer differs from its answer at v; nullopt
// when it is the same for every d > v.
std::optional<int64_t> NextFlip(RuleOp op, int64_t first, int64_t second,
                                const std::vector<int64_t>& set, int64_t v) {
  switch (op) {
    case RuleOp::kGt:
      return v > first ? std::nullopt : CheckedAdd(first, 1);
    case RuleOp::kGe:
      return v >= first ? std::nullopt : std::optional(first);
    case RuleOp::kLt:
      return v < first ? std::optional(first) : std::nullopt;
    case RuleOp::kLe:
      return v <= first ? CheckedAdd(first, 1) : std::nullopt;
    case RuleOp::kEq:
    case RuleOp::kNe:
      if (v < first) return first;
      return v == first ? CheckedAdd(first, 1) : std::nullopt;
    case RuleOp::kBetween:
      if (first > second) return std::nullopt;  // an empty range: never matches
      if (v < first) return first;
      return v <= second ? CheckedAdd(second, 1) : std::nullopt;
    case RuleOp::kIn:
    case RuleOp::kNotIn: {
      auto it = std::lower_bound(set.begin(), set.end(), v);
      if (it == set.end()) return std::nullopt;
      if (*it > v) return *it;
      // v is in the set: the answer flips past the run of consecutive members holding it.
      int64_t last = v;
      for (++it; it != set.end() && last < *it && *it - last == 1; ++it) last = *it;
      return CheckedAdd(last, 1);
    }
    default:
      return std::nullopt;
  }
}

std::optional<Millis> Earliest(std::optional<Millis> a, std::optional<Millis> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

// The customer's text fields, folded on first use within one call.
struct SegmentMatcher::FoldedFields {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> phone;
};

SegmentMatcher::SegmentMatcher(RuleNode rules)
    : rules_(std::move(rules)), depends_on_time_(DependsOnTime(rules_)) {
  Compile(rules_);
}

void SegmentMatcher::Compile(const RuleNode& node) {
  const size_t index = nodes_.size();
  nodes_.push_back({node.kind, 0, 0});
  if (node.kind == RuleNode::Kind::kCondition) {
    const RuleCondition& rc = node.condition;
    Condition c{rc.field, rc.op, RuleFieldOf(rc.field).type};
    auto number = [&](size_t i) { return i < rc.numbers.size() ? rc.numbers[i] : 0; };
    c.first = number(0);
    c.second = number(1);
    if (int64_t span; !__builtin_mul_overflow(c.first, kDayMillis, &span)) c.span = span;
    const bool fold = c.type == RuleType::kText || c.type == RuleType::kList;
    auto operand = [&](const std::string& s) { return fold ? FoldCase(s) : s; };
    if (!rc.texts.empty()) c.text = operand(rc.texts.front());
    if (rc.op == RuleOp::kIn || rc.op == RuleOp::kNotIn) {
      c.number_set = rc.numbers;
      std::sort(c.number_set.begin(), c.number_set.end());
      c.number_set.erase(std::unique(c.number_set.begin(), c.number_set.end()), c.number_set.end());
      for (const auto& s : rc.texts) c.text_set.push_back(operand(s));
      std::sort(c.text_set.begin(), c.text_set.end());
      c.text_set.erase(std::unique(c.text_set.begin(), c.text_set.end()), c.text_set.end());
    }
    c.flag = rc.flag;
    nodes_[index].condition = static_cast<uint32_t>(conditions_.size());
    conditions_.push_back(std::move(c));
  } else {
    for (const auto& child : node.children) Compile(child);
  }
  nodes_[index].end = static_cast<uint32_t>(nodes_.size());
}

bool SegmentMatcher::Matches(const Customer& customer, Millis now) const {
  FoldedFields folded;
  return Evaluate(0, customer, now, folded);
}

bool SegmentMatcher::Evaluate(uint32_t index, const Customer& customer, Millis now,
                              FoldedFields& folded) const {
  const Node& node = nodes_[index];
  switch (node.kind) {
    case RuleNode::Kind::kAnd:
      for (uint32_t child = index + 1; child < node.end; child = nodes_[child].end) {
        if (!Evaluate(child, customer, now, folded)) return false;
      }
      return true;
    case RuleNode::Kind::kOr:
      for (uint32_t child = index + 1; child < node.end; child = nodes_[child].end) {
        if (Evaluate(child, customer, now, folded)) return true;
      }
      return false;
    case RuleNode::Kind::kNot:
      // EvaluateRules reads a `not`'s first child only.
      return index + 1 < node.end && !Evaluate(index + 1, customer, now, folded);
    case RuleNode::Kind::kCondition:
      return EvaluateCondition(conditions_[node.condition], customer, now, folded);
  }
  return false;
}

bool SegmentMatcher::EvaluateCondition(const Condition& c, const Customer& customer, Millis now,
                                       FoldedFields& folded) {
  switch (c.type) {
    case RuleType::kBool:
      if (c.op == RuleOp::kEq) return customer.is_active == c.flag;
      if (c.op == RuleOp::kNe) return customer.is_active != c.flag;
      return false;
    case RuleType::kId:
      if (c.field == RuleField::kStatus) {
        return EvaluateText(c, CustomerStatusName(customer.status));
      }
      if (c.field == RuleField::kCustomerType) {
        return EvaluateText(c, CustomerTypeName(customer.customer_type));
      }
      if (!customer.owner_id) return MatchesMissing(c.op, c.type);
      return EvaluateText(c, *customer.owner_id);
    case RuleType::kList: {
      const std::vector<std::string>& tags = customer.details.get().tags;
      if (c.op == RuleOp::kIsEmpty) return tags.empty();
      if (c.op == RuleOp::kIsNotEmpty) return !tags.empty();
      if (c.op != RuleOp::kContains) return false;
      return std::any_of(tags.begin(), tags.end(),
                         [&](const std::string& tag) { return FoldCase(tag) == c.text; });
    }
    case RuleType::kText: {
      auto fold = [](std::optional<std::string> & slot, const std::string& raw) -> const auto& {
        if (!slot) slot = FoldCase(raw);
        return *slot;
      };
      const std::string* raw = nullptr;
      std::optional<std::string>* slot = nullptr;
      switch (c.field) {
        case RuleField::kName:
          raw = &customer.name;
          slot = &folded.name;
          break;
        case RuleField::kEmail:
          raw = &customer.email;
          slot = &folded.email;
          break;
        case RuleField::kPhone:
          raw = customer.phone ? &*customer.phone : nullptr;
          slot = &folded.phone;
          break;
        default:
          break;
      }
      if (!raw) return MatchesMissing(c.op, c.type);
      // Operators that do not read the value need no folding.
      if (c.op == RuleOp::kIsEmpty) return false;
      if (c.op == RuleOp::kIsNotEmpty) return true;
      switch (c.op) {
        case RuleOp::kEq:
        case RuleOp::kNe:
        case RuleOp::kContains:
        case RuleOp::kStartsWith:
        case RuleOp::kEndsWith:
        case RuleOp::kIn:
        case RuleOp::kNotIn:
          return EvaluateText(c, fold(*slot, *raw));
        default:
          return false;
      }
    }
    case RuleType::kMoney:
    case RuleType::kCount:
    case RuleType::kTime:
    case RuleType::kLevel:
    case RuleType::kScore: {
      auto v = RuleNumberOf(c.field, customer, now);
      if (!v) return MatchesMissing(c.op, c.type);
      return EvaluateNumber(c, *v, now);
    }
  }
  return false;
}

bool SegmentMatcher::EvaluateNumber(const Condition& c, int64_t v, Millis now) {
  // Whether v is at or after now − first days, with no overflow whatever the operands.
  auto within_last_days = [&] {
    if (!c.span) return c.first > 0;
    auto threshold = CheckedSub(now, *c.span);
    if (!threshold) return *c.span > 0;  // below INT64_MIN: everything is after it
    return v >= *threshold;
  };
  switch (c.op) {
    case RuleOp::kGt:
      return v > c.first;
    case RuleOp::kGe:
      return v >= c.first;
    case RuleOp::kLt:
      return v < c.first;
    case RuleOp::kLe:
      return v <= c.first;
    case RuleOp::kEq:
      return v == c.first;
    case RuleOp::kNe:
      return v != c.first;
    case RuleOp::kBetween:
      return c.first <= v && v <= c.second;
    case RuleOp::kIn:
      return std::binary_search(c.number_set.begin(), c.number_set.end(), v);
    case RuleOp::kNotIn:
      return !std::binary_search(c.number_set.begin(), c.number_set.end(), v);
    case RuleOp::kInLastDays:
      return within_last_days();
    case RuleOp::kNotInLastDays:
      return !within_last_days();
    case RuleOp::kIsEmpty:
      return false;
    case RuleOp::kIsNotEmpty:
      return true;
    default:
      return false;
  }
}

bool SegmentMatcher::EvaluateText(const Condition& c, std::string_view v) {
  switch (c.op) {
    case RuleOp::kEq:
      return v == c.text;
    case RuleOp::kNe:
      return v != c.text;
    case RuleOp::kContains:
      return v.find(c.text) != std::string_view::npos;
    case RuleOp::kStartsWith:
      return v.starts_with(c.text);
    case RuleOp::kEndsWith:
      return v.ends_with(c.text);
    case RuleOp::kIn:
      return std::binary_search(c.text_set.begin(), c.text_set.end(), v);
    case RuleOp::kNotIn:
      return !std::binary_search(c.text_set.begin(), c.text_set.end(), v);
    case RuleOp::kIsEmpty:
      return false;
    case RuleOp::kIsNotEmpty:
      return true;
    default:
      return false;
  }
}

std::optional<Millis> SegmentMatcher::NextChange(const Customer& customer, Millis now) const {
  if (!depends_on_time_) return std::nullopt;
  // Every condition the evaluator may read, whatever the and / or / not around it: the earliest
  // change of any of them bounds the tree's.
  std::optional<Millis> next;
  for (const Condition& c : conditions_)
    next = Earliest(next, ConditionNextChange(c, customer, now));
  return next;
}

std::optional<Millis> SegmentMatcher::ConditionNextChange(const Condition& c,
                                                          const Customer& customer, Millis now) {
  // Of the number types, only in_last_days / not_in_last_days (refused by the parser on a level
  // or a score, but meant as EvaluateRules means them) and inactive_days move with time.
  if (c.type != RuleType::kMoney && c.type != RuleType::kCount && c.type != RuleType::kTime &&
      c.type != RuleType::kLevel && c.type != RuleType::kScore) {
    return std::nullopt;
  }
  if (c.field == RuleField::kInactiveDays) {
    // Both sides of in_last_days would move with time; the parser refuses the pair, so it is
    // not worth an exact answer: it may change at the next instant.
    if (IsLastDays(c.op)) return CheckedAdd(now, 1);
    // The count steps by one at each from + d days (d ≥ 1): it reaches d at that instant, the
    // first after now when d > the count at now.
    const Millis from = InactiveSince(customer);
    auto d = NextFlip(c.op, c.first, c.second, c.number_set, WholeDaysSince(from, now));
    if (!d) return std::nullopt;
    int64_t span;
    if (__builtin_mul_overflow(*d, kDayMillis, &span)) return std::nullopt;
    return CheckedAdd(from, span);  // past int64: never reached
  }
  if (!IsLastDays(c.op)) return std::nullopt;
  auto v = RuleNumberOf(c.field, customer, now);
  if (!v || !c.span) return std::nullopt;  // missing, or days so many the answer is fixed
  // True exactly while now ≤ v + span; once false, false for good.
  auto last = CheckedAdd(*v, *c.span);
  if (!last || now > *last) return std::nullopt;
  return CheckedAdd(*last, 1);
}

}  // namespace keel

// A segment's rule tree compiled for evaluating many customers (the live membership projector
// evaluates each changed customer against every segment), and the instant a customer's
// membership may next flip with time alone (the projector's timer index). Pure.
//
// Means exactly what EvaluateRules (segment_rules.h) means, on every tree, well formed or not.
// A value: immutable once built, so its const members may be called from any number of threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/customer.h"
#include "domain/segment_rules.h"
#include "domain/time.h"

namespace keel {

class SegmentMatcher final {
 public:
  // Folds the text operands once and sorts the operand lists of in / not_in.
  explicit SegmentMatcher(RuleNode rules);

  const RuleNode& rules() const { return rules_; }

  // EvaluateRules(rules(), customer, now). The customer's name, email and phone are folded at
  // most once per call, and only when a text condition reads them: a tree without text
  // conditions evaluates without allocating.
  bool Matches(const Customer& customer, Millis now) const;

  // The earliest instant t > now at which the outcome for `customer` (unchanged) may differ from
  // its outcome at `now`; nullopt when it is the same at every t >= now. The outcome is the same
  // at every t in [now, result). Exact for a tree of one condition (the outcome at the result
  // does differ); for a larger tree, the earliest of its conditions' changes. Only in_last_days,
  // not_in_last_days and inactive_days conditions change with time; inactive_days changes only
  // at the day boundaries where the condition's answer does, never at every one.
  std::optional<Millis> NextChange(const Customer& customer, Millis now) const;

  // Whether the outcome can change with time alone (DependsOnTime(rules())).
  bool depends_on_time() const { return depends_on_time_; }

 private:
  struct Condition {
    RuleField field;
    RuleOp op;
    RuleType type;
    int64_t first = 0;   // the first number operand, 0 without one (as EvaluateRules reads it)
    int64_t second = 0;  // the second (between's high end)
    // in_last_days / not_in_last_days: first days in millis, unless that overflows.
    std::optional<int64_t> span;
    std::vector<int64_t> number_set;    // in / not_in: the numbers, sorted, distinct
    std::string text;                   // the first text operand; folded for text fields
    std::vector<std::string> text_set;  // in / not_in: the texts, folded, sorted, distinct
    bool flag = false;
  };
  // The tree in pre-order: a node's children follow it, up to `end`.
  struct Node {
    RuleNode::Kind kind;
    uint32_t end;        // one past the node's last descendant
    uint32_t condition;  // kCondition: its index in conditions_
  };
  struct FoldedFields;

  void Compile(const RuleNode& node);
  bool Evaluate(uint32_t node, const Customer& customer, Millis now, FoldedFields& folded) const;
  static bool EvaluateCondition(const Condition& c, const Customer& customer, Millis now,
                                FoldedFields& folded);
  static bool EvaluateNumber(const Condition& c, int64_t v, Millis now);
  static bool EvaluateText(const Condition& c, std::string_view v);
  static std::optional<Millis> ConditionNextChange(const Condition& c, const Customer& customer,
                                                   Millis now);

  RuleNode rules_;
  std::vector<Node> nodes_;
  std::vector<Condition> conditions_;
  bool depends_on_time_ = false;
};

}  // namespace keel

#include "domain/segment_match.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>
#include <random>

#include "domain/numbers.h"

// Counts the allocations made through operator new, to show that matching a tree without text
// conditions allocates nothing. Not inlined: g++ would pair an inlined free with the new it
// sees and warn (-Wmismatched-new-delete).
namespace {
std::atomic<int64_t> allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace keel {

// gtest prints trees as their canonical JSON.
void PrintTo(const RuleNode& node, std::ostream* os) { *os << EncodeSegmentRules(node); }

namespace {

using Kind = RuleNode::Kind;

constexpr Millis kDay = 86'400'000;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

Millis T(std::string_view iso) {
  auto t = ParseIso8601(iso);
  EXPECT_TRUE(t) << iso;
  return t.value_or(0);
}

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

// t = from + offset, for offsets that span more than int64 holds.
Millis Offset(Millis from, uint64_t offset) {
  return static_cast<Millis>(static_cast<uint64_t>(from) + offset);
}

// Random trees (all fields, all operators, and now and then a shape or operand the parser would
// refuse) and random customers, with times around one instant, from a fixed seed.
class RandomCases {
 public:
  explicit RandomCases(uint64_t seed) : rng_(seed) {}

  int64_t Int(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  uint64_t Unsigned(uint64_t hi) { return std::uniform_int_distribution<uint64_t>(0, hi)(rng_); }

  Millis Now() {
    static constexpr Millis kEdges[] = {
        kInt64Min,           kInt64Min + 1,       kInt64Max, kInt64Max - 1,
        kMinTimestampMillis, kMaxTimestampMillis, 0};
    if (Int(0, 19) == 0) return kEdges[Int(0, std::size(kEdges) - 1)];
    return T("2026-03-01T12:00:00Z") + Int(-3 * kDay, 3 * kDay);
  }

  // Mostly near `now`, often a whole number of days from it, now and then an extreme.
  Millis TimeAround(Millis now) {
    switch (Int(0, 9)) {
      case 0:
        return SaturatingAdd(now, Int(-100, 100) * kDay);
      case 1:
        return SaturatingAdd(now, Int(-100, 100) * kDay + Int(-2, 2));
      case 2: {
        static constexpr Millis kEdges[] = {kInt64Min, kInt64Max, kMinTimestampMillis,
                                            kMaxTimestampMillis, 0};
        return kEdges[Int(0, std::size(kEdges) - 1)];
      }
      default:
        return SaturatingAdd(now, Int(-200 * kDay, 200 * kDay));
    }
  }

  RuleNode Tree(int depth, Millis now) {
    const int pick = Int(0, 9);
    if (depth == 0 || pick < 5) return Condition(now);
    if (pick == 5) {
      if (Int(0, 19) == 0) return Group(Kind::kNot, {Tree(depth - 1, now), Tree(depth - 1, now)});
      return Not(Tree(depth - 1, now));
    }
    std::vector<RuleNode> children;
    const int n = Int(0, 19) == 0 ? 0 : Int(1, 4);
    for (int i = 0; i < n; ++i) children.push_back(Tree(depth - 1, now));
    return Group(pick % 2 ? Kind::kAnd : Kind::kOr, std::move(children));
  }

  Customer Person(Millis now) {
    Customer c = MakeCustomer();
    c.name = Text();
    c.email = Text() + "@" + Text();
    if (Int(0, 2)) c.phone = Text();
    if (Int(0, 2)) c.owner_id = Int(0, 1) ? "u1" : "U1";
    c.total_spending_cents = Int(0, 9) ? Int(0, 20'000) : kMaxCustomerSpendingCents;
    c.visits = Int(0, 10);
    c.is_active = Int(0, 1);
    c.created_at = TimeAround(now);
    if (Int(0, 1)) c.last_visit = TimeAround(now);
    if (Int(0, 1)) {
      c.stats.order_count = Int(1, 5);
      c.stats.order_cents = Int(0, 20'000);
      c.stats.first_order_at = TimeAround(now);
      c.stats.last_order_at = TimeAround(now);
      c.stats.last_activity = c.stats.last_order_at;
    }
    if (Int(0, 2) == 0) {
      c.stats.recorded_visits = Int(1, 3);
      c.stats.last_activity = TimeAround(now);
    }
    if (Int(0, 2)) {  // scored by the level keeper; else never
      c.standing = StandingOf(
          {static_cast<int>(Int(1, 5)), static_cast<int>(Int(1, 5)), static_cast<int>(Int(1, 5))},
          static_cast<LoyaltyLevel>(Int(0, kLoyaltyLevels - 1)));
    }
    return c;
  }

 private:
  std::string Text() {
    static const std::string_view kPieces[] = {
        "a", "Z", "ß", "ss", "SS", "é",   "É", "ÉCOLE", "école", "straße",   "STRASSE",
        "ı", "I", "i", "İ",  "ﬃ",  "ffi", "Σ", "ς",     "σ",     "\xff\xfe", " "};
    std::string out;
    for (int n = Int(1, 3); n > 0; --n) out += kPieces[Int(0, std::size(kPieces) - 1)];
    return out;
  }

  int64_t Number(RuleField field, RuleType type, Millis now) {
    if (Int(0, 19) == 0) {
      static constexpr int64_t kEdges[] = {kInt64Min, kInt64Min + 1, kInt64Max, kInt64Max - 1,
                                           kMaxCents, -kMaxCents,    0};
      return kEdges[Int(0, std::size(kEdges) - 1)];
    }
    if (field == RuleField::kInactiveDays) return Int(-2, 120);
    switch (type) {
      case RuleType::kMoney:
        return Int(-100, 20'000);
      case RuleType::kCount:
        return Int(-1, 12);
      case RuleType::kLevel:  // a rank, now and then past the levels
        return Int(-1, kLoyaltyLevels);
      case RuleType::kScore:
        return Int(0, 6);
      default:
        return TimeAround(now);
    }
  }

  int64_t Days() {
    if (Int(0, 9) == 0) {
      static constexpr int64_t kEdges[] = {
          36'500, 0, -1, kInt64Max, kInt64Min, kInt64Max / kDay, -kInt64Max / kDay};
      return kEdges[Int(0, std::size(kEdges) - 1)];
    }
    return Int(1, 120);
  }

  RuleNode Condition(Millis now) {
    const auto fields = RuleFields();
    const RuleFieldInfo& info = fields[Int(0, fields.size() - 1)];
    std::vector<RuleOp> ops;
    const bool any_op = Int(0, 9) == 0;
    for (int op = 0; op <= static_cast<int>(RuleOp::kIsNotEmpty); ++op) {
      if (any_op || RuleOpApplies(static_cast<RuleOp>(op), info.type)) {
        ops.push_back(static_cast<RuleOp>(op));
      }
    }
    const RuleOp op = ops[Int(0, ops.size() - 1)];
    RuleNode node = Cond(info.field, op);
    RuleCondition& c = node.condition;
    const bool text =
        info.type == RuleType::kText || info.type == RuleType::kId || info.type == RuleType::kList;
    auto operand = [&] {
      if (info.type == RuleType::kBool) {
        c.flag = Int(0, 1) == 1;
      } else if (info.field == RuleField::kStatus) {
        c.texts.emplace_back(CustomerStatusName(static_cast<CustomerStatus>(Int(0, 3))));
      } else if (info.field == RuleField::kCustomerType) {
        c.texts.emplace_back(CustomerTypeName(static_cast<CustomerType>(Int(0, 1))));
      } else if (text) {
        c.texts.push_back(info.type == RuleType::kId ? (Int(0, 1) ? "u1" : "U1") : Text());
      } else {
        c.numbers.push_back(Number(info.field, info.type, now));
      }
    };
    if (Int(0, 29) == 0) return node;  // no operand at all
    switch (op) {
      case RuleOp::kIsEmpty:
      case RuleOp::kIsNotEmpty:
        break;
      case RuleOp::kInLastDays:
      case RuleOp::kNotInLastDays:
        c.numbers.push_back(Days());
        break;
      case RuleOp::kBetween:
        operand();
        operand();
        if (!c.numbers.empty() && c.numbers[0] > c.numbers[1] && Int(0, 9)) {
          std::swap(c.numbers[0], c.numbers[1]);
        }
        break;
      case RuleOp::kIn:
      case RuleOp::kNotIn:
        for (int i = Int(1, 6); i > 0; --i) operand();
        if (!text && Int(0, 1)) {  // a run of consecutive values
          const int64_t start = Number(info.field, info.type, now);
          for (int64_t i = 0, n = Int(2, 5); i < n; ++i)
            c.numbers.push_back(SaturatingAdd(start, i));
        }
        break;
      default:
        operand();
    }
    return node;
  }

  std::mt19937_64 rng_;
};

// --- Matches ---

TEST(SegmentMatcherTest, MatchesAgreesWithEvaluateRulesOnRandomTrees) {
  RandomCases random(16);
  int matched = 0;
  for (int i = 0; i < 4000; ++i) {
    const Millis now = random.Now();
    const SegmentMatcher matcher(random.Tree(4, now));
    ASSERT_EQ(matcher.depends_on_time(), DependsOnTime(matcher.rules()));
    for (int j = 0; j < 4; ++j) {
      const Customer c = random.Person(now);
      const bool expected = EvaluateRules(matcher.rules(), c, now);
      matched += expected;
      ASSERT_EQ(matcher.Matches(c, now), expected)
          << i << ": " << EncodeSegmentRules(matcher.rules());
      for (int k = 0; k < 3; ++k) {
        const Millis t = random.TimeAround(now);
        ASSERT_EQ(matcher.Matches(c, t), EvaluateRules(matcher.rules(), c, t))
            << i << " at " << t << ": " << EncodeSegmentRules(matcher.rules());
      }
    }
  }
  // Both outcomes are well represented.
  EXPECT_GT(matched, 3000);
  EXPECT_LT(matched, 13000);
}

TEST(SegmentMatcherTest, MatchesFoldsTextLikeTheEvaluator) {
  Customer c = MakeCustomer();
  c.name = "ÉCOLE Straße";
  c.email = "DIYARBAKIR@example.com";
  c.phone = "İstanbul";
  auto both = [&](const RuleNode& tree) {
    const bool expected = EvaluateRules(tree, c, 0);
    EXPECT_EQ(SegmentMatcher(tree).Matches(c, 0), expected) << EncodeSegmentRules(tree);
    return expected;
  };
  EXPECT_TRUE(both(Cond(RuleField::kName, RuleOp::kStartsWith, {}, {"école"})));
  EXPECT_TRUE(both(Cond(RuleField::kName, RuleOp::kEndsWith, {}, {"STRASSE"})));
  EXPECT_TRUE(both(Cond(RuleField::kName, RuleOp::kIn, {}, {"x", "école strasse"})));
  EXPECT_FALSE(
      both(Cond(RuleField::kName, RuleOp::kNotIn, {}, {"ÉCOLE STRASSE", "ÉCOLE STRASSE"})));
  both(Cond(RuleField::kEmail, RuleOp::kContains, {}, {"dıyarbakır"}));
  both(Cond(RuleField::kPhone, RuleOp::kStartsWith, {}, {"i̇stanbul"}));
  both(Cond(RuleField::kPhone, RuleOp::kEq, {}, {"istanbul"}));
  EXPECT_FALSE(both(Cond(RuleField::kOwnerId, RuleOp::kEq, {}, {"u1"})));
  EXPECT_TRUE(both(Cond(RuleField::kOwnerId, RuleOp::kNotIn, {}, {"u1"})));
}

TEST(SegmentMatcherTest, MatchesMalformedTreesLikeTheEvaluator) {
  const Customer c = MakeCustomer();
  const Millis now = T("2026-03-01T00:00:00Z");
  const RuleNode trees[] = {
      And({}),
      Or({}),
      Group(Kind::kNot, {}),
      Group(Kind::kNot, {Cond(RuleField::kVisits, RuleOp::kEq, {0}),
                         Cond(RuleField::kVisits, RuleOp::kEq, {1})}),
      Cond(RuleField::kVisits, RuleOp::kEq),                 // no operand: 0
      Cond(RuleField::kName, RuleOp::kContains),             // no operand: ""
      Cond(RuleField::kName, RuleOp::kGt, {1}),              // not a text operator
      Cond(RuleField::kPhone, RuleOp::kNotInLastDays, {1}),  // missing text, time operator
      Cond(RuleField::kTotalSpending, RuleOp::kInLastDays, {1}),
      Cond(RuleField::kIsActive, RuleOp::kIn, {}, {}, true),
      Cond(RuleField::kCreatedAt, RuleOp::kBetween, {now, 0}),  // low above high
  };
  for (const RuleNode& tree : trees) {
    EXPECT_EQ(SegmentMatcher(tree).Matches(c, now), EvaluateRules(tree, c, now))
        << EncodeSegmentRules(tree);
  }
}

TEST(SegmentMatcherTest, MatchesWithoutTextConditionsDoesNotAllocate) {
  Customer c = MakeCustomer();
  c.name = "A name too long for the short string buffer";
  c.owner_id = "0190d8a0-0000-7000-8000-00000000000a";
  const SegmentMatcher numbers(And({
      Cond(RuleField::kTotalSpending, RuleOp::kIn, {0, 5, 10}),
      Cond(RuleField::kInactiveDays, RuleOp::kGt, {3}),
      Cond(RuleField::kCreatedAt, RuleOp::kInLastDays, {36500}),
      Cond(RuleField::kOwnerId, RuleOp::kIn, {}, {"0190d8a0-0000-7000-8000-00000000000a"}),
      Or({Cond(RuleField::kIsActive, RuleOp::kEq, {}, {}, true)}),
  }));
  const Millis now = T("2026-03-01T00:00:00Z");
  int64_t before = allocations.load();
  EXPECT_TRUE(numbers.Matches(c, now));
  EXPECT_EQ(allocations.load() - before, 0);

  // Three conditions on the name fold it once.
  const SegmentMatcher names(And({
      Cond(RuleField::kName, RuleOp::kContains, {}, {"TOO LONG"}),
      Cond(RuleField::kName, RuleOp::kStartsWith, {}, {"a name"}),
      Cond(RuleField::kName, RuleOp::kEndsWith, {}, {"BUFFER"}),
  }));
  before = allocations.load();
  EXPECT_TRUE(names.Matches(c, now));
  EXPECT_EQ(allocations.load() - before, 1);
}

TEST(SegmentMatcherTest, LevelAndScoresMatchLikeTheEvaluatorAndNeverChangeWithTime) {
  const Millis now = T("2026-03-01T00:00:00Z");
  // Not scored(): no standing a customer can hold (nothing recorded is Bronze, 1, 1, 1), but every
  // evaluator treats it as missing, alike.
  Customer unscored = MakeCustomer();
  unscored.standing = LoyaltyStanding{0, 0, 0};
  Customer silver = MakeCustomer();
  silver.standing = StandingOf({4, 2, 3}, LoyaltyLevel::kSilver);
  const RuleNode trees[] = {
      Cond(RuleField::kLevel, RuleOp::kGe, {static_cast<int64_t>(LoyaltyLevel::kSilver)}),
      Cond(RuleField::kLevel, RuleOp::kNe, {static_cast<int64_t>(LoyaltyLevel::kSilver)}),
      Cond(RuleField::kLevel, RuleOp::kNotIn, {0, 2}),
      Cond(RuleField::kLevel, RuleOp::kIsEmpty),
      Cond(RuleField::kRecencyScore, RuleOp::kBetween, {4, 5}),
      Cond(RuleField::kFrequencyScore, RuleOp::kIn, {1, 2}),
      Cond(RuleField::kMonetaryScore, RuleOp::kLt, {3}),
      Cond(RuleField::kMonetaryScore, RuleOp::kIsNotEmpty),
  };
  const bool silver_matches[] = {true, false, true, false, true, true, false, true};
  const bool unscored_matches[] = {false, true, true, true, false, false, false, false};
  for (size_t i = 0; i < std::size(trees); ++i) {
    const SegmentMatcher matcher(trees[i]);
    EXPECT_FALSE(matcher.depends_on_time()) << EncodeSegmentRules(trees[i]);
    EXPECT_EQ(matcher.Matches(silver, now), silver_matches[i]) << EncodeSegmentRules(trees[i]);
    EXPECT_EQ(matcher.Matches(unscored, now), unscored_matches[i]) << EncodeSegmentRules(trees[i]);
    EXPECT_EQ(EvaluateRules(trees[i], silver, now), silver_matches[i]);
    EXPECT_EQ(EvaluateRules(trees[i], unscored, now), unscored_matches[i]);
    EXPECT_EQ(matcher.NextChange(silver, now), std::nullopt);
  }
}

// --- NextChange ---

TEST(SegmentMatcherTest, NextChangeHoldsTheOutcomeOnRandomTrees) {
  RandomCases random(17);
  int changes = 0, exact = 0;
  for (int i = 0; i < 4000; ++i) {
    const Millis now = random.Now();
    const SegmentMatcher matcher(random.Tree(i % 3 == 0 ? 0 : 3, now));
    const RuleNode& tree = matcher.rules();
    const bool single = tree.kind == Kind::kCondition &&
                        RuleOpApplies(tree.condition.op, RuleFieldOf(tree.condition.field).type);
    for (int j = 0; j < 4; ++j) {
      const Customer c = random.Person(now);
      const bool outcome = EvaluateRules(tree, c, now);
      const auto next = matcher.NextChange(c, now);
      auto at = [&](Millis t) {
        return ::testing::Message() << i << " at " << t << ": " << EncodeSegmentRules(tree);
      };
      if (!matcher.depends_on_time()) {
        ASSERT_FALSE(next) << at(now);
      }
      if (next) {
        ++changes;
        ASSERT_GT(*next, now) << at(now);
        ASSERT_EQ(EvaluateRules(tree, c, *next - 1), outcome) << at(*next - 1);
        const uint64_t width = static_cast<uint64_t>(*next) - static_cast<uint64_t>(now);
        for (int k = 0; k < 5; ++k) {
          const Millis t = Offset(now, random.Unsigned(width - 1));
          ASSERT_EQ(EvaluateRules(tree, c, t), outcome) << at(t);
        }
        if (single) {
          ++exact;
          ASSERT_NE(EvaluateRules(tree, c, *next), outcome) << at(*next);
        }
      } else {
        const uint64_t width = static_cast<uint64_t>(kInt64Max) - static_cast<uint64_t>(now);
        for (Millis t : {now + (now < kInt64Max), kInt64Max, Offset(now, random.Unsigned(width)),
                         Offset(now, random.Unsigned(std::min<uint64_t>(width, 400 * kDay)))}) {
          ASSERT_EQ(EvaluateRules(tree, c, t), outcome) << at(t);
        }
      }
    }
  }
  EXPECT_GT(changes, 1000);
  EXPECT_GT(exact, 300);
}

// The outcome at `now` and at `next`, which must differ, and just before `next`, which must not.
void ExpectFlipsAt(const RuleNode& tree, const Customer& c, Millis now, Millis next) {
  const auto result = SegmentMatcher(tree).NextChange(c, now);
  ASSERT_TRUE(result) << EncodeSegmentRules(tree);
  EXPECT_EQ(*result, next) << EncodeSegmentRules(tree);
  EXPECT_EQ(EvaluateRules(tree, c, next - 1), EvaluateRules(tree, c, now))
      << EncodeSegmentRules(tree);
  EXPECT_NE(EvaluateRules(tree, c, next), EvaluateRules(tree, c, now)) << EncodeSegmentRules(tree);
}

void ExpectNeverChanges(const RuleNode& tree, const Customer& c, Millis now) {
  EXPECT_EQ(SegmentMatcher(tree).NextChange(c, now), std::nullopt) << EncodeSegmentRules(tree);
}

TEST(SegmentMatcherTest, InLastDaysTurnsFalseTheMillisecondAfterTheWindow) {
  const Millis now = T("2026-03-01T12:00:00Z");
  Customer c = MakeCustomer();
  c.last_visit = now - 3 * kDay + 5;
  for (RuleOp op : {RuleOp::kInLastDays, RuleOp::kNotInLastDays}) {
    ExpectFlipsAt(Cond(RuleField::kLastVisit, op, {3}), c, now, now + 6);
    ExpectFlipsAt(Cond(RuleField::kLastVisit, op, {3}), c, now + 5, now + 6);  // the last instant
    ExpectNeverChanges(Cond(RuleField::kLastVisit, op, {3}), c, now + 6);      // out for good
    ExpectFlipsAt(Cond(RuleField::kLastVisit, op, {30}), c, now, now + 27 * kDay + 6);
    ExpectNeverChanges(Cond(RuleField::kLastVisit, op, {1}), c, now);
    ExpectNeverChanges(Cond(RuleField::kLastOrderAt, op, {30}), c, now);  // missing
  }
  // A future value stays in the window until `days` after it.
  c.stats.last_order_at = now + 10 * kDay;
  ExpectFlipsAt(Cond(RuleField::kLastOrderAt, RuleOp::kInLastDays, {7}), c, now,
                now + 17 * kDay + 1);
  ExpectFlipsAt(Cond(RuleField::kCreatedAt, RuleOp::kInLastDays, {36500}), c, now,
                c.created_at + 36500 * kDay + 1);
}

TEST(SegmentMatcherTest, InactiveDaysChangesOnlyWhereTheAnswerDoes) {
  const Millis now = T("2026-03-01T12:00:00Z");
  Customer c = MakeCustomer();
  const Millis from = now - 10 * kDay - 5 * 3'600'000;  // 10 days inactive at now
  c.stats.last_order_at = from;
  c.last_visit = from - kDay;  // the later of the two counts
  auto day = [&](int64_t d) { return from + d * kDay; };
  auto cond = [](RuleOp op, std::vector<int64_t> numbers) {
    return Cond(RuleField::kInactiveDays, op, std::move(numbers));
  };
  struct Case {
    RuleOp op;
    std::vector<int64_t> numbers;
    std::optional<Millis> next;
  };
  const Case cases[] = {
      {RuleOp::kGt, {12}, day(13)},
      {RuleOp::kGt, {5}, std::nullopt},
      {RuleOp::kGt, {-3}, std::nullopt},
      {RuleOp::kGe, {12}, day(12)},
      {RuleOp::kGe, {10}, std::nullopt},
      {RuleOp::kLt, {12}, day(12)},
      {RuleOp::kLt, {10}, std::nullopt},
      {RuleOp::kLe, {12}, day(13)},
      {RuleOp::kLe, {10}, day(11)},
      {RuleOp::kLe, {9}, std::nullopt},
      {RuleOp::kEq, {10}, day(11)},
      {RuleOp::kEq, {12}, day(12)},
      {RuleOp::kEq, {3}, std::nullopt},
      {RuleOp::kNe, {10}, day(11)},
      {RuleOp::kNe, {12}, day(12)},
      {RuleOp::kNe, {3}, std::nullopt},
      {RuleOp::kBetween, {12, 20}, day(12)},
      {RuleOp::kBetween, {5, 15}, day(16)},
      {RuleOp::kBetween, {10, 10}, day(11)},
      {RuleOp::kBetween, {2, 5}, std::nullopt},
      {RuleOp::kIn, {15, 10, 3}, day(11)},
      {RuleOp::kIn, {12, 10, 11, 13, 20}, day(14)},  // the run 10–13
      {RuleOp::kIn, {3, 14, 20}, day(14)},
      {RuleOp::kIn, {1, 2}, std::nullopt},
      {RuleOp::kNotIn, {14}, day(14)},
      {RuleOp::kNotIn, {10, 11}, day(12)},
      {RuleOp::kNotIn, {9}, std::nullopt},
  };
  for (const Case& k : cases) {
    if (k.next) {
      ExpectFlipsAt(cond(k.op, k.numbers), c, now, *k.next);
    } else {
      ExpectNeverChanges(cond(k.op, k.numbers), c, now);
    }
  }
  // Not every day boundary: a day later the next change is still the same instant.
  EXPECT_EQ(SegmentMatcher(cond(RuleOp::kGt, {30})).NextChange(c, now + kDay), day(31));
  ExpectNeverChanges(Cond(RuleField::kInactiveDays, RuleOp::kIsNotEmpty), c, now);
  ExpectNeverChanges(Cond(RuleField::kInactiveDays, RuleOp::kIsEmpty), c, now);
}

TEST(SegmentMatcherTest, InactiveDaysBeforeCreatedAtCountsFromIt) {
  const Millis now = T("2026-03-01T12:00:00Z");
  Customer c = MakeCustomer();
  c.created_at = now + 5 * kDay;  // 0 days until a day after createdAt
  ExpectFlipsAt(Cond(RuleField::kInactiveDays, RuleOp::kGt, {0}), c, now, c.created_at + kDay);
  ExpectFlipsAt(Cond(RuleField::kInactiveDays, RuleOp::kEq, {0}), c, now, c.created_at + kDay);
  ExpectFlipsAt(Cond(RuleField::kInactiveDays, RuleOp::kGe, {3}), c, now, c.created_at + 3 * kDay);
  ExpectNeverChanges(Cond(RuleField::kInactiveDays, RuleOp::kGe, {0}), c, now);
  ExpectNeverChanges(Cond(RuleField::kInactiveDays, RuleOp::kLt, {0}), c, now);
}

TEST(SegmentMatcherTest, NextChangeOfATreeIsItsEarliestCondition) {
  const Millis now = T("2026-03-01T12:00:00Z");
  Customer c = MakeCustomer();
  c.last_visit = now - kDay;
  const SegmentMatcher matcher(Or({
      Not(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {5})),  // changes at 4 days + 1 ms
      And({Cond(RuleField::kInactiveDays, RuleOp::kGe, {3}),       // at 2 days
           Cond(RuleField::kName, RuleOp::kContains, {}, {"ada"})}),
  }));
  EXPECT_TRUE(matcher.depends_on_time());
  EXPECT_EQ(matcher.NextChange(c, now), now + 2 * kDay);
  EXPECT_EQ(matcher.NextChange(c, now + 2 * kDay), now + 4 * kDay + 1);
  EXPECT_EQ(matcher.NextChange(c, now + 4 * kDay + 1), std::nullopt);

  const SegmentMatcher timeless(And({Cond(RuleField::kCreatedAt, RuleOp::kLt, {now}),
                                     Cond(RuleField::kName, RuleOp::kNotInLastDays, {1})}));
  EXPECT_FALSE(SegmentMatcher(Cond(RuleField::kCreatedAt, RuleOp::kLt, {now})).depends_on_time());
  EXPECT_EQ(timeless.NextChange(c, now), std::nullopt);
}

TEST(SegmentMatcherTest, ExtremeOperandsAndTimesDoNotOverflow) {
  Customer c = MakeCustomer();
  const Millis now = T("2026-03-01T12:00:00Z");
  auto inactive = [](RuleOp op, std::vector<int64_t> numbers) {
    return Cond(RuleField::kInactiveDays, op, std::move(numbers));
  };
  // Counts no int64 instant reaches.
  for (int64_t d : {kInt64Max, kInt64Max - 1, kInt64Max / kDay, int64_t{200'000'000'000}}) {
    ExpectNeverChanges(inactive(RuleOp::kGt, {d}), c, now);
    ExpectNeverChanges(inactive(RuleOp::kGe, {d}), c, now);
    ExpectNeverChanges(inactive(RuleOp::kLe, {d}), c, now);
    ExpectNeverChanges(inactive(RuleOp::kEq, {d}), c, now);
    ExpectNeverChanges(inactive(RuleOp::kIn, {d, kInt64Max}), c, now);
    ExpectNeverChanges(inactive(RuleOp::kBetween, {0, d}), c, now);
  }
  ExpectNeverChanges(inactive(RuleOp::kBetween, {kInt64Min, kInt64Max}), c, now);
  ExpectNeverChanges(inactive(RuleOp::kGt, {kInt64Min}), c, now);
  // The oldest possible activity, at the latest instant.
  c.created_at = kInt64Min;
  ExpectNeverChanges(inactive(RuleOp::kGt, {1'000'000'000}), c, kInt64Max);
  ExpectFlipsAt(inactive(RuleOp::kGt, {0}), c, kInt64Min, kInt64Min + kDay);

  // Days past what a span of millis holds: the answer is fixed.
  c.last_visit = kInt64Min;
  for (int64_t days : {kInt64Max, kInt64Min, kInt64Max / kDay + 1, -kInt64Max}) {
    for (Millis t : {kInt64Min, int64_t{0}, kInt64Max}) {
      ExpectNeverChanges(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {days}), c, t);
    }
  }
  // now − days below INT64_MIN: in the window until the window's end passes.
  ExpectFlipsAt(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {1}), c, kInt64Min,
                kInt64Min + kDay + 1);
  // A window ending past INT64_MAX never ends.
  c.last_visit = kInt64Max - kDay;
  ExpectNeverChanges(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {1}), c, now);
  c.last_visit = kInt64Max - kDay - 1;
  ExpectFlipsAt(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {1}), c, now, kInt64Max);
  // Negative days: a window that ended before the value.
  c.last_visit = now;
  ExpectFlipsAt(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {-1}), c, now - 2 * kDay,
                now - kDay + 1);
  // Nothing changes after the last instant.
  ExpectNeverChanges(Cond(RuleField::kLastVisit, RuleOp::kInLastDays, {1}), c, kInt64Max);
  ExpectNeverChanges(inactive(RuleOp::kGt, {0}), c, kInt64Max);
  // In_last_days on inactive_days (refused by the parser): conservatively, the next instant.
  EXPECT_EQ(SegmentMatcher(inactive(RuleOp::kInLastDays, {1})).NextChange(c, now), now + 1);
}

}  // namespace
}  // namespace keel

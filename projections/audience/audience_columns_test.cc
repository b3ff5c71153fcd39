// AudienceColumns: every field, operator and missing value as domain/segment_rules.h defines
// them, trees, updates, the two-thread split, samples and pages, and the load protocol.
#include "projections/audience/audience_columns.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <thread>

#include "domain/segment_match.h"
#include "domain/text.h"
#include "projections/testing/map_read_store.h"

namespace keel {
namespace {

using testing::MapReadStore;

constexpr Millis kNow = 1'700'000'000'000;
constexpr Millis kDay = 86'400'000;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
using Ids = std::vector<std::string>;

// "c<i>" (appended: GCC 12 warns falsely on a literal + std::string).
std::string CId(int i) {
  std::string id = "c";
  id += std::to_string(i);
  return id;
}

Customer Person(std::string id, std::string name) {
  Customer c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.email = c.id;
  c.email += "@example.com";
  c.created_at = kNow - 100 * kDay;
  c.version = 1;
  return c;
}

RuleNode Num(RuleField field, RuleOp op, std::vector<int64_t> numbers = {}) {
  RuleNode n;
  n.condition = {.field = field, .op = op, .numbers = std::move(numbers)};
  return n;
}

RuleNode Text(RuleField field, RuleOp op, std::vector<std::string> texts = {}) {
  RuleNode n;
  n.condition = {.field = field, .op = op, .texts = std::move(texts)};
  return n;
}

RuleNode Active(RuleOp op, bool flag) {
  RuleNode n;
  n.condition = {.field = RuleField::kIsActive, .op = op, .flag = flag};
  return n;
}

RuleNode Group(RuleNode::Kind kind, std::vector<RuleNode> children) {
  RuleNode n;
  n.kind = kind;
  n.children = std::move(children);
  return n;
}
RuleNode And(std::vector<RuleNode> children) {
  return Group(RuleNode::Kind::kAnd, std::move(children));
}
RuleNode Or(std::vector<RuleNode> children) {
  return Group(RuleNode::Kind::kOr, std::move(children));
}
RuleNode Not(RuleNode child) { return Group(RuleNode::Kind::kNot, {std::move(child)}); }

class AudienceColumnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MapReadStore empty;
    ASSERT_TRUE(columns_.Load(empty));
    ASSERT_TRUE(columns_.ready());
    EXPECT_EQ(columns_.Count(And({}), kNow, 1).count, 0);  // no rows yet
  }

  // The ids matching, in row order; Count and Members agree on them.
  Ids Match(const RuleNode& rules, Millis now = kNow) {
    int64_t total = -1;
    Ids ids = columns_.Members(rules, now, 0, std::numeric_limits<size_t>::max(), &total);
    EXPECT_EQ(total, static_cast<int64_t>(ids.size()));
    AudienceColumns::Audience audience = columns_.Count(rules, now, ids.size() + 1);
    EXPECT_EQ(audience.count, total);
    EXPECT_EQ(audience.sample, ids);
    return ids;
  }

  AudienceColumns columns_;
};

TEST_F(AudienceColumnsTest, FiguresCompareAsServed) {
  Customer a = Person("a", "A");
  a.total_spending_cents = 1000;  // baseline, plus 2 orders of 500 and 700
  a.stats.order_count = 2;
  a.stats.order_cents = 1200;
  a.visits = 3;  // plus the two orders and one recorded visit
  a.stats.recorded_visits = 1;
  Customer b = Person("b", "B");
  b.total_spending_cents = 2200;
  Customer c = Person("c", "C");
  c.stats.order_count = 3;
  c.stats.order_cents = 1000;  // 333.33 → 333
  columns_.Apply({a, b, c});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kGt, {2200})), Ids{});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kGe, {2200})), (Ids{"a", "b"}));
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kLt, {1000})), Ids{});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kLe, {1000})), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kEq, {2200})), (Ids{"a", "b"}));
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kNe, {2200})), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kBetween, {1000, 2199})), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kBetween, {2200, 1000})), Ids{});  // low > high
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kIn, {1000, 5, 1000})), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kNotIn, {1000, 5})), (Ids{"a", "b"}));
  EXPECT_EQ(Match(Num(F::kAverageOrderValue, O::kEq, {600})), Ids{"a"});
  EXPECT_EQ(Match(Num(F::kAverageOrderValue, O::kEq, {333})), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kAverageOrderValue, O::kEq, {0})), Ids{"b"});  // no orders: 0
  EXPECT_EQ(Match(Num(F::kVisits, O::kEq, {6})), Ids{"a"});
  EXPECT_EQ(Match(Num(F::kVisits, O::kIn, {0, 3, 6})), (Ids{"a", "b", "c"}));
  EXPECT_EQ(Match(Num(F::kOrderCount, O::kGt, {1})), (Ids{"a", "c"}));
  // A list longer than the short one is searched, not scanned.
  std::vector<int64_t> many;
  for (int64_t i = 0; i < 100; ++i) many.push_back(i * 7 + 3);  // holds 3 (c's orders)
  EXPECT_EQ(Match(Num(F::kOrderCount, O::kIn, many)), Ids{"c"});
  EXPECT_EQ(Match(Num(F::kOrderCount, O::kNotIn, many)), (Ids{"a", "b"}));
  // A figure is never missing.
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kIsEmpty)), Ids{});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kIsNotEmpty)), (Ids{"a", "b", "c"}));
}

TEST_F(AudienceColumnsTest, TheEndsOfInt64AreExact) {
  Customer lowest = Person("lowest", "L");
  lowest.total_spending_cents = kMin;
  Customer highest = Person("highest", "H");
  highest.total_spending_cents = kMax;
  columns_.Apply({lowest, highest});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kGt, {kMax})), Ids{});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kGe, {kMax})), Ids{"highest"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kLt, {kMin})), Ids{});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kLe, {kMin})), Ids{"lowest"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kBetween, {kMin, kMax})), (Ids{"lowest", "highest"}));
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kNe, {kMin})), Ids{"highest"});
  EXPECT_EQ(Match(Num(F::kTotalSpending, O::kIn, {kMin, kMax})), (Ids{"lowest", "highest"}));
}

TEST_F(AudienceColumnsTest, AMissingTimeMatchesOnlyTheNegativeOperators) {
  Customer ordered = Person("ordered", "O");
  ordered.stats.order_count = 1;
  ordered.stats.first_order_at = kNow - 10 * kDay;
  ordered.stats.last_order_at = kNow - 2 * kDay;
  ordered.stats.last_activity = ordered.stats.last_order_at;
  Customer never = Person("never", "N");
  columns_.Apply({ordered, never});
  using F = RuleField;
  using O = RuleOp;
  const int64_t at = kNow - 2 * kDay;
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kEq, {at})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kNe, {at})), Ids{"never"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kNe, {at + 1})), (Ids{"ordered", "never"}));
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kLt, {kMax})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kLe, {kMin})), Ids{});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kGe, {kMin})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kBetween, {kMin, kMax})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kIsEmpty)), Ids{"never"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kIsNotEmpty)), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kFirstOrderAt, O::kLt, {kNow})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastVisit, O::kIsEmpty)), Ids{"never"});  // an order is a visit
  EXPECT_EQ(Match(Num(F::kCreatedAt, O::kIsEmpty)), Ids{});
  EXPECT_EQ(Match(Num(F::kCreatedAt, O::kIsNotEmpty)), (Ids{"ordered", "never"}));
  // in_last_days N: at or after now − N days (the edge included); its complement takes the
  // customers without a value.
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {2})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {2}), kNow + 1), Ids{});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {1})), Ids{});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kNotInLastDays, {1})), (Ids{"ordered", "never"}));
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kNotInLastDays, {2})), Ids{"never"});
  // A future value is within any last days.
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {1}), kNow - 5 * kDay), Ids{"ordered"});
  // Operands past what the parser takes neither overflow nor match a missing value.
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {kMax})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kInLastDays, {kMin})), Ids{});
  EXPECT_EQ(Match(Num(F::kLastOrderAt, O::kNotInLastDays, {kMax})), Ids{"never"});
}

TEST_F(AudienceColumnsTest, InactiveDaysFloorFromTheLatestActivityAndNeverGoBelowZero) {
  Customer ordered = Person("ordered", "O");  // 2.5 days since the last order: 2
  ordered.stats.order_count = 1;
  ordered.stats.last_order_at = kNow - 2 * kDay - kDay / 2;
  ordered.last_visit = kNow - 30 * kDay;
  Customer visited = Person("visited", "V");  // a visit later than the order: 1
  visited.stats.last_order_at = kNow - 40 * kDay;
  visited.last_visit = kNow - kDay;
  Customer created = Person("created", "C");  // neither: from createdAt, 100
  Customer future = Person("future", "F");    // an activity after now: 0
  future.last_visit = kNow + 3 * kDay;
  Customer edge = Person("edge", "E");  // exactly 7 days
  edge.created_at = kNow - 7 * kDay;
  columns_.Apply({ordered, visited, created, future, edge});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {2})), Ids{"ordered"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {1})), Ids{"visited"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {100})), Ids{"created"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {0})), Ids{"future"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {7})), Ids{"edge"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {7}), kNow - 1), Ids{});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kEq, {6}), kNow - 1), Ids{"edge"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kGt, {2})), (Ids{"created", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kGe, {2})), (Ids{"ordered", "created", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kLt, {2})), (Ids{"visited", "future"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kLe, {0})), Ids{"future"});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kLt, {0})), Ids{});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kGe, {-5})),
            (Ids{"ordered", "visited", "created", "future", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kNe, {2})),
            (Ids{"visited", "created", "future", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kBetween, {1, 7})), (Ids{"ordered", "visited", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kIn, {0, 100})), (Ids{"created", "future"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kNotIn, {0, 100})), (Ids{"ordered", "visited", "edge"}));
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kGt, {kMax})), Ids{});
  EXPECT_EQ(Match(Num(F::kInactiveDays, O::kLe, {kMax})),
            (Ids{"ordered", "visited", "created", "future", "edge"}));
}

TEST_F(AudienceColumnsTest, TextComparesFoldedAndAMissingPhoneOnlyNegatives) {
  Customer ada = Person("ada", "Ada Lovelace");
  ada.phone = "+44 20 7946 0000";
  Customer grace = Person("grace", "GRACE Hopper");
  Customer alan = Person("alan", "alan turing");
  alan.phone = "";  // present, empty
  columns_.Apply({ada, grace, alan});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Text(F::kName, O::kContains, {"LOVE"})), Ids{"ada"});
  EXPECT_EQ(Match(Text(F::kName, O::kContains, {"a"})), (Ids{"ada", "grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kName, O::kStartsWith, {"grace h"})), Ids{"grace"});
  EXPECT_EQ(Match(Text(F::kName, O::kEndsWith, {"TURING"})), Ids{"alan"});
  EXPECT_EQ(Match(Text(F::kName, O::kEq, {"ada lovelace"})), Ids{"ada"});
  EXPECT_EQ(Match(Text(F::kName, O::kEq, {"ada"})), Ids{});
  EXPECT_EQ(Match(Text(F::kName, O::kNe, {"Ada Lovelace"})), (Ids{"grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kName, O::kIn, {"Alan Turing", "nobody", "GRACE HOPPER"})),
            (Ids{"grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kName, O::kNotIn, {"Alan Turing", "nobody"})), (Ids{"ada", "grace"}));
  EXPECT_EQ(Match(Text(F::kName, O::kIsEmpty)), Ids{});
  EXPECT_EQ(Match(Text(F::kName, O::kIsNotEmpty)), (Ids{"ada", "grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kEmail, O::kEndsWith, {"@EXAMPLE.com"})), (Ids{"ada", "grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kEmail, O::kStartsWith, {"gr"})), Ids{"grace"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kContains, {"7946"})), Ids{"ada"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kContains, {""})), (Ids{"ada", "alan"}));
  EXPECT_EQ(Match(Text(F::kPhone, O::kEq, {""})), Ids{"alan"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kNe, {""})), (Ids{"ada", "grace"}));
  EXPECT_EQ(Match(Text(F::kPhone, O::kNotIn, {"+44 20 7946 0000"})), (Ids{"grace", "alan"}));
  EXPECT_EQ(Match(Text(F::kPhone, O::kIn, {"+44 20 7946 0000"})), Ids{"ada"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kStartsWith, {"+"})), Ids{"ada"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kIsEmpty)), Ids{"grace"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kIsNotEmpty)), (Ids{"ada", "alan"}));
}

TEST_F(AudienceColumnsTest, OwnerIdsCompareExactly) {
  Customer mine = Person("mine", "M");
  mine.owner_id = "Rep-1";
  Customer theirs = Person("theirs", "T");
  theirs.owner_id = "rep-2";
  Customer nobodys = Person("nobodys", "N");
  columns_.Apply({mine, theirs, nobodys});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kEq, {"Rep-1"})), Ids{"mine"});
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kEq, {"rep-1"})), Ids{});
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kEq, {"unknown"})), Ids{});
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kNe, {"Rep-1"})), (Ids{"theirs", "nobodys"}));
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kIn, {"rep-2", "Rep-1"})), (Ids{"mine", "theirs"}));
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kNotIn, {"rep-2"})), (Ids{"mine", "nobodys"}));
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kIsEmpty)), Ids{"nobodys"});
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kIsNotEmpty)), (Ids{"mine", "theirs"}));
}

TEST_F(AudienceColumnsTest, IsActiveIsABit) {
  Customer on = Person("on", "On");
  Customer off = Person("off", "Off");
  off.is_active = false;
  columns_.Apply({on, off});
  EXPECT_EQ(Match(Active(RuleOp::kEq, true)), Ids{"on"});
  EXPECT_EQ(Match(Active(RuleOp::kEq, false)), Ids{"off"});
  EXPECT_EQ(Match(Active(RuleOp::kNe, true)), Ids{"off"});
  EXPECT_EQ(Match(Active(RuleOp::kNe, false)), Ids{"on"});
}

TEST_F(AudienceColumnsTest, AndOrNotCombine) {
  std::vector<Customer> all;
  for (int i = 0; i < 10; ++i) {
    Customer c = Person(std::to_string(i), i % 2 ? "Odd" : "Even");
    c.total_spending_cents = i * 100;
    c.is_active = i < 5;
    all.push_back(c);
  }
  columns_.Apply(all);
  using F = RuleField;
  using O = RuleOp;
  // (spending ≥ 300 AND name contains "odd") OR (NOT active AND spending < 800)
  RuleNode tree =
      Or({And({Num(F::kTotalSpending, O::kGe, {300}), Text(F::kName, O::kContains, {"odd"})}),
          And({Not(Active(O::kEq, true)), Num(F::kTotalSpending, O::kLt, {800})})});
  EXPECT_EQ(Match(tree), (Ids{"3", "5", "6", "7", "9"}));
  EXPECT_EQ(Match(Not(tree)), (Ids{"0", "1", "2", "4", "8"}));
  EXPECT_EQ(Match(And({})), (Ids{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  EXPECT_EQ(Match(Or({})), Ids{});
  EXPECT_EQ(Match(Group(RuleNode::Kind::kNot, {})), Ids{});
  EXPECT_EQ(Match(Not(Not(Text(F::kName, O::kEq, {"even"})))), (Ids{"0", "2", "4", "6", "8"}));
}

TEST_F(AudienceColumnsTest, AnUpdateOverwritesItsRow) {
  const std::string uuid = "018f0000-0000-7000-8000-0000000000aa";
  Customer a = Person(uuid, "Short");
  Customer b = Person("B-not-a-uuid", "Bee");
  b.phone = "123";
  columns_.Apply({a, b});
  ASSERT_EQ(columns_.size(), 2u);

  a.name = "A much longer name than before, so the record moves";
  a.owner_id = "rep";
  a.stats.order_count = 4;
  b.name = "B";  // shorter: rewritten in place
  b.phone.reset();
  columns_.Apply({b, a});
  EXPECT_EQ(columns_.size(), 2u);
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Text(F::kName, O::kContains, {"longer"})), Ids{uuid});
  EXPECT_EQ(Match(Text(F::kName, O::kContains, {"short"})), Ids{});
  EXPECT_EQ(Match(Text(F::kName, O::kEq, {"b"})), Ids{"B-not-a-uuid"});
  EXPECT_EQ(Match(Text(F::kPhone, O::kIsEmpty)), (Ids{uuid, "B-not-a-uuid"}));
  EXPECT_EQ(Match(Num(F::kOrderCount, O::kEq, {4})), Ids{uuid});
  EXPECT_EQ(Match(Text(F::kOwnerId, O::kEq, {"rep"})), Ids{uuid});
  EXPECT_EQ(Match(Text(F::kEmail, O::kStartsWith, {"018f0000"})), Ids{uuid});
  // An id that only differs by case is another customer (it is not packed as a UUID).
  Customer upper = Person("018F0000-0000-7000-8000-0000000000AA", "Upper");
  columns_.Apply({upper});
  EXPECT_EQ(columns_.size(), 3u);
  EXPECT_EQ(Match(Text(F::kName, O::kEq, {"upper"})), Ids{upper.id});
}

TEST_F(AudienceColumnsTest, RewritesThatMoveRecordsCompactTheArena) {
  std::vector<Customer> all;
  for (int i = 0; i < 3000; ++i) all.push_back(Person(CId(i), "n"));
  columns_.Apply(all);
  const size_t before = columns_.MemoryBytes();
  for (int round = 1; round <= 8; ++round) {
    for (Customer& c : all) {
      c.name.assign(static_cast<size_t>(round) * 40, 'x');
      c.name += c.id;
    }
    columns_.Apply(all);
  }
  EXPECT_EQ(columns_.size(), 3000u);
  // 8 rounds moved about 3000 × (40 + 80 + … + 320) = 4.3 MB; compaction keeps the arena near
  // its live size (about 1 MB).
  EXPECT_LT(columns_.MemoryBytes(), before + 4'000'000);
  EXPECT_EQ(Match(Text(RuleField::kName, RuleOp::kEndsWith, {"xc2999"})), Ids{"c2999"});
  EXPECT_EQ(
      columns_.Count(Text(RuleField::kName, RuleOp::kStartsWith, {std::string(320, 'x')}), kNow, 0)
          .count,
      3000);
}

TEST_F(AudienceColumnsTest, EmailsCompareWholeWhateverTheirDomain) {
  Customer two_ats = Person("two", "T");
  two_ats.email = "X@Y@Example.COM";  // the domain is what follows the last '@'
  Customer none = Person("none", "N");
  none.email = "no-domain";
  Customer plain = Person("plain", "P");
  plain.email = "p@example.com";
  columns_.Apply({two_ats, none, plain});
  using F = RuleField;
  using O = RuleOp;
  EXPECT_EQ(Match(Text(F::kEmail, O::kEq, {"x@y@example.com"})), Ids{"two"});
  EXPECT_EQ(Match(Text(F::kEmail, O::kContains, {"Y@EX"})), Ids{"two"});
  EXPECT_EQ(Match(Text(F::kEmail, O::kEndsWith, {"@example.com"})), (Ids{"two", "plain"}));
  EXPECT_EQ(Match(Text(F::kEmail, O::kEq, {"no-domain"})), Ids{"none"});
  EXPECT_EQ(Match(Text(F::kEmail, O::kContains, {"-"})), Ids{"none"});
  EXPECT_EQ(Match(Text(F::kEmail, O::kIn, {"P@Example.com", "no-domain"})), (Ids{"none", "plain"}));
  plain.email = "p@other.org";  // the same length: rewritten in place, with another domain
  columns_.Apply({plain});
  EXPECT_EQ(Match(Text(F::kEmail, O::kEndsWith, {"@example.com"})), Ids{"two"});
  EXPECT_EQ(Match(Text(F::kEmail, O::kEq, {"p@other.org"})), Ids{"plain"});
}

// Texts over many chunks of an arena (4 KiB, 8 KiB, … 1 MiB), contains found at any of them.
TEST_F(AudienceColumnsTest, TextsFillManyChunks) {
  std::vector<Customer> all;
  for (int i = 0; i < 12000; ++i) {
    Customer c = Person(CId(i), std::string(100, 'a' + static_cast<char>(i % 26)));
    c.name += CId(i);
    all.push_back(c);
  }
  columns_.Apply(all);  // 12000 × ~106 bytes of names: 10 chunks
  using F = RuleField;
  using O = RuleOp;
  for (int i : {0, 9000, 9891, 9892, 11999}) {
    std::string tail(1, 'a' + static_cast<char>(i % 26));  // the last letter, then the id
    tail += CId(i);
    EXPECT_EQ(Match(Text(F::kName, O::kContains, {tail})), Ids{CId(i)}) << i;
    EXPECT_EQ(Match(Text(F::kName, O::kEndsWith, {CId(i)})), Ids{CId(i)}) << i;
  }
  EXPECT_EQ(columns_.Count(Text(F::kName, O::kContains, {"zzzz"}), kNow, 0).count, 12000 / 26);
}

TEST(AudienceColumnsLoadTest, AWrongCountOnlyCostsRoom) {
  for (size_t expected : {0, 2, 10, 100000}) {
    AudienceColumns columns;
    columns.StartLoad(expected);
    for (int i = 0; i < 10; ++i) columns.Loaded(Person(CId(i), i % 2 ? "Odd" : "Even"));
    columns.FinishLoad({});
    ASSERT_TRUE(columns.ready());
    EXPECT_EQ(columns.size(), 10u);
    EXPECT_LT(columns.MemoryBytes(), 1'000'000u) << expected;  // the room reserved is given back
    int64_t total = 0;
    EXPECT_EQ(columns.Members(Text(RuleField::kName, RuleOp::kEq, {"odd"}), kNow, 0, 2, &total),
              (Ids{"c1", "c3"}));
    EXPECT_EQ(total, 5);
    columns.Apply({Person("c10", "Odd")});
    EXPECT_EQ(columns.Count(Text(RuleField::kName, RuleOp::kEq, {"odd"}), kNow, 0).count, 6);
  }
}

// Queries on several threads at once (the second thread busy with one, the others evaluate both
// halves themselves) while batches commit.
TEST(AudienceColumnsConcurrencyTest, QueriesRunWhileBatchesCommit) {
  MapReadStore empty;
  AudienceColumns columns(/*parallel_min_rows=*/1);
  ASSERT_TRUE(columns.Load(empty));
  std::vector<Customer> all;
  for (int i = 0; i < 5000; ++i) {
    Customer c = Person(CId(i), "Before");
    c.visits = i % 2;
    all.push_back(c);
  }
  columns.Apply(all);
  const RuleNode odd = And({Num(RuleField::kVisits, RuleOp::kEq, {1}),
                            Or({Text(RuleField::kName, RuleOp::kContains, {"fore"}),
                                Text(RuleField::kName, RuleOp::kContains, {"fter"})})});
  std::atomic<bool> wrong{false};
  {
    std::vector<std::jthread> readers;
    for (int t = 0; t < 4; ++t) {
      readers.emplace_back([&] {
        for (int i = 0; i < 100; ++i) {
          if (columns.Count(odd, kNow, 3).count != 2500) wrong = true;
        }
      });
    }
    for (int round = 0; round < 20; ++round) {
      for (Customer& c : all) c.name = round % 2 ? "Before" : "After";
      columns.Apply(all);
    }
  }
  EXPECT_FALSE(wrong);
  EXPECT_EQ(columns.Count(Text(RuleField::kName, RuleOp::kEq, {"before"}), kNow, 0).count, 5000);
}

Customer RandomCustomer(std::mt19937_64& rng, int i) {
  static const char* kNames[] = {"Ada", "alan", "Barbara", "ada lovelace", "Chen", "Zoe"};
  Customer c = Person(std::to_string(i), kNames[rng() % 6]);
  c.total_spending_cents = static_cast<int64_t>(rng() % 10) * 1000;
  c.visits = static_cast<int64_t>(rng() % 5);
  c.is_active = rng() % 4 != 0;
  c.created_at = kNow - static_cast<Millis>(rng() % (400 * kDay));
  if (rng() % 2) c.phone = std::to_string(rng() % 1000);
  if (rng() % 3) c.owner_id = std::to_string(rng() % 4);
  if (rng() % 2) c.last_visit = kNow - static_cast<Millis>(rng() % (60 * kDay));
  c.stats.order_count = static_cast<int64_t>(rng() % 4);
  c.stats.order_cents = c.stats.order_count * static_cast<int64_t>(rng() % 7000);
  if (c.stats.order_count) {
    c.stats.first_order_at = kNow - static_cast<Millis>(rng() % (300 * kDay));
    c.stats.last_order_at = *c.stats.first_order_at + static_cast<Millis>(rng() % (30 * kDay));
  }
  return c;
}

TEST(AudienceColumnsSplitTest, TwoThreadsFindWhatOneFinds) {
  MapReadStore empty;
  AudienceColumns one(std::numeric_limits<size_t>::max());
  AudienceColumns two(1);
  ASSERT_TRUE(one.Load(empty));
  ASSERT_TRUE(two.Load(empty));
  std::mt19937_64 rng(15);
  std::vector<Customer> all;
  for (int i = 0; i < 5000; ++i) all.push_back(RandomCustomer(rng, i));
  one.Apply(all);
  two.Apply(all);
  using F = RuleField;
  using O = RuleOp;
  const std::vector<RuleNode> trees = {
      And({Num(F::kTotalSpending, O::kGe, {3000}), Text(F::kName, O::kContains, {"ada"})}),
      Or({Num(F::kLastOrderAt, O::kInLastDays, {90}), Not(Text(F::kPhone, O::kIsEmpty)),
          Num(F::kInactiveDays, O::kBetween, {10, 50})}),
      And({Active(O::kEq, true), Text(F::kOwnerId, O::kIn, {"1", "3"}),
           Or({Num(F::kVisits, O::kGt, {3}), Num(F::kOrderCount, O::kIn, {0, 2})})}),
      Num(F::kCreatedAt, O::kLt, {kNow - 200 * kDay}),
  };
  for (const RuleNode& tree : trees) {
    AudienceColumns::Audience a = one.Count(tree, kNow, 50);
    AudienceColumns::Audience b = two.Count(tree, kNow, 50);
    EXPECT_GT(a.count, 0);
    EXPECT_LT(a.count, 5000);
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.sample, b.sample);
    int64_t total_one = 0, total_two = 0;
    EXPECT_EQ(one.Members(tree, kNow, 0, 10000, &total_one),
              two.Members(tree, kNow, 0, 10000, &total_two));
    EXPECT_EQ(total_one, a.count);
    EXPECT_EQ(total_two, a.count);
  }
}

TEST_F(AudienceColumnsTest, SamplesAndPagesFollowRowOrder) {
  std::vector<Customer> all;
  for (int i = 0; i < 300; ++i) {
    Customer c = Person(CId(i), "N");
    c.visits = i % 3 == 0 ? 1 : 0;  // every third: 100 matches
    all.push_back(c);
  }
  columns_.Apply(all);
  const RuleNode every_third = Num(RuleField::kVisits, RuleOp::kEq, {1});
  AudienceColumns::Audience audience = columns_.Count(every_third, kNow, 3);
  EXPECT_EQ(audience.count, 100);
  EXPECT_EQ(audience.sample, (Ids{"c0", "c3", "c6"}));
  EXPECT_EQ(columns_.Count(every_third, kNow, 0).sample, Ids{});
  int64_t total = 0;
  EXPECT_EQ(columns_.Members(every_third, kNow, 30, 3, &total), (Ids{"c90", "c93", "c96"}));
  EXPECT_EQ(total, 100);
  EXPECT_EQ(columns_.Members(every_third, kNow, 98, 5, &total), (Ids{"c294", "c297"}));
  EXPECT_EQ(columns_.Members(every_third, kNow, 100, 5, &total), Ids{});
  EXPECT_EQ(total, 100);
  EXPECT_EQ(columns_.Members(every_third, kNow, 0, 0, nullptr), Ids{});
}

TEST(AudienceColumnsLoadTest, ApplyDuringALoadIsHeldAndReplayedAfterIt) {
  MapReadStore store;
  for (int i = 0; i < 10; ++i) store.PutCustomer(Person(CId(i), "Stored"));
  AudienceColumns columns;
  columns.Apply({Person("before", "Before")});  // before any load: the load will read the store
  EXPECT_EQ(columns.size(), 0u);
  EXPECT_FALSE(columns.ready());

  // Halfway through the scan, a batch commits: c1 renamed (the scan read it before), c8
  // renamed (the scan's snapshot has the old name) and a new customer.
  store.during_scan = [&] {
    columns.Apply({Person("c1", "Renamed"), Person("c8", "Renamed"), Person("new", "Renamed")});
    EXPECT_FALSE(columns.ready());
  };
  ASSERT_TRUE(columns.Load(store));
  EXPECT_TRUE(columns.ready());
  EXPECT_EQ(columns.size(), 11u);
  int64_t total = 0;
  EXPECT_EQ(columns.Members(Text(RuleField::kName, RuleOp::kEq, {"renamed"}), kNow, 0, 10, &total),
            (Ids{"c1", "c8", "new"}));
  EXPECT_EQ(columns.Count(Text(RuleField::kName, RuleOp::kEq, {"stored"}), kNow, 0).count, 8);

  // After the load, Apply writes through.
  columns.Apply({Person("c2", "Renamed")});
  EXPECT_EQ(columns.Count(Text(RuleField::kName, RuleOp::kEq, {"renamed"}), kNow, 0).count, 4);
}

TEST(AudienceColumnsLoadTest, AFailedLoadBreaksTheColumnsForGood) {
  MapReadStore store;
  for (int i = 0; i < 4; ++i) store.PutCustomer(Person(CId(i), "Stored"));
  store.fail_scans = true;
  AudienceColumns columns;
  EXPECT_FALSE(columns.Load(store));
  EXPECT_TRUE(columns.broken());
  EXPECT_FALSE(columns.ready());
  columns.Apply({Person("c9", "Late")});
  EXPECT_EQ(columns.Count(And({}), kNow, 5).count, 0);
  store.fail_scans = false;
  EXPECT_TRUE(columns.Load(store));
  EXPECT_FALSE(columns.ready());  // still broken
}

// What EvaluateRules reads of a customer for a numeric or time field (an operand pool).
std::optional<int64_t> FigureOf(RuleField field, const Customer& c, Millis now) {
  switch (field) {
    case RuleField::kTotalSpending:
      return TotalSpendingCents(c);
    case RuleField::kAverageOrderValue:
      return AverageOrderCents(c);
    case RuleField::kVisits:
      return TotalVisits(c);
    case RuleField::kOrderCount:
      return c.stats.order_count;
    case RuleField::kInactiveDays: {
      Millis from = std::max(c.stats.last_order_at.value_or(kMin), LastVisit(c).value_or(kMin));
      if (from == kMin) from = c.created_at;
      return now <= from ? 0 : (now - from) / kDay;
    }
    case RuleField::kLastVisit:
      return LastVisit(c);
    case RuleField::kLastOrderAt:
      return c.stats.last_order_at;
    case RuleField::kFirstOrderAt:
      return c.stats.first_order_at;
    case RuleField::kCreatedAt:
      return c.created_at;
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

// Seed 002's fields: the columns, the reference evaluator and the membership matcher agree on
// every condition over them, before and after the customers change.
TEST(AudienceColumnsSeed002Test, StatusTypeBirthDateAndTagsAgreeWithTheReferenceEvaluator) {
  std::mt19937_64 rng(16);
  static const char* kTags[] = {"vip", "VIP", "b2b", "Straße", "STRASSE", "new"};
  auto refresh = [&](Customer& c) {
    c.status = static_cast<CustomerStatus>(rng() % 4);
    c.customer_type = static_cast<CustomerType>(rng() % 2);
    CustomerDetails d;
    if (rng() % 3) {
      char date[11];
      std::snprintf(date, sizeof date, "%04d-%02d-%02d", 1900 + static_cast<int>(rng() % 124),
                    1 + static_cast<int>(rng() % 12), 1 + static_cast<int>(rng() % 28));
      d.birth_date = date;
    }
    for (int n = static_cast<int>(rng() % 4); n > 0; --n) d.tags.push_back(kTags[rng() % 6]);
    c.details.mut() = std::move(d);
  };
  std::vector<Customer> customers;
  for (int i = 0; i < 700; ++i) {
    customers.push_back(Person(CId(i), "P"));
    refresh(customers.back());
  }
  std::vector<RuleNode> conditions;
  for (RuleOp op : {RuleOp::kEq, RuleOp::kNe, RuleOp::kIn, RuleOp::kNotIn, RuleOp::kIsEmpty,
                    RuleOp::kIsNotEmpty, RuleOp::kContains}) {
    conditions.push_back(Text(RuleField::kStatus, op, {"LEAD"}));
    conditions.push_back(Text(RuleField::kStatus, op, {"CHURNED", "OPPORTUNITY"}));
    conditions.push_back(Text(RuleField::kCustomerType, op, {"COMPANY"}));
  }
  for (RuleOp op : {RuleOp::kContains, RuleOp::kIsEmpty, RuleOp::kIsNotEmpty, RuleOp::kEq}) {
    for (const char* tag : {"vip", "strasse", "B2B", "none"}) {
      conditions.push_back(Text(RuleField::kTags, op, {tag}));
    }
  }
  const Millis y2000 = *ParseIso8601("2000-01-01T00:00:00Z");
  for (RuleOp op : {RuleOp::kLt, RuleOp::kGe, RuleOp::kEq, RuleOp::kNe, RuleOp::kIsEmpty,
                    RuleOp::kIsNotEmpty}) {
    conditions.push_back(Num(RuleField::kBirthDate, op, {y2000}));
  }
  conditions.push_back(
      Num(RuleField::kBirthDate, RuleOp::kBetween, {*ParseIso8601("1950-01-01T00:00:00Z"), y2000}));
  conditions.push_back(Num(RuleField::kBirthDate, RuleOp::kInLastDays, {20000}));
  // Pairs under and / or / not.
  const size_t singles = conditions.size();
  for (size_t i = 0; i + 1 < singles; i += 2) {
    conditions.push_back(And({conditions[i], Not(conditions[i + 1])}));
    conditions.push_back(Or({conditions[i], conditions[singles - 1 - i]}));
  }

  MapReadStore empty;
  AudienceColumns columns(/*parallel_min_rows=*/256);
  ASSERT_TRUE(columns.Load(empty));
  int nonempty = 0;
  for (int round = 0; round < 3; ++round) {
    columns.Apply(customers);
    for (const RuleNode& tree : conditions) {
      const SegmentMatcher matcher(tree);
      int64_t expected = 0;
      for (const Customer& c : customers) {
        const bool match = EvaluateRules(tree, c, kNow);
        ASSERT_EQ(matcher.Matches(c, kNow), match) << EncodeSegmentRules(tree);
        expected += match ? 1 : 0;
      }
      ASSERT_EQ(columns.Count(tree, kNow, 0).count, expected)
          << "round " << round << ": " << EncodeSegmentRules(tree);
      nonempty += expected > 0 && expected < 700 ? 1 : 0;
    }
    for (Customer& c : customers) {  // a third change, some to no tags at all
      if (rng() % 3 == 0) refresh(c);
      if (rng() % 5 == 0) c.details.mut().tags.clear();
    }
  }
  EXPECT_GT(nonempty, static_cast<int>(conditions.size()));  // most split the customers
}

// A customer scored R, F, M at `level` by the level keeper.
void Score(Customer& c, int recency, int frequency, int monetary, LoyaltyLevel level) {
  c.standing = StandingOf({recency, frequency, monetary}, level);
}

constexpr int64_t Rank(LoyaltyLevel level) { return static_cast<int64_t>(level); }

TEST_F(AudienceColumnsTest, LevelsCompareByRankAndAnUnscoredCustomerOnlyMatchesNegatives) {
  // Not scored(): no standing a customer can hold (nothing recorded is Bronze, 1, 1, 1), but every
  // evaluator treats it as missing, alike.
  Customer unscored = Person("u", "U");
  unscored.standing = LoyaltyStanding{0, 0, 0};
  Customer bronze = Person("b", "B");
  Score(bronze, 1, 1, 2, LoyaltyLevel::kBronze);
  Customer gold = Person("g", "G");
  Score(gold, 5, 3, 4, LoyaltyLevel::kGold);
  Customer platinum = Person("p", "P");
  Score(platinum, 2, 5, 5, LoyaltyLevel::kPlatinum);
  columns_.Apply({unscored, bronze, gold, platinum});

  const int64_t kGold = Rank(LoyaltyLevel::kGold);
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kGe, {kGold})), (Ids{"g", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kGt, {kGold})), (Ids{"p"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kLt, {kGold})), (Ids{"b"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kLe, {kGold})), (Ids{"b", "g"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kEq, {Rank(LoyaltyLevel::kBronze)})), (Ids{"b"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kNe, {kGold})), (Ids{"u", "b", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kIn, {kGold, Rank(LoyaltyLevel::kBronze)})),
            (Ids{"b", "g"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kNotIn, {kGold})), (Ids{"u", "b", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kBetween, {Rank(LoyaltyLevel::kSilver), kGold})),
            (Ids{"g"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kIsEmpty)), (Ids{"u"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kIsNotEmpty)), (Ids{"b", "g", "p"}));

  EXPECT_EQ(Match(Num(RuleField::kRecencyScore, RuleOp::kLe, {2})), (Ids{"b", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kFrequencyScore, RuleOp::kGe, {3})), (Ids{"g", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kMonetaryScore, RuleOp::kBetween, {4, 5})), (Ids{"g", "p"}));
  EXPECT_EQ(Match(Num(RuleField::kMonetaryScore, RuleOp::kNe, {5})), (Ids{"u", "b", "g"}));
  EXPECT_EQ(Match(Num(RuleField::kRecencyScore, RuleOp::kIn, {1, 5})), (Ids{"b", "g"}));
  EXPECT_EQ(Match(Num(RuleField::kFrequencyScore, RuleOp::kIsEmpty)), (Ids{"u"}));
  EXPECT_EQ(Match(And({Num(RuleField::kLevel, RuleOp::kGe, {kGold}),
                       Num(RuleField::kRecencyScore, RuleOp::kLe, {2})})),
            (Ids{"p"}));

  // A new standing overwrites the row: the customer moves between the audiences.
  Score(unscored, 3, 3, 3, LoyaltyLevel::kGold);
  Score(platinum, 1, 4, 4, LoyaltyLevel::kSilver);
  columns_.Apply({unscored, platinum});
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kGe, {kGold})), (Ids{"u", "g"}));
  EXPECT_EQ(Match(Num(RuleField::kLevel, RuleOp::kIsEmpty)), (Ids{}));
  EXPECT_EQ(Match(Num(RuleField::kRecencyScore, RuleOp::kEq, {1})), (Ids{"b", "p"}));
}

// The loyalty standing: the columns, the reference evaluator and the membership matcher agree
// on every operator (those the parser refuses too) over a mix of scored and unscored customers,
// before and after their standings change.
TEST(AudienceColumnsLoyaltyTest, LevelAndScoresAgreeWithTheReferenceEvaluator) {
  std::mt19937_64 rng(15);
  auto refresh = [&](Customer& c) {
    c.standing = LoyaltyStanding{0, 0, 0};  // not scored(): the evaluators' missing-value path
    if (rng() % 4 == 0) return;  // never scored
    c.standing = StandingOf({1 + static_cast<int>(rng() % 5), 1 + static_cast<int>(rng() % 5),
                             1 + static_cast<int>(rng() % 5)},
                            static_cast<LoyaltyLevel>(rng() % kLoyaltyLevels));
  };
  std::vector<Customer> customers;
  for (int i = 0; i < 700; ++i) {
    customers.push_back(Person(CId(i), "P"));
    refresh(customers.back());
  }
  std::vector<RuleNode> conditions;
  for (RuleField field : {RuleField::kLevel, RuleField::kRecencyScore, RuleField::kFrequencyScore,
                          RuleField::kMonetaryScore}) {
    const int64_t lo = field == RuleField::kLevel ? 0 : 1;
    const int64_t hi = field == RuleField::kLevel ? kLoyaltyLevels - 1 : 5;
    for (int op = 0; op <= static_cast<int>(RuleOp::kIsNotEmpty); ++op) {
      const auto rule_op = static_cast<RuleOp>(op);
      // Every value (and one past each end) as the operand, and a few lists and ranges.
      for (int64_t v = lo - 1; v <= hi + 1; ++v) conditions.push_back(Num(field, rule_op, {v}));
      conditions.push_back(Num(field, rule_op, {lo, hi}));
      conditions.push_back(Num(field, rule_op, {hi, lo + 1}));
      conditions.push_back(Num(field, rule_op, {lo + 1, lo + 1, hi}));
      conditions.push_back(Num(field, rule_op, {kMin, kMax}));
      conditions.push_back(Num(field, rule_op));  // no operand at all
    }
  }
  // Pairs under and / or / not.
  const size_t singles = conditions.size();
  for (size_t i = 0; i + 1 < singles; i += 7) {
    conditions.push_back(And({conditions[i], Not(conditions[i + 1])}));
    conditions.push_back(Or({conditions[i], conditions[singles - 1 - i]}));
  }

  MapReadStore empty;
  AudienceColumns columns(/*parallel_min_rows=*/256);
  ASSERT_TRUE(columns.Load(empty));
  int nonempty = 0;
  for (int round = 0; round < 3; ++round) {
    columns.Apply(customers);
    for (const RuleNode& tree : conditions) {
      const SegmentMatcher matcher(tree);
      for (Millis now : {kNow, Millis{0}}) {
        int64_t expected = 0;
        for (const Customer& c : customers) {
          const bool match = EvaluateRules(tree, c, now);
          ASSERT_EQ(matcher.Matches(c, now), match) << EncodeSegmentRules(tree);
          expected += match ? 1 : 0;
        }
        ASSERT_EQ(columns.Count(tree, now, 0).count, expected)
            << "round " << round << " at " << now << ": " << EncodeSegmentRules(tree);
        nonempty += expected > 0 && expected < 700 ? 1 : 0;
      }
    }
    for (Customer& c : customers) {  // a third change standing
      if (rng() % 3 == 0) refresh(c);
    }
  }
  EXPECT_GT(nonempty, static_cast<int>(conditions.size()));  // most split the customers
}

// Random customers and trees, checked against the reference evaluator.
class RuleProperty {
 public:
  explicit RuleProperty(uint64_t seed) : rng_(seed) {}

  Customer NewCustomer() {
    Customer c;
    const int n = next_++;
    if (Chance(2)) {
      char uuid[37];
      std::snprintf(uuid, sizeof uuid, "018f%04x-0000-7000-8000-%012x", n % 0xffff, n);
      c.id = uuid;
    } else {
      c.id = CId(n);
    }
    Refresh(c);
    return c;
  }

  // New values for every field but the id.
  void Refresh(Customer& c) {
    c.name = Pick(kNames);
    if (Chance(3)) {
      c.name += ' ';
      c.name += Pick(kNames);
    }
    c.email = AsciiLower(Pick(kNames)) + std::to_string(Below(100)) + "@Example.com";
    c.phone.reset();
    if (Chance(2)) c.phone = Chance(8) ? "" : "+1 555 " + std::to_string(Below(10000));
    c.owner_id.reset();
    if (!Chance(4)) c.owner_id = Pick(kOwners);
    c.is_active = !Chance(4);
    c.created_at = Time();
    c.total_spending_cents = Chance(20) ? Pick(kExtremes) : Below(20) * 500;
    c.visits = Below(5);
    c.last_visit.reset();
    if (Chance(2)) c.last_visit = Time();
    c.stats = {};
    c.stats.order_count = Below(4);
    c.stats.order_cents = c.stats.order_count * Below(3000);
    c.stats.recorded_visits = Below(3);
    if (c.stats.order_count > 0 || Chance(10)) {
      c.stats.first_order_at = Time();
      c.stats.last_order_at = *c.stats.first_order_at + Below(40) * kDay / 2;
      c.stats.last_activity = Chance(2) ? c.stats.last_order_at : std::optional<Millis>(Time());
    }
    // Seed 002's fields.
    c.status = static_cast<CustomerStatus>(Below(4));
    c.customer_type = static_cast<CustomerType>(Below(2));
    auto& details = c.details.mut();
    details.birth_date.reset();
    if (Chance(2)) details.birth_date = Chance(2) ? "1990-05-01" : "2001-12-31";
    details.tags.clear();
    for (int i = static_cast<int>(Below(4)); i > 0; --i) details.tags.emplace_back(Pick(kTags));
    // The loyalty standing: a third never scored.
    c.standing = LoyaltyStanding{0, 0, 0};  // not scored(): the evaluators' missing-value path
    if (!Chance(3)) {
      c.standing = StandingOf({1 + static_cast<int>(Below(5)), 1 + static_cast<int>(Below(5)),
                               1 + static_cast<int>(Below(5))},
                              static_cast<LoyaltyLevel>(Below(kLoyaltyLevels)));
    }
    c.version = 1;
  }

  Millis Now() { return kNow + (Below(200) - 100) * kDay / 3; }

  RuleNode Tree(const std::vector<Customer>& customers, Millis now, int depth = 0) {
    if (depth < 4 && Below(100) < (depth == 0 ? 70 : 30)) {
      const int kind = Below(10);
      if (kind == 0) return Not(Tree(customers, now, depth + 1));
      std::vector<RuleNode> children;
      for (int i = 1 + Below(4); i > 0; --i) children.push_back(Tree(customers, now, depth + 1));
      return kind <= 5 ? And(std::move(children)) : Or(std::move(children));
    }
    return Condition(customers, now);
  }

 private:
  static constexpr const char* kNames[] = {
      "Ada",         "ADA LOVELACE", "alan",           "Émile",    "ÉMILE",   "émile",   "Straße",
      "STRASSE",     "İstanbul",     "ǅemal",          "Σίσυφος",  "ΣΊΣΥΦΟΣ", "ﬁne",     "FINE",
      "\u212Aelvin", "kelvin",       "A\u030Angström", "Ångström", "Zoë",     "O'Brien", "李小龍"};
  static constexpr const char* kOwners[] = {"rep-1", "REP-1", "rep-2", "", "rep-3"};
  static constexpr const char* kTags[] = {"vip", "VIP", "b2b", "Straße", "STRASSE", "new"};
  static constexpr int64_t kExtremes[] = {kMin, kMax, -1, 0};

  bool Chance(int one_in) { return rng_() % static_cast<uint64_t>(one_in) == 0; }
  int64_t Below(int64_t n) { return static_cast<int64_t>(rng_() % static_cast<uint64_t>(n)); }
  template <typename T, size_t N>
  T Pick(const T (&items)[N]) {
    return items[rng_() % N];
  }
  // Half of them on whole half days from kNow, where in_last_days and inactive_days change.
  Millis Time() { return kNow - Below(600) * kDay / 2 + (Chance(2) ? 0 : Below(kDay)); }

  // An operand near what the customers hold, mostly.
  int64_t Number(RuleField field, const std::vector<Customer>& customers, Millis now) {
    switch (Below(10)) {
      case 0:
        return Pick(kExtremes);
      case 1:
        return Below(1000) - 10;
      case 2:
        return now - Below(300) * kDay;
      default: {
        auto v = FigureOf(field, customers[rng_() % customers.size()], now);
        if (!v) return Below(100);
        int64_t near;  // one below, the same or one above, where int64 has them
        return __builtin_add_overflow(*v, Below(3) - 1, &near) ? *v : near;
      }
    }
  }

  std::string Text(RuleField field, const std::vector<Customer>& customers) {
    const Customer& c = customers[rng_() % customers.size()];
    if (field == RuleField::kStatus) return std::string(CustomerStatusName(c.status));
    if (field == RuleField::kCustomerType) {
      return std::string(CustomerTypeName(c.customer_type));
    }
    if (field == RuleField::kTags && !c.details.get().tags.empty() && !Chance(4)) {
      return c.details.get().tags[rng_() % c.details.get().tags.size()];
    }
    std::string value = field == RuleField::kEmail     ? c.email
                        : field == RuleField::kPhone   ? c.phone.value_or("555")
                        : field == RuleField::kOwnerId ? c.owner_id.value_or("rep-1")
                                                       : c.name;
    if (Chance(5)) value = Pick(kNames);  // another spelling (case, composition)
    if (Chance(3) && !value.empty()) {    // a piece, sometimes not on a character boundary
      const size_t from = rng_() % value.size();
      value = value.substr(from, 1 + rng_() % (value.size() - from));
    }
    if (Chance(3)) value = AsciiUpper(value);
    return value;
  }

  static std::string AsciiUpper(std::string s) {
    for (char& ch : s) {
      if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
    }
    return s;
  }

  RuleNode Condition(const std::vector<Customer>& customers, Millis now) {
    const auto fields = RuleFields();
    const RuleFieldInfo& info = fields[rng_() % fields.size()];
    std::vector<RuleOp> ops;
    for (int op = 0; op <= static_cast<int>(RuleOp::kIsNotEmpty); ++op) {
      // Now and then an operator the parser refuses for the type: the same answer still.
      if (RuleOpApplies(static_cast<RuleOp>(op), info.type) || Chance(12)) {
        ops.push_back(static_cast<RuleOp>(op));
      }
    }
    RuleNode node;
    RuleCondition& c = node.condition;
    c.field = info.field;
    c.op = ops[rng_() % ops.size()];
    c.flag = Chance(2);
    int values = 1;
    if (c.op == RuleOp::kBetween) values = 2;
    if (c.op == RuleOp::kIn || c.op == RuleOp::kNotIn) values = 1 + static_cast<int>(Below(12));
    if (c.op == RuleOp::kIsEmpty || c.op == RuleOp::kIsNotEmpty) values = 0;
    for (int i = 0; i < values; ++i) {
      if (c.op == RuleOp::kInLastDays || c.op == RuleOp::kNotInLastDays) {
        c.numbers.push_back(Chance(10) ? Pick(kExtremes) : 1 + Below(400));
      } else {
        c.numbers.push_back(Number(info.field, customers, now));
      }
      c.texts.push_back(Text(info.field, customers));
    }
    if (c.op == RuleOp::kBetween && !Chance(8) && c.numbers[0] > c.numbers[1]) {
      std::swap(c.numbers[0], c.numbers[1]);
    }
    return node;
  }

  std::mt19937_64 rng_;
  int next_ = 0;
};

// Every tree, customer and instant: the columns count what EvaluateRules says, before and after
// updates, on one thread or two.
TEST(AudienceColumnsPropertyTest, CountsWhatTheReferenceEvaluatorMatches) {
  RuleProperty gen(20260115);
  MapReadStore empty;
  AudienceColumns columns(/*parallel_min_rows=*/256);
  ASSERT_TRUE(columns.Load(empty));
  std::vector<Customer> customers;  // in row order
  for (int i = 0; i < 1500; ++i) customers.push_back(gen.NewCustomer());
  columns.Apply(customers);

  std::mt19937_64 rng(5);
  int checked = 0, nonempty = 0;
  for (int round = 0; round < 4; ++round) {
    for (int t = 0; t < 150; ++t) {
      const Millis now = gen.Now();
      const RuleNode tree = gen.Tree(customers, now);
      Ids expected;
      for (const Customer& c : customers) {
        if (EvaluateRules(tree, c, now)) expected.push_back(c.id);
      }
      int64_t total = -1;
      const Ids got = columns.Members(tree, now, 0, customers.size(), &total);
      ASSERT_EQ(got, expected) << EncodeSegmentRules(tree) << " at " << now;
      ASSERT_EQ(total, static_cast<int64_t>(expected.size()));
      const AudienceColumns::Audience audience = columns.Count(tree, now, 5);
      ASSERT_EQ(audience.count, total);
      ASSERT_EQ(audience.sample,
                Ids(expected.begin(), expected.begin() + std::min<size_t>(5, expected.size())));
      ++checked;
      if (!expected.empty() && expected.size() < customers.size()) ++nonempty;
    }
    // A batch of updates (some customers twice) and new customers.
    std::vector<Customer> changed;
    for (int i = 0; i < 300; ++i) {
      Customer& c = customers[rng() % customers.size()];
      gen.Refresh(c);
      changed.push_back(c);
    }
    for (int i = 0; i < 100; ++i) {
      customers.push_back(gen.NewCustomer());
      changed.push_back(customers.back());
    }
    columns.Apply(changed);
    ASSERT_EQ(columns.size(), customers.size());
  }
  // The trees are not trivial: most select some customers and not all.
  EXPECT_GT(nonempty, checked / 2);
}

size_t ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<size_t>(resident) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Customers as a CRM holds them: UUIDs, two-part names (a few not ASCII), an email, a phone
// for most, an owner for most, some orders.
Customer BenchCustomer(std::mt19937_64& rng, uint64_t n) {
  static const char* kFirst[] = {"Maria", "James", "Ana",   "Noah",  "Emma", "Liam", "Sofia",
                                 "Lucas", "Mia",   "Ethan", "Chloé", "Jörg", "Zoë",  "Mateo",
                                 "Ava",   "Aiden", "Lena",  "Omar",  "Yuki", "Priya"};
  static const char* kLast[] = {"Garcia", "Smith", "Johnson", "Müller",    "Rossi",    "Nguyen",
                                "Brown",  "Silva", "Wilson",  "Andersson", "Kowalski", "Dubois",
                                "Tanaka", "Patel", "Jackson", "Larsen",    "Novak",    "Moreau"};
  constexpr uint64_t kDays = static_cast<uint64_t>(kDay);
  Customer c;
  char id[37];
  std::snprintf(id, sizeof id, "018f%04x-%04x-7000-8000-%012llx",
                static_cast<unsigned>(n >> 16 & 0xffff), static_cast<unsigned>(n & 0xffff),
                static_cast<unsigned long long>(rng() & 0xffffffffffffULL));
  c.id = id;
  const char* first = kFirst[rng() % std::size(kFirst)];
  const char* last = kLast[rng() % std::size(kLast)];
  c.name.append(first).append(" ").append(last);
  c.email = AsciiLower(first);
  c.email.append(".").append(AsciiLower(last)).append(std::to_string(rng() % 1000));
  c.email.append(rng() % 3 ? "@example.com" : "@gmail.com");
  if (rng() % 10 < 7) {
    c.phone = "+1 555 ";
    *c.phone += std::to_string(1000000 + rng() % 9000000);
  }
  if (rng() % 5) {
    c.owner_id = "rep-";
    *c.owner_id += std::to_string(rng() % 50);
  }
  c.is_active = rng() % 10 != 0;
  c.created_at = kNow - static_cast<Millis>(rng() % (1000 * kDays));
  c.total_spending_cents = static_cast<int64_t>(rng() % 100000);
  c.visits = static_cast<int64_t>(rng() % 20);
  if (rng() % 2) c.last_visit = kNow - static_cast<Millis>(rng() % (400 * kDays));
  c.stats.order_count = static_cast<int64_t>(rng() % 8);
  c.stats.order_cents = c.stats.order_count * static_cast<int64_t>(rng() % 20000);
  if (c.stats.order_count) {
    c.stats.last_order_at = kNow - static_cast<Millis>(rng() % (365 * kDays));
    c.stats.first_order_at = *c.stats.last_order_at - static_cast<Millis>(rng() % (300 * kDays));
    c.stats.last_activity = c.stats.last_order_at;
  }
  c.version = 1;
  return c;
}

struct Timing {
  double p50_ms, p99_ms, max_ms;
  int64_t count;
};

long MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

Timing TimeCounts(const AudienceColumns& columns, const RuleNode& tree, int runs) {
  const long faults = MinorFaults();
  std::vector<double> ms;
  int64_t count = 0;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    count = columns.Count(tree, kNow, 10).count;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("(%.1f page faults per count) ", static_cast<double>(MinorFaults() - faults) / runs);
  return {ms[ms.size() / 2], ms[ms.size() * 99 / 100], ms.back(), count};
}

// Not run by ctest: `audience_columns_test --gtest_also_run_disabled_tests
// --gtest_filter='*Bench*'` on a Release build. Issue 15 asks for a preview of a 6-condition
// nested AND/OR tree with a date rule and a contains at p50 ≤ 10 ms, p99 ≤ 30 ms over 1M
// customers, and ≤ 150 MB for the columns.
TEST(AudienceColumnsBench, DISABLED_CountsAMillionCustomers) {
  constexpr uint64_t kCustomers = 1'000'000;
  // Loaded as a serving generation loads it (LoadCustomerViews without the store's scan): one
  // customer at a time.
  auto load = [&](AudienceColumns& columns) {
    std::mt19937_64 rng(1);
    columns.StartLoad(kCustomers);
    for (uint64_t n = 0; n < kCustomers; ++n) columns.Loaded(BenchCustomer(rng, n));
    columns.FinishLoad({});
  };
  auto two = std::make_unique<AudienceColumns>();
  const size_t rss_before = ResidentBytes();
  const auto load_start = std::chrono::steady_clock::now();
  load(*two);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const size_t rss_after = ResidentBytes();
  ASSERT_TRUE(two->ready());
  ASSERT_EQ(two->size(), kCustomers);
  std::printf(
      "loaded %zu customers in %.2f s (generating them included); MemoryBytes %.1f MB "
      "(%.0f B/customer); RSS +%.1f MB\n",
      two->size(), load_s, static_cast<double>(two->MemoryBytes()) / 1e6,
      static_cast<double>(two->MemoryBytes()) / kCustomers,
      (static_cast<double>(rss_after) - static_cast<double>(rss_before)) / 1e6);

  if (const char* settle = std::getenv("KEEL_BENCH_SETTLE_S")) {
    // The allocator's freed pages of the load (arrays that grew) go back to the system in time
    // (jemalloc, as keel links it, purges them after 10 s).
    std::this_thread::sleep_for(std::chrono::seconds(std::atoi(settle)));
    std::printf("RSS +%.1f MB after %s s\n",
                (static_cast<double>(ResidentBytes()) - static_cast<double>(rss_before)) / 1e6,
                settle);
  }

  using F = RuleField;
  using O = RuleOp;
  // isActive AND (spending ≥ 500.00 OR visits ≥ 10) AND lastOrderAt in the last 90 days AND
  // (name contains "son" OR owner in three reps).
  const RuleNode tree =
      And({Active(O::kEq, true),
           Or({Num(F::kTotalSpending, O::kGe, {50000}), Num(F::kVisits, O::kGe, {10})}),
           Num(F::kLastOrderAt, O::kInLastDays, {90}),
           Or({Text(F::kName, O::kContains, {"SON"}),
               Text(F::kOwnerId, O::kIn, {"rep-1", "rep-2", "rep-3"})})});
  // The same conditions, the text first in an OR at the top: contains over every row.
  const RuleNode text_heavy =
      Or({Text(F::kName, O::kContains, {"son"}),
          And({Active(O::kEq, true), Num(F::kLastOrderAt, O::kInLastDays, {90}),
               Or({Num(F::kTotalSpending, O::kGe, {50000}), Num(F::kVisits, O::kGe, {10}),
                   Text(F::kOwnerId, O::kIn, {"rep-1", "rep-2", "rep-3"})})})});
  const RuleNode inactive = Num(F::kInactiveDays, O::kBetween, {30, 90});
  const RuleNode spending = Num(F::kTotalSpending, O::kGe, {50000});
  const RuleNode contains = Text(F::kName, O::kContains, {"son"});
  const std::pair<const char*, const RuleNode*> cases[] = {{"6-condition tree", &tree},
                                                           {"text-heavy tree", &text_heavy},
                                                           {"inactive_days", &inactive},
                                                           {"spending >=", &spending},
                                                           {"name contains", &contains}};
  for (const auto& [label, rules] : cases) {
    const Timing t = TimeCounts(*two, *rules, 200);
    std::printf("%-18s two threads: p50 %.2f ms, p99 %.2f ms, max %.2f ms (count %lld)\n", label,
                t.p50_ms, t.p99_ms, t.max_ms, static_cast<long long>(t.count));
  }
  two.reset();

  // One thread, for comparison; its load timed alone (what it adds to a start-up's scan).
  AudienceColumns one(std::numeric_limits<size_t>::max());
  std::vector<Customer> customers;
  customers.reserve(kCustomers);
  std::mt19937_64 rng(1);
  for (uint64_t n = 0; n < kCustomers; ++n) customers.push_back(BenchCustomer(rng, n));
  const auto start = std::chrono::steady_clock::now();
  one.StartLoad(kCustomers);
  for (const Customer& c : customers) one.Loaded(c);
  one.FinishLoad({});
  std::printf(
      "load alone: %.0f ns per customer\n",
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count() /
          kCustomers);
  customers = {};
  for (const auto& [label, rules] : cases) {
    const Timing t = TimeCounts(one, *rules, 200);
    std::printf("%-18s one thread:  p50 %.2f ms, p99 %.2f ms, max %.2f ms (count %lld)\n", label,
                t.p50_ms, t.p99_ms, t.max_ms, static_cast<long long>(t.count));
  }
}

}  // namespace
}  // namespace keel

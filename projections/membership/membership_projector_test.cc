// MembershipProjector: records and keys, and the fold of one partition step by step (markers,
// customer events, timers). Against a brute-force evaluator over many random histories, with
// the real runner and a replay: tests/membership_property_test.cc.
#include "projections/membership/membership_projector.h"

#include <gtest/gtest.h>

#include "domain/partitioner.h"
#include "projections/counters.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr Millis kDay = 86'400'000;
constexpr Millis kAt = 1'780'000'000'000;

TEST(MembershipRecordsTest, ACustomersRecordRoundTripsAndDamageIsRefused) {
  for (const CustomerRecord& entries :
       {CustomerRecord{{{"s1", {3, 77, kAt}}, {"s3", {0, 1, -5}}}, kAt + kDay},
        CustomerRecord{{{"s2", {1, 2, 3}}}, std::nullopt}, CustomerRecord{{}, kAt}}) {
    const std::string record = EncodeCustomerRecord(entries);
    EXPECT_EQ(DecodeCustomerRecord(record).value(), entries);
    for (size_t cut = 0; cut < record.size(); ++cut) {
      EXPECT_FALSE(DecodeCustomerRecord(record.substr(0, cut))) << cut;
    }
    EXPECT_FALSE(DecodeCustomerRecord(record + "x"));
  }
  std::string huge = EncodeCustomerRecord({{{"s", {}}}, std::nullopt});
  huge[4] = '\x7f';  // a count of about two billion: refused before anything is allocated
  EXPECT_FALSE(DecodeCustomerRecord(huge));
  EXPECT_EQ(DecodeJoin(EncodeJoin({2, 9, kAt})).value(), (MembershipAt{2, 9, kAt}));
  EXPECT_FALSE(DecodeJoin("short"));
}

TEST(MembershipRecordsTest, OrderedTimesSortAsTimes) {
  const std::vector<int64_t> times{INT64_MIN, -kDay, -1, 0, 1, kAt, INT64_MAX};
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_LT(OrderedTime(times[i - 1]), OrderedTime(times[i])) << times[i];
    EXPECT_EQ(OrderedTime(times[i]).size(), 16u);
  }
}

TEST(PartitionMarkersTest, EachPartitionHasAKeyAndMarkersRoundTrip) {
  for (int32_t count : {1, 2, 8, 13}) {
    for (int32_t p = 0; p < count; ++p) {
      EXPECT_EQ(PartitionForKey(KeyForPartition(p, count), count), p);
    }
  }
  PublishedRules rules{"s1", 3, R"({"field":"visits","op":">","value":2})"};
  auto e = MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "m", 1,
                         EncodePublishedRules(rules), kAt);
  EXPECT_EQ(DecodePublishedRules(e).value(), rules);
  rules.rules_json.reset();
  e.payload = EncodePublishedRules(rules);
  EXPECT_EQ(DecodePublishedRules(e).value(), rules);
  e.payload = R"({"segmentId":"s1","version":0,"rules":null})";
  EXPECT_FALSE(DecodePublishedRules(e));
  e = MakeTestEvent(kClockTicked, kMarkerAggregate, "m", 1, EncodeClockTicked(kAt), kAt);
  EXPECT_EQ(DecodeClockTicked(e).value(), kAt);
}

// One partition folded by hand: the customers projector, then membership, as the group runs.
class OnePartition {
 public:
  OnePartition() : membership_(customers_) {}
  Status Apply(const EventEnvelope& e) {
    std::vector<StoreWrite> writes;
    const EventPosition at{0, offset_++, ""};
    if (auto st = customers_.Apply(e, at, view_, writes); !st) return st;
    if (auto st = membership_.Apply(e, at, view_, writes); !st) return st;
    view_.Commit(writes);
    return {};
  }
  Status Rules(const std::string& segment, int64_t version, std::optional<std::string> rules,
               Millis at) {
    return Apply(MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "m", 1,
                               EncodePublishedRules({segment, version, std::move(rules)}), at));
  }
  Status Tick(Millis at) {
    return Apply(MakeTestEvent(kClockTicked, kMarkerAggregate, "m", 1, EncodeClockTicked(at), at));
  }
  Status Register(const std::string& id, std::optional<Millis> last_visit, Millis at) {
    CustomerFields f = WithDefaults({.name = "N", .email = id + "@x.io"});
    f.last_visit = last_visit;
    return Apply(
        MakeTestEvent(kCustomerRegistered, kCustomerAggregate, id, 1, EncodeCustomerFields(f), at));
  }
  bool Member(const std::string& segment, const std::string& id) const {
    return view_.At(kSegmentMembersTable, segment + "/" + id).has_value();
  }
  std::optional<std::string> Count(const std::string& segment) const {
    return view_.At(kProjectionMetaTable,
                    PartitionCounterKey(std::string(kMemberCountPrefix) + segment + "/", 0));
  }
  size_t Rows(std::string_view table) const {
    size_t n = 0;
    const std::string prefix = MapStateView::Key(table, "");
    for (const auto& [k, v] : view_.rows) n += k.starts_with(prefix);
    return n;
  }

 private:
  CustomersProjector customers_;
  MembershipProjector membership_;
  MapStateView view_;
  int64_t offset_ = 0;
};

constexpr char kRecent[] = R"({"field":"lastVisit","op":"in_last_days","value":7})";

TEST(MembershipProjectorTest, RulesPublishedLaterTakeInTheCustomersAlreadyThere) {
  OnePartition p;
  ASSERT_TRUE(p.Register("a", kAt - kDay, kAt));
  ASSERT_TRUE(p.Register("b", kAt - 30 * kDay, kAt));
  ASSERT_TRUE(p.Rules("s", 1, kRecent, kAt + 1));
  EXPECT_TRUE(p.Member("s", "a"));
  EXPECT_FALSE(p.Member("s", "b"));
  EXPECT_EQ(p.Count("s"), "1");
  // A customer registered after the rules is evaluated at its own event.
  ASSERT_TRUE(p.Register("c", kAt, kAt + 2));
  EXPECT_TRUE(p.Member("s", "c"));
  EXPECT_EQ(p.Count("s"), "2");
}

TEST(MembershipProjectorTest, ATickMovesOnlyTheDueCustomersAndAnOlderTickChangesNothing) {
  OnePartition p;
  ASSERT_TRUE(p.Rules("s", 1, kRecent, kAt));
  ASSERT_TRUE(p.Register("a", kAt - 6 * kDay, kAt));  // leaves one day and a millisecond on
  ASSERT_TRUE(p.Register("b", kAt, kAt));             // leaves in seven days
  ASSERT_TRUE(p.Register("n", std::nullopt, kAt));    // never visited: never in, no timer
  EXPECT_EQ(p.Rows(kMembershipTimersTable), 2u);
  ASSERT_TRUE(p.Tick(kAt + kDay));
  EXPECT_TRUE(p.Member("s", "a"));
  ASSERT_TRUE(p.Tick(kAt + kDay + 1));
  EXPECT_FALSE(p.Member("s", "a"));
  EXPECT_TRUE(p.Member("s", "b"));
  EXPECT_EQ(p.Count("s"), "1");
  EXPECT_EQ(p.Rows(kMembershipTimersTable), 1u);  // a's fired and is gone: out for good
  ASSERT_TRUE(p.Tick(kAt));                       // older than the clock: nothing
  EXPECT_FALSE(p.Member("s", "a"));
  EXPECT_EQ(p.Rows(kSegmentHistoryTable), 3u);  // a joined, b joined, a left
}

TEST(MembershipProjectorTest, RedefiningAndArchivingMoveMembersAndOldVersionsAreIgnored) {
  OnePartition p;
  ASSERT_TRUE(p.Register("a", kAt - kDay, kAt));
  ASSERT_TRUE(p.Rules("s", 1, kRecent, kAt));
  EXPECT_TRUE(p.Member("s", "a"));
  ASSERT_TRUE(p.Rules("s", 2, R"({"field":"visits","op":">","value":5})", kAt + 1));
  EXPECT_FALSE(p.Member("s", "a"));
  // The new rules do not depend on time; the old timer stays until it fires, finding nothing.
  EXPECT_EQ(p.Rows(kMembershipTimersTable), 1u);
  ASSERT_TRUE(p.Rules("s", 1, kRecent, kAt + 2));  // an old version, published again
  EXPECT_FALSE(p.Member("s", "a"));
  ASSERT_TRUE(p.Rules("s", 3, kRecent, kAt + 3));
  EXPECT_TRUE(p.Member("s", "a"));
  ASSERT_TRUE(p.Rules("s", 4, std::nullopt, kAt + 4));  // archived
  EXPECT_FALSE(p.Member("s", "a"));
  EXPECT_EQ(p.Count("s"), "0");
  ASSERT_TRUE(p.Tick(kAt + 8 * kDay));  // the timer fires: nothing is left of the customer
  EXPECT_EQ(p.Rows(kCustomerSegmentsTable), 0u);
  EXPECT_EQ(p.Rows(kMembershipTimersTable), 0u);
}

TEST(MembershipProjectorTest, BadMarkersAreRefusedAsDataLossAndChangeNothing) {
  OnePartition p;
  auto bad = MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "m", 1, "{}", kAt);
  EXPECT_EQ(p.Apply(bad).error().code, ErrorCode::kDataLoss);
  auto unreadable = MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "m", 1,
                                  R"({"segmentId":"s","version":1,"rules":{"and":[]}})", kAt);
  EXPECT_EQ(p.Apply(unreadable).error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(p.Rows(kMembershipRulesTable), 0u);
}

}  // namespace
}  // namespace keel

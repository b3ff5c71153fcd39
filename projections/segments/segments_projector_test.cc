// SegmentsProjector: each segment's document follows its events; bad ones are refused whole.
#include "projections/segments/segments_projector.h"

#include <gtest/gtest.h>

#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class SegmentsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(std::string_view type, const std::string& id, int64_t version, std::string payload,
              Millis at = kNow) {
    std::vector<StoreWrite> writes;
    auto e = MakeTestEvent(type, kSegmentAggregate, id, version, std::move(payload), at);
    e.actor = "u1";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) view_.Commit(writes);
    return st;
  }
  Segment Stored(const std::string& id) {
    auto doc = view_.At(kSegmentsTable, id);
    EXPECT_TRUE(doc);
    auto s = SegmentFromJson(doc.value_or("{}"));
    EXPECT_TRUE(s) << s.error().message;
    return s.value_or(Segment{});
  }

  SegmentsProjector projector_;
  MapStateView view_;
};

constexpr const char* kDefinition =
    R"({"name":"Big","description":"d","rules":{"field":"spend","op":">","value":10}})";

TEST_F(SegmentsProjectorTest, DefinitionsRedefinitionsAndArchivesAreServed) {
  ASSERT_TRUE(Fold(kSegmentDefined, "s1", 1, kDefinition, kNow));
  Segment s = Stored("s1");
  EXPECT_EQ(s.name, "Big");
  EXPECT_EQ(s.created_by, "u1");
  EXPECT_EQ(s.created_at, kNow);
  // Stored canonical: the alias is gone.
  EXPECT_EQ(s.rules_json, EncodeSegmentRules(*ParseSegmentRulesJson(
                              R"({"field":"totalSpending","op":">","value":10})")));
  ASSERT_TRUE(
      Fold(kSegmentRedefined, "s1", 2,
           R"({"name":"Small","description":"","rules":{"field":"visits","op":"<","value":2}})",
           kNow + 5));
  s = Stored("s1");
  EXPECT_EQ(s.name, "Small");
  EXPECT_EQ(s.version, 2);
  EXPECT_EQ(s.created_at, kNow);
  EXPECT_EQ(s.updated_at, kNow + 5);
  ASSERT_TRUE(Fold(kSegmentArchived, "s1", 3, "{}"));
  EXPECT_TRUE(Stored("s1").archived);
  EXPECT_EQ(SegmentFromJson(SegmentToJson(Stored("s1")))->archived, true);
}

TEST_F(SegmentsProjectorTest, EventsThatDoNotApplyAreDataLoss) {
  auto gap = Fold(kSegmentDefined, "s1", 2, kDefinition);
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kDataLoss);
  auto bad_rules =
      Fold(kSegmentDefined, "s2", 1, R"({"name":"x","description":"","rules":{"and":[]}})");
  ASSERT_FALSE(bad_rules);
  EXPECT_EQ(bad_rules.error().code, ErrorCode::kDataLoss);
  auto no_name =
      Fold(kSegmentDefined, "s3", 1, R"({"rules":{"field":"visits","op":">","value":1}})");
  ASSERT_FALSE(no_name);
  EXPECT_EQ(no_name.error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(view_.rows.empty());
}

}  // namespace
}  // namespace keel

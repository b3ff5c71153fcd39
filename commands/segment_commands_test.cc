#include "commands/segment_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class SegmentCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta() { return {.now = 1000, .actor = "marketer", .correlation_id = "req"}; }

  static SegmentInput Input(std::string name, std::string_view rules_json) {
    auto rules = ParseSegmentRulesJson(rules_json);
    EXPECT_TRUE(rules) << rules.error().message;
    return {std::move(name), "", std::move(*rules)};
  }
  void Fold(const EventEnvelope& e) { ASSERT_TRUE(model_.Apply(e)); }
  void Define(const std::string& id, std::string name) {
    auto e = DecideDefineSegment(model_, id, Input(std::move(name), kBig), Meta(), ids_);
    ASSERT_TRUE(e) << e.error().message;
    Fold(*e);
  }

  static constexpr std::string_view kBig = R"({"field":"totalSpending","op":">","value":1000})";
  static constexpr std::string_view kLoyal = R"({"field":"visits","op":">=","value":3})";
  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  SegmentWriteModel model_;
};

TEST_F(SegmentCommandsTest, DefineRecordsTheCanonicalRulesAndTheCreator) {
  auto e = DecideDefineSegment(model_, "s1", Input("Big spenders", kBig), Meta(), ids_);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, kSegmentDefined);
  EXPECT_EQ(e->aggregate_version, 1);
  Fold(*e);
  const Segment* s = model_.Find("s1");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "Big spenders");
  EXPECT_EQ(s->created_by, "marketer");
  EXPECT_EQ(s->rules_json, EncodeSegmentRules(*ParseSegmentRulesJson(kBig)));
  EXPECT_FALSE(s->archived);
}

TEST_F(SegmentCommandsTest, RulesOnSeed002FieldsAreWrittenAsV2AndOthersAsV1) {
  auto plain = DecideDefineSegment(model_, "s1", Input("Big spenders", kBig), Meta(), ids_);
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->schema_version, 1);  // as before
  Fold(*plain);
  constexpr std::string_view kTagged =
      R"({"and":[{"field":"visits","op":">","value":1},)"
      R"({"not":{"field":"tags","op":"contains","value":" vip "}}]})";
  auto tagged = DecideDefineSegment(model_, "s2", Input("VIPs", kTagged), Meta(), ids_);
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->schema_version, 2);  // a build before seed 002's fields skips it as newer
  Fold(*tagged);
  auto redefined = DecideRedefineSegment(model_, "s1", Input("Big spenders", kTagged), std::nullopt,
                                         Meta(), ids_);
  ASSERT_TRUE(redefined);
  ASSERT_EQ(redefined->size(), 1u);
  EXPECT_EQ(redefined->at(0).schema_version, 2);
  // Both read back as the current version; the tag looked for is trimmed, as tags are stored.
  for (const EventEnvelope& e : {*plain, *tagged}) {
    auto decoded = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->schema_version, kSegmentRulesVersion);
  }
  EXPECT_NE(model_.Find("s2")->rules_json.find(R"("vip")"), std::string::npos)
      << model_.Find("s2")->rules_json;
}

TEST_F(SegmentCommandsTest, NamesAreUniqueAmongActiveSegmentsIgnoringCase) {
  Define("s1", "Big spenders");
  auto dup = DecideDefineSegment(model_, "s2", Input("BIG SPENDERS", kLoyal), Meta(), ids_);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  // Once the first is archived its name is free again.
  auto archived = DecideArchiveSegment(model_, "s1", std::nullopt, Meta(), ids_);
  ASSERT_TRUE(archived);
  ASSERT_EQ(archived->size(), 1u);
  Fold((*archived)[0]);
  EXPECT_TRUE(DecideDefineSegment(model_, "s2", Input("Big spenders", kLoyal), Meta(), ids_));
}

TEST_F(SegmentCommandsTest, RedefineIsANewVersionAndNothingWhenUnchanged) {
  Define("s1", "Big spenders");
  auto same =
      DecideRedefineSegment(model_, "s1", Input("Big spenders", kBig), std::nullopt, Meta(), ids_);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto changed = DecideRedefineSegment(model_, "s1", Input("Loyal", kLoyal), 1, Meta(), ids_);
  ASSERT_TRUE(changed);
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ((*changed)[0].type, kSegmentRedefined);
  EXPECT_EQ((*changed)[0].aggregate_version, 2);
  Fold((*changed)[0]);
  EXPECT_EQ(model_.Find("s1")->name, "Loyal");
  EXPECT_EQ(model_.Find("s1")->created_by, "marketer");
  EXPECT_EQ(model_.FindActiveByName("big spenders"), nullptr);
  EXPECT_NE(model_.FindActiveByName("LOYAL"), nullptr);
}

TEST_F(SegmentCommandsTest, RefusalsCarryTheirCodes) {
  auto missing =
      DecideRedefineSegment(model_, "nope", Input("X", kBig), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  Define("s1", "A");
  auto stale = DecideRedefineSegment(model_, "s1", Input("B", kBig), 5, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  auto archived = DecideArchiveSegment(model_, "s1", 1, Meta(), ids_);
  ASSERT_TRUE(archived);
  Fold((*archived)[0]);
  auto again = DecideArchiveSegment(model_, "s1", std::nullopt, Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto redefine = DecideRedefineSegment(model_, "s1", Input("B", kBig), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(redefine);
  EXPECT_EQ(redefine.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(SegmentCommandsTest, TheFoldRefusesEventsOutOfOrderAndKeepsTheModel) {
  Define("s1", "A");
  EventEnvelope late = NewEvent(kSegmentAggregate, kSegmentArchived, "s1", 5, "{}", Meta(), ids_);
  auto st = model_.Apply(late);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(model_.Find("s1")->archived);
  EventEnvelope bad = NewEvent(
      kSegmentAggregate, kSegmentDefined, "s2", 1,
      R"({"name":"B","description":"","rules":{"field":"nope","op":"=","value":1}})", Meta(), ids_);
  auto refused = model_.Apply(bad);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(model_.Find("s2"), nullptr);
}

}  // namespace
}  // namespace keel

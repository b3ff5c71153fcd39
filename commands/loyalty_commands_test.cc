#include "commands/loyalty_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class LoyaltyCommandsTest : public ::testing::Test {
 protected:
  Result<std::vector<EventEnvelope>> Change(const std::string& body,
                                            std::optional<int64_t> expected = std::nullopt) {
    auto patch = ParseLoyaltySettingsPatch(body);
    EXPECT_TRUE(patch) << patch.error().message;
    const CommandMeta meta{.now = 1000, .actor = "admin", .correlation_id = "req"};
    auto events = DecideChangeLoyaltySettings(model_, *patch, expected, meta, ids_);
    if (events) {
      for (const auto& e : *events) EXPECT_TRUE(model_.Apply(e));
    }
    return events;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  LoyaltyWriteModel model_;
};

TEST_F(LoyaltyCommandsTest, AChangeIsOneEventWithTheWholeSettings) {
  auto changed = Change(R"({"mode":"quintile","quintileMinCustomers":5})", 0);
  ASSERT_TRUE(changed) << changed.error().message;
  ASSERT_EQ(changed->size(), 1u);
  const EventEnvelope& e = (*changed)[0];
  EXPECT_EQ(e.type, kLoyaltySettingsChanged);
  EXPECT_EQ(e.aggregate_id, kLoyaltySettingsId);
  EXPECT_EQ(e.aggregate_version, 1);
  EXPECT_EQ(e.actor, "admin");
  LoyaltySettings expected;
  expected.mode = LoyaltyMode::kQuintile;
  expected.quintile_min_customers = 5;
  EXPECT_EQ(e.payload, EncodeLoyaltySettings(expected));
  EXPECT_EQ(model_.state().settings, expected);
  EXPECT_EQ(model_.state().version, 1);
}

TEST_F(LoyaltyCommandsTest, TheSameSettingsAppendNothing) {
  auto same = Change(R"({"mode":"fixed","recencyDays":[7,30,90,180]})");
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  EXPECT_EQ(model_.state().version, 0);
}

TEST_F(LoyaltyCommandsTest, AStaleVersionIsAborted) {
  ASSERT_TRUE(Change(R"({"mode":"quintile"})"));
  auto stale = Change(R"({"mode":"fixed"})", 0);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_EQ(stale.error().message,
            "The loyalty settings are at version 1, not 0; re-read them and retry");
  EXPECT_EQ(model_.state().settings.mode, LoyaltyMode::kQuintile);
  auto fresh = Change(R"({"mode":"fixed"})", 1);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(model_.state().version, 2);
}

}  // namespace
}  // namespace keel

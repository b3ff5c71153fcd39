// CampaignsProjector: each campaign's record follows its events; records round-trip.
#include "projections/campaigns/campaigns_projector.h"

#include <gtest/gtest.h>

#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

TEST(CampaignRecordTest, RoundTripsEveryFieldAndRefusesDamage) {
  Campaign c;
  c.id = "c1";
  c.name = "Spring ✓";
  c.segment_id = "s1";
  c.message = "Hi {{name}}";
  c.state = CampaignState::kPaused;
  c.scheduled_at = kNow;
  c.launched_at = kNow + 1;
  c.launch_trigger = "schedule";
  c.audience = CampaignAudience{5, 3, {1, 1, 0, 0}, {4, -1, 9}};
  c.reason = "r";
  c.created_by = "u1";
  c.created_at = kNow - 5;
  c.updated_at = kNow + 2;
  c.version = 4;
  c.dispatch_cursor = "cust-9";
  c.sent = 3;
  c.rejected = 1;
  c.delivered = 2;
  c.failed = 1;
  c.failed_by_reason = {{"blocked", 1}};
  const std::string record = EncodeCampaignRecord(c);
  EXPECT_EQ(DecodeCampaignRecord(record).value(), c);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    EXPECT_FALSE(DecodeCampaignRecord(record.substr(0, cut))) << cut;
  }
  Campaign plain;
  plain.id = "c2";
  EXPECT_EQ(DecodeCampaignRecord(EncodeCampaignRecord(plain)).value(), plain);
  EXPECT_EQ(EncodeCampaignRecord(plain)[0], '\2');  // as builds before occasions read it

  // An automated message's campaign: format 3, with its occasion.
  c.segment_id.clear();
  c.occasion = Occasion::kInactivity;
  c.occasion_days = 60;
  const std::string automated = EncodeCampaignRecord(c);
  EXPECT_EQ(automated[0], '\3');
  EXPECT_EQ(DecodeCampaignRecord(automated).value(), c);
  for (size_t cut = 0; cut < automated.size(); ++cut) {
    EXPECT_FALSE(DecodeCampaignRecord(automated.substr(0, cut))) << cut;
  }
  std::string unknown = automated;
  unknown[unknown.size() - 9] = '\7';  // no such occasion
  EXPECT_FALSE(DecodeCampaignRecord(unknown));
}

TEST(CampaignsProjectorTest, ACampaignFollowsItsEventsAndABadOneIsRefused) {
  CampaignsProjector projector;
  MapStateView view;
  auto fold = [&](std::string_view type, int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e = MakeTestEvent(type, kCampaignAggregate, "c1", version, std::move(payload), kNow);
    e.actor = "u1";
    auto st = projector.Apply(e, {0, version, ""}, view, writes);
    if (st) view.Commit(writes);
    return st;
  };
  ASSERT_TRUE(fold(kCampaignCreated, 1,
                   R"({"name":"A","segmentId":"s1","message":"Hi","channel":"email"})"));
  ASSERT_TRUE(fold(kCampaignLaunched, 2,
                   R"({"trigger":"manual","segmentId":"s1","message":"Hi","channel":"email"})"));
  auto paused = fold(kCampaignResumed, 3, "{}");  // Running cannot be resumed
  ASSERT_FALSE(paused);
  EXPECT_EQ(paused.error().code, ErrorCode::kDataLoss);
  auto stored = DecodeCampaignRecord(*view.At(kCampaignsTable, "c1"));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, CampaignState::kRunning);
  EXPECT_EQ(stored->created_by, "u1");
  EXPECT_EQ(stored->version, 2);
}

TEST(CampaignsProjectorTest, ReceiptsCountOncePerMessageAndRejectionsAreTerminal) {
  CampaignsProjector projector;
  MapStateView view;
  int64_t version = 0;
  auto fold = [&](std::string_view type, std::string payload) {
    std::vector<StoreWrite> writes;
    ++version;
    auto e = MakeTestEvent(type, kCampaignAggregate, "c1", version, std::move(payload), kNow);
    auto st = projector.Apply(e, {0, version, ""}, view, writes);
    if (st) view.Commit(writes);
    return st;
  };
  ASSERT_TRUE(
      fold(kCampaignCreated, R"({"name":"A","segmentId":"s1","message":"Hi","channel":"email"})"));
  ASSERT_TRUE(fold(kCampaignLaunched,
                   R"({"trigger":"manual","segmentId":"s1","message":"Hi","channel":"email"})"));
  ASSERT_TRUE(fold(kCampaignAudienceFrozen, EncodeCampaignAudience({5, 5, {}, {0}})));
  ASSERT_TRUE(fold(kCampaignMessagesSent, EncodeMessagesSent({"", "d", 3, 0, {{"b", "bad"}}, {}})));
  // A message given up is failed, with its reason.
  ASSERT_TRUE(
      fold(kCampaignMessagesSent, EncodeMessagesSent({"d", "e", 0, 0, {}, {{"e", "not_sent"}}})));
  // A receipt for a rejected message, a repeat within one event and across events.
  ASSERT_TRUE(fold(kDeliveryReceiptsRecorded,
                   EncodeDeliveryReceipts({{"e1", "a", true, "", kNow},
                                           {"e1", "a", true, "", kNow},
                                           {"e2", "b", true, "", kNow},
                                           {"e3", "c", false, "mailbox_full", kNow}})));
  ASSERT_TRUE(fold(kDeliveryReceiptsRecorded,
                   EncodeDeliveryReceipts({{"e3", "c", false, "mailbox_full", kNow},
                                           {"e4", "d", false, "blocked", kNow}})));
  auto c = DecodeCampaignRecord(*view.At(kCampaignsTable, "c1")).value();
  EXPECT_EQ(c.sent, 3);
  EXPECT_EQ(c.rejected, 1);
  EXPECT_EQ(c.delivered, 1);
  EXPECT_EQ(c.failed, 3);
  EXPECT_EQ(c.failed_by_reason, (std::map<std::string, int64_t, std::less<>>{
                                    {"blocked", 1}, {"mailbox_full", 1}, {"not_sent", 1}}));
  EXPECT_EQ(DecodeMessageStatus(*view.At(kCampaignMessageStatusTable, "c1/b")).value(),
            (TerminalStatus{MessageStatus::kRejected, "bad"}));
  EXPECT_EQ(DecodeCampaignRecord(EncodeCampaignRecord(c)).value(), c);
}

}  // namespace
}  // namespace keel

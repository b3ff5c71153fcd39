#include "commands/campaign_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class CampaignCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta(Millis now = 1000) {
    return {.now = now, .actor = "marketer", .correlation_id = "req"};
  }
  void Fold(const Result<std::vector<EventEnvelope>>& events) {
    ASSERT_TRUE(events) << events.error().message;
    for (const auto& e : *events) ASSERT_TRUE(model_.Apply(e)) << e.type;
  }
  CampaignState StateOf(const std::string& id) { return model_.Find(id)->state; }
  void Create(const std::string& id, std::optional<Millis> at = std::nullopt) {
    CampaignInput input{"Spring", "seg", "Hi {{name}}", at, false};
    Fold(DecideCreateCampaign(model_, id, input, std::nullopt, Meta(), ids_));
  }
  Result<std::vector<EventEnvelope>> Move(const std::string& id, CampaignState to) {
    return DecideMoveCampaign(model_, id, to, "why", std::nullopt, Meta(), ids_);
  }
  static CampaignAudience Audience(int64_t queued) {
    CampaignAudience a;
    a.size = queued + 1;
    a.queued = queued;
    a.excluded[static_cast<size_t>(Exclusion::kInactive)] = 1;
    a.positions = {4, 7};
    return a;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  CampaignWriteModel model_;
};

TEST_F(CampaignCommandsTest, CreateIsADraftOrScheduledOrLaunchedAtOnce) {
  Create("c1");
  EXPECT_EQ(StateOf("c1"), CampaignState::kDraft);
  EXPECT_EQ(model_.Find("c1")->created_by, "marketer");
  Create("c2", 5000);
  EXPECT_EQ(StateOf("c2"), CampaignState::kScheduled);
  EXPECT_EQ(model_.Find("c2")->scheduled_at, 5000);
  CampaignInput now{"Now", "seg", "Hi", std::nullopt, true};
  Fold(DecideCreateCampaign(model_, "c3", now, std::nullopt, Meta(), ids_));
  EXPECT_EQ(StateOf("c3"), CampaignState::kRunning);
  EXPECT_EQ(model_.Find("c3")->launch_trigger, "manual");
  EXPECT_EQ(model_.Find("c3")->version, 2);

  auto refused = DecideCreateCampaign(model_, "c4", now, "Segment seg not found", Meta(), ids_);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(refused.error().field_errors.size(), 1u);
  EXPECT_EQ(refused.error().field_errors[0].field, "segmentId");
  EXPECT_EQ(DecideCreateCampaign(model_, "c1", now, std::nullopt, Meta(), ids_).error().code,
            ErrorCode::kAlreadyExists);
}

TEST_F(CampaignCommandsTest, OnlyADraftIsEditedAndAnUnchangedEditDecidesNothing) {
  Create("c1");
  CampaignEdit edit{.name = "Summer"};
  Fold(DecideEditCampaign(model_, "c1", edit, std::nullopt, 1, Meta(), ids_));
  EXPECT_EQ(model_.Find("c1")->name, "Summer");
  auto same = DecideEditCampaign(model_, "c1", edit, std::nullopt, std::nullopt, Meta(), ids_);
  ASSERT_TRUE(same);
  EXPECT_TRUE(same->empty());
  auto stale = DecideEditCampaign(model_, "c1", edit, std::nullopt, 1, Meta(), ids_);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  Fold(DecideLaunchCampaign(model_, "c1", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  auto late = DecideEditCampaign(model_, "c1", CampaignEdit{.name = "X"}, std::nullopt,
                                 std::nullopt, Meta(), ids_);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(late.error().message, "Campaign c1 is Running; only a Draft can be edited");
}

TEST_F(CampaignCommandsTest, TheStateMachineRefusesIllegalMovesNamingBothStates) {
  Create("c1");
  auto pause = Move("c1", CampaignState::kPaused);
  ASSERT_FALSE(pause);
  EXPECT_EQ(pause.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(pause.error().message, "Campaign c1 is Draft; it cannot become Paused");
  EXPECT_EQ(Move("c1", CampaignState::kRunning).error().message,
            "Campaign c1 is Draft; it cannot become Running");

  Fold(DecideLaunchCampaign(model_, "c1", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  Fold(Move("c1", CampaignState::kPaused));
  EXPECT_EQ(StateOf("c1"), CampaignState::kPaused);
  auto launch =
      DecideLaunchCampaign(model_, "c1", "manual", std::nullopt, std::nullopt, Meta(), ids_);
  EXPECT_EQ(launch.error().message, "Campaign c1 is Paused; it cannot become Running");
  Fold(Move("c1", CampaignState::kRunning));
  EXPECT_EQ(StateOf("c1"), CampaignState::kRunning);
  auto again = Move("c1", CampaignState::kRunning);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  Fold(Move("c1", CampaignState::kCancelled));
  EXPECT_EQ(StateOf("c1"), CampaignState::kCancelled);
  EXPECT_EQ(model_.Find("c1")->reason, "why");
  EXPECT_EQ(model_.Find("c1")->finished_at, 1000);
  for (auto to : {CampaignState::kRunning, CampaignState::kPaused, CampaignState::kFailed}) {
    EXPECT_EQ(Move("c1", to).error().code, ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(DecideScheduleCampaign(model_, "c1", 9000, std::nullopt, Meta(), ids_).error().message,
            "Campaign c1 is Cancelled; it cannot become Scheduled");
  EXPECT_EQ(Move("nope", CampaignState::kPaused).error().code, ErrorCode::kNotFound);
}

TEST_F(CampaignCommandsTest, TheSchedulerLaunchesOnlyADueScheduledCampaign) {
  Create("c1", 5000);
  auto early =
      DecideLaunchCampaign(model_, "c1", "schedule", std::nullopt, std::nullopt, Meta(4999), ids_);
  ASSERT_TRUE(early);
  EXPECT_TRUE(early->empty());
  Fold(
      DecideLaunchCampaign(model_, "c1", "schedule", std::nullopt, std::nullopt, Meta(5000), ids_));
  EXPECT_EQ(StateOf("c1"), CampaignState::kRunning);
  EXPECT_EQ(model_.Find("c1")->launch_trigger, "schedule");
  // At most once: a second pass of the scheduler decides nothing.
  auto twice =
      DecideLaunchCampaign(model_, "c1", "schedule", std::nullopt, std::nullopt, Meta(6000), ids_);
  ASSERT_TRUE(twice);
  EXPECT_TRUE(twice->empty());
  // An archived segment stops a launch by hand, and ends a scheduled one with the reason.
  Create("c2");
  auto archived = DecideLaunchCampaign(model_, "c2", "manual", "Segment seg is archived",
                                       std::nullopt, Meta(), ids_);
  EXPECT_EQ(archived.error().code, ErrorCode::kFailedPrecondition);
  Create("c3", 5000);
  Fold(DecideLaunchCampaign(model_, "c3", "schedule", "Segment seg is archived", std::nullopt,
                            Meta(5000), ids_));
  EXPECT_EQ(StateOf("c3"), CampaignState::kFailed);
  EXPECT_EQ(model_.Find("c3")->reason, "Not launched at its time: Segment seg is archived");
}

TEST_F(CampaignCommandsTest, AnAudienceIsFrozenOnceAndAnEmptyOneCompletesTheCampaign) {
  Create("c1");
  EXPECT_TRUE(DecideFreezeAudience(model_, "c1", Audience(3), Meta(), ids_)->empty());  // Draft
  Fold(DecideLaunchCampaign(model_, "c1", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  Fold(DecideFreezeAudience(model_, "c1", Audience(3), Meta(), ids_));
  EXPECT_EQ(model_.Find("c1")->audience, Audience(3));
  EXPECT_EQ(StateOf("c1"), CampaignState::kRunning);
  EXPECT_TRUE(DecideFreezeAudience(model_, "c1", Audience(9), Meta(), ids_)->empty());

  Create("c2");
  Fold(DecideLaunchCampaign(model_, "c2", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  Fold(DecideFreezeAudience(model_, "c2", Audience(0), Meta(), ids_));
  EXPECT_EQ(StateOf("c2"), CampaignState::kSent);
  // Paused before its audience was resolved, with nobody to send to: Sent as well.
  Create("c3");
  Fold(DecideLaunchCampaign(model_, "c3", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  Fold(Move("c3", CampaignState::kPaused));
  Fold(DecideFreezeAudience(model_, "c3", Audience(0), Meta(), ids_));
  EXPECT_EQ(StateOf("c3"), CampaignState::kSent);
}

TEST_F(CampaignCommandsTest, TheFoldRefusesAMoveTheStateMachineForbids) {
  Create("c1");
  Campaign c = *model_.Find("c1");
  EventEnvelope paused = NewEvent(kCampaignAggregate, kCampaignPaused, "c1", 2, "{}", Meta(), ids_);
  auto st = ApplyCampaignEvent(c, paused);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ(c, *model_.Find("c1"));
}

TEST_F(CampaignCommandsTest, MessagesSentAdvanceTheCursorOnceAndOnlyWhileDispatching) {
  CampaignInput now{"Now", "seg", "Hi", std::nullopt, true};
  Fold(DecideCreateCampaign(model_, "c1", now, std::nullopt, Meta(), ids_));
  MessagesSent first{"", "cust-2", 1, 1, {{"cust-0", "bad address"}}, {}};
  // No audience yet: nothing can have been sent.
  auto early = DecideRecordMessagesSent(model_, "c1", first, Meta(), ids_);
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::kFailedPrecondition);
  Fold(DecideFreezeAudience(model_, "c1", Audience(5), Meta(), ids_));
  Fold(DecideRecordMessagesSent(model_, "c1", first, Meta(), ids_));
  const Campaign* c = model_.Find("c1");
  EXPECT_EQ(c->dispatch_cursor, "cust-2");
  EXPECT_EQ(c->sent, 2);
  EXPECT_EQ(c->rejected, 1);
  // The same chunk again (read after the old cursor): refused, nothing counted twice.
  auto twice = DecideRecordMessagesSent(model_, "c1", first, Meta(), ids_);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kAborted);
  // A chunk in flight when the campaign was paused is still recorded.
  Fold(Move("c1", CampaignState::kPaused));
  Fold(DecideRecordMessagesSent(model_, "c1", {"cust-2", "cust-4", 2, 0, {}, {}}, Meta(), ids_));
  EXPECT_EQ(model_.Find("c1")->sent, 4);
  EXPECT_EQ(StateOf("c1"), CampaignState::kPaused);
  // Completion only from Running.
  auto paused = DecideCompleteCampaign(model_, "c1", Meta(), ids_);
  ASSERT_FALSE(paused);
  EXPECT_EQ(paused.error().code, ErrorCode::kFailedPrecondition);
  Fold(Move("c1", CampaignState::kRunning));
  Fold(DecideRecordReceipts(model_, "c1", {{"e1", "cust-1", true, "", 5}}, Meta(), ids_));
  Fold(DecideCompleteCampaign(model_, "c1", Meta(), ids_));
  EXPECT_EQ(StateOf("c1"), CampaignState::kSent);
  auto again = DecideCompleteCampaign(model_, "c1", Meta(), ids_);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  auto after =
      DecideRecordMessagesSent(model_, "c1", {"cust-4", "cust-5", 1, 0, {}, {}}, Meta(), ids_);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kFailedPrecondition);
  // Receipts still count after the end (messages sent before it).
  Fold(DecideRecordReceipts(model_, "c1", {{"e2", "cust-3", false, "blocked", 6}}, Meta(), ids_));
}

TEST_F(CampaignCommandsTest, AChunkWithMessagesGivenUpFailsTheCampaignInTheSameAppend) {
  Create("c1");
  Fold(DecideLaunchCampaign(model_, "c1", "manual", std::nullopt, std::nullopt, Meta(), ids_));
  Fold(DecideFreezeAudience(model_, "c1", Audience(3), Meta(), ids_));
  MessagesSent sent{"", "cust-3", 1, 0, {}, {{"cust-2", "not_sent"}, {"cust-3", "not_sent"}}};
  auto events = DecideRecordMessagesSent(model_, "c1", sent, Meta(), ids_);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].type, kCampaignFailed);
  Fold(events);
  EXPECT_EQ(StateOf("c1"), CampaignState::kFailed);
  EXPECT_EQ(model_.Find("c1")->dispatch_cursor, "cust-3");
  EXPECT_EQ(model_.Find("c1")->reason,
            "The vendor did not accept 2 messages within the retry budget");
}

}  // namespace
}  // namespace keel

#include "domain/campaign.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

TEST(CampaignInputTest, AValidBodyIsTrimmedAndEveryViolationIsNamed) {
  auto ok = ParseCampaignInput(
      R"({"name":"  Spring ","segmentId":"s-1","message":"Hi {{name}}","channel":"email",)"
      R"("scheduledAt":"2030-01-01T00:00:00Z"})",
      kNow);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->name, "Spring");
  EXPECT_EQ(ok->segment_id, "s-1");
  EXPECT_EQ(ok->scheduled_at, ParseIso8601("2030-01-01T00:00:00Z"));
  EXPECT_FALSE(ok->launch);

  auto bad =
      ParseCampaignInput(R"({"name":"","segmentId":"a/b","message":"Hi {{nmae}}","channel":"sms",)"
                         R"("scheduledAt":"2001-01-01T00:00:00Z","launch":"yes","extra":1})",
                         kNow);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(bad.error()),
            (std::vector<std::string>{"name", "segmentId", "message", "channel", "scheduledAt",
                                      "launch", "extra"}));
  EXPECT_NE(bad.error().field_errors[2].message.find("nmae"), std::string::npos);

  auto missing = ParseCampaignInput("{}", kNow);
  EXPECT_EQ(Fields(missing.error()), (std::vector<std::string>{"name", "segmentId", "message"}));
  auto both = ParseCampaignInput(
      R"({"name":"A","segmentId":"s","message":"m","launch":true,"scheduledAt":"2030-01-01T00:00:00Z"})",
      kNow);
  EXPECT_EQ(Fields(both.error()), (std::vector<std::string>{"launch"}));
  EXPECT_EQ(ParseCampaignInput("[1]", kNow).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ParseCampaignInput(R"({"name":"A","segmentId":"s","message":""})", kNow)
                .error()
                .field_errors[0]
                .field,
            "message");
}

TEST(CampaignInputTest, AMessageIsBoundedRenderedAndTimesWithinFiveYears) {
  std::string many = "Hi";
  for (int i = 0; i < 25; ++i) many += " {{name}}";  // 25 names of up to 400 bytes: over 8 KiB
  auto refused =
      ParseCampaignInput(R"({"name":"A","segmentId":"s","message":")" + many + R"("})", kNow);
  ASSERT_FALSE(refused);
  EXPECT_EQ(Fields(refused.error()), (std::vector<std::string>{"message"}));
  EXPECT_NE(refused.error().field_errors[0].message.find("at most 8192"), std::string::npos);
  EXPECT_TRUE(
      ParseCampaignInput(R"({"name":"A","segmentId":"s","message":"{{name}} {{email}}"})", kNow));
  auto far = ParseScheduleInput(R"({"scheduledAt":"2100-01-01T00:00:00Z"})", kNow);
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().field_errors[0].message, "Must be within 5 years");
}

TEST(CampaignInputTest, EditsScheduleAndPreviewBodies) {
  auto edit = ParseCampaignEdit(R"({"message":"Hello {{firstName | \"there\"}}"})");
  ASSERT_TRUE(edit);
  EXPECT_FALSE(edit->name);
  EXPECT_EQ(edit->message, "Hello {{firstName | \"there\"}}");
  EXPECT_EQ(Fields(ParseCampaignEdit(R"({"name":7,"status":"Sent"})").error()),
            (std::vector<std::string>{"name", "status"}));
  EXPECT_EQ(ParseScheduleInput(R"({"scheduledAt":"2030-01-01T00:00:00Z"})", kNow).value(),
            ParseIso8601("2030-01-01T00:00:00Z"));
  EXPECT_EQ(Fields(ParseScheduleInput("{}", kNow).error()),
            (std::vector<std::string>{"scheduledAt"}));
  EXPECT_EQ(ParseScheduleInput(R"({"scheduledAt":"2000-01-01T00:00:00Z"})", kNow)
                .error()
                .field_errors[0]
                .message,
            "Must be in the future");
  auto preview = ParseCampaignPreviewInput(R"({"segmentId":"s","message":"{{email}}"})");
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->segment_id, "s");
}

TEST(CampaignEventsTest, TheFoldFollowsTheLifecycleAndPayloadsRoundTrip) {
  Campaign c;
  auto event = [&](std::string_view type, std::string payload) {
    EventEnvelope e;
    e.type = std::string(type);
    e.aggregate_type = std::string(kCampaignAggregate);
    e.aggregate_id = "c1";
    e.aggregate_version = c.version + 1;
    e.occurred_at = kNow + c.version;
    e.actor = "u";
    e.payload = std::move(payload);
    return e;
  };
  CampaignInput input{"A", "s", "Hi", std::nullopt, false};
  ASSERT_TRUE(ApplyCampaignEvent(c, event(kCampaignCreated, EncodeCampaignCreated(input))));
  EXPECT_EQ(c.state, CampaignState::kDraft);
  ASSERT_TRUE(ApplyCampaignEvent(c, event(kCampaignScheduled, EncodeCampaignScheduled(kNow + 9))));
  EXPECT_EQ(c.scheduled_at, kNow + 9);
  ASSERT_TRUE(
      ApplyCampaignEvent(c, event(kCampaignLaunched, EncodeCampaignLaunched(c, "schedule"))));
  EXPECT_EQ(c.state, CampaignState::kRunning);
  EXPECT_EQ(c.launch_trigger, "schedule");
  CampaignAudience a{10, 7, {1, 2, 0, 0}, {3, 4}};
  ASSERT_TRUE(ApplyCampaignEvent(c, event(kCampaignAudienceFrozen, EncodeCampaignAudience(a))));
  EXPECT_EQ(c.audience, a);
  EXPECT_FALSE(ApplyCampaignEvent(c, event(kCampaignAudienceFrozen, EncodeCampaignAudience(a))));
  ASSERT_TRUE(ApplyCampaignEvent(c, event(kCampaignFailed, EncodeCampaignReason("vendor down"))));
  EXPECT_EQ(c.state, CampaignState::kFailed);
  EXPECT_EQ(c.reason, "vendor down");
  EXPECT_TRUE(c.finished_at);
  EXPECT_EQ(CampaignStateName(c.state), "Failed");
  EXPECT_FALSE(ApplyCampaignEvent(c, event(kCampaignResumed, "{}")));
}

}  // namespace
}  // namespace keel

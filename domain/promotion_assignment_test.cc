#include "domain/promotion_assignment.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;
constexpr Millis kDay = 86'400'000;

Promotion APromotion(std::optional<int64_t> days) {
  Promotion p;
  p.id = "pr1";
  p.definition.title = "Ten off";
  p.definition.reward_type = RewardType::kPercentage;
  p.definition.reward_value = 1000;
  p.definition.duration_days = days;
  p.version = 1;
  return p;
}

EventEnvelope Event(const PromotionAssignment& a) {
  EventEnvelope e;
  e.type = std::string(kPromotionAssigned);
  e.aggregate_type = std::string(kPromotionAssignmentAggregate);
  e.aggregate_id = a.id;
  e.aggregate_version = 1;
  e.occurred_at = a.assigned_at;
  e.actor = a.assigned_by;
  e.payload = EncodePromotionAssigned(a);
  return e;
}

TEST(PromotionAssignmentTest, ExpiresDurationDaysAfterItWasMade) {
  auto a = NewAssignment("a1", APromotion(7), "c1", "manual", kNow, "u1");
  EXPECT_EQ(a.promotion_id, "pr1");
  EXPECT_EQ(a.title, "Ten off");
  EXPECT_EQ(a.reward_value, 1000);
  EXPECT_EQ(a.expires_at, kNow + 7 * kDay);
  EXPECT_EQ(a.StatusAt(kNow), AssignmentStatus::kAvailable);
  EXPECT_EQ(a.StatusAt(kNow + 7 * kDay - 1), AssignmentStatus::kAvailable);
  EXPECT_EQ(a.StatusAt(kNow + 7 * kDay), AssignmentStatus::kExpired);
  a.used_at = kNow + 1;
  EXPECT_EQ(a.StatusAt(kNow + 8 * kDay), AssignmentStatus::kUsed);
  auto forever = NewAssignment("a2", APromotion(std::nullopt), "c1", "manual", kNow, "u1");
  EXPECT_EQ(forever.expires_at, std::nullopt);
  EXPECT_EQ(forever.StatusAt(kNow + 10'000 * kDay), AssignmentStatus::kAvailable);
}

TEST(PromotionAssignmentTest, TheEventAndTheRecordRoundTrip) {
  auto a = NewAssignment("a1", APromotion(30), "c1", "manual", kNow, "u1");
  const EventEnvelope e = Event(a);
  EXPECT_NE(e.payload.find(R"("assignmentId":"a1","promotionId":"pr1","customerId":"c1")"),
            std::string::npos)
      << e.payload;
  auto decoded = DecodePromotionAssigned(e);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, a);
  auto record = AssignmentFromJson(AssignmentToJson(a));
  ASSERT_TRUE(record) << record.error().message;
  EXPECT_EQ(*record, a);
  EXPECT_NE(AssignmentToJson(a, kNow).find(R"("status":"available")"), std::string::npos);
  EXPECT_NE(AssignmentToJson(a, kNow + 31 * kDay).find(R"("status":"expired")"), std::string::npos);
  EXPECT_EQ(AssignmentToJson(a).find("status"), std::string::npos);
}

TEST(PromotionAssignmentTest, ABadEventIsDataLoss) {
  auto a = NewAssignment("a1", APromotion(30), "c1", "manual", kNow, "u1");
  auto refused = [](EventEnvelope e) {
    auto d = DecodePromotionAssigned(e);
    return !d && d.error().code == ErrorCode::kDataLoss;
  };
  EventEnvelope e = Event(a);
  e.aggregate_id = "other";
  EXPECT_TRUE(refused(e));  // assignmentId is not the aggregate's
  e = Event(a);
  e.aggregate_version = 2;
  EXPECT_TRUE(refused(e));
  e = Event(a);
  e.payload = R"({"assignmentId":"a1","promotionId":"pr1"})";
  EXPECT_TRUE(refused(e));
  PromotionAssignment over = a;
  over.reward_value = 10'001;  // a percentage past 100
  EXPECT_TRUE(refused(Event(over)));
  e = Event(a);
  e.type = "PromotionRedeemed";
  EXPECT_TRUE(refused(e));
}

TEST(PromotionAssignmentTest, AReferralRoundTripsAndABadOneIsDataLoss) {
  const Referral referral{"referrer", "referred", "o1"};
  EventEnvelope e;
  e.type = std::string(kReferralQualified);
  e.aggregate_type = std::string(kCustomerReferralAggregate);
  e.aggregate_id = "referred";
  e.aggregate_version = 1;
  e.payload = EncodeReferral(referral);
  EXPECT_EQ(e.payload,
            R"({"referrerId":"referrer","referredCustomerId":"referred","orderId":"o1"})");
  auto decoded = DecodeReferral(e);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, referral);
  EventEnvelope credited = e;
  credited.type = std::string(kReferralCredited);
  credited.aggregate_version = 2;
  auto decoded_credit = DecodeReferral(credited);
  ASSERT_TRUE(decoded_credit) << decoded_credit.error().message;
  EXPECT_EQ(*decoded_credit, referral);

  auto refused = [](EventEnvelope bad) {
    auto d = DecodeReferral(bad);
    return !d && d.error().code == ErrorCode::kDataLoss;
  };
  EventEnvelope bad = e;
  bad.aggregate_id = "someone else";  // referredCustomerId is not the aggregate's
  EXPECT_TRUE(refused(bad));
  bad = e;
  bad.aggregate_version = 2;  // qualified is version 1, credited 2
  EXPECT_TRUE(refused(bad));
  bad = credited;
  bad.aggregate_version = 1;
  EXPECT_TRUE(refused(bad));
  bad = e;
  bad.payload = R"({"referrerId":"referrer","referredCustomerId":"referred"})";
  EXPECT_TRUE(refused(bad));
  bad = e;
  bad.aggregate_type = std::string(kPromotionAssignmentAggregate);
  EXPECT_TRUE(refused(bad));
  bad = e;
  bad.type = "ReferralForgotten";
  EXPECT_TRUE(refused(bad));
}

TEST(PromotionAssignmentTest, TheInputNamesCustomerId) {
  auto ok = ParseAssignPromotionInput(R"({"customerId":" c1 "})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "c1");
  auto absent = ParseAssignPromotionInput(R"({"customer":"c1"})");
  ASSERT_FALSE(absent);
  ASSERT_EQ(absent.error().field_errors.size(), 2u);
  EXPECT_EQ(absent.error().field_errors[0].field, "customer");
  EXPECT_EQ(absent.error().field_errors[1].field, "customerId");
  auto wrong = ParseAssignPromotionInput(R"({"customerId":5})");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().field_errors[0].field, "customerId");
  EXPECT_FALSE(ParseAssignPromotionInput("nope"));
  EXPECT_EQ(ParseAssignmentStatus("expired"), AssignmentStatus::kExpired);
  EXPECT_EQ(ParseAssignmentStatus("gone"), std::nullopt);
}

}  // namespace
}  // namespace keel

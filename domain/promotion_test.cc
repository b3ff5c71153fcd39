#include "domain/promotion.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

constexpr Millis kNow = 1'800'000'000'000;

std::vector<std::string> Fields(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.field_errors) out.push_back(f.field);
  return out;
}

std::string MessageAt(const Error& e, std::string_view field) {
  for (const auto& f : e.field_errors) {
    if (f.field == field) return f.message;
  }
  return "";
}

EventEnvelope Event(std::string_view type, int64_t version, std::string payload) {
  EventEnvelope e;
  e.type = std::string(type);
  e.aggregate_type = std::string(kPromotionAggregate);
  e.aggregate_id = "pr1";
  e.aggregate_version = version;
  e.occurred_at = kNow + version;
  e.actor = "u1";
  e.payload = std::move(payload);
  return e;
}

PromotionInput Valid() {
  auto in = ParsePromotionInput(R"({"title":"Ten off","rewardType":"PERCENTAGE","rewardValue":10,)"
                                R"("condition":{"type":"first_purchase"}})");
  EXPECT_TRUE(in);
  return *in;
}

TEST(PromotionInputTest, AValidBodyIsTrimmedAndDefaulted) {
  auto ok = ParsePromotionInput(
      R"({"title":"  Welcome  ","rewardType":"FIXED_AMOUNT","rewardValue":12.5,)"
      R"("condition":{"type":"minimum_purchase","amount":100.25},"description":"  ",)"
      R"("durationDays":30})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->title, "Welcome");
  EXPECT_EQ(ok->description, std::nullopt);  // empty once trimmed: none
  EXPECT_EQ(ok->reward_type, RewardType::kFixedAmount);
  EXPECT_EQ(ok->reward_value, 1250);
  EXPECT_EQ(ok->condition.type, ConditionType::kMinimumPurchase);
  EXPECT_EQ(ok->condition.amount_cents, 10025);
  EXPECT_EQ(ok->duration_days, 30);
  EXPECT_TRUE(ok->is_active);

  auto level = ParsePromotionInput(
      R"({"title":"Gold","rewardType":"PERCENTAGE","rewardValue":100,"durationDays":null,)"
      R"("condition":{"type":"customer_level","level":"Gold"},"isActive":false,)"
      R"("description":"For our best"})");
  ASSERT_TRUE(level) << level.error().message;
  EXPECT_EQ(level->reward_value, 10'000);
  EXPECT_EQ(level->condition.level, LoyaltyLevel::kGold);
  EXPECT_EQ(level->description, "For our best");
  EXPECT_EQ(level->duration_days, std::nullopt);
  EXPECT_FALSE(level->is_active);
}

TEST(PromotionInputTest, EveryViolationIsNamedByField) {
  auto bad = ParsePromotionInput(
      R"({"title":"","description":5,"rewardType":"HALF","rewardValue":0,)"
      R"("condition":{"type":"lucky","colour":1},"durationDays":3651,"isActive":"yes",)"
      R"("extra":1})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(bad.error()),
            (std::vector<std::string>{"title", "description", "rewardType", "rewardValue",
                                      "condition.type", "condition.colour", "durationDays",
                                      "isActive", "extra"}));
  EXPECT_EQ(MessageAt(bad.error(), "rewardValue"), "Must be above 0 and at most 1000000000000");
  EXPECT_EQ(MessageAt(bad.error(), "durationDays"), "Must be an integer from 1 to 3650");

  auto absent = ParsePromotionInput("{}");
  ASSERT_FALSE(absent);
  EXPECT_EQ(Fields(absent.error()),
            (std::vector<std::string>{"title", "rewardType", "rewardValue", "condition"}));

  auto percent =
      ParsePromotionInput(R"({"title":"T","rewardType":"PERCENTAGE","rewardValue":100.01,)"
                          R"("condition":{"type":"referral"}})");
  ASSERT_FALSE(percent);
  EXPECT_EQ(Fields(percent.error()), (std::vector<std::string>{"rewardValue"}));
  EXPECT_EQ(MessageAt(percent.error(), "rewardValue"),
            "Must be at most 100 for a PERCENTAGE reward");

  auto decimals = ParsePromotionInput(
      R"({"title":"T","rewardType":"FIXED_AMOUNT","rewardValue":1.001,"durationDays":1.5,)"
      R"("condition":{"type":"minimum_purchase"}})");
  ASSERT_FALSE(decimals);
  EXPECT_EQ(Fields(decimals.error()),
            (std::vector<std::string>{"rewardValue", "durationDays", "condition.amount"}));
  EXPECT_EQ(MessageAt(decimals.error(), "rewardValue"), "Must have at most two decimal places");

  auto condition =
      ParsePromotionInput(R"({"title":"T","rewardType":"FIXED_AMOUNT","rewardValue":1,)"
                          R"("condition":{"type":"referral","amount":-1,"level":"Wood"}})");
  ASSERT_FALSE(condition);
  EXPECT_EQ(Fields(condition.error()),
            (std::vector<std::string>{"condition.amount", "condition.level", "condition.amount",
                                      "condition.level"}));
  EXPECT_EQ(MessageAt(condition.error(), "condition.level"),
            "Must be one of Bronze, Silver, Gold, Platinum");
  auto not_object = ParsePromotionInput(
      R"({"title":"T","rewardType":"FIXED_AMOUNT","rewardValue":1,"condition":"first_purchase"})");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(Fields(not_object.error()), (std::vector<std::string>{"condition"}));
  EXPECT_FALSE(ParsePromotionInput("[1]"));
}

TEST(PromotionEventTest, CreateUpdateAndDeactivateFold) {
  Promotion p;
  PromotionInput in = Valid();
  ASSERT_TRUE(ApplyPromotionEvent(p, Event(kPromotionCreated, 1, EncodePromotionCreated(in))));
  EXPECT_EQ(p.id, "pr1");
  EXPECT_EQ(p.definition, in);
  EXPECT_EQ(p.created_by, "u1");
  EXPECT_EQ(p.version, 1);

  PromotionInput next = in;
  next.reward_type = RewardType::kFixedAmount;
  next.reward_value = 250'00;
  next.condition = {ConditionType::kCustomerLevel, 0, LoyaltyLevel::kPlatinum};
  next.duration_days = 7;
  next.description = "More";
  auto updated = EncodePromotionUpdated(p, next);
  ASSERT_TRUE(updated);
  EXPECT_EQ(*updated,
            R"({"description":"More","rewardType":"FIXED_AMOUNT","rewardValue":250.00,)"
            R"("condition":{"type":"customer_level","level":"Platinum"},"durationDays":7})");
  ASSERT_TRUE(ApplyPromotionEvent(p, Event(kPromotionUpdated, 2, *updated)));
  EXPECT_EQ(p.definition, next);
  EXPECT_EQ(EncodePromotionUpdated(p, next), std::nullopt);

  // Clearing an optional field is a change too.
  PromotionInput cleared = next;
  cleared.description.reset();
  cleared.duration_days.reset();
  auto clear = EncodePromotionUpdated(p, cleared);
  ASSERT_TRUE(clear);
  EXPECT_EQ(*clear, R"({"description":null,"durationDays":null})");
  ASSERT_TRUE(ApplyPromotionEvent(p, Event(kPromotionUpdated, 3, *clear)));
  EXPECT_EQ(p.definition, cleared);

  ASSERT_TRUE(ApplyPromotionEvent(p, Event(kPromotionDeactivated, 4, "{}")));
  EXPECT_FALSE(p.is_active());
  EXPECT_EQ(p.updated_at, kNow + 4);

  // The document round-trips.
  auto back = PromotionFromJson(PromotionToJson(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, p);
}

TEST(PromotionEventTest, WhatTheApiRefusesTheFoldRefusesToo) {
  Promotion p;
  auto refused = [&](std::string_view type, int64_t version, std::string payload) {
    Promotion copy = p;
    auto st = ApplyPromotionEvent(copy, Event(type, version, std::move(payload)));
    return !st && st.error().code == ErrorCode::kDataLoss;
  };
  EXPECT_TRUE(refused(kPromotionUpdated, 1, R"({"title":"X"})"));  // no such promotion
  EXPECT_TRUE(refused(kPromotionCreated, 1, R"({"title":"X"})"));  // fields missing
  EXPECT_TRUE(refused(kPromotionCreated, 1,
                      R"({"title":"X","rewardType":"PERCENTAGE","rewardValue":150,)"
                      R"("condition":{"type":"referral"}})"));
  ASSERT_TRUE(ApplyPromotionEvent(p, Event(kPromotionCreated, 1, EncodePromotionCreated(Valid()))));
  EXPECT_TRUE(refused(kPromotionCreated, 2, EncodePromotionCreated(Valid())));  // exists
  EXPECT_TRUE(refused(kPromotionUpdated, 3, R"({"title":"X"})"));               // version gap
  EXPECT_TRUE(refused(kPromotionUpdated, 2, "{}"));                             // nothing changed
  EXPECT_TRUE(refused(kPromotionUpdated, 2, R"({"colour":"red"})"));
  // A percentage above 100 once the value changes alone.
  EXPECT_TRUE(refused(kPromotionUpdated, 2, R"({"rewardValue":101})"));
  EXPECT_TRUE(refused(kPromotionUpdated, 2, R"({"durationDays":0})"));
  EXPECT_TRUE(refused(kPromotionUpdated, 2, "not json"));
  EXPECT_EQ(p.version, 1);
  EXPECT_FALSE(PromotionFromJson(R"({"id":"x"})"));
}

}  // namespace
}  // namespace keel

#include "commands/product_commands.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

class FixedClock final : public Clock {
 public:
  Millis NowMillis() override { return 1'700'000'000'000; }
};

class ProductCommandsTest : public ::testing::Test {
 protected:
  CommandMeta Meta() { return {.now = 1000, .actor = "u1", .correlation_id = "req"}; }
  static ProductInput Input(std::string sku, int64_t price = 1000) {
    return ProductInput{"Widget", std::move(sku), price, 1900, true};
  }
  Result<EventEnvelope> Create(const std::string& id, const std::string& sku) {
    auto e = DecideCreateProduct(model_, id, Input(sku), Meta(), ids_);
    if (e) {
      EXPECT_TRUE(model_.Apply(*e));
    }
    return e;
  }
  Result<std::vector<EventEnvelope>> Fold(Result<std::vector<EventEnvelope>> events) {
    if (events) {
      for (const auto& e : *events) EXPECT_TRUE(model_.Apply(e));
    }
    return events;
  }

  FixedClock clock_;
  UuidV7Generator ids_{clock_, 7};
  ProductWriteModel model_;
};

TEST_F(ProductCommandsTest, CreateRefusesATakenIdAndATakenSkuInAnyCase) {
  auto created = Create("p1", "W-1");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->type, kProductCreated);
  EXPECT_EQ(created->aggregate_version, 1);
  EXPECT_EQ(created->actor, "u1");
  ASSERT_NE(model_.OwnerOfSku("w-1"), nullptr);
  EXPECT_EQ(*model_.OwnerOfSku("w-1"), "p1");

  auto same_id = DecideCreateProduct(model_, "p1", Input("OTHER"), Meta(), ids_);
  ASSERT_FALSE(same_id);
  EXPECT_EQ(same_id.error().code, ErrorCode::kAlreadyExists);
  auto same_sku = Create("p2", "w-1");
  ASSERT_FALSE(same_sku);
  EXPECT_EQ(same_sku.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(same_sku.error().message, "A product with sku w-1 already exists");
  EXPECT_EQ(model_.Find("p2"), nullptr);
}

TEST_F(ProductCommandsTest, ReplaceChangesOnlyWhatDiffersAndMovesTheSku) {
  ASSERT_TRUE(Create("p1", "W-1"));
  ASSERT_TRUE(Create("p2", "W-2"));
  auto unchanged = Fold(DecideReplaceProduct(model_, "p1", Input("W-1"), 1, Meta(), ids_));
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->empty());

  auto taken = DecideReplaceProduct(model_, "p1", Input("w-2"), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);

  // Its own sku in another case, and a new price: one event with both.
  auto recased = Fold(DecideReplaceProduct(model_, "p1", Input("w-1", 2500), 1, Meta(), ids_));
  ASSERT_TRUE(recased) << recased.error().message;
  ASSERT_EQ(recased->size(), 1u);
  EXPECT_EQ((*recased)[0].type, kProductUpdated);
  EXPECT_EQ((*recased)[0].payload, R"({"sku":"w-1","price":25.00})");
  EXPECT_EQ(model_.Find("p1")->version, 2);

  // Moved to a new sku: the old one is free again.
  ASSERT_TRUE(Fold(DecideReplaceProduct(model_, "p1", Input("W-3"), 2, Meta(), ids_)));
  EXPECT_EQ(*model_.OwnerOfSku("W-3"), "p1");
  EXPECT_EQ(model_.OwnerOfSku("W-1"), nullptr);
  EXPECT_TRUE(Create("p3", "W-1"));

  auto stale = DecideReplaceProduct(model_, "p1", Input("W-9"), 2, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  EXPECT_EQ(stale.error().message, "Product p1 is at version 3, not 2; re-read it and retry");
  auto missing = DecideReplaceProduct(model_, "nope", Input("W-9"), std::nullopt, Meta(), ids_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(ProductCommandsTest, DeactivateOnceKeepsTheSkuAndAReplaceActivatesAgain) {
  ASSERT_TRUE(Create("p1", "W-1"));
  auto stale = DecideDeactivateProduct(model_, "p1", 7, Meta(), ids_);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, ErrorCode::kAborted);
  auto off = Fold(DecideDeactivateProduct(model_, "p1", 1, Meta(), ids_));
  ASSERT_TRUE(off);
  ASSERT_EQ(off->size(), 1u);
  EXPECT_EQ((*off)[0].type, kProductDeactivated);
  EXPECT_FALSE(model_.Find("p1")->is_active);
  auto again = Fold(DecideDeactivateProduct(model_, "p1", std::nullopt, Meta(), ids_));
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  // An inactive product still holds its sku.
  auto taken = Create("p2", "W-1");
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
  auto on = Fold(DecideReplaceProduct(model_, "p1", Input("W-1"), 2, Meta(), ids_));
  ASSERT_TRUE(on);
  ASSERT_EQ(on->size(), 1u);
  EXPECT_EQ((*on)[0].payload, R"({"isActive":true})");
  EXPECT_TRUE(model_.Find("p1")->is_active);
  auto missing = DecideDeactivateProduct(model_, "nope", std::nullopt, Meta(), ids_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(ProductCommandsTest, AFoldInAnyPartitionOrderKeepsTheSkuWithItsHolder) {
  // Decided in this order: p1 takes X, p1 moves to Y, p2 takes X (freed).
  std::vector<EventEnvelope> events;
  auto created = Create("p1", "X");
  ASSERT_TRUE(created);
  events.push_back(*created);
  auto moved = Fold(DecideReplaceProduct(model_, "p1", Input("Y"), 1, Meta(), ids_));
  ASSERT_TRUE(moved) << moved.error().message;
  for (auto& e : *moved) events.push_back(e);
  auto second = Create("p2", "X");
  ASSERT_TRUE(second) << second.error().message;
  events.push_back(*second);
  // Folded from the log with p2's partition read first: p1's later move released X after p2
  // took it; the rebuild after the fold gives X back to p2.
  ProductWriteModel folded;
  ASSERT_TRUE(folded.Apply(events.back()));
  for (size_t i = 0; i + 1 < events.size(); ++i) ASSERT_TRUE(folded.Apply(events[i]));
  folded.RebuildSkuIndex();
  ASSERT_NE(folded.OwnerOfSku("x"), nullptr);
  EXPECT_EQ(*folded.OwnerOfSku("x"), "p2");
  ASSERT_NE(folded.OwnerOfSku("y"), nullptr);
  EXPECT_EQ(*folded.OwnerOfSku("y"), "p1");
  auto again = DecideCreateProduct(folded, "p3", Input("x"), Meta(), ids_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

}  // namespace
}  // namespace keel

#include "domain/product.h"

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
  e.aggregate_type = std::string(kProductAggregate);
  e.aggregate_id = "p1";
  e.aggregate_version = version;
  e.occurred_at = kNow + version;
  e.actor = "u1";
  e.payload = std::move(payload);
  return e;
}

TEST(ProductInputTest, AValidBodyIsTrimmedAndDefaulted) {
  auto ok = ParseProductInput(R"({"name":"  Widget ","sku":" W-1 ","price":12.5})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->name, "Widget");
  EXPECT_EQ(ok->sku, "W-1");
  EXPECT_EQ(ok->price_cents, 1250);
  EXPECT_EQ(ok->tax_rate_bp, 0);
  EXPECT_TRUE(ok->is_active);
  auto full =
      ParseProductInput(R"({"name":"W","sku":"w","price":0,"taxRate":19.25,"isActive":false})");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->price_cents, 0);
  EXPECT_EQ(full->tax_rate_bp, 1925);
  EXPECT_FALSE(full->is_active);
  auto edges = ParseProductInput(R"({"name":"W","sku":"w","price":1000000000000,"taxRate":100})");
  ASSERT_TRUE(edges) << edges.error().message;
  EXPECT_EQ(edges->price_cents, 100'000'000'000'000);
  EXPECT_EQ(edges->tax_rate_bp, 10'000);
}

TEST(ProductInputTest, EveryViolationIsNamedByItsField) {
  auto missing = ParseProductInput("{}");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "Validation failed");
  EXPECT_EQ(Fields(missing.error()), (std::vector<std::string>{"name", "sku", "price"}));
  EXPECT_EQ(MessageAt(missing.error(), "sku"), "Is required");

  auto bad = ParseProductInput(
      R"({"name":"","sku":"   ","price":-1,"taxRate":100.5,"isActive":"yes","colour":"red"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fields(bad.error()),
            (std::vector<std::string>{"name", "sku", "price", "taxRate", "isActive", "colour"}));
  EXPECT_EQ(MessageAt(bad.error(), "name"), "Must be 1 to 200 characters");
  EXPECT_EQ(MessageAt(bad.error(), "sku"), "Must be 1 to 100 characters");
  EXPECT_EQ(MessageAt(bad.error(), "price"), "Must be between 0 and 1000000000000");
  EXPECT_EQ(MessageAt(bad.error(), "taxRate"), "Must be between 0 and 100");
  EXPECT_EQ(MessageAt(bad.error(), "isActive"), "Expected a boolean, got string");
  EXPECT_EQ(MessageAt(bad.error(), "colour"), "Unknown field");

  auto decimals = ParseProductInput(R"({"name":"W","sku":"w","price":1.005,"taxRate":7.125})");
  ASSERT_FALSE(decimals);
  EXPECT_EQ(Fields(decimals.error()), (std::vector<std::string>{"price", "taxRate"}));
  EXPECT_EQ(MessageAt(decimals.error(), "price"), "Must have at most two decimal places");
  EXPECT_EQ(MessageAt(decimals.error(), "taxRate"), "Must have at most two decimal places");

  auto types = ParseProductInput(R"({"name":5,"sku":null,"price":"9.99","taxRate":true})");
  ASSERT_FALSE(types);
  EXPECT_EQ(MessageAt(types.error(), "name"), "Expected a string, got number");
  EXPECT_EQ(MessageAt(types.error(), "sku"), "Expected a string, got null");
  EXPECT_EQ(MessageAt(types.error(), "price"), "Expected a number, got string");
  EXPECT_EQ(MessageAt(types.error(), "taxRate"), "Expected a number, got boolean");
  auto huge = ParseProductInput(R"({"name":"W","sku":"w","price":1e300})");
  ASSERT_FALSE(huge);
  EXPECT_EQ(MessageAt(huge.error(), "price"), "Must be between 0 and 1000000000000");

  EXPECT_FALSE(ParseProductInput("[]"));
  EXPECT_FALSE(ParseProductInput("{nope"));
}

TEST(ProductSkuTest, SkusCompareIgnoringAsciiCase) {
  EXPECT_EQ(SkuKey("AB-1x"), "ab-1x");
  EXPECT_EQ(SkuKey("ab-1X"), SkuKey("Ab-1x"));
  EXPECT_EQ(SkuKey("Ä-1"), "Ä-1");  // only ASCII letters fold
}

TEST(ProductFoldTest, CreateUpdateDeactivateAndTheDocumentRoundTrips) {
  ProductInput in{"Widget", "W-1", 1999, 1900, true};
  Product p;
  ASSERT_TRUE(ApplyProductEvent(p, Event(kProductCreated, 1, EncodeProductCreated(in))));
  EXPECT_EQ(p.id, "p1");
  EXPECT_EQ(p.sku, "W-1");
  EXPECT_EQ(p.price_cents, 1999);
  EXPECT_EQ(p.tax_rate_bp, 1900);
  EXPECT_TRUE(p.is_active);
  EXPECT_EQ(p.created_by, "u1");
  EXPECT_EQ(p.version, 1);

  ProductInput same = in;
  EXPECT_EQ(EncodeProductUpdated(p, same), std::nullopt);
  ProductInput next{"Widget", "W-2", 2500, 1900, true};
  auto updated = EncodeProductUpdated(p, next);
  ASSERT_TRUE(updated);
  EXPECT_EQ(*updated, R"({"sku":"W-2","price":25.00})");
  ASSERT_TRUE(ApplyProductEvent(p, Event(kProductUpdated, 2, *updated)));
  EXPECT_EQ(p.sku, "W-2");
  EXPECT_EQ(p.price_cents, 2500);
  EXPECT_EQ(p.name, "Widget");
  EXPECT_EQ(p.updated_at, kNow + 2);

  ASSERT_TRUE(ApplyProductEvent(p, Event(kProductDeactivated, 3, "{}")));
  EXPECT_FALSE(p.is_active);
  EXPECT_EQ(p.version, 3);

  auto back = ProductFromJson(ProductToJson(p));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, p);
  EXPECT_EQ(
      ProductToJson(p),
      R"({"id":"p1","name":"Widget","sku":"W-2","price":25.00,"taxRate":19.00,"isActive":false,)"
      R"("createdBy":"u1","createdAt":"2027-01-15T08:00:00.001Z",)"
      R"("updatedAt":"2027-01-15T08:00:00.003Z","version":3})");
}

TEST(ProductFoldTest, WhatTheApiNeverWritesIsDataLoss) {
  Product p;
  auto code = [&](std::string_view type, int64_t version, std::string payload) {
    Product copy = p;
    auto st = ApplyProductEvent(copy, Event(type, version, std::move(payload)));
    return st ? std::optional<ErrorCode>() : std::optional<ErrorCode>(st.error().code);
  };
  EXPECT_EQ(code(kProductUpdated, 1, R"({"name":"X"})"), ErrorCode::kDataLoss);  // no product
  EXPECT_EQ(code(kProductCreated, 1,
                 R"({"name":"X","sku":"s","price":-1,"taxRate":0,)"
                 R"("isActive":true})"),
            ErrorCode::kDataLoss);
  EXPECT_EQ(code(kProductCreated, 1,
                 R"({"name":"X","sku":"s","price":1,"taxRate":100.01,)"
                 R"("isActive":true})"),
            ErrorCode::kDataLoss);
  EXPECT_EQ(code(kProductCreated, 1, R"({"name":"X","price":1,"taxRate":0,"isActive":true})"),
            ErrorCode::kDataLoss);
  ASSERT_TRUE(ApplyProductEvent(
      p, Event(kProductCreated, 1, EncodeProductCreated({"X", "s", 100, 0, true}))));
  EXPECT_EQ(code(kProductCreated, 2, EncodeProductCreated({"X", "s", 100, 0, true})),
            ErrorCode::kDataLoss);  // exists
  EXPECT_EQ(code(kProductUpdated, 2, "{}"), ErrorCode::kDataLoss);
  EXPECT_EQ(code(kProductUpdated, 2, R"({"sku":""})"), ErrorCode::kDataLoss);
  EXPECT_EQ(code(kProductUpdated, 2, R"({"colour":"red"})"), ErrorCode::kDataLoss);
  EXPECT_EQ(code(kProductUpdated, 3, R"({"name":"Y"})"), ErrorCode::kDataLoss);  // version gap
  EXPECT_EQ(code(kProductUpdated, 2, R"({"name":"Y"})"), std::nullopt);
}

}  // namespace
}  // namespace keel

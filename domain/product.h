// The product aggregate (seed 002's product catalogue, issue 16): a thing Keel sells, with a
// name, a stock-keeping unit (sku) unique across all products, a price and a tax rate. Its
// events, the validation of input and the one fold that the write side and the projector share.
// Pure; value types.
//
// Amounts are integral: the price in cents, the tax rate in basis points (hundredths of a
// percent, 1250 = 12.50%). Events and documents carry both as JSON numbers with two decimals,
// as orders carry their amounts (JsonWriter::Cents), and are read back exactly (json::ToCents).
//
// A product is never removed: DELETE deactivates it (ProductDeactivated), as DELETE deactivates
// a customer. An inactive product is still served and keeps its sku; a replace (PUT) with
// isActive true, or without isActive, activates it again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kProductAggregate = "product";
// {name, sku, price, taxRate, isActive}: a new product.
inline constexpr std::string_view kProductCreated = "ProductCreated";
// The fields a replace changed, each with its new value: any of {name, sku, price, taxRate,
// isActive}; never empty.
inline constexpr std::string_view kProductUpdated = "ProductUpdated";
// {}: the product is no longer sold (isActive false).
inline constexpr std::string_view kProductDeactivated = "ProductDeactivated";

inline constexpr size_t kMaxProductNameLength = 200;       // code points, after trimming
inline constexpr size_t kMaxSkuLength = 100;               // code points, after trimming
inline constexpr int64_t kMaxTaxRateBasisPoints = 10'000;  // 100%

struct Product {
  std::string id;
  std::string name;
  std::string sku;  // as given (trimmed); unique as SkuKey says
  int64_t price_cents = 0;
  int64_t tax_rate_bp = 0;  // basis points: 0..kMaxTaxRateBasisPoints
  bool is_active = true;
  std::string created_by;  // the actor of ProductCreated
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Product&) const = default;
};

// A product as POST and PUT (a replace) carry it: {name (1–200), sku (1–100), price (0 to
// 1,000,000,000,000, at most two decimals), taxRate (0 to 100, at most two decimals; default
// 0), isActive (default true)}.
struct ProductInput {
  std::string name;
  std::string sku;
  int64_t price_cents = 0;
  int64_t tax_rate_bp = 0;
  bool is_active = true;

  bool operator==(const ProductInput&) const = default;
};

// Trims text, refuses unknown fields by name and lists every violation with its field
// (kInvalidArgument, "Validation failed"); an absent optional field takes its default.
Result<ProductInput> ParseProductInput(std::string_view body);

// The form in which skus are unique and searched: ASCII letters folded to lower case ("AB-1"
// and "ab-1" are one sku); other bytes as they are.
std::string SkuKey(std::string_view sku);
// `text` with ASCII letters folded to lower case (what search compares).
std::string FoldAsciiCase(std::string_view text);

// Event payloads.
std::string EncodeProductCreated(const ProductInput& input);
// Only the fields of `next` that differ from `current`; nullopt when none do.
std::optional<std::string> EncodeProductUpdated(const Product& current, const ProductInput& next);

// The fold. kDataLoss when the payload is bad (a field missing or out of the ranges above), the
// version does not follow, or the product does not exist (or already does, for a create).
Status ApplyProductEvent(Product& product, const EventEnvelope& event);

// As served and as the read model stores it: {id, name, sku, price, taxRate, isActive,
// createdBy, createdAt, updatedAt, version}.
std::string ProductToJson(const Product& product);
// Reads what ProductToJson wrote; kDataLoss when it does not hold a product.
Result<Product> ProductFromJson(std::string_view json);

}  // namespace keel

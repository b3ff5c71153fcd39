// The products read model: each product as served (domain/product.h ProductToJson), folded from
// the products stream. A list reads every product, newest first (ids are time-ordered), and
// filters by isActive and a search text; a catalogue is an admin's list of what Keel sells, not
// a customer base, so a scan of it is what a list costs. The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/product.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// product id → ProductToJson.
inline constexpr std::string_view kProductsTable = "products";

class ProductsProjector final : public Projector {
 public:
  std::string_view name() const override { return "products"; }
  std::vector<std::string_view> topics() const override { return {kProductsTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kProductsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One product; nullopt for an unknown id. Thread-safe as the store is.
Result<std::optional<Product>> QueryProduct(ReadStore& store, std::string_view id);

struct ProductListQuery {
  int page = 1;
  int limit = 20;
  std::optional<bool> is_active;
  // Products whose name or sku contains it, ignoring ASCII case; empty: every product.
  std::string search;
};

struct ProductPage {
  std::vector<Product> items;  // newest first
  int64_t total = 0;           // every match
};

Result<ProductPage> QueryProducts(ReadStore& store, const ProductListQuery& query);

}  // namespace keel

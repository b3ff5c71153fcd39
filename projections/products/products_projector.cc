#include "projections/products/products_projector.h"

namespace keel {

Status ProductsProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                                std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kProductAggregate) return {};
  Product product;
  auto stored = view.Get(kProductsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = ProductFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    product = std::move(*decoded);
  }
  if (auto st = ApplyProductEvent(product, event); !st) return st;
  writes.push_back({kProductsTable, event.aggregate_id, ProductToJson(product)});
  return {};
}

Result<std::optional<Product>> QueryProduct(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kProductsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Product>();
  auto product = ProductFromJson(**stored);
  if (!product) return Fail(product.error());
  return std::optional<Product>(std::move(*product));
}

Result<ProductPage> QueryProducts(ReadStore& store, const ProductListQuery& q) {
  ProductPage page;
  const std::string needle = FoldAsciiCase(q.search);
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  Status bad;
  auto st = store.ScanReverse(kProductsTable, "", "", [&](std::string_view, std::string_view v) {
    auto p = ProductFromJson(v);
    if (!p) {
      bad = Fail(p.error());
      return false;
    }
    if (q.is_active && p->is_active != *q.is_active) return true;
    if (!needle.empty() && FoldAsciiCase(p->name).find(needle) == std::string::npos &&
        FoldAsciiCase(p->sku).find(needle) == std::string::npos) {
      return true;
    }
    if (static_cast<size_t>(page.total++) >= skip &&
        page.items.size() < static_cast<size_t>(q.limit)) {
      page.items.push_back(std::move(*p));
    }
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return page;
}

}  // namespace keel

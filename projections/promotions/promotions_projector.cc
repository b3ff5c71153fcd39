#include "projections/promotions/promotions_projector.h"

#include "domain/product.h"  // FoldAsciiCase

namespace keel {

Status PromotionsProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                                  std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kPromotionAggregate) return {};
  Promotion promotion;
  auto stored = view.Get(kPromotionsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = PromotionFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    promotion = std::move(*decoded);
  }
  if (auto st = ApplyPromotionEvent(promotion, event); !st) return st;
  writes.push_back({kPromotionsTable, event.aggregate_id, PromotionToJson(promotion)});
  return {};
}

Result<std::optional<Promotion>> QueryPromotion(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kPromotionsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Promotion>();
  auto promotion = PromotionFromJson(**stored);
  if (!promotion) return Fail(promotion.error());
  return std::optional<Promotion>(std::move(*promotion));
}

Result<PromotionPage> QueryPromotions(ReadStore& store, const PromotionListQuery& q) {
  PromotionPage page;
  const std::string needle = FoldAsciiCase(q.search);
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  Status bad;
  auto st = store.ScanReverse(kPromotionsTable, "", "", [&](std::string_view, std::string_view v) {
    auto p = PromotionFromJson(v);
    if (!p) {
      bad = Fail(p.error());
      return false;
    }
    if (q.is_active && p->is_active() != *q.is_active) return true;
    if (!needle.empty() && FoldAsciiCase(p->definition.title).find(needle) == std::string::npos) {
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

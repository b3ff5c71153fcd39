// The promotions read model: each promotion as served (domain/promotion.h PromotionToJson),
// folded from the promotions stream. A list reads every promotion, newest first (ids are
// time-ordered), and filters by isActive and a search of the title; promotions are a short list
// an admin keeps, so a scan of them is what a list costs. The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/promotion.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// promotion id → PromotionToJson.
inline constexpr std::string_view kPromotionsTable = "promotions";

class PromotionsProjector final : public Projector {
 public:
  std::string_view name() const override { return "promotions"; }
  std::vector<std::string_view> topics() const override { return {kPromotionsTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kPromotionsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One promotion; nullopt for an unknown id. Thread-safe as the store is.
Result<std::optional<Promotion>> QueryPromotion(ReadStore& store, std::string_view id);

struct PromotionListQuery {
  int page = 1;
  int limit = 20;
  std::optional<bool> is_active;
  // Promotions whose title contains it, ignoring ASCII case; empty: every promotion.
  std::string search;
};

struct PromotionPage {
  std::vector<Promotion> items;  // newest first
  int64_t total = 0;             // every match
};

Result<PromotionPage> QueryPromotions(ReadStore& store, const PromotionListQuery& query);

}  // namespace keel

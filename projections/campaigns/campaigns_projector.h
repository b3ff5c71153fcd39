// The campaigns read model: each campaign as its events leave it (domain/campaign.h), folded
// from the campaigns stream, newest first in lists (ids are time-ordered). Its audience, once
// frozen, is in the record; the messages are the campaign_audience read model's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/campaign.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// campaign id → its record (EncodeCampaignRecord).
inline constexpr std::string_view kCampaignsTable = "campaigns";

std::string EncodeCampaignRecord(const Campaign& campaign);
Result<Campaign> DecodeCampaignRecord(std::string_view record);  // kDataLoss if bad

class CampaignsProjector final : public Projector {
 public:
  std::string_view name() const override { return "campaigns"; }
  std::vector<std::string_view> topics() const override { return {kCampaignsTopic}; }
  std::vector<std::string> tables() const override { return {std::string(kCampaignsTable)}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One campaign; nullopt for an unknown id.
Result<std::optional<Campaign>> QueryCampaign(ReadStore& store, std::string_view id);
// A page of campaigns, newest first, in `state` if given; `total` gets how many match.
Result<std::vector<Campaign>> QueryCampaigns(ReadStore& store, std::optional<CampaignState> state,
                                             size_t skip, size_t limit, int64_t& total);

}  // namespace keel

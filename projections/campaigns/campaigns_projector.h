// The campaigns read model: each campaign as its events leave it (domain/campaign.h), folded
// from the campaigns stream, newest first in lists (ids are time-ordered). Its audience, once
// frozen, is in the record; the messages are the campaign_audience read model's.
#pragma once

#include <cstdint>
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
// campaign/customer → the terminal status of that recipient's message (EncodeMessageStatus):
// rejected by the vendor, or its first delivery receipt. A message without one is SENT when its
// customer id is at most the campaign's dispatch cursor, PENDING otherwise.
inline constexpr std::string_view kCampaignMessageStatusTable = "campaign_message_status";

enum class MessageStatus : uint8_t { kPending, kSent, kDelivered, kFailed, kRejected };
std::string_view MessageStatusName(MessageStatus status);  // "PENDING", "SENT", …
std::optional<MessageStatus> ParseMessageStatus(std::string_view name);

struct TerminalStatus {
  MessageStatus status = MessageStatus::kDelivered;
  std::string reason;  // why it failed or was rejected
  bool operator==(const TerminalStatus&) const = default;
};
std::string EncodeMessageStatus(const TerminalStatus& status);
Result<TerminalStatus> DecodeMessageStatus(std::string_view record);  // kDataLoss if bad

std::string EncodeCampaignRecord(const Campaign& campaign);
Result<Campaign> DecodeCampaignRecord(std::string_view record);  // kDataLoss if bad

class CampaignsProjector final : public Projector {
 public:
  std::string_view name() const override { return "campaigns"; }
  std::vector<std::string_view> topics() const override { return {kCampaignsTopic}; }
  std::vector<std::string> tables() const override {
    return {std::string(kCampaignsTable), std::string(kCampaignMessageStatusTable)};
  }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One campaign; nullopt for an unknown id.
Result<std::optional<Campaign>> QueryCampaign(ReadStore& store, std::string_view id);
// A page of campaigns, newest first, in `state` if given; `total` gets how many match.
Result<std::vector<Campaign>> QueryCampaigns(ReadStore& store, std::optional<CampaignState> state,
                                             size_t skip, size_t limit, int64_t& total);

// A recipient's message status, from its terminal status or the campaign's cursor.
Result<TerminalStatus> QueryMessageStatus(ReadStore& store, const Campaign& campaign,
                                          std::string_view customer_id);
// Customer ids of the campaign's messages with terminal status `status` (kDelivered, kFailed or
// kRejected), in customer id order after `after`, at most `limit`.
Result<std::vector<std::string>> QueryCustomersWithStatus(ReadStore& store,
                                                          std::string_view campaign_id,
                                                          MessageStatus status,
                                                          std::string_view after, size_t limit);

}  // namespace keel

#include "projections/campaigns/campaigns_projector.h"

#include "projections/binary.h"

namespace keel {
namespace {

constexpr uint8_t kRecordFormat = 1;

void PutOptional(std::string& out, const std::optional<Millis>& t) {
  out += static_cast<char>(t ? 1 : 0);
  PutI64(out, t.value_or(0));
}

std::optional<Millis> ReadOptional(BinaryReader& in) {
  const bool present = in.Byte() != 0;
  const int64_t v = in.I64();
  return present ? std::optional<Millis>(v) : std::nullopt;
}

}  // namespace

std::string EncodeCampaignRecord(const Campaign& c) {
  std::string out;
  out.reserve(256 + c.message.size());
  out += static_cast<char>(kRecordFormat);
  PutText(out, c.id);
  PutText(out, c.name);
  PutText(out, c.segment_id);
  PutText(out, c.message);
  PutText(out, c.channel);
  out += static_cast<char>(c.state);
  PutOptional(out, c.scheduled_at);
  PutOptional(out, c.launched_at);
  PutText(out, c.launch_trigger);
  out += static_cast<char>(c.audience ? 1 : 0);
  if (c.audience) {
    PutI64(out, c.audience->size);
    PutI64(out, c.audience->queued);
    for (int64_t n : c.audience->excluded) PutI64(out, n);
    PutU32(out, static_cast<uint32_t>(c.audience->positions.size()));
    for (int64_t p : c.audience->positions) PutI64(out, p);
  }
  PutOptional(out, c.finished_at);
  PutText(out, c.reason);
  PutText(out, c.created_by);
  PutI64(out, c.created_at);
  PutI64(out, c.updated_at);
  PutI64(out, c.version);
  return out;
}

Result<Campaign> DecodeCampaignRecord(std::string_view record) {
  BinaryReader in(record);
  Campaign c;
  const uint8_t format = in.Byte();
  c.id = in.Text();
  c.name = in.Text();
  c.segment_id = in.Text();
  c.message = in.Text();
  c.channel = in.Text();
  const uint8_t state = in.Byte();
  c.scheduled_at = ReadOptional(in);
  c.launched_at = ReadOptional(in);
  c.launch_trigger = in.Text();
  if (in.Byte() != 0) {
    CampaignAudience a;
    a.size = in.I64();
    a.queued = in.I64();
    for (int64_t& n : a.excluded) n = in.I64();
    const uint32_t n = in.U32();
    for (uint32_t i = 0; i < n && !in.bad() && i < 65536; ++i) a.positions.push_back(in.I64());
    c.audience = std::move(a);
  }
  c.finished_at = ReadOptional(in);
  c.reason = in.Text();
  c.created_by = in.Text();
  c.created_at = in.I64();
  c.updated_at = in.I64();
  c.version = in.I64();
  if (format != kRecordFormat || in.bad() || !in.done() ||
      state > static_cast<uint8_t>(CampaignState::kCancelled)) {
    return Fail(Error::DataLoss("Campaign record unreadable"));
  }
  c.state = static_cast<CampaignState>(state);
  return c;
}

Status CampaignsProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                                 std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kCampaignAggregate) return {};
  Campaign campaign;
  auto stored = view.Get(kCampaignsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = DecodeCampaignRecord(**stored);
    if (!decoded) return Fail(decoded.error());
    campaign = std::move(*decoded);
  }
  if (auto st = ApplyCampaignEvent(campaign, event); !st) return st;
  writes.push_back({kCampaignsTable, event.aggregate_id, EncodeCampaignRecord(campaign)});
  return {};
}

Result<std::optional<Campaign>> QueryCampaign(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kCampaignsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Campaign>();
  auto campaign = DecodeCampaignRecord(**stored);
  if (!campaign) return Fail(campaign.error());
  return std::optional<Campaign>(std::move(*campaign));
}

Result<std::vector<Campaign>> QueryCampaigns(ReadStore& store, std::optional<CampaignState> state,
                                             size_t skip, size_t limit, int64_t& total) {
  std::vector<Campaign> out;
  total = 0;
  Status bad;
  auto st = store.ScanReverse(kCampaignsTable, "", "", [&](std::string_view, std::string_view v) {
    auto campaign = DecodeCampaignRecord(v);
    if (!campaign) {
      bad = Fail(campaign.error());
      return false;
    }
    if (state && campaign->state != *state) return true;
    if (total >= static_cast<int64_t>(skip) && out.size() < limit) {
      out.push_back(std::move(*campaign));
    }
    ++total;
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return out;
}

}  // namespace keel

#include "projections/campaigns/campaigns_projector.h"

#include <unordered_map>

#include "projections/binary.h"

namespace keel {
namespace {

// 1: without the dispatch and receipt counts (read as zero); 2: with them.
constexpr uint8_t kRecordFormatV1 = 1;
constexpr uint8_t kRecordFormat = 2;
constexpr uint8_t kRecordFormatV3 = 3;  // 2 with the occasion, for an automated message's campaign
constexpr uint8_t kStatusFormat = 1;
constexpr std::string_view kStatusNames[] = {"PENDING", "SENT", "DELIVERED", "FAILED", "REJECTED"};

std::string StatusKey(std::string_view campaign, std::string_view customer) {
  std::string key(campaign);
  key += '/';
  key += customer;
  return key;
}

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
  // An automated message's campaign in format 3; the others in 2, which builds before read.
  const bool automated = c.occasion != Occasion::kNone;
  out += static_cast<char>(automated ? kRecordFormatV3 : kRecordFormat);
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
  PutText(out, c.dispatch_cursor);
  PutI64(out, c.sent);
  PutI64(out, c.rejected);
  PutI64(out, c.delivered);
  PutI64(out, c.failed);
  PutU32(out, static_cast<uint32_t>(c.failed_by_reason.size()));
  for (const auto& [reason, n] : c.failed_by_reason) {
    PutText(out, reason);
    PutI64(out, n);
  }
  if (automated) {
    out += static_cast<char>(c.occasion);
    PutI64(out, c.occasion_days);
  }
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
  if (format == kRecordFormat || format == kRecordFormatV3) {
    c.dispatch_cursor = in.Text();
    c.sent = in.I64();
    c.rejected = in.I64();
    c.delivered = in.I64();
    c.failed = in.I64();
    const uint32_t reasons = in.U32();
    for (uint32_t i = 0; i < reasons && !in.bad() && i < 65536; ++i) {
      std::string reason = in.Text();
      c.failed_by_reason[std::move(reason)] = in.I64();
    }
  }
  if (format == kRecordFormatV3) {
    const uint8_t occasion = in.Byte();
    c.occasion = static_cast<Occasion>(occasion);
    c.occasion_days = in.I64();
    if (occasion == 0 || occasion > static_cast<uint8_t>(Occasion::kInactivity)) {
      return Fail(Error::DataLoss("Campaign record unreadable"));
    }
  }
  if ((format != kRecordFormat && format != kRecordFormatV1 && format != kRecordFormatV3) ||
      in.bad() || !in.done() || state > static_cast<uint8_t>(CampaignState::kCancelled)) {
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
  // Terminal statuses: the first one of a message wins; a repeated receipt changes nothing.
  std::unordered_map<std::string, bool> terminal;  // this event's, by key
  auto is_terminal = [&](const std::string& key) -> Result<bool> {
    if (terminal.contains(key)) return true;
    auto stored = view.Get(kCampaignMessageStatusTable, key);
    if (!stored) return Fail(stored.error());
    return stored->has_value();
  };
  auto set = [&](const std::string& key, const TerminalStatus& status) {
    terminal[key] = true;
    writes.push_back({kCampaignMessageStatusTable, key, EncodeMessageStatus(status)});
  };
  if (event.type == kCampaignMessagesSent) {
    auto sent = DecodeMessagesSent(event);
    if (!sent) return Fail(sent.error());
    for (const auto& r : sent->rejected) {
      const std::string key = StatusKey(campaign.id, r.customer_id);
      auto done = is_terminal(key);
      if (!done) return Fail(done.error());
      if (!*done) set(key, {MessageStatus::kRejected, r.reason});
    }
    for (const auto& r : sent->gave_up) {
      const std::string key = StatusKey(campaign.id, r.customer_id);
      auto done = is_terminal(key);
      if (!done) return Fail(done.error());
      if (*done) continue;
      set(key, {MessageStatus::kFailed, r.reason});
      ++campaign.failed;
      ++campaign.failed_by_reason[r.reason];
    }
  } else if (event.type == kDeliveryReceiptsRecorded) {
    auto receipts = DecodeDeliveryReceipts(event);
    if (!receipts) return Fail(receipts.error());
    for (const auto& r : *receipts) {
      const std::string key = StatusKey(campaign.id, r.customer_id);
      auto done = is_terminal(key);
      if (!done) return Fail(done.error());
      if (*done) continue;
      if (r.delivered) {
        set(key, {MessageStatus::kDelivered, ""});
        ++campaign.delivered;
      } else {
        set(key, {MessageStatus::kFailed, r.reason});
        ++campaign.failed;
        ++campaign.failed_by_reason[r.reason];
      }
    }
  }
  writes.push_back({kCampaignsTable, event.aggregate_id, EncodeCampaignRecord(campaign)});
  return {};
}

std::string_view MessageStatusName(MessageStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}

std::optional<MessageStatus> ParseMessageStatus(std::string_view name) {
  for (size_t i = 0; i < std::size(kStatusNames); ++i) {
    if (name == kStatusNames[i]) return static_cast<MessageStatus>(i);
  }
  return std::nullopt;
}

std::string EncodeMessageStatus(const TerminalStatus& status) {
  std::string out;
  out += static_cast<char>(kStatusFormat);
  out += static_cast<char>(status.status);
  PutText(out, status.reason);
  return out;
}

Result<TerminalStatus> DecodeMessageStatus(std::string_view record) {
  BinaryReader in(record);
  TerminalStatus t;
  const uint8_t format = in.Byte();
  const uint8_t status = in.Byte();
  t.reason = in.Text();
  if (format != kStatusFormat || in.bad() || !in.done() ||
      status < static_cast<uint8_t>(MessageStatus::kDelivered) ||
      status > static_cast<uint8_t>(MessageStatus::kRejected)) {
    return Fail(Error::DataLoss("Campaign message status unreadable"));
  }
  t.status = static_cast<MessageStatus>(status);
  return t;
}

Result<TerminalStatus> QueryMessageStatus(ReadStore& store, const Campaign& campaign,
                                          std::string_view customer_id) {
  auto stored = store.Get(kCampaignMessageStatusTable, StatusKey(campaign.id, customer_id));
  if (!stored) return Fail(stored.error());
  if (*stored) return DecodeMessageStatus(**stored);
  const bool sent = !campaign.dispatch_cursor.empty() && customer_id <= campaign.dispatch_cursor;
  return TerminalStatus{sent ? MessageStatus::kSent : MessageStatus::kPending, ""};
}

Result<std::vector<std::string>> QueryCustomersWithStatus(ReadStore& store,
                                                          std::string_view campaign_id,
                                                          MessageStatus status,
                                                          std::string_view after, size_t limit) {
  std::vector<std::string> out;
  Status bad;
  const std::string prefix = StatusKey(campaign_id, "");
  std::string start = prefix;
  if (!after.empty()) {
    start += after;
    start += '\0';  // just past `after`
  }
  auto st = store.Scan(kCampaignMessageStatusTable, prefix, start,
                       [&](std::string_view key, std::string_view value) {
                         if (out.size() >= limit) return false;
                         auto t = DecodeMessageStatus(value);
                         if (!t) {
                           bad = Fail(t.error());
                           return false;
                         }
                         if (t->status == status) out.emplace_back(key.substr(prefix.size()));
                         return true;
                       });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return out;
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

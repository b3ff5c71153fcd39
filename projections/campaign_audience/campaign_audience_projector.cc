#include "projections/campaign_audience/campaign_audience_projector.h"

#include <algorithm>

#include "domain/automation.h"
#include "domain/customer.h"
#include "domain/message_template.h"
#include "domain/numbers.h"
#include "domain/partition_markers.h"
#include "infra/log.h"
#include "projections/binary.h"
#include "projections/counters.h"
#include "projections/membership/membership_projector.h"

namespace keel {
namespace {

constexpr uint8_t kMessageFormat = 1;  // with the owner
constexpr uint8_t kPartFormat = 2;     // 2: with the failure (1: without, still read)

std::string PartKey(std::string_view campaign, int32_t partition) {
  std::string key(campaign);
  key += '/';
  key += PartitionPart(partition);
  return key;
}

std::string PairKey(std::string_view a, std::string_view b) {
  std::string key(a);
  key += '/';
  key += b;
  return key;
}

}  // namespace

std::string CampaignMessageId(std::string_view campaign_id, std::string_view customer_id) {
  std::string id(campaign_id);
  id += ':';
  id += customer_id;
  return id;
}

std::string EncodeCampaignMessage(const CampaignMessage& m) {
  std::string out;
  out.reserve(64 + m.text.size() + m.to.size());
  out += static_cast<char>(kMessageFormat);
  PutText(out, m.campaign_id);
  PutText(out, m.customer_id);
  PutText(out, m.channel);
  PutText(out, m.to);
  PutText(out, m.text);
  PutText(out, m.owner_id);
  PutU32(out, static_cast<uint32_t>(m.partition));
  PutI64(out, m.offset);
  PutI64(out, m.queued_at);
  return out;
}

Result<CampaignMessage> DecodeCampaignMessage(std::string_view record) {
  BinaryReader in(record);
  CampaignMessage m;
  const uint8_t format = in.Byte();
  m.campaign_id = in.Text();
  m.customer_id = in.Text();
  m.channel = in.Text();
  m.to = in.Text();
  m.text = in.Text();
  m.owner_id = in.Text();
  m.partition = static_cast<int32_t>(in.U32());
  m.offset = in.I64();
  m.queued_at = in.I64();
  if (format != kMessageFormat || in.bad() || !in.done()) {
    return Fail(Error::DataLoss("Campaign message record unreadable"));
  }
  m.id = CampaignMessageId(m.campaign_id, m.customer_id);
  return m;
}

std::string EncodeAudiencePart(const AudiencePart& p) {
  std::string out;
  // A resolved part keeps the first format, which every build reads.
  out += static_cast<char>(p.failure.empty() ? 1 : kPartFormat);
  PutI64(out, p.offset);
  PutI64(out, p.members);
  PutI64(out, p.queued);
  for (int64_t n : p.excluded) PutI64(out, n);
  if (!p.failure.empty()) PutText(out, p.failure);
  return out;
}

Result<AudiencePart> DecodeAudiencePart(std::string_view record) {
  BinaryReader in(record);
  AudiencePart p;
  const uint8_t format = in.Byte();
  p.offset = in.I64();
  p.members = in.I64();
  p.queued = in.I64();
  for (int64_t& n : p.excluded) n = in.I64();
  if (format == kPartFormat) p.failure = in.Text();
  if ((format != 1 && format != kPartFormat) || (format == kPartFormat && p.failure.empty()) ||
      in.bad() || !in.done()) {
    return Fail(Error::DataLoss("Campaign audience record unreadable"));
  }
  return p;
}

namespace {

constexpr Millis kFrequencyWindowMs = 24 * 60 * 60 * 1000;

// A customer's record of recent messages: when each was queued, ascending (PutI64 each). Only
// those inside the window of the latest request are kept.
Result<std::vector<Millis>> DecodeQueuedTimes(std::string_view record) {
  std::vector<Millis> times;
  BinaryReader in(record);
  while (!in.bad() && !in.done()) {
    const Millis t = in.I64();
    if (!times.empty() && t < times.back()) break;
    times.push_back(t);
  }
  if (in.bad() || !in.done()) {
    return Fail(Error::DataLoss("Customer message times record unreadable"));
  }
  return times;
}

std::string EncodeQueuedTimes(const std::vector<Millis>& times) {
  std::string out;
  for (Millis t : times) PutI64(out, t);
  return out;
}

}  // namespace

std::vector<std::string> CampaignAudienceProjector::tables() const {
  return {std::string(kCampaignMessagesTable),
          std::string(kCustomerMessagesTable),
          std::string(kCampaignAudiencePartsTable),
          std::string(kCustomerMessageTimesTable),
          std::string(kCustomerOccasionsTable),
          std::string(kWelcomePendingTable),
          std::string(kBirthdaysTable),
          std::string(kBirthdayOfTable)};
}

Status CampaignAudienceProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                        StateView& view, std::vector<StoreWrite>& writes) {
  if (event.type == kCustomerRegistered || event.type == kCustomerUpdated) {
    if (auto st = IndexBirthday(event, position, view, writes); !st) return st;
  }
  if (event.type == kCustomerRegistered || event.type == kCustomerStatusChanged) {
    return NoteWelcome(event, position, view, writes);
  }
  if (event.type != kCampaignAudienceRequested) return {};
  auto request = DecodeAudienceRequest(event);
  if (!request) return Fail(request.error());
  const std::string part_key = PartKey(request->campaign_id, position.partition);
  auto resolved = view.Get(kCampaignAudiencePartsTable, part_key);
  if (!resolved) return Fail(resolved.error());
  if (*resolved) return {};  // resolved here already
  AudiencePart part;
  part.offset = position.offset;
  auto tmpl = MessageTemplate::Parse(request->message, "message", kMaxCampaignMessageLength);
  if (!tmpl) {
    // The message is the log's, so this build refuses it at every replay: the partition answers
    // the request with the reason, queuing nothing, and the launcher fails the campaign with it,
    // rather than the request being dead-lettered and the campaign left waiting. (Damage to a
    // read-model record is not the log's: it dead-letters the request, the campaign waits, and
    // a rebuild resolves it.)
    part.failure = "Its message is one this build refuses: " + tmpl.error().message;
    for (const FieldError& f : tmpl.error().field_errors) {
      part.failure += "; " + f.field + ": " + f.message;
    }
    Log(LogLevel::kError, "campaign audience not resolved in this partition",
        {{"campaign", request->campaign_id},
         {"partition", std::to_string(position.partition)},
         {"error", part.failure}});
  } else if (auto st = Resolve(event, position, *request, *tmpl, view, part, writes); !st) {
    return st;
  }
  writes.push_back({kCampaignAudiencePartsTable, part_key, EncodeAudiencePart(part)});
  return {};
}

Status CampaignAudienceProjector::Resolve(const EventEnvelope& event, const EventPosition& position,
                                          const AudienceRequest& request,
                                          const MessageTemplate& tmpl, StateView& view,
                                          AudiencePart& part, std::vector<StoreWrite>& writes) {
  std::vector<std::string> members;
  std::vector<Millis> became;  // a welcome's: when each member became CUSTOMER
  if (auto st = Candidates(event, position, request, view, members, became, writes); !st) {
    return st;
  }
  for (size_t i = 0; i < members.size(); ++i) {
    const std::string& id = members[i];
    auto customer = customers_.Load(view, position.partition, id);
    if (!customer) return Fail(customer.error());
    if (!*customer) continue;  // a member the customers read model lacks: not possible
    const Customer& c = **customer;
    // An occasion's: only those due on it and not yet sent it count.
    std::optional<std::string> occasion_key;
    if (request.occasion != Occasion::kNone) {
      occasion_key =
          OccasionKeyFor(request.occasion, request.occasion_days, c, request.occasion_at);
      if (!occasion_key) continue;
      auto sent = view.Get(kCustomerOccasionsTable, PairKey(id, *occasion_key));
      if (!sent) return Fail(sent.error());
      if (*sent) {
        BinaryReader in(**sent);
        const Millis sent_at = in.I64();
        if (in.bad()) return Fail(Error::DataLoss("Customer occasion record unreadable"));
        if (!SentAgain(request.occasion, c, sent_at)) continue;
      }
    }
    ++part.members;
    if (!c.is_active) {
      ++part.excluded[static_cast<size_t>(Exclusion::kInactive)];
      continue;
    }
    if (c.unsubscribed) {
      ++part.excluded[static_cast<size_t>(Exclusion::kUnsubscribed)];
      continue;
    }
    // The customer's messages queued in the 24 hours before this request (kept whether or not
    // a cap is asked for, so that one asked for later counts them).
    auto times_record = view.Get(kCustomerMessageTimesTable, id);
    if (!times_record) return Fail(times_record.error());
    std::vector<Millis> times;
    if (*times_record) {
      auto decoded = DecodeQueuedTimes(**times_record);
      if (!decoded) return Fail(decoded.error());
      times = std::move(*decoded);
    }
    const Millis window_start = event.recorded_at - kFrequencyWindowMs;
    times.erase(times.begin(), std::upper_bound(times.begin(), times.end(), window_start));
    if (request.frequency_cap > 0 && static_cast<int64_t>(times.size()) >= request.frequency_cap) {
      ++part.excluded[static_cast<size_t>(Exclusion::kFrequencyCap)];
      if (request.occasion == Occasion::kWelcome) {
        // Not let go: put back (after its deletion), for a later run within its age.
        std::string since;
        PutI64(since, became[i]);
        writes.push_back(
            {kWelcomePendingTable, PartitionPart(position.partition) + "/" + id, std::move(since)});
      }
      continue;
    }
    if (c.email.empty()) {
      ++part.excluded[static_cast<size_t>(Exclusion::kNoAddress)];
      continue;
    }
    CampaignMessage m;
    m.campaign_id = request.campaign_id;
    m.customer_id = id;
    m.channel = request.channel;
    m.to = c.email;
    m.text = tmpl.Render(c);
    m.owner_id = c.owner_id.value_or("");
    m.partition = position.partition;
    m.offset = position.offset;
    m.queued_at = event.recorded_at;
    writes.push_back(
        {kCampaignMessagesTable, PairKey(m.campaign_id, id), EncodeCampaignMessage(m)});
    writes.push_back({kCustomerMessagesTable, PairKey(id, m.campaign_id), ""});
    // Requests of one partition come in log order, so times mostly grow; one recorded earlier
    // than the last (two publishers' clocks) is kept in order all the same.
    times.insert(std::upper_bound(times.begin(), times.end(), m.queued_at), m.queued_at);
    writes.push_back({kCustomerMessageTimesTable, id, EncodeQueuedTimes(times)});
    if (occasion_key) {
      std::string sent;
      PutI64(sent, request.occasion_at);
      sent += m.campaign_id;
      writes.push_back({kCustomerOccasionsTable, PairKey(id, *occasion_key), std::move(sent)});
    }
    ++part.queued;
  }
  return {};
}

Status CampaignAudienceProjector::Candidates(const EventEnvelope& event,
                                             const EventPosition& position,
                                             const AudienceRequest& request, StateView& view,
                                             std::vector<std::string>& ids,
                                             std::vector<Millis>& became,
                                             std::vector<StoreWrite>& writes) {
  const std::string pp = PartitionPart(position.partition);
  if (request.occasion == Occasion::kWelcome) {
    // The partition sends welcomes from its first welcome request on; those who became CUSTOMER
    // since the last one are taken, and those who did so more than occasion_days ago let go.
    auto armed = view.Get(kWelcomePendingTable, pp);
    if (!armed) return Fail(armed.error());
    if (!*armed) {
      std::string since;
      PutI64(since, event.recorded_at);
      writes.push_back({kWelcomePendingTable, pp, std::move(since)});
      return {};
    }
    int64_t span = 0;
    Millis oldest = INT64_MIN;
    if (!__builtin_mul_overflow(request.occasion_days, int64_t{86'400'000}, &span)) {
      oldest = CheckedSub(request.occasion_at, span).value_or(INT64_MIN);
    }
    const std::string prefix = pp + "/";
    Status bad;
    auto st = view.Scan(kWelcomePendingTable, prefix, prefix,
                        [&](std::string_view key, std::string_view value) {
                          BinaryReader in(value);
                          const Millis at = in.I64();
                          if (in.bad() || !in.done()) {
                            bad = Fail(Error::DataLoss("Pending welcome record unreadable"));
                            return false;
                          }
                          writes.push_back({kWelcomePendingTable, std::string(key), std::nullopt});
                          if (at >= oldest) {
                            ids.emplace_back(key.substr(prefix.size()));
                            became.push_back(at);
                          }
                          return true;
                        });
    if (!st) return st;
    return bad;
  }
  bool indexed = false;  // whether the store has the birthday index (format 3 on)
  if (request.occasion == Occasion::kBirthday) {
    auto mark = view.Get(kProjectionMetaTable, ReadModelPresenceKey(name()));
    if (!mark) return Fail(mark.error());
    indexed = *mark && **mark == std::to_string(format());
  }
  if (indexed) {
    // Those whose birthDate has the run's month and day, by the index.
    for (const std::string& day : BirthdaysOn(request.occasion_at)) {
      const std::string prefix = pp + "/" + day + "/";
      auto st =
          view.Scan(kBirthdaysTable, prefix, prefix, [&](std::string_view key, std::string_view) {
            ids.emplace_back(key.substr(prefix.size()));
            return true;
          });
      if (!st) return st;
    }
    return {};
  }
  if (request.occasion != Occasion::kNone) {
    // Inactivity, and birthdays in a store folded before the index (the live one while the
    // rebuild that fills it runs): every customer of the partition is looked at.
    const std::string prefix = pp + "/";
    return view.Scan(kMembershipCustomersTable, prefix, prefix,
                     [&](std::string_view key, std::string_view) {
                       ids.emplace_back(key.substr(prefix.size()));
                       return true;
                     });
  }
  // The partition's members of the segment, as the membership read model holds them here.
  const std::string prefix = request.segment_id + "/";
  Status decode_failed;
  auto st = view.Scan(kSegmentMembersTable, prefix, prefix,
                      [&](std::string_view key, std::string_view value) {
                        auto joined = DecodeJoin(value);
                        if (!joined) {
                          decode_failed = Fail(joined.error());
                          return false;
                        }
                        if (joined->partition == position.partition) {
                          ids.emplace_back(key.substr(prefix.size()));
                        }
                        return true;
                      });
  if (!st) return st;
  return decode_failed;
}

Status CampaignAudienceProjector::IndexBirthday(const EventEnvelope& event,
                                                const EventPosition& position, StateView& view,
                                                std::vector<StoreWrite>& writes) {
  // An update carries the fields it changes: one without a birthDate moves no one (a string
  // value that contains the name only costs the read below).
  if (event.type == kCustomerUpdated && event.payload.find("\"birthDate\"") == std::string::npos) {
    return {};
  }
  const Customer* customer = customers_.Folded(position.partition, position.offset);
  if (!customer) return {};
  const std::optional<std::string> day = BirthdayOf(*customer);
  std::optional<std::string> before;
  if (event.type != kCustomerRegistered) {  // a new customer is in no day yet
    auto was = view.Get(kBirthdayOfTable, customer->id);
    if (!was) return Fail(was.error());
    before = std::move(*was);
  }
  if (before == day) return {};
  const std::string pp = PartitionPart(position.partition);
  if (before) {
    writes.push_back({kBirthdaysTable, pp + "/" + *before + "/" + customer->id, std::nullopt});
  }
  if (day) writes.push_back({kBirthdaysTable, pp + "/" + *day + "/" + customer->id, ""});
  writes.push_back({kBirthdayOfTable, customer->id, day});
  return {};
}

Status CampaignAudienceProjector::NoteWelcome(const EventEnvelope& event,
                                              const EventPosition& position, StateView& view,
                                              std::vector<StoreWrite>& writes) {
  // An imported customer (registered or made CUSTOMER by a bulk ingestion job) is not a new one.
  if (event.causation_id.starts_with(kIngestCausationPrefix)) return {};
  const Customer* customer = customers_.Folded(position.partition, position.offset);
  if (!customer || customer->status != CustomerStatus::kCustomer) return {};
  const std::string pp = PartitionPart(position.partition);
  auto armed = view.Get(kWelcomePendingTable, pp);
  if (!armed) return Fail(armed.error());
  if (!*armed) return {};  // no welcome asked for here yet
  std::string became;
  PutI64(became, event.recorded_at);
  writes.push_back({kWelcomePendingTable, pp + "/" + customer->id, std::move(became)});
  return {};
}

Result<std::optional<CampaignAudience>> QueryCampaignAudience(ReadStore& store,
                                                              std::string_view campaign_id,
                                                              int32_t partitions) {
  CampaignAudience audience;
  audience.positions.assign(static_cast<size_t>(partitions), -1);
  int32_t seen = 0;
  Status bad;
  const std::string prefix = std::string(campaign_id) + "/";
  auto st = store.Scan(kCampaignAudiencePartsTable, prefix, prefix,
                       [&](std::string_view key, std::string_view value) {
                         auto part = DecodeAudiencePart(value);
                         int32_t p = -1;
                         const std::string_view digits = key.substr(prefix.size());
                         const auto parsed = digits.size() == 5 ? ParseInt64(digits) : std::nullopt;
                         if (parsed) p = static_cast<int32_t>(*parsed);
                         if (!part || p < 0 || p >= partitions) {
                           bad = Fail(Error::DataLoss("Campaign audience record unreadable"));
                           return false;
                         }
                         if (!part->failure.empty()) {
                           bad = Fail(Error::FailedPrecondition(
                               "Its audience could not be resolved in partition " +
                               std::to_string(p) + ": " + part->failure));
                           return false;
                         }
                         ++seen;
                         audience.size += part->members;
                         audience.queued += part->queued;
                         for (size_t i = 0; i < kExclusionCount; ++i) {
                           audience.excluded[i] += part->excluded[i];
                         }
                         audience.positions[static_cast<size_t>(p)] = part->offset;
                         return true;
                       });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  if (seen < partitions) return std::optional<CampaignAudience>();
  return std::optional<CampaignAudience>(std::move(audience));
}

Result<CampaignMessagePage> QueryCampaignMessages(ReadStore& store, std::string_view campaign_id,
                                                  std::string_view after, size_t limit,
                                                  const std::string* owner, size_t max_read) {
  CampaignMessagePage page;
  Status bad;
  const std::string prefix = std::string(campaign_id) + "/";
  std::string start = prefix;
  if (!after.empty()) {
    start += after;
    start += '\0';  // just past `after`
  }
  size_t read = 0;
  std::string last;
  bool more = false;
  auto st = store.Scan(kCampaignMessagesTable, prefix, start,
                       [&](std::string_view key, std::string_view value) {
                         if (page.messages.size() >= limit || read >= max_read) {
                           more = true;
                           return false;
                         }
                         ++read;
                         last = std::string(key.substr(prefix.size()));
                         auto m = DecodeCampaignMessage(value);
                         if (!m) {
                           bad = Fail(m.error());
                           return false;
                         }
                         if (!owner || m->owner_id == *owner)
                           page.messages.push_back(std::move(*m));
                         return true;
                       });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  if (more) page.next = std::move(last);
  page.read = read;
  return page;
}

Result<std::optional<CampaignMessage>> QueryCampaignMessage(ReadStore& store,
                                                            std::string_view campaign_id,
                                                            std::string_view customer_id) {
  auto record = store.Get(kCampaignMessagesTable, PairKey(campaign_id, customer_id));
  if (!record) return Fail(record.error());
  if (!*record) return std::optional<CampaignMessage>();
  auto m = DecodeCampaignMessage(**record);
  if (!m) return Fail(m.error());
  return std::optional<CampaignMessage>(std::move(*m));
}

Result<bool> QueryWelcomesPending(ReadStore& store, int32_t partitions) {
  for (int32_t p = 0; p < partitions; ++p) {
    const std::string pp = PartitionPart(p);
    auto armed = store.Get(kWelcomePendingTable, pp);
    if (!armed) return Fail(armed.error());
    if (!*armed) return true;
    bool any = false;
    const std::string prefix = pp + "/";
    auto st =
        store.Scan(kWelcomePendingTable, prefix, prefix, [&](std::string_view, std::string_view) {
          any = true;
          return false;
        });
    if (!st) return Fail(st.error());
    if (any) return true;
  }
  return false;
}

Result<std::vector<CampaignMessage>> QueryCustomerMessages(ReadStore& store,
                                                           std::string_view customer_id,
                                                           size_t limit) {
  std::vector<std::string> campaigns;
  const std::string prefix = std::string(customer_id) + "/";
  auto st = store.ScanReverse(kCustomerMessagesTable, prefix, "",
                              [&](std::string_view key, std::string_view) {
                                if (campaigns.size() >= limit) return false;
                                campaigns.emplace_back(key.substr(prefix.size()));
                                return true;
                              });
  if (!st) return Fail(st.error());
  std::vector<CampaignMessage> out;
  for (const auto& campaign : campaigns) {
    auto record = store.Get(kCampaignMessagesTable, PairKey(campaign, customer_id));
    if (!record) return Fail(record.error());
    if (!*record) continue;
    auto m = DecodeCampaignMessage(**record);
    if (!m) return Fail(m.error());
    out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace keel

// The audiences of launched campaigns (issue 18): who gets each campaign's message, and what it
// says. Folded in the customers group after the membership read model. A launched campaign's
// CampaignAudienceRequested marker (domain/partition_markers.h) reaches every partition; there
// the partition's members of the segment at that position are its audience, so the audience is
// the segment's membership at the launch positions, exactly, and a replay gives the same one.
// Each member gets a communication log entry (PENDING) with the message rendered for them, or
// is excluded and counted by reason (inactive; unsubscribed; over the request's frequency cap,
// counting the messages queued for them in the 24 hours before the request; no address for the
// channel). A partition resolves a campaign once: a repeated request changes nothing.
// An automated message's request (AudienceRequest::occasion) takes, instead of a segment's
// members, the customers of the partition due on its occasion (birthday: those the month-day
// index holds under the run's date; inactivity: all of them are looked at; welcome: those
// recorded as having become CUSTOMER since the partition's last welcome request) and not yet
// sent that occasion's message; each queued one is recorded as sent it.
//
// Thread-safety: as every projector (partitions folded concurrently, each by one thread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/campaign.h"
#include "domain/message_template.h"
#include "domain/partition_markers.h"
#include "domain/topics.h"
#include "projections/customers/customers_projector.h"
#include "projections/projector.h"

namespace keel {

// campaign/customer → the communication log entry (EncodeCampaignMessage).
inline constexpr std::string_view kCampaignMessagesTable = "campaign_messages";
// customer/campaign → "": a customer's communications.
inline constexpr std::string_view kCustomerMessagesTable = "customer_messages";
// customer → when their messages of the last 24 hours (as of their latest request) were queued:
// the frequency cap's window, read with one Get per member.
inline constexpr std::string_view kCustomerMessageTimesTable = "customer_message_times";
// campaign/partition (5 digits) → what the partition resolved (EncodeAudiencePart).
inline constexpr std::string_view kCampaignAudiencePartsTable = "campaign_audience_parts";
// customer/occasion key (domain/automation.h) → the instant of the run that queued it (PutI64)
// and that campaign's id: each customer is sent an automated message at most once per occasion
// (per inactivity spell: SentAgain).
inline constexpr std::string_view kCustomerOccasionsTable = "customer_occasions";
// partition (5 digits) → when the partition folded its first welcome request (PutI64); from then
// on, partition/customer → when the customer became CUSTOMER (PutI64): the welcomes to send.
inline constexpr std::string_view kWelcomePendingTable = "welcome_pending";
// partition/month-day (BirthdayOf, "12-04")/customer → "": whom a birthday run looks at; and
// customer → their month-day, to move them when their birthDate changes.
inline constexpr std::string_view kBirthdaysTable = "birthdays";
inline constexpr std::string_view kBirthdayOfTable = "birthday_of";

// One recipient's message, as resolved at launch.
struct CampaignMessage {
  std::string id;  // campaign id + ":" + customer id: the vendor's idempotency key
  std::string campaign_id;
  std::string customer_id;
  std::string channel;
  std::string to;
  std::string text;
  std::string owner_id;  // the customer's owner then (empty: none), for the reps' scope
  int32_t partition = 0;
  int64_t offset = 0;  // of the request it was resolved at
  Millis queued_at = 0;

  bool operator==(const CampaignMessage&) const = default;
};

// What one partition resolved for a campaign. A partition that cannot resolve it, whatever the
// read model holds (the message is one this build refuses), queues nothing and says why in
// `failure`, so the campaign fails with the reason instead of waiting for it forever.
struct AudiencePart {
  int64_t offset = 0;  // where the request sits in the partition
  int64_t members = 0;
  int64_t queued = 0;
  std::array<int64_t, kExclusionCount> excluded{};
  std::string failure;  // empty: resolved

  bool operator==(const AudiencePart&) const = default;
};

std::string CampaignMessageId(std::string_view campaign_id, std::string_view customer_id);
std::string EncodeCampaignMessage(const CampaignMessage& message);
Result<CampaignMessage> DecodeCampaignMessage(std::string_view record);  // kDataLoss if bad
std::string EncodeAudiencePart(const AudiencePart& part);
Result<AudiencePart> DecodeAudiencePart(std::string_view record);  // kDataLoss if bad

class CampaignAudienceProjector final : public Projector {
 public:
  explicit CampaignAudienceProjector(CustomersProjector& customers) : customers_(customers) {}

  std::string_view name() const override { return "campaign_audience"; }
  // 2: customer_message_times; 3: the birthday index (a store of before is rebuilt, so that
  // every customer is in it)
  int format() const override { return 3; }
  std::vector<std::string_view> topics() const override { return {kCustomersTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing

 private:
  // The partition's part of the campaign, its messages (and their queue times) added to `writes`.
  Status Resolve(const EventEnvelope& event, const EventPosition& position,
                 const AudienceRequest& request, const MessageTemplate& tmpl, StateView& view,
                 AudiencePart& part, std::vector<StoreWrite>& writes);
  // Who the request looks at in this partition: the segment's members, or an occasion's
  // candidates (the welcomes pending are taken: their records deleted; `became` gets the
  // instant each of `ids` became CUSTOMER, for the ones put back).
  Status Candidates(const EventEnvelope& event, const EventPosition& position,
                    const AudienceRequest& request, StateView& view, std::vector<std::string>& ids,
                    std::vector<Millis>& became, std::vector<StoreWrite>& writes);
  // Keeps the customer the event registered or updated under their birthday's month-day.
  Status IndexBirthday(const EventEnvelope& event, const EventPosition& position, StateView& view,
                       std::vector<StoreWrite>& writes);
  // Records a customer who just became CUSTOMER in a partition that sends welcomes.
  Status NoteWelcome(const EventEnvelope& event, const EventPosition& position, StateView& view,
                     std::vector<StoreWrite>& writes);

  CustomersProjector& customers_;
};

// The campaign's audience once all `partitions` have resolved it (the sum of their parts, the
// positions of its requests); nullopt until then; kFailedPrecondition naming the partition and
// the reason when one of them could not resolve it (AudiencePart::failure); kDataLoss when a part
// is unreadable.
Result<std::optional<CampaignAudience>> QueryCampaignAudience(ReadStore& store,
                                                              std::string_view campaign_id,
                                                              int32_t partitions);
// A page of a campaign's messages, in customer id order, after the customer `after` (empty:
// from the first); with `owner`, only those of that owner's customers, reading at most
// `max_read` messages. `next` is where the next page starts (empty: none is left).
struct CampaignMessagePage {
  std::vector<CampaignMessage> messages;
  std::string next;
  size_t read = 0;  // messages read to find them
};
Result<CampaignMessagePage> QueryCampaignMessages(ReadStore& store, std::string_view campaign_id,
                                                  std::string_view after, size_t limit,
                                                  const std::string* owner = nullptr,
                                                  size_t max_read = 100'000);
// One recipient's message; nullopt when the customer is not in the campaign's audience.
Result<std::optional<CampaignMessage>> QueryCampaignMessage(ReadStore& store,
                                                            std::string_view campaign_id,
                                                            std::string_view customer_id);
// Whether a welcome run has something to do: some partition has not folded a welcome request yet
// (the first arms it) or has customers recorded as having become CUSTOMER since its last one.
Result<bool> QueryWelcomesPending(ReadStore& store, int32_t partitions);
// A customer's messages, newest campaign first (campaign ids are time-ordered).
Result<std::vector<CampaignMessage>> QueryCustomerMessages(ReadStore& store,
                                                           std::string_view customer_id,
                                                           size_t limit);

}  // namespace keel

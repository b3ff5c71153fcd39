// CampaignAudienceProjector: a launched campaign's audience is the segment's members of each
// partition at the request's position, rendered, excluded by reason, and resolved once.
#include "projections/campaign_audience/campaign_audience_projector.h"

#include <gtest/gtest.h>

#include "domain/partition_markers.h"
#include "projections/binary.h"
#include "projections/membership/membership_projector.h"
#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapStateView;

constexpr Millis kAt = 1'780'000'000'000;
constexpr char kBig[] = R"({"field":"totalSpending","op":">","value":1000})";

// Two partitions folded by hand through customers, membership and audiences, as the group runs.
class Partitions {
 public:
  Partitions() : membership_(customers_), audience_(customers_) {}
  Status Apply(int32_t partition, const EventEnvelope& e) {
    std::vector<StoreWrite> writes;
    const EventPosition at{partition, offsets_[partition]++, ""};
    for (Projector* p : std::initializer_list<Projector*>{&customers_, &membership_, &audience_}) {
      if (auto st = p->Apply(e, at, view_, writes); !st) return st;
    }
    view_.Commit(writes);
    return {};
  }
  Status Everywhere(const EventEnvelope& e) {
    for (int32_t p = 0; p < 2; ++p) {
      if (auto st = Apply(p, e); !st) return st;
    }
    return {};
  }
  Status Register(int32_t partition, const std::string& id, const std::string& name, int64_t cents,
                  bool active = true) {
    CustomerFields f = WithDefaults({.name = name, .email = id + "@x.io"});
    f.total_spending_cents = cents;
    if (auto st = Apply(partition, MakeTestEvent(kCustomerRegistered, kCustomerAggregate, id, 1,
                                                 EncodeCustomerFields(f), kAt));
        !st) {
      return st;
    }
    if (active) return {};
    return Apply(partition,
                 MakeTestEvent(kCustomerDeactivated, kCustomerAggregate, id, 2, "{}", kAt));
  }
  Status Request(const std::string& campaign, const std::string& message, int64_t cap = 0,
                 Millis at = kAt + 5) {
    return Everywhere(MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, campaign, 1,
                                    EncodeAudienceRequest({campaign, "s", message, "email", cap}),
                                    at));
  }
  MapStateView view_;
  int64_t offsets_[2] = {0, 0};

 private:
  CustomersProjector customers_;
  MembershipProjector membership_;
  CampaignAudienceProjector audience_;
};

TEST(CampaignAudienceRecordsTest, RecordsRoundTripAndDamageIsRefused) {
  CampaignMessage m{"c:u", "c", "u", "email", "u@x.io", "Hi ✓", "rep-1", 3, 99, kAt};
  const std::string record = EncodeCampaignMessage(m);
  EXPECT_EQ(DecodeCampaignMessage(record).value(), m);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    EXPECT_FALSE(DecodeCampaignMessage(record.substr(0, cut))) << cut;
  }
  AudiencePart part{7, 10, 8, {1, 1, 0, 0}, ""};
  EXPECT_EQ(DecodeAudiencePart(EncodeAudiencePart(part)).value(), part);
  EXPECT_FALSE(DecodeAudiencePart(EncodeAudiencePart(part) + "x"));
  part.failure = "Customer record unreadable";
  const std::string failed = EncodeAudiencePart(part);
  EXPECT_EQ(DecodeAudiencePart(failed).value(), part);
  for (size_t cut = 0; cut < failed.size(); ++cut) {
    EXPECT_FALSE(DecodeAudiencePart(failed.substr(0, cut))) << cut;
  }
  // A resolved part is written in the first format (no failure field), which every build reads;
  // the second format holds a failure, never an empty one.
  std::string first(1, '\1');
  for (int64_t n : {7, 10, 8, 1, 1, 0, 0}) PutI64(first, n);
  EXPECT_EQ(EncodeAudiencePart({7, 10, 8, {1, 1, 0, 0}, ""}), first);
  EXPECT_EQ(DecodeAudiencePart(first).value(), (AudiencePart{7, 10, 8, {1, 1, 0, 0}, ""}));
  std::string empty_failure(1, '\2');
  empty_failure += first.substr(1);
  PutText(empty_failure, "");
  EXPECT_FALSE(DecodeAudiencePart(empty_failure));
  EXPECT_FALSE(DecodeAudiencePart(std::string(1, '\3') + failed.substr(1)));
}

// A part filed under a key whose partition is not five digits in range is damage (kDataLoss),
// never an exception out of the query.
TEST(CampaignAudienceRecordsTest, APartUnderADamagedKeyIsDataLoss) {
  const std::string part = EncodeAudiencePart({.offset = 3, .members = 1, .queued = 1});
  for (const char* key : {"c1/0000x", "c1/+0001", "c1/-0001", "c1/00002", "c1/1", "c1/"}) {
    testing::MapReadStore store;
    ASSERT_TRUE(store.Write({{kCampaignAudiencePartsTable, "c1/00000", part},
                             {kCampaignAudiencePartsTable, key, part}}));
    auto audience = QueryCampaignAudience(store, "c1", 2);
    ASSERT_FALSE(audience) << key;
    EXPECT_EQ(audience.error().code, ErrorCode::kDataLoss) << key;
  }
  testing::MapReadStore whole;
  ASSERT_TRUE(whole.Write({{kCampaignAudiencePartsTable, "c1/00000", part},
                           {kCampaignAudiencePartsTable, "c1/00001", part}}));
  auto audience = QueryCampaignAudience(whole, "c1", 2);
  ASSERT_TRUE(audience) << audience.error().message;
  ASSERT_TRUE(*audience);
  EXPECT_EQ((*audience)->queued, 2);
}

TEST(CampaignAudienceProjectorTest, EachPartitionResolvesItsMembersOnceAtTheRequest) {
  Partitions p;
  ASSERT_TRUE(p.Everywhere(MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "s", 1,
                                         EncodePublishedRules({"s", 1, kBig}), kAt)));
  ASSERT_TRUE(p.Register(0, "a", "Ada Lovelace", 500000));
  ASSERT_TRUE(p.Register(0, "b", "Bob", 100));  // not a member
  ASSERT_TRUE(p.Register(1, "c", "Cy", 200000));
  ASSERT_TRUE(p.Register(1, "d", "Di", 300000, false));  // a member, inactive
  ASSERT_TRUE(p.Request("c1", "Hello {{firstName}}: {{totalSpending}}"));

  auto a = p.view_.At(kCampaignMessagesTable, "c1/a");
  ASSERT_TRUE(a);
  auto message = DecodeCampaignMessage(*a);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->id, "c1:a");
  EXPECT_EQ(message->to, "a@x.io");
  EXPECT_EQ(message->text, "Hello Ada: 5000.00");
  EXPECT_EQ(message->partition, 0);
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c1/c"));
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c1/b"));
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c1/d"));
  EXPECT_TRUE(p.view_.At(kCustomerMessagesTable, "a/c1"));

  auto part0 = DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c1/00000"));
  auto part1 = DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c1/00001"));
  EXPECT_EQ(*part0, (AudiencePart{3, 1, 1, {0, 0, 0, 0}}));
  EXPECT_EQ(*part1, (AudiencePart{4, 2, 1, {1, 0, 0, 0}}));

  // A customer who joins later is not in the audience, and a repeated request changes nothing.
  ASSERT_TRUE(p.Register(0, "e", "Eve", 900000));
  ASSERT_TRUE(p.Request("c1", "Hello {{firstName}}: {{totalSpending}}"));
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c1/e"));
  EXPECT_EQ(*DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c1/00000")), *part0);
}

TEST(CampaignAudienceProjectorTest, UnsubscribedMembersAreCountedNotMessaged) {
  Partitions p;
  ASSERT_TRUE(p.Everywhere(MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "s", 1,
                                         EncodePublishedRules({"s", 1, kBig}), kAt)));
  ASSERT_TRUE(p.Register(0, "a", "Ada", 500000));
  ASSERT_TRUE(p.Register(0, "f", "Flo", 500000));
  ASSERT_TRUE(
      p.Apply(0, MakeTestEvent(kCustomerUnsubscribed, kCustomerAggregate, "f", 2, "{}", kAt)));
  ASSERT_TRUE(p.Request("c1", "Hi"));
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c1/a"));
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c1/f"));
  EXPECT_EQ(*DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c1/00000")),
            (AudiencePart{4, 2, 1, {0, 0, 1, 0}}));

  // Resubscribed: the next campaign reaches them.
  ASSERT_TRUE(
      p.Apply(0, MakeTestEvent(kCustomerResubscribed, kCustomerAggregate, "f", 3, "{}", kAt)));
  ASSERT_TRUE(p.Request("c2", "Hi"));
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c2/f"));
}

TEST(CampaignAudienceProjectorTest, TheFrequencyCapCountsTheMessagesOfTheLast24Hours) {
  Partitions p;
  ASSERT_TRUE(p.Everywhere(MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "s", 1,
                                         EncodePublishedRules({"s", 1, kBig}), kAt)));
  ASSERT_TRUE(p.Register(0, "a", "Ada", 500000));
  constexpr Millis kHour = 60 * 60 * 1000;
  ASSERT_TRUE(p.Request("c1", "Hi", 0, kAt + kHour));      // no cap: counted all the same
  ASSERT_TRUE(p.Request("c2", "Hi", 2, kAt + 2 * kHour));  // the second in 24 h: within 2
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c2/a"));
  ASSERT_TRUE(p.Request("c3", "Hi", 2, kAt + 3 * kHour));  // a third: over
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c3/a"));
  EXPECT_EQ(DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c3/00000"))->excluded,
            (std::array<int64_t, kExclusionCount>{0, 0, 0, 1}));
  ASSERT_TRUE(p.Request("c4", "Hi", 3, kAt + 3 * kHour));  // a higher cap lets it through
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c4/a"));
  // 24 hours after c1 it has left the window; c2 and c4 are still in it.
  ASSERT_TRUE(p.Request("c5", "Hi", 3, kAt + 25 * kHour));
  EXPECT_TRUE(p.view_.At(kCampaignMessagesTable, "c5/a"));
  ASSERT_TRUE(p.Request("c6", "Hi", 3, kAt + 25 * kHour + 1));
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c6/a"));
}

// A message this build refuses (the log's, so refused at every replay): each partition answers
// the request with the reason and queues nothing, and nothing is dead-lettered; the launcher
// fails the campaign with it. A damaged read-model record is not the log's: the request fails
// (and is dead-lettered, to be resolved by a rebuild), writing no part.
TEST(CampaignAudienceProjectorTest, ARefusedMessageIsAnsweredWithTheReasonAndDamageIsNot) {
  Partitions p;
  ASSERT_TRUE(p.Everywhere(MakeTestEvent(kSegmentRulesPublished, kMarkerAggregate, "s", 1,
                                         EncodePublishedRules({"s", 1, kBig}), kAt)));
  ASSERT_TRUE(p.Register(0, "a", "Ada", 500000));
  ASSERT_TRUE(p.Register(1, "c", "Cy", 500000));
  ASSERT_TRUE(p.Request("c1", "Hi {{nickname}}"));
  for (const char* key : {"c1/00000", "c1/00001"}) {
    auto part = DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, key));
    ASSERT_TRUE(part) << key;
    EXPECT_NE(part->failure.find("this build refuses"), std::string::npos) << part->failure;
    EXPECT_NE(part->failure.find("nickname"), std::string::npos) << part->failure;
    EXPECT_EQ(part->queued, 0);
    EXPECT_EQ(part->members, 0);
  }
  EXPECT_EQ(DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "c1/00000"))->offset, 2);
  EXPECT_FALSE(p.view_.At(kCampaignMessagesTable, "c1/a"));
  EXPECT_FALSE(p.view_.At(kCustomerMessageTimesTable, "a"));

  p.view_.Commit({{kCustomerMessageTimesTable, "a", "x"}});  // not a whole number of times
  auto damaged =
      p.Apply(0, MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, "c2", 1,
                               EncodeAudienceRequest({"c2", "s", "Hi", "email", 0}), kAt + 5));
  ASSERT_FALSE(damaged);
  EXPECT_EQ(damaged.error().code, ErrorCode::kDataLoss);
  EXPECT_FALSE(p.view_.At(kCampaignAudiencePartsTable, "c2/00000"));
}

TEST(PartitionMarkersTest, AnAudienceRequestCarriesItsFrequencyCap) {
  AudienceRequest r{"c", "s", "Hi", "email", 3};
  auto e = MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, "c", 1,
                         EncodeAudienceRequest(r), kAt);
  EXPECT_EQ(DecodeAudienceRequest(e).value(), r);
  r.frequency_cap = 0;
  e.payload = EncodeAudienceRequest(r);
  EXPECT_EQ(e.payload.find("frequencyCap"), std::string::npos);  // as before caps existed
  EXPECT_EQ(DecodeAudienceRequest(e).value(), r);
}

}  // namespace
}  // namespace keel

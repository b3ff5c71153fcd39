// CampaignAudienceProjector: a launched campaign's audience is the segment's members of each
// partition at the request's position, rendered, excluded by reason, and resolved once.
#include "projections/campaign_audience/campaign_audience_projector.h"

#include <gtest/gtest.h>

#include "domain/order.h"
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
  // A store marked with the audience projector's format, as a new one is before its first batch.
  Partitions() : membership_(customers_), audience_(customers_) {
    view_.Commit({{kProjectionMetaTable, ReadModelPresenceKey(audience_.name()),
                   std::to_string(audience_.format())}});
  }
  // `audience_writes`: where to copy the audience projector's writes, when given.
  Status Apply(int32_t partition, const EventEnvelope& e,
               std::vector<StoreWrite>* audience_writes = nullptr) {
    std::vector<StoreWrite> writes;
    const EventPosition at{partition, offsets_[partition]++, ""};
    for (Projector* p : std::initializer_list<Projector*>{&customers_, &membership_, &audience_}) {
      const size_t before = writes.size();
      if (auto st = p->Apply(e, at, view_, writes); !st) return st;
      if (p == &audience_ && audience_writes) {
        audience_writes->assign(writes.begin() + static_cast<std::ptrdiff_t>(before), writes.end());
      }
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
  // A customer with `fields` (defaults for the rest), registered at `at`.
  Status RegisterWith(int32_t partition, const std::string& id, CustomerFields fields,
                      Millis at = kAt) {
    CustomerFields f = WithDefaults(std::move(fields));
    if (!f.email || f.email->empty()) f.email = id + "@x.io";
    return Apply(partition, MakeTestEvent(kCustomerRegistered, kCustomerAggregate, id, 1,
                                          EncodeCustomerFields(f), at));
  }
  // The audience request of an occasion's run at `at`, appended at `recorded` (at by default).
  Status Occasion(const std::string& campaign, keel::Occasion occasion, int64_t days, Millis at,
                  const std::string& message = "Hi {{firstName}}",
                  std::optional<Millis> recorded = std::nullopt) {
    AudienceRequest r{campaign, "", message, "email", 0, occasion, days, at};
    return Everywhere(MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, campaign, 1,
                                    EncodeAudienceRequest(r), recorded.value_or(at)));
  }
  // The customers the campaign queued, in id order.
  std::vector<std::string> Queued(const std::string& campaign) const {
    std::vector<std::string> ids;
    const std::string prefix = MapStateView::Key(kCampaignMessagesTable, campaign + "/");
    for (auto it = view_.rows.lower_bound(prefix);
         it != view_.rows.end() && it->first.starts_with(prefix); ++it) {
      ids.push_back(it->first.substr(prefix.size()));
    }
    return ids;
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

constexpr Millis kDay = 86'400'000;
using Ids = std::vector<std::string>;

// Birthdays: every customer of the partition whose birthDate is the request's UTC date, once a
// year whatever the runs; a customer without a birthDate, or another day's, is not in it.
TEST(CampaignAudienceOccasionTest, BirthdaysAreSentOncePerCustomerAndYear) {
  Partitions p;
  const Millis day = *ParseIso8601("2026-12-04T06:00:00Z");
  ASSERT_TRUE(p.RegisterWith(
      0, "a", {.name = "Ada Lovelace", .birth_date = std::optional<std::string>("1990-12-04")}));
  ASSERT_TRUE(p.RegisterWith(
      1, "b", {.name = "Bob", .birth_date = std::optional<std::string>("1985-12-04")}));
  ASSERT_TRUE(p.RegisterWith(
      1, "c", {.name = "Cy", .birth_date = std::optional<std::string>("1985-12-05")}));
  ASSERT_TRUE(p.RegisterWith(0, "d", {.name = "Di"}));
  ASSERT_TRUE(
      p.Occasion("r1", Occasion::kBirthday, 0, day, "Happy birthday {{firstName}}, {{level}}"));
  EXPECT_EQ(p.Queued("r1"), (Ids{"a", "b"}));
  EXPECT_EQ(DecodeCampaignMessage(*p.view_.At(kCampaignMessagesTable, "r1/a"))->text,
            "Happy birthday Ada, Bronze");
  EXPECT_EQ(*DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "r1/00000")),
            (AudiencePart{2, 1, 1, {0, 0, 0, 0}}));
  EXPECT_TRUE(p.view_.At(kCustomerOccasionsTable, "a/birthday/2026"));
  // A second run the same day (a second keeper, a retry) reaches no one again.
  ASSERT_TRUE(p.Occasion("r2", Occasion::kBirthday, 0, day + 3600'000));
  EXPECT_EQ(p.Queued("r2"), Ids{});
  EXPECT_EQ(DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "r2/00000"))->members, 0);
  // The next day, the next customer; a year on, the first again.
  ASSERT_TRUE(p.Occasion("r3", Occasion::kBirthday, 0, day + kDay));
  EXPECT_EQ(p.Queued("r3"), Ids{"c"});
  ASSERT_TRUE(p.Occasion("r4", Occasion::kBirthday, 0, *ParseIso8601("2027-12-04T00:00:00Z")));
  EXPECT_EQ(p.Queued("r4"), (Ids{"a", "b"}));
}

// A birthday run finds its customers by the month-day index, which follows a changed birthDate
// (and finds 29 February's on 28 February of a year without it).
TEST(CampaignAudienceOccasionTest, ABirthdayRunFollowsAChangedBirthDate) {
  Partitions p;
  ASSERT_TRUE(p.RegisterWith(
      0, "a", {.name = "Ada", .birth_date = std::optional<std::string>("1990-12-04")}));
  ASSERT_TRUE(p.RegisterWith(
      1, "l", {.name = "Leap", .birth_date = std::optional<std::string>("2000-02-29")}));
  EXPECT_TRUE(p.view_.At(kBirthdaysTable, "00000/12-04/a"));
  CustomerFields moved;
  moved.birth_date = std::optional<std::string>("1990-12-06");
  ASSERT_TRUE(p.Apply(0, MakeTestEvent(kCustomerUpdated, kCustomerAggregate, "a", 2,
                                       EncodeCustomerFields(moved), kAt + 1)));
  EXPECT_FALSE(p.view_.At(kBirthdaysTable, "00000/12-04/a"));
  EXPECT_TRUE(p.view_.At(kBirthdaysTable, "00000/12-06/a"));
  ASSERT_TRUE(p.Occasion("r1", Occasion::kBirthday, 0, *ParseIso8601("2026-12-04T06:00:00Z")));
  EXPECT_EQ(p.Queued("r1"), Ids{});
  ASSERT_TRUE(p.Occasion("r2", Occasion::kBirthday, 0, *ParseIso8601("2026-12-06T06:00:00Z")));
  EXPECT_EQ(p.Queued("r2"), Ids{"a"});
  ASSERT_TRUE(p.Occasion("r3", Occasion::kBirthday, 0, *ParseIso8601("2027-02-28T06:00:00Z")));
  EXPECT_EQ(p.Queued("r3"), Ids{"l"});
  // A birthDate cleared leaves the index; a customer registered without one never enters it.
  CustomerFields cleared;
  cleared.birth_date = std::optional<std::string>();
  ASSERT_TRUE(p.Apply(1, MakeTestEvent(kCustomerUpdated, kCustomerAggregate, "l", 2,
                                       EncodeCustomerFields(cleared), kAt + 1)));
  EXPECT_FALSE(p.view_.At(kBirthdaysTable, "00001/02-29/l"));
  EXPECT_FALSE(p.view_.At(kBirthdayOfTable, "l"));
  std::vector<StoreWrite> none;
  ASSERT_TRUE(p.Apply(
      1,
      MakeTestEvent(kCustomerRegistered, kCustomerAggregate, "n/1", 1,
                    EncodeCustomerFields(WithDefaults({.name = "No Date", .email = "n@x.io"})),
                    kAt + 1),
      &none));
  for (const StoreWrite& w : none) EXPECT_NE(w.table, kBirthdayOfTable);
  // An update that leaves the birthDate alone writes nothing to the index.
  CustomerFields renamed;
  renamed.name = "Ada L.";
  auto e = MakeTestEvent(kCustomerUpdated, kCustomerAggregate, "a", 3,
                         EncodeCustomerFields(renamed), kAt + 2);
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(p.Apply(0, e, &writes));
  for (const StoreWrite& w : writes) {
    EXPECT_NE(w.table, kBirthdaysTable);
    EXPECT_NE(w.table, kBirthdayOfTable);
  }
}

// A store folded before the index (its mark an older format: the live store while the rebuild
// that fills the index runs) looks at every customer instead; one with the mark uses the index.
TEST(CampaignAudienceOccasionTest, ABirthdayRunLooksAtEveryoneUntilTheStoreHasTheIndex) {
  Partitions p;
  ASSERT_TRUE(p.RegisterWith(
      0, "a", {.name = "Ada", .birth_date = std::optional<std::string>("1990-12-04")}));
  // As an older build left it: no index rows.
  p.view_.Commit(
      {{kBirthdaysTable, "00000/12-04/a", std::nullopt}, {kBirthdayOfTable, "a", std::nullopt}});
  ASSERT_TRUE(p.Occasion("r1", Occasion::kBirthday, 0, *ParseIso8601("2026-12-04T06:00:00Z")));
  EXPECT_EQ(p.Queued("r1"), Ids{});  // the marked store trusts its index
  p.view_.Commit({{kProjectionMetaTable, ReadModelPresenceKey("campaign_audience"), "2"}});
  ASSERT_TRUE(p.Occasion("r2", Occasion::kBirthday, 0, *ParseIso8601("2026-12-04T07:00:00Z")));
  EXPECT_EQ(p.Queued("r2"), Ids{"a"});
}

// A run is judged at its own instant, not at its request's: a run of 4 December whose request a
// restarted launcher appends after midnight still reaches the birthdays of 4 December.
TEST(CampaignAudienceOccasionTest, ARunIsJudgedAtItsOwnInstantNotItsRequests) {
  Partitions p;
  ASSERT_TRUE(p.RegisterWith(
      0, "a", {.name = "Ada", .birth_date = std::optional<std::string>("1990-12-04")}));
  ASSERT_TRUE(p.RegisterWith(
      1, "c", {.name = "Cy", .birth_date = std::optional<std::string>("1985-12-05")}));
  const Millis run = *ParseIso8601("2026-12-04T23:59:59Z");
  ASSERT_TRUE(p.Occasion("r1", Occasion::kBirthday, 0, run, "Hi", run + 2000));
  EXPECT_EQ(p.Queued("r1"), Ids{"a"});
}

// Inactivity: customers without an order for N days (from createdAt without one), once per
// spell; an order ends the spell, and N days without another start the next.
TEST(CampaignAudienceOccasionTest, InactivityIsSentOncePerSpell) {
  Partitions p;
  ASSERT_TRUE(p.RegisterWith(0, "a", {.name = "Ada"}));
  ASSERT_TRUE(p.RegisterWith(1, "b", {.name = "Bob"}, kAt + 10 * kDay));
  ASSERT_TRUE(p.Occasion("w1", Occasion::kInactivity, 60, kAt + 59 * kDay));
  EXPECT_EQ(p.Queued("w1"), Ids{});
  ASSERT_TRUE(p.Occasion("w2", Occasion::kInactivity, 60, kAt + 60 * kDay));
  EXPECT_EQ(p.Queued("w2"), Ids{"a"});
  ASSERT_TRUE(p.Occasion("w3", Occasion::kInactivity, 60, kAt + 70 * kDay));
  EXPECT_EQ(p.Queued("w3"), Ids{"b"});  // a's spell was sent already
  // A historical order (dated before the message, even before createdAt) ends no spell.
  Order old;
  old.customer_id = "a";
  old.order_date = kAt - 30 * kDay;
  old.amount_cents = 100;
  ASSERT_TRUE(p.Apply(0, MakeTestEvent(kOrderPlaced, kOrderAggregate, "o0", 1,
                                       EncodeOrderPlaced(old), kAt + 70 * kDay)));
  ASSERT_TRUE(p.Occasion("w3b", Occasion::kInactivity, 60, kAt + 77 * kDay));
  EXPECT_EQ(p.Queued("w3b"), Ids{});
  Order o;
  o.customer_id = "a";
  o.order_date = kAt + 71 * kDay;
  o.amount_cents = 100;
  ASSERT_TRUE(p.Apply(0, MakeTestEvent(kOrderPlaced, kOrderAggregate, "o1", 1, EncodeOrderPlaced(o),
                                       kAt + 71 * kDay)));
  ASSERT_TRUE(p.Occasion("w4", Occasion::kInactivity, 60, kAt + 130 * kDay));
  EXPECT_EQ(p.Queued("w4"), Ids{});
  ASSERT_TRUE(p.Occasion("w5", Occasion::kInactivity, 60, kAt + 131 * kDay));
  EXPECT_EQ(p.Queued("w5"), Ids{"a"});
}

// Welcomes: a partition records who becomes CUSTOMER from its first welcome request on (so
// switching them on sends nothing to the customers of before), each is welcomed once, and one
// pending longer than the request's days is let go.
TEST(CampaignAudienceOccasionTest, WelcomesGoOnceToThoseWhoBecameCustomers) {
  Partitions p;
  ASSERT_TRUE(p.RegisterWith(0, "old", {.name = "Old"}));
  // What the keeper asks of the read side, over the welcome records folded so far.
  auto pending = [&]() {
    testing::MapReadStore s;
    std::vector<StoreWrite> rows;
    const std::string prefix = MapStateView::Key(kWelcomePendingTable, "");
    for (auto it = p.view_.rows.lower_bound(prefix);
         it != p.view_.rows.end() && it->first.starts_with(prefix); ++it) {
      rows.push_back({kWelcomePendingTable, it->first.substr(prefix.size()), it->second});
    }
    EXPECT_TRUE(s.Write(rows));
    return QueryWelcomesPending(s, 2).value();
  };
  EXPECT_TRUE(pending());  // no partition armed yet
  ASSERT_TRUE(p.Occasion("v1", Occasion::kWelcome, 7, kAt + 1));
  EXPECT_EQ(p.Queued("v1"), Ids{});
  EXPECT_FALSE(pending());
  ASSERT_TRUE(p.RegisterWith(0, "new", {.name = "New Customer"}, kAt + 2));
  ASSERT_TRUE(
      p.RegisterWith(1, "lead", {.name = "Lead", .status = CustomerStatus::kLead}, kAt + 2));
  ASSERT_TRUE(p.RegisterWith(1, "late", {.name = "Late"}, kAt + 3));
  // Imported by a bulk ingestion job: not a new customer.
  auto imported = MakeTestEvent(
      kCustomerRegistered, kCustomerAggregate, "imported", 1,
      EncodeCustomerFields(WithDefaults({.name = "Imp", .email = "imp@x.io"})), kAt + 3);
  imported.causation_id = "ingest/job-1";
  ASSERT_TRUE(p.Apply(0, imported));
  EXPECT_TRUE(pending());
  ASSERT_TRUE(p.Occasion("v2", Occasion::kWelcome, 7, kAt + 4, "Welcome {{firstName}}"));
  EXPECT_EQ(p.Queued("v2"), (Ids{"late", "new"}));
  EXPECT_FALSE(pending());
  // The lead becomes a customer: welcomed at the next run, and only once.
  ASSERT_TRUE(p.Apply(
      1, MakeTestEvent(kCustomerStatusChanged, kCustomerAggregate, "lead", 2,
                       EncodeStatusChange({CustomerStatus::kLead, CustomerStatus::kCustomer}),
                       kAt + 5)));
  ASSERT_TRUE(p.Occasion("v3", Occasion::kWelcome, 7, kAt + 6));
  EXPECT_EQ(p.Queued("v3"), Ids{"lead"});
  // Churned and won back: a customer again, but welcomed already.
  ASSERT_TRUE(p.Apply(
      1, MakeTestEvent(kCustomerStatusChanged, kCustomerAggregate, "lead", 3,
                       EncodeStatusChange({CustomerStatus::kCustomer, CustomerStatus::kChurned}),
                       kAt + 7)));
  ASSERT_TRUE(p.Apply(
      1, MakeTestEvent(kCustomerStatusChanged, kCustomerAggregate, "lead", 4,
                       EncodeStatusChange({CustomerStatus::kChurned, CustomerStatus::kCustomer}),
                       kAt + 8)));
  ASSERT_TRUE(p.Occasion("v4", Occasion::kWelcome, 7, kAt + 9));
  EXPECT_EQ(p.Queued("v4"), Ids{});
  // Pending for more than the request's days (the keeper stopped that long): let go.
  ASSERT_TRUE(p.RegisterWith(0, "stale", {.name = "Stale"}, kAt + 10));
  ASSERT_TRUE(p.Occasion("v5", Occasion::kWelcome, 7, kAt + 10 + 7 * kDay + 1));
  EXPECT_EQ(p.Queued("v5"), Ids{});
  EXPECT_FALSE(pending());
}

// A welcome the frequency cap holds back is not let go: a later run within its age sends it.
TEST(CampaignAudienceOccasionTest, AWelcomeTheCapHoldsBackWaitsForALaterRun) {
  Partitions p;
  ASSERT_TRUE(p.Occasion("v1", Occasion::kWelcome, 7, kAt + 1));
  const Millis day = *ParseIso8601("2026-12-04T06:00:00Z");
  ASSERT_TRUE(p.RegisterWith(
      0, "n", {.name = "Nia", .birth_date = std::optional<std::string>("1990-12-04")}, day));
  ASSERT_TRUE(p.Occasion("b1", Occasion::kBirthday, 0, day + 1));
  EXPECT_EQ(p.Queued("b1"), Ids{"n"});
  auto capped = [&](const std::string& campaign, Millis at) {
    AudienceRequest r{campaign, "", "Welcome", "email", 1, Occasion::kWelcome, 7, at};
    return p.Everywhere(MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, campaign, 1,
                                      EncodeAudienceRequest(r), at));
  };
  ASSERT_TRUE(capped("v2", day + 2));
  EXPECT_EQ(p.Queued("v2"), Ids{});
  EXPECT_EQ(DecodeAudiencePart(*p.view_.At(kCampaignAudiencePartsTable, "v2/00000"))
                ->excluded[static_cast<size_t>(Exclusion::kFrequencyCap)],
            1);
  EXPECT_TRUE(p.view_.At(kWelcomePendingTable, "00000/n"));
  ASSERT_TRUE(capped("v3", day + kDay + 3));
  EXPECT_EQ(p.Queued("v3"), Ids{"n"});
  EXPECT_FALSE(p.view_.At(kWelcomePendingTable, "00000/n"));
}

TEST(PartitionMarkersTest, AnAudienceRequestCarriesItsOccasion) {
  AudienceRequest r{"c", "", "Hi", "email", 0, Occasion::kInactivity, 60, kAt - 5};
  auto e = MakeTestEvent(kCampaignAudienceRequested, kMarkerAggregate, "c", 1,
                         EncodeAudienceRequest(r), kAt);
  EXPECT_EQ(DecodeAudienceRequest(e).value(), r);
  // Neither a segment nor an occasion, or an unknown occasion: damage.
  for (
      const char* payload :
      {R"({"campaignId":"c","segmentId":"","message":"Hi","channel":"email"})",
       R"({"campaignId":"c","segmentId":"","message":"Hi","channel":"email","occasion":"xmas","occasionDays":0})",
       R"({"campaignId":"c","segmentId":"","message":"Hi","channel":"email","occasion":"birthday"})",
       R"({"campaignId":"c","segmentId":"","message":"Hi","channel":"email","occasion":"birthday","occasionDays":0})",
       R"({"campaignId":"c","segmentId":"s","message":"Hi","channel":"email","occasion":"","occasionDays":0})"}) {
    e.payload = payload;
    auto decoded = DecodeAudienceRequest(e);
    ASSERT_FALSE(decoded) << payload;
    EXPECT_EQ(decoded.error().code, ErrorCode::kDataLoss) << payload;
  }
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

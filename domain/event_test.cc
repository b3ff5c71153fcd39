#include "domain/event.h"

#include <gtest/gtest.h>

#include "domain/customer.h"
#include "domain/partition_markers.h"
#include "domain/segment.h"

namespace keel {
namespace {

EventEnvelope Sample(std::string type, std::string payload) {
  EventEnvelope e;
  e.event_id = "018f0000-0000-7000-8000-000000000001";
  e.type = std::move(type);
  e.schema_version = CurrentSchemaVersion(e.type);
  e.aggregate_type = "customer";
  e.aggregate_id = "018f0000-0000-7000-8000-0000000000aa";
  e.aggregate_version = 3;
  e.occurred_at = 1700000000123;
  e.recorded_at = 1700000000456;
  e.actor = "user:7";
  e.correlation_id = "req-1";
  e.causation_id = "cmd-1";
  e.idempotency_key = "k-1";
  e.payload = std::move(payload);
  return e;
}

// Round trip of every event type this build knows.
TEST(EventCodecTest, RoundTripsEveryEventType) {
  const std::vector<EventEnvelope> events = {
      Sample("CustomerRegistered",
             EncodeCustomerFields(WithDefaults({.name = "Ada \"L\"", .email = "ada@x.io",
                                                .phone = std::optional<std::string>("+44 1"),
                                                .total_spending_cents = 1050,
                                                .visits = 2,
                                                .last_visit = std::optional<Millis>(5),
                                                .is_active = true}))),
      Sample("CustomerUpdated", EncodeCustomerFields({.name = "B", .phone = std::optional<std::string>()})),
      Sample("CustomerDeactivated", "{}"),
  };
  for (const auto& e : events) {
    auto back = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, e);
    EXPECT_EQ(CheckSupport(*back), EventSupport::kSupported);
  }
}

TEST(EventCodecTest, UnknownTypeAndNewerVersionDecodeButAreNotSupported) {
  auto unknown = Sample("MoonLanded", R"({"x":1})");
  unknown.schema_version = 1;
  auto back = DecodeEvent(EncodeEvent(unknown));
  ASSERT_TRUE(back);
  EXPECT_EQ(CheckSupport(*back), EventSupport::kUnknownType);

  auto newer = Sample("CustomerUpdated", "{}");
  newer.schema_version = 99;
  back = DecodeEvent(EncodeEvent(newer));
  ASSERT_TRUE(back);
  EXPECT_EQ(CheckSupport(*back), EventSupport::kNewerVersion);
}

TEST(EventCodecTest, KeepsPayloadBytesExactly) {
  const char* text =
      R"({ "payload" : {"b": [1, {"c":"}\"]"}], "a":10.50} , "event_id":"e","type":"X",)"
      R"("schema_version":1,"aggregate_type":"c","aggregate_id":"a","aggregate_version":1,)"
      R"("occurred_at":"2026-01-01T00:00:00Z"})";
  auto e = DecodeEvent(text);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->payload, R"({"b": [1, {"c":"}\"]"}], "a":10.50})");
}

TEST(EventCodecTest, MalformedEnvelopesAreDataLoss) {
  for (const char* bad :
       {"", "nope", "[]", R"({"type":"CustomerUpdated"})",
        R"({"event_id":"e","type":"T","schema_version":1,"aggregate_type":"c","aggregate_id":"a",)"
        R"("aggregate_version":1,"occurred_at":"bad","payload":{}})",
        R"({"event_id":"e","type":"T","schema_version":1,"aggregate_type":"c","aggregate_id":"a",)"
        R"("aggregate_version":0,"occurred_at":"2026-01-01T00:00:00Z","payload":{}})"}) {
    auto r = DecodeEvent(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kDataLoss);
  }
}

TEST(EventCodecTest, UpcastsCustomerRegisteredV1ToCurrent) {
  // v1 is the import format: defaults may be omitted, email and name not normalised.
  const char* v1 =
      R"({"event_id":"e","type":"CustomerRegistered","schema_version":1,)"
      R"("aggregate_type":"customer","aggregate_id":"c","aggregate_version":1,)"
      R"("occurred_at":"2026-01-01T00:00:00Z","payload":{"name":" Ada ","email":"ADA@X.IO"}})";
  auto e = DecodeEvent(v1);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->schema_version, kCustomerRegisteredVersion);
  EXPECT_EQ(e->recorded_at, e->occurred_at);
  auto fields = DecodeCustomerFields(e->payload);
  ASSERT_TRUE(fields);
  EXPECT_EQ(*fields, WithDefaults({.name = "Ada", .email = "ada@x.io"}));
}

TEST(EventCodecTest, SegmentRulesOfEveryVersionReadAsCurrentAndLaterOnesAreNewer) {
  // v1: the first rule fields; v2: seed 002's (status, tags, …); v3: the loyalty standing.
  ASSERT_EQ(kSegmentRulesVersion, 3);
  for (std::string_view type : {kSegmentDefined, kSegmentRedefined, kSegmentRulesPublished}) {
    EXPECT_EQ(CurrentSchemaVersion(type), kSegmentRulesVersion) << type;
    for (int version = 1; version <= 3; ++version) {
      EventEnvelope e = Sample(std::string(type), R"({"x":1})");
      e.schema_version = version;
      auto back = DecodeEvent(EncodeEvent(e));
      ASSERT_TRUE(back) << type << " v" << version << ": " << back.error().message;
      EXPECT_EQ(back->schema_version, kSegmentRulesVersion);
      EXPECT_EQ(back->payload, e.payload);  // nothing lifted
      EXPECT_EQ(CheckSupport(*back), EventSupport::kSupported);
    }
    EventEnvelope later = Sample(std::string(type), R"({"x":1})");
    later.schema_version = 4;
    auto back = DecodeEvent(EncodeEvent(later));
    ASSERT_TRUE(back);
    EXPECT_EQ(CheckSupport(*back), EventSupport::kNewerVersion) << type;
  }
}

}  // namespace
}  // namespace keel

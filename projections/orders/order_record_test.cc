#include "projections/orders/order_record.h"

#include <gtest/gtest.h>

#include "projections/binary.h"

namespace keel {
namespace {

// A record as builds before format 3 wrote it: format 1 without the events' positions, format 2
// with them; neither with an item's product or tax rate.
std::string OlderRecord(const Order& o, char format, const std::vector<LogPosition>& events) {
  std::string out;
  out.push_back(format);
  out.push_back(static_cast<char>(o.status));
  out.push_back(o.external_id ? 1 : 0);
  for (int64_t v : {o.order_date, o.amount_cents, o.created_at, o.updated_at, o.version}) {
    PutI64(out, v);
  }
  PutText(out, o.id);
  PutText(out, o.customer_id);
  if (o.external_id) PutText(out, *o.external_id);
  PutU32(out, static_cast<uint32_t>(o.items.size()));
  for (const auto& item : o.items) {
    PutText(out, item.sku);
    PutText(out, item.name);
    PutI64(out, item.qty);
    PutI64(out, item.price_cents);
  }
  if (format >= 2) {
    PutU32(out, static_cast<uint32_t>(events.size()));
    for (const LogPosition& at : events) {
      PutU32(out, static_cast<uint32_t>(at.partition));
      PutI64(out, at.offset);
    }
  }
  return out;
}

// The read model's compact record holds the order exactly; JSON records of older read models
// still read; a damaged record is data loss, never a guess.
TEST(OrderRecordTest, RoundTripsAndReadsOlderJsonRecords) {
  Order o;
  o.id = "018f0000-0000-8000-8000-0000000000bb";
  o.customer_id = "018f0000-0000-7000-8000-0000000000aa";
  o.external_id = "x-7";
  o.order_date = 1'700'000'000'000;
  o.amount_cents = 1'234;
  o.status = OrderStatus::kShipped;
  o.items = {{"S-1", "Sock \"wool\"", 2, 300}, {"H", "Hat", 1, 634}};
  o.created_at = 5;
  o.updated_at = 6;
  o.version = 2;
  const std::vector<LogPosition> events = {{3, 17}, {3, 4'000'000'000'000}};
  const std::string record = EncodeOrderRecord(o, events);
  EXPECT_LT(record.size() * 3, OrderToJson(o).size() * 2);
  std::vector<LogPosition> positions = {{9, 9}};
  auto back = DecodeOrderRecord(record, &positions);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);
  EXPECT_EQ(positions, events);
  // Records of the earlier layouts, as earlier builds wrote them.
  auto v1 = DecodeOrderRecord(OlderRecord(o, 1, events), &positions);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(*v1, o);
  EXPECT_TRUE(positions.empty());
  auto v2 = DecodeOrderRecord(OlderRecord(o, 2, events), &positions);
  ASSERT_TRUE(v2) << v2.error().message;
  EXPECT_EQ(*v2, o);
  EXPECT_EQ(positions, events);
  Order bare;
  bare.id = "o";
  EXPECT_EQ(*DecodeOrderRecord(EncodeOrderRecord(bare)), bare);

  auto old = DecodeOrderRecord(OrderToJson(o));
  ASSERT_TRUE(old) << old.error().message;
  EXPECT_EQ(*old, o);

  for (size_t cut = 0; cut < record.size(); ++cut) {
    auto broken = DecodeOrderRecord(record.substr(0, cut));
    ASSERT_FALSE(broken) << cut;
    EXPECT_EQ(broken.error().code, ErrorCode::kDataLoss);
  }
  EXPECT_FALSE(DecodeOrderRecord(record + "x"));
  std::string bad_status = record;
  bad_status[1] = 9;
  EXPECT_FALSE(DecodeOrderRecord(bad_status));
  std::string many_items = EncodeOrderRecord(bare);
  many_items[many_items.size() - 8] = '\x7f';  // the item count
  EXPECT_FALSE(DecodeOrderRecord(many_items));
  many_items = EncodeOrderRecord(bare);
  many_items[many_items.size() - 4] = '\x7f';  // the position count
  EXPECT_FALSE(DecodeOrderRecord(many_items));
}

TEST(OrderRecordTest, ItemsByProductKeepTheirProductAndTaxRate) {
  Order o;
  o.id = "o1";
  o.customer_id = "c1";
  o.amount_cents = 3'225 + 100;
  o.items = {{"W-1", "Widget", 3, 1'000}, {"A", "Apple", 2, 50}};
  o.items[0].product_id = "018f0000-0000-7000-8000-0000000000cc";
  o.items[0].tax_rate_bp = 750;
  const std::string record = EncodeOrderRecord(o, {{1, 2}});
  auto back = DecodeOrderRecord(record);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);
  // A rate of 0 is a rate, not its absence.
  o.items[0].tax_rate_bp = 0;
  EXPECT_EQ(*DecodeOrderRecord(EncodeOrderRecord(o)), o);
  for (size_t cut = 0; cut < record.size(); ++cut) {
    EXPECT_FALSE(DecodeOrderRecord(record.substr(0, cut))) << cut;
  }
  std::string unknown_members = EncodeOrderRecord(o);
  const size_t members = unknown_members.find("Apple") + 5 + 16;  // after its qty and price
  ASSERT_EQ(unknown_members[members], 0);
  unknown_members[members] = 4;
  EXPECT_FALSE(DecodeOrderRecord(unknown_members));
}

TEST(OrderRecordTest, ARedeemedPromotionIsKept) {
  Order o;
  o.id = "o1";
  o.customer_id = "c1";
  o.amount_cents = 1'800;
  o.items = {{"A", "Apple", 2, 1'000}};
  o.promotion = OrderPromotion{"as-1", "pr-9", RewardType::kPercentage, 1'000, 200};
  const std::string record = EncodeOrderRecord(o, {{1, 2}});
  std::vector<LogPosition> events;
  auto back = DecodeOrderRecord(record, &events);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, o);
  EXPECT_EQ(events, (std::vector<LogPosition>{{1, 2}}));
  // An order without one is read without one; a format-2 record still reads.
  o.promotion.reset();
  auto plain = DecodeOrderRecord(EncodeOrderRecord(o));
  ASSERT_TRUE(plain);
  EXPECT_EQ(*plain, o);
  auto older = DecodeOrderRecord(OlderRecord(o, 2, {{0, 1}}));
  ASSERT_TRUE(older) << older.error().message;
  EXPECT_EQ(*older, o);
}

}  // namespace
}  // namespace keel

#include "projections/orders/order_record.h"

#include <gtest/gtest.h>

namespace keel {
namespace {

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
  // A record of the first layout (no positions), as an earlier build wrote it.
  std::string first = EncodeOrderRecord(o);
  first.resize(first.size() - 4);
  first[0] = 1;
  auto v1 = DecodeOrderRecord(first, &positions);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(*v1, o);
  EXPECT_TRUE(positions.empty());
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

}  // namespace
}  // namespace keel

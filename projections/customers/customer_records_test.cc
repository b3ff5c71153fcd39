// The customers read model's records: the profile and the figures make the served document.
#include "projections/customers/customer_records.h"

#include <gtest/gtest.h>

#include "domain/customer.h"

namespace keel {
namespace {

// The read model's two records make the served document, and a profile of an older read model
// (which held the figures itself) is served with the newer figures.
TEST(CustomerJsonTest, ProfileAndFiguresMakeTheServedDocument) {
  Customer c{.id = "id",
             .name = "N \"baseline\":{",
             .email = "e@x.io",
             .phone = "+1 2",
             .total_spending_cents = 123456,
             .visits = 7,
             .last_visit = 1700000000000,
             .owner_id = "u1",
             .created_at = 1,
             .updated_at = 2,
             .version = 9};
  c.stats = {.order_count = 3,
             .order_cents = 4500,
             .recorded_visits = 2,
             .first_order_at = 1600000000000,
             .last_order_at = 1800000000000,
             .last_activity = 1800000000001,
             .revision = 5};
  const std::string figures = EncodeCustomerFigures(c);
  EXPECT_EQ(figures.size(), 82u);
  Customer decoded;
  ASSERT_TRUE(DecodeCustomerFigures(figures, decoded));
  EXPECT_EQ(decoded.stats, c.stats);
  EXPECT_EQ(decoded.total_spending_cents, c.total_spending_cents);
  EXPECT_EQ(decoded.visits, c.visits);
  EXPECT_EQ(decoded.last_visit, c.last_visit);

  const std::string profile = CustomerProfileToJson(c);
  EXPECT_EQ(profile.find("totalSpending"), std::string::npos);
  auto only = CustomerFromJson(profile);
  ASSERT_TRUE(only) << only.error().message;
  EXPECT_EQ(only->name, c.name);
  EXPECT_EQ(only->stats, CustomerStats{});
  EXPECT_EQ(only->total_spending_cents, 0);

  auto served = ServedCustomerJson(profile, decoded);
  ASSERT_TRUE(served) << served.error().message;
  EXPECT_EQ(*served, CustomerToJson(c));

  // An older read model's record: the whole served document, with older figures.
  Customer old = c;
  old.stats = {};
  old.total_spending_cents = 1;
  auto upgraded = ServedCustomerJson(CustomerToJson(old), decoded);
  ASSERT_TRUE(upgraded) << upgraded.error().message;
  EXPECT_EQ(*upgraded, CustomerToJson(c));

  // Figures absent in time fields stay absent.
  Customer bare{.id = "b"};
  ASSERT_TRUE(DecodeCustomerFigures(EncodeCustomerFigures(bare), decoded));
  EXPECT_EQ(decoded.last_visit, std::nullopt);
  EXPECT_EQ(decoded.stats, CustomerStats{});

  std::string longer = figures;
  longer += 'x';
  std::string other_version(1, '\2');  // built with +=: GCC 12 warns falsely on a + of strings
  other_version += figures.substr(1);
  for (std::string bad : {std::string(), figures.substr(1), longer, other_version}) {
    auto st = DecodeCustomerFigures(bad, decoded);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::kDataLoss);
  }
  EXPECT_FALSE(ServedCustomerJson("not json", decoded));
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// A customer with a recorded standing writes it after the figures (format 2); one without
// writes the 82 bytes of before, and reads back standing where nothing recorded stands.
TEST(CustomerJsonTest, TheRecordedStandingTravelsWithTheFigures) {
  Customer c{.id = "id", .name = "N", .email = "e@x.io", .version = 1};
  c.stats.order_count = 2;
  Customer plain;
  ASSERT_TRUE(DecodeCustomerFigures(EncodeCustomerFigures(c), plain));
  EXPECT_EQ(plain.standing, LoyaltyStanding{});
  EXPECT_EQ(plain.standing_version, 0);

  c.standing = {4, 3, 5, LoyaltyLevel::kGold};
  c.standing_version = 3;
  const std::string figures = EncodeCustomerFigures(c);
  EXPECT_EQ(figures.size(), 82u + 12u);
  Customer decoded;
  ASSERT_TRUE(DecodeCustomerFigures(figures, decoded));
  EXPECT_EQ(decoded.standing, c.standing);
  EXPECT_EQ(decoded.standing_version, 3);
  EXPECT_EQ(decoded.stats, c.stats);

  // A score out of range, a level unknown, a cut record: unreadable, never misread.
  for (size_t at : {82u, 85u}) {
    std::string bad = figures;
    bad[at] = at == 85u ? 4 : 6;
    Customer out;
    EXPECT_FALSE(DecodeCustomerFigures(bad, out)) << at;
  }
  Customer out;
  EXPECT_FALSE(DecodeCustomerFigures(figures.substr(0, figures.size() - 1), out));
}

}  // namespace
}  // namespace keel

// CustomerIndex answers every list query exactly as a scan of the store does, and follows the
// projection's writes.

#include "projections/customers/customer_index.h"

#include <gtest/gtest.h>

#include <random>

#include "domain/customer.h"
#include "infra/rocks_store.h"
#include "projections/customers/customer_queries.h"
#include "projections/customers/customer_records.h"
#include "projections/projection_set.h"
#include "tests/test_util.h"

namespace keel {
namespace {

Customer RandomCustomer(std::mt19937_64& rng, int i) {
  static const char* kNames[] = {"Ada", "alan", "Barbara", "ada lovelace", "Chen", "Zoe", "ÉMILE"};
  Customer c;
  // (Appended rather than "c" + ...: GCC 12 warns falsely on literal + std::string here.)
  c.id = std::to_string(1000 + i).insert(0, 1, 'c');
  c.name.append(kNames[rng() % 7]).append(" ").append(std::to_string(rng() % 5));
  c.email = std::to_string(i).insert(0, 1, 'c').append("@x.io");
  c.total_spending_cents = static_cast<int64_t>(rng() % 3) * 1000;  // ties on purpose
  c.visits = static_cast<int64_t>(rng() % 4);
  c.is_active = rng() % 4 != 0;
  c.created_at = static_cast<Millis>(rng() % 50);
  c.version = 1;
  c.stats.order_count = static_cast<int64_t>(rng() % 4);
  c.stats.order_cents = c.stats.order_count * static_cast<int64_t>(rng() % 700);
  if (c.stats.order_count) c.stats.last_order_at = static_cast<Millis>(rng() % 20);
  return c;
}

TEST(CustomerIndexTest, AnswersLikeAScanOfTheStore) {
  TempDir dir;
  std::vector<std::string> tables = ProjectionSet::Tables();
  auto store = RocksStore::Open(dir.path(), tables);
  ASSERT_TRUE(store);
  std::mt19937_64 rng(7);
  std::vector<StoreWrite> writes;
  for (int i = 0; i < 300; ++i) {
    Customer c = RandomCustomer(rng, i);
    writes.push_back({kCustomersTable, c.id, CustomerToJson(c)});
  }
  ASSERT_TRUE((*store)->Write(writes));
  CustomerIndex index;
  ASSERT_TRUE(index.Load(**store));
  EXPECT_EQ(index.size(), 300u);

  // Some customers change after the load, as a projection batch would change them.
  std::vector<StoreWrite> later;
  std::vector<Customer> changed;
  for (int i = 0; i < 300; i += 7) {
    Customer c = RandomCustomer(rng, i);
    later.push_back({kCustomersTable, c.id, CustomerToJson(c)});
    changed.push_back(c);
  }
  ASSERT_TRUE((*store)->Write(later));
  index.Apply(changed);

  const CustomerSort sorts[] = {CustomerSort::kCreatedAt, CustomerSort::kTotalSpending,
                                CustomerSort::kName, CustomerSort::kOrderCount, CustomerSort::kVisits,
                                CustomerSort::kLastOrderAt, CustomerSort::kAverageOrderValue};
  int compared = 0;
  for (CustomerSort sort : sorts) {
    for (bool descending : {false, true}) {
      for (int variant = 0; variant < 6; ++variant) {
        CustomerListQuery q;
        q.sort = sort;
        q.descending = descending;
        q.limit = 7;
        q.page = 1 + variant % 3;
        if (variant == 1) q.is_active = true;
        if (variant == 2) q.name_contains = "ADA";
        if (variant == 3) q.min_total_spending_cents = 1000;
        if (variant == 4) {
          q.min_order_count = 1;
          q.last_order_to = 10;
        }
        if (variant == 5) q.max_order_count = 0;
        auto scanned = QueryCustomers(**store, nullptr, q);
        auto indexed = QueryCustomers(**store, &index, q);
        ASSERT_TRUE(scanned && indexed);
        EXPECT_EQ(indexed->total, scanned->total) << static_cast<int>(sort) << "/" << variant;
        EXPECT_EQ(indexed->items, scanned->items) << static_cast<int>(sort) << "/" << variant;
        compared += !scanned->items.empty();
      }
    }
  }
  EXPECT_GT(compared, 60);
}

}  // namespace
}  // namespace keel

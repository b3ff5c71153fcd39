// keel bench-store writes what the projection writes for the orders it claims: every order's
// record and index entries, and figures that count each order once.
#include "api/store_bench.h"

#include <gtest/gtest.h>

#include <set>

#include "api/app.h"
#include "domain/customer.h"
#include "domain/order.h"
#include "infra/rocks_store.h"
#include "projections/customers/customer_records.h"
#include "projections/orders/orders_projector.h"
#include "tests/test_util.h"

namespace keel {
namespace {

TEST(StoreBenchTest, WritesEveryOrderAndItsCustomersFigures) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  auto result = RunStoreBench(
      {.dir = path, .orders = 5001, .customers = 300, .threads = 2, .batch_orders = 700});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_GT(result->seconds, 0);
  EXPECT_GT(result->cpu_seconds, 0);

  auto store = RocksStore::Open(path, ProjectionSet::Tables());
  ASSERT_TRUE(store) << store.error().message;
  std::set<std::string> orders;
  ASSERT_TRUE(
      (*store)->Scan(kOrdersTable, "", "", [&](std::string_view id, std::string_view record) {
        auto order = DecodeOrderRecord(record);
        EXPECT_TRUE(order) << id;
        if (order) {
          EXPECT_EQ(order->id, id);
        }
        orders.emplace(id);
        return true;
      }));
  EXPECT_EQ(orders.size(), 5001u);
  for (auto table : {kOrdersByCustomerTable, kOrdersByDateTable}) {
    size_t indexed = 0;
    ASSERT_TRUE((*store)->Scan(table, "", "", [&](std::string_view key, std::string_view status) {
      EXPECT_TRUE(orders.contains(std::string(key.substr(key.rfind('/') + 1)))) << key;
      EXPECT_EQ(status, "Delivered");
      ++indexed;
      return true;
    }));
    EXPECT_EQ(indexed, 5001u) << table;
  }
  int64_t counted = 0, customers = 0;
  ASSERT_TRUE(
      (*store)->Scan(kCustomerFiguresTable, "", "", [&](std::string_view, std::string_view v) {
        Customer c;
        EXPECT_TRUE(DecodeCustomerFigures(v, c));
        counted += c.stats.order_count;
        ++customers;
        return true;
      }));
  EXPECT_EQ(counted, 5001);
  EXPECT_LE(customers, 300);
}

}  // namespace
}  // namespace keel

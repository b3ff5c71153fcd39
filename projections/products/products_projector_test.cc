// ProductsProjector: each product's document follows its events; lists filter, search and page.
#include "projections/products/products_projector.h"

#include <gtest/gtest.h>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class ProductsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(std::string_view type, const std::string& id, int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e =
        MakeTestEvent(type, kProductAggregate, id, version, std::move(payload), kNow + version);
    e.actor = "u1";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  void Create(const std::string& id, const std::string& name, const std::string& sku) {
    ASSERT_TRUE(Fold(kProductCreated, id, 1, EncodeProductCreated({name, sku, 1000, 700, true})));
  }
  std::vector<std::string> Ids(const ProductListQuery& q, int64_t* total = nullptr) {
    auto page = QueryProducts(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& p : page->items) ids.push_back(p.id);
    if (total) *total = page->total;
    return ids;
  }

  ProductsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(ProductsProjectorTest, EventsAreFoldedAndServed) {
  Create("p1", "Widget", "W-1");
  ASSERT_TRUE(Fold(kProductUpdated, "p1", 2, R"({"name":"Gadget","taxRate":19.50})"));
  ASSERT_TRUE(Fold(kProductDeactivated, "p1", 3, "{}"));
  auto p = QueryProduct(store_, "p1");
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->name, "Gadget");
  EXPECT_EQ((*p)->sku, "W-1");
  EXPECT_EQ((*p)->price_cents, 1000);
  EXPECT_EQ((*p)->tax_rate_bp, 1950);
  EXPECT_FALSE((*p)->is_active);
  EXPECT_EQ((*p)->version, 3);
  EXPECT_EQ((*p)->created_by, "u1");
  EXPECT_EQ((*p)->updated_at, kNow + 3);
  EXPECT_FALSE(*QueryProduct(store_, "p2"));
  // A version that does not follow is refused whole (dead-lettered by the runner).
  auto gap = Fold(kProductUpdated, "p1", 5, R"({"name":"Late"})");
  ASSERT_FALSE(gap);
  EXPECT_EQ(gap.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ((*QueryProduct(store_, "p1"))->name, "Gadget");
  // Events of other aggregates are not the projector's.
  std::vector<StoreWrite> writes;
  auto other = MakeTestEvent("ProjectCreated", "project", "x", 1, "{}", kNow);
  EXPECT_TRUE(projector_.Apply(other, {0, 9, ""}, view_, writes));
  EXPECT_TRUE(writes.empty());
}

TEST_F(ProductsProjectorTest, ListsSearchFilterAndPageNewestFirst) {
  Create("p1", "Blue Widget", "BW-100");
  Create("p2", "Red Gadget", "RG-200");
  Create("p3", "Green widget", "GW-300");
  Create("p4", "Toolbox", "TB-widget-9");
  ASSERT_TRUE(Fold(kProductDeactivated, "p3", 2, "{}"));
  int64_t total = 0;
  EXPECT_EQ(Ids({}, &total), (std::vector<std::string>{"p4", "p3", "p2", "p1"}));
  EXPECT_EQ(total, 4);
  // Over name and sku, ignoring case.
  EXPECT_EQ(Ids({.search = "WIDGET"}), (std::vector<std::string>{"p4", "p3", "p1"}));
  EXPECT_EQ(Ids({.search = "rg-2"}), (std::vector<std::string>{"p2"}));
  EXPECT_EQ(Ids({.search = "nothing"}, &total), (std::vector<std::string>{}));
  EXPECT_EQ(total, 0);
  EXPECT_EQ(Ids({.is_active = false}), (std::vector<std::string>{"p3"}));
  EXPECT_EQ(Ids({.is_active = true, .search = "widget"}), (std::vector<std::string>{"p4", "p1"}));
  EXPECT_EQ(Ids({.page = 2, .limit = 3}, &total), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(total, 4);
  EXPECT_EQ(Ids({.page = 2, .limit = 2, .search = "w"}, &total), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(total, 3);
}

}  // namespace
}  // namespace keel

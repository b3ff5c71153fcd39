// Orders whose items name products (issue 16) end to end: the real server on port 0, the
// embedded log and RocksDB. Prices and tax rates are taken from the products at order time and
// recorded in the order; a later change of a product never changes an order.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "commands/order_commands.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class OrderItemsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    customer_ = Created("POST", "/api/v1/customers", R"({"name":"Ann","email":"ann@x.io"})");
    // 10.00 at 7.5%, and 0.99 at 19.25%.
    widget_ = Created("POST", "/api/v1/products",
                      R"({"name":"Widget","sku":"W-1","price":10,"taxRate":7.5})");
    pen_ = Created("POST", "/api/v1/products",
                   R"({"name":"Pen","sku":"P-1","price":0.99,"taxRate":19.25})");
  }
  // The id of what a command created; its position is remembered.
  std::string Created(const std::string& method, const std::string& path, const std::string& body) {
    auto r = Send(method, path, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  HttpResult Send(const std::string& method, const std::string& path, const std::string& body) {
    auto r = client_.Send(method, path, body);
    if (r.status < 300 && r.headers.contains("x-keel-position")) {
      PositionsOf(path).Remember(r.headers["x-keel-position"]);
    }
    return r;
  }
  // Products are their own stream, with positions of their own.
  Positions& PositionsOf(const std::string& path) {
    return path.starts_with("/api/v1/products") ? product_positions_ : positions_;
  }
  HttpResult PostOrder(const std::string& items, const std::string& extra = "") {
    return Send("POST", "/api/v1/orders",
                R"({"customerId":")" + customer_ + R"(","items":)" + items + extra + "}");
  }
  // Reads after every command so far.
  HttpResult Get(const std::string& path) {
    return client_.Send("GET", AtPosition(path, PositionsOf(path).Joined()));
  }
  int64_t LogSize() { return keel::LogSize(app_.app()); }
  // The items of the widget order every test places: 3 widgets, 1 pen, 2 apples by sku.
  std::string Items() {
    return R"([{"productId":")" + widget_ + R"(","quantity":3},{"productId":")" + pen_ +
           R"(","qty":1},{"sku":"A","name":"Apple","qty":2,"price":0.5}])";
  }
  // 3 × 10.00 + 2.25 tax; 0.99 + 0.19 tax (0.190575, rounded half up); 2 × 0.50, no tax.
  static constexpr double kAmount = 30 + 2.25 + 0.99 + 0.19 + 1;

  // What every test checks of the widget order as it is served.
  static void ExpectRecordedItems(const Json& order, const std::string& widget,
                                  const std::string& pen) {
    EXPECT_DOUBLE_EQ(order.Num("/data/orderAmount"), kAmount);
    ASSERT_EQ(order.Size("/data/items"), 3u);
    EXPECT_EQ(order.Str("/data/items/0/productId"), widget);
    EXPECT_EQ(order.Str("/data/items/0/sku"), "W-1");
    EXPECT_EQ(order.Str("/data/items/0/name"), "Widget");
    EXPECT_EQ(order.Int("/data/items/0/qty"), 3);
    EXPECT_DOUBLE_EQ(order.Num("/data/items/0/price"), 10);
    EXPECT_DOUBLE_EQ(order.Num("/data/items/0/taxRate"), 7.5);
    EXPECT_EQ(order.Str("/data/items/1/productId"), pen);
    EXPECT_DOUBLE_EQ(order.Num("/data/items/1/price"), 0.99);
    EXPECT_DOUBLE_EQ(order.Num("/data/items/1/taxRate"), 19.25);
    // An item by sku is served as before: no product, no rate.
    EXPECT_EQ(order.Str("/data/items/2/sku"), "A");
    EXPECT_FALSE(order.At("/data/items/2/productId"));
    EXPECT_FALSE(order.At("/data/items/2/taxRate"));
  }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  Positions positions_;  // of the customers stream: customers and orders
  Positions product_positions_;
  std::string customer_, widget_, pen_;
};

TEST_F(OrderItemsApiTest, ItemsByProductArePricedWithTheirTaxAndServedWithProductAndRate) {
  auto placed = PostOrder(Items());
  ASSERT_EQ(placed.status, 201) << placed.body;
  ExpectRecordedItems(Json(placed.body), widget_, pen_);
  const std::string id = Json(placed.body).Str("/data/id");

  auto got = Get("/api/v1/orders/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  ExpectRecordedItems(Json(got.body), widget_, pen_);
  for (const std::string& list :
       {"/api/v1/orders?customerId=" + customer_, "/api/v1/customers/" + customer_ + "/orders"}) {
    Json listed(Get(list).body);
    ASSERT_EQ(listed.Size("/data"), 1u) << list;
    EXPECT_EQ(listed.Str("/data/0/items/0/productId"), widget_) << list;
    EXPECT_DOUBLE_EQ(listed.Num("/data/0/items/1/taxRate"), 19.25) << list;
    EXPECT_FALSE(listed.At("/data/0/items/2/productId")) << list;
  }
  EXPECT_DOUBLE_EQ(Json(Get("/api/v1/customers/" + customer_).body).Num("/data/totalSpending"),
                   kAmount);

  // An amount given must be the items' sum with their tax.
  auto net = PostOrder(Items(), R"(,"orderAmount":32.99)");
  ASSERT_EQ(net.status, 400) << net.body;
  EXPECT_EQ(Json(net.body).Str("/errors/0/field"), "orderAmount");
  EXPECT_NE(net.body.find("34.43"), std::string::npos) << net.body;
  auto exact = PostOrder(Items(), R"(,"orderAmount":34.43)");
  EXPECT_EQ(exact.status, 201) << exact.body;
}

TEST_F(OrderItemsApiTest, UnknownAndInactiveProductsAreFieldErrorsAndAppendNothing) {
  ASSERT_EQ(Send("DELETE", "/api/v1/products/" + pen_, "").status, 200);
  const int64_t before = LogSize();
  auto r = PostOrder(R"([{"productId":"no-such-product","quantity":1},{"productId":")" + widget_ +
                     R"(","quantity":1},{"productId":")" + pen_ + R"(","quantity":2}])");
  ASSERT_EQ(r.status, 400) << r.body;
  Json e(r.body);
  EXPECT_EQ(e.Str("/message"), "Validation failed");
  ASSERT_EQ(e.Size("/errors"), 2u);
  EXPECT_EQ(e.Str("/errors/0/field"), "items[0].productId");
  EXPECT_EQ(e.Str("/errors/0/message"), "No product with id no-such-product");
  EXPECT_EQ(e.Str("/errors/1/field"), "items[2].productId");
  EXPECT_EQ(e.Str("/errors/1/message"), "Product " + pen_ + " is inactive and cannot be ordered");
  // A product's fields are not the client's to give.
  auto priced = PostOrder(R"([{"productId":")" + widget_ + R"(","quantity":1,"price":0.01}])");
  ASSERT_EQ(priced.status, 400) << priced.body;
  EXPECT_EQ(Json(priced.body).Str("/errors/0/field"), "items[0].price");
  auto no_quantity = PostOrder(R"([{"productId":")" + widget_ + R"("}])");
  ASSERT_EQ(no_quantity.status, 400) << no_quantity.body;
  EXPECT_EQ(Json(no_quantity.body).Str("/errors/0/field"), "items[0].quantity");
  EXPECT_EQ(LogSize(), before);
  EXPECT_EQ(Json(Get("/api/v1/orders").body).Int("/meta/total"), 0);
}

TEST_F(OrderItemsApiTest, APriceChangeNeverRewritesAnOrderNorDoesARestart) {
  auto placed = PostOrder(Items());
  ASSERT_EQ(placed.status, 201) << placed.body;
  const std::string id = Json(placed.body).Str("/data/id");
  auto repriced = Send("PUT", "/api/v1/products/" + widget_,
                       R"({"name":"Widget Pro","sku":"W-2","price":99,"taxRate":25})");
  ASSERT_EQ(repriced.status, 200) << repriced.body;
  ASSERT_DOUBLE_EQ(Json(Get("/api/v1/products/" + widget_).body).Num("/data/price"), 99);

  auto got = Get("/api/v1/orders/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  ExpectRecordedItems(Json(got.body), widget_, pen_);
  EXPECT_DOUBLE_EQ(Json(Get("/api/v1/customers/" + customer_).body).Num("/data/totalSpending"),
                   kAmount);
  // A new order takes the new price: 99 + 24.75.
  auto later = PostOrder(R"([{"productId":")" + widget_ + R"(","quantity":1}])");
  ASSERT_EQ(later.status, 201) << later.body;
  EXPECT_DOUBLE_EQ(Json(later.body).Num("/data/orderAmount"), 123.75);
  EXPECT_EQ(Json(later.body).Str("/data/items/0/name"), "Widget Pro");
  const std::string before_restart = got.body;

  app_.Restart();
  HttpClient c(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(c).status, 200);
  auto after = c.Send("GET", "/api/v1/orders/" + id);
  ASSERT_EQ(after.status, 200) << after.body;
  ExpectRecordedItems(Json(after.body), widget_, pen_);
  EXPECT_EQ(Json(after.body).Int("/data/version"), 1);
  // The write side priced from the products it folded again: the new price, and the
  // deactivated pen refused.
  ASSERT_EQ(c.Send("DELETE", "/api/v1/products/" + pen_).status, 200);
  auto again = c.Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + customer_ + R"(","items":[{"productId":")" + widget_ +
                          R"(","quantity":2},{"productId":")" + pen_ + R"(","quantity":1}]})");
  ASSERT_EQ(again.status, 400) << again.body;
  EXPECT_EQ(Json(again.body).Str("/errors/0/field"), "items[1].productId");
  auto widget_only = c.Send("POST", "/api/v1/orders",
                            R"({"customerId":")" + customer_ + R"(","items":[{"productId":")" +
                                widget_ + R"(","quantity":2}]})");
  ASSERT_EQ(widget_only.status, 201) << widget_only.body;
  EXPECT_DOUBLE_EQ(Json(widget_only.body).Num("/data/orderAmount"), 247.5);
}

TEST_F(OrderItemsApiTest, BulkIngestionTakesItemsByProductThroughTheSameRules) {
  const std::string body =
      R"({"customerEmail":"ann@x.io","orderId":"bulk-1","items":)" + Items() + "}\n" +
      R"({"customerEmail":"ann@x.io","orderId":"bulk-2","items":[{"productId":"nope","quantity":1}]})" +
      "\n" + R"({"customerEmail":"ann@x.io","orderId":"bulk-3","orderAmount":1,"items":)" +
      Items() + "}\n";
  auto r = client_.Send("POST", "/api/v1/ingest/orders", body,
                        {"Content-Type: application/x-ndjson"}, 60000);
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.Int("/data/created"), 1);
  EXPECT_EQ(j.Int("/data/rejected"), 2);
  EXPECT_EQ(j.Int("/data/errors/0/index"), 1);
  EXPECT_EQ(j.Str("/data/errors/0/errors/0/field"), "items[0].productId");
  EXPECT_EQ(j.Int("/data/errors/1/index"), 2);
  EXPECT_EQ(j.Str("/data/errors/1/errors/0/field"), "orderAmount");

  // Ingestion answers with counts: the order is read once the projection has it.
  const std::string path = "/api/v1/orders/" + OrderIdForExternalId("bulk-1");
  HttpResult got = client_.Send("GET", path);
  for (int i = 0; i < 500 && got.status == 404; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    got = client_.Send("GET", path);
  }
  ASSERT_EQ(got.status, 200) << got.body;
  ExpectRecordedItems(Json(got.body), widget_, pen_);
}

}  // namespace
}  // namespace keel

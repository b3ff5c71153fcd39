// The product catalogue end to end over HTTP: the real server on port 0, the embedded log and
// RocksDB.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "domain/topics.h"
#include "tests/work_fixture.h"

namespace keel {
namespace {

class ProductApiTest : public ::testing::Test {
 protected:
  // A product as the admin creates it; its id. Its position is remembered in positions_.
  std::string Make(const std::string& name, const std::string& sku, const std::string& price = "10",
                   const std::string& extra = "") {
    auto r = admin_.Send(
        "POST", "/api/v1/products",
        R"({"name":")" + name + R"(","sku":")" + sku + R"(","price":)" + price + extra + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    positions_.Remember(r.headers["x-keel-position"]);
    return Json(r.body).Str("/data/id");
  }
  HttpResult Put(const std::string& id, const std::string& body,
                 std::vector<std::string> headers = {}) {
    auto r = admin_.Send("PUT", "/api/v1/products/" + id, body, headers);
    positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  HttpResult Delete(const std::string& id, std::vector<std::string> headers = {}) {
    auto r = admin_.Send("DELETE", "/api/v1/products/" + id, "", headers);
    positions_.Remember(r.headers["x-keel-position"]);
    return r;
  }
  // The list at `query`, once every command this test made is folded.
  HttpResult List(const std::string& query = "") {
    return admin_.Send("GET", AtPosition("/api/v1/products" + query, positions_.Joined()));
  }
  std::vector<std::string> Ids(const HttpResult& r) {
    Json j(r.body);
    std::vector<std::string> out;
    for (size_t i = 0; i < j.Size("/data"); ++i) {
      out.push_back(j.Str(Numbered("/data/", static_cast<int64_t>(i), "/id")));
    }
    return out;
  }
  int64_t Logged() { return LogSize(app_.app(), std::string(kProductsTopic)); }
  std::string MakeUser(const std::string& email, const std::string& role) {
    auto r = admin_.Send("POST", "/api/v1/users",
                         R"({"name":"U","email":")" + email +
                             R"(","password":"password-123","role":")" + role + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    return LoginToken(app_.base(), email, "password-123");
  }

  TestApp app_;
  HttpClient admin_{app_.base(), app_.token()};
  Positions positions_;
};

TEST_F(ProductApiTest, CreateGetAndAKeyedRetryAppendsNothing) {
  const std::string body = R"({"name":"  Widget ","sku":" W-1 ","price":12.5,"taxRate":19.25})";
  auto created = admin_.Send("POST", "/api/v1/products", body, {"Idempotency-Key: prod-1"});
  ASSERT_EQ(created.status, 201) << created.body;
  Json c(created.body);
  const std::string id = c.Str("/data/id");
  EXPECT_EQ(c.Str("/message"), "Product created");
  EXPECT_EQ(c.Str("/data/name"), "Widget");
  EXPECT_EQ(c.Str("/data/sku"), "W-1");
  EXPECT_NE(created.body.find(R"("price":12.50,"taxRate":19.25,"isActive":true)"),
            std::string::npos)
      << created.body;
  EXPECT_EQ(c.Int("/data/version"), 1);
  EXPECT_EQ(c.Str("/meta/position/topic"), "keel.products");
  EXPECT_EQ(created.headers["etag"], "\"1\"");
  EXPECT_EQ(Logged(), 1);

  // The same key: the first answer, nothing appended; without the key, the sku is taken.
  auto again = admin_.Send("POST", "/api/v1/products", body, {"Idempotency-Key: prod-1"});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json(again.body).Str("/data/id"), id);
  EXPECT_EQ(Logged(), 1);

  auto read =
      admin_.Send("GET", AtPosition("/api/v1/products/" + id, created.headers["x-keel-position"]));
  ASSERT_EQ(read.status, 200) << read.body;
  Json r(read.body);
  EXPECT_EQ(r.Str("/data/name"), "Widget");
  EXPECT_EQ(r.Num("/data/price"), 12.5);
  EXPECT_EQ(r.Num("/data/taxRate"), 19.25);
  EXPECT_TRUE(r.Bool("/data/isActive"));
  EXPECT_EQ(read.headers["etag"], "\"1\"");
  auto missing = admin_.Send("GET", "/api/v1/products/nope");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(Json(missing.body).Str("/message"), "Product nope not found");
}

TEST_F(ProductApiTest, BadInputIsRefusedByFieldAndChangesNothing) {
  const std::string id = Make("Widget", "W-1");
  auto bad = admin_.Send(
      "POST", "/api/v1/products",
      R"({"name":"","sku":5,"price":-1,"taxRate":100.01,"isActive":"yes","colour":"red"})");
  ASSERT_EQ(bad.status, 400) << bad.body;
  Json b(bad.body);
  EXPECT_FALSE(b.Bool("/success"));
  EXPECT_EQ(b.Str("/message"), "Validation failed");
  EXPECT_EQ(ErrorFields(bad.body),
            (std::vector<std::string>{"name", "sku", "price", "taxRate", "isActive", "colour"}));
  EXPECT_EQ(b.Str("/errors/2/message"), "Must be between 0 and 1000000000000");
  EXPECT_EQ(b.Str("/errors/3/message"), "Must be between 0 and 100");
  EXPECT_EQ(b.Str("/errors/5/message"), "Unknown field");
  auto absent = admin_.Send("POST", "/api/v1/products", R"({"price":1.001})");
  EXPECT_EQ(ErrorFields(absent.body), (std::vector<std::string>{"price", "name", "sku"}));
  EXPECT_EQ(Json(absent.body).Str("/errors/0/message"), "Must have at most two decimal places");
  EXPECT_EQ(admin_.Send("POST", "/api/v1/products", "{nope").status, 400);
  // A replace is a whole product: the same rules.
  auto put = Put(id, R"({"name":"Widget","price":3})");
  ASSERT_EQ(put.status, 400) << put.body;
  EXPECT_EQ(ErrorFields(put.body), (std::vector<std::string>{"sku"}));
  auto bad_match = Put(id, R"({"name":"W","sku":"W-1","price":3})", {"If-Match: soon"});
  EXPECT_EQ(bad_match.status, 400) << bad_match.body;
  EXPECT_EQ(Logged(), 1);
  auto read = admin_.Send("GET", AtPosition("/api/v1/products/" + id, positions_.Joined()));
  EXPECT_EQ(Json(read.body).Int("/data/version"), 1);
  EXPECT_EQ(Json(List().body).Int("/meta/total"), 1);
}

TEST_F(ProductApiTest, ATakenSkuIsAConflictInTheErrorEnvelopeInAnyCase) {
  const std::string first = Make("Widget", "W-1");
  const std::string second = Make("Gadget", "G-1");
  auto taken = admin_.Send("POST", "/api/v1/products", R"({"name":"Copy","sku":"w-1","price":1})");
  ASSERT_EQ(taken.status, 409) << taken.body;
  Json t(taken.body);
  EXPECT_FALSE(t.Bool("/success"));
  EXPECT_EQ(t.Str("/message"), "A product with sku w-1 already exists");
  EXPECT_EQ(t.Str("/error/code"), "ALREADY_EXISTS");
  auto moved = Put(second, R"({"name":"Gadget","sku":"W-1","price":10})");
  ASSERT_EQ(moved.status, 409) << moved.body;
  EXPECT_EQ(Json(moved.body).Str("/error/code"), "ALREADY_EXISTS");
  EXPECT_EQ(Logged(), 2);
  // Once the first moves to another sku, its old one is free.
  ASSERT_EQ(Put(first, R"({"name":"Widget","sku":"W-2","price":10})").status, 200);
  ASSERT_EQ(Put(second, R"({"name":"Gadget","sku":"W-1","price":10})").status, 200);
  EXPECT_EQ(Json(List("?search=w-1").body).Str("/data/0/id"), second);
}

// The write model decides every product command under one lock: of racing creates with one sku
// (in any case), exactly one is appended, whichever partitions their ids fall on.
TEST_F(ProductApiTest, ConcurrentCreatesOfOneSkuHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  std::atomic<int> created{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(app_.base(), app_.token());
      const std::string sku = t % 2 == 0 ? "RACE-1" : "race-1";
      auto r = c.Send(
          "POST", "/api/v1/products",
          R"({"name":"Racer )" + std::to_string(t) + R"(","sku":")" + sku + R"(","price":1})");
      if (r.status == 201) ++created;
      if (r.status == 409) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(Logged(), 1);
  // And a create racing replaces that move other products onto its sku.
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Make(Numbered("Mover ", i), Numbered("MOVER-", i)));
  std::atomic<int> won{0};
  threads.clear();
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(app_.base(), app_.token());
      HttpResult r =
          t < 4 ? c.Send("PUT", "/api/v1/products/" + ids[static_cast<size_t>(t)],
                         Numbered(R"({"name":"Mover )", t, R"(","sku":"TARGET","price":1})"))
                : c.Send("POST", "/api/v1/products", R"({"name":"New","sku":"target","price":1})");
      if (r.status == 200 || r.status == 201) ++won;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(Logged(), 1 + 4 + 1);
}

TEST_F(ProductApiTest, ReplaceHonoursIfMatchAndDeleteDeactivates) {
  const std::string id = Make("Widget", "W-1", "10", R"(,"taxRate":7)");
  auto replaced = Put(id, R"({"name":"Widget XL","sku":"W-1","price":12.99})", {"If-Match: \"1\""});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  Json r(replaced.body);
  EXPECT_EQ(r.Str("/message"), "Product updated");
  EXPECT_EQ(r.Str("/data/name"), "Widget XL");
  EXPECT_EQ(r.Num("/data/price"), 12.99);
  EXPECT_EQ(r.Num("/data/taxRate"), 0);  // a replace: absent optional fields take their default
  EXPECT_EQ(r.Int("/data/version"), 2);
  EXPECT_EQ(replaced.headers["etag"], "\"2\"");
  auto stale = Put(id, R"({"name":"Late","sku":"W-1","price":1})", {"If-Match: \"1\""});
  ASSERT_EQ(stale.status, 409) << stale.body;
  EXPECT_EQ(Json(stale.body).Str("/error/code"), "CONFLICT");
  EXPECT_EQ(Json(stale.body).Str("/message"),
            "Product " + id + " is at version 2, not 1; re-read it and retry");
  auto same = Put(id, R"({"name":"Widget XL","sku":"W-1","price":12.99})");
  ASSERT_EQ(same.status, 200);
  EXPECT_EQ(Json(same.body).Str("/message"), "Product unchanged");
  EXPECT_EQ(same.headers["x-keel-position"], "");  // nothing appended
  EXPECT_EQ(Json(same.body).At("/meta/position"), std::nullopt);
  EXPECT_EQ(Logged(), 2);

  EXPECT_EQ(Delete(id, {"If-Match: \"1\""}).status, 409);
  auto deleted = Delete(id, {"If-Match: \"2\""});
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_EQ(Json(deleted.body).Str("/message"), "Product deactivated");
  EXPECT_FALSE(Json(deleted.body).Bool("/data/isActive"));
  EXPECT_EQ(Json(deleted.body).Int("/data/version"), 3);
  auto again = Delete(id);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Json(again.body).Str("/message"), "Product already inactive");
  EXPECT_EQ(Logged(), 3);
  // Deactivated, not gone: still served, and its sku still its own.
  auto read = admin_.Send("GET", AtPosition("/api/v1/products/" + id, positions_.Joined()));
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_FALSE(Json(read.body).Bool("/data/isActive"));
  EXPECT_EQ(Json(read.body).Int("/data/version"), 3);
  EXPECT_EQ(admin_.Send("POST", "/api/v1/products", R"({"name":"X","sku":"W-1","price":1})").status,
            409);
  auto back = Put(id, R"({"name":"Widget XL","sku":"W-1","price":12.99,"isActive":true})");
  ASSERT_EQ(back.status, 200) << back.body;
  EXPECT_TRUE(Json(back.body).Bool("/data/isActive"));

  EXPECT_EQ(Delete("nope").status, 404);
  EXPECT_EQ(Put("nope", R"({"name":"X","sku":"X","price":1})").status, 404);
}

TEST_F(ProductApiTest, ListsSearchNameAndSkuFilterAndPage) {
  const std::string blue = Make("Blue Widget", "BW-100");
  const std::string red = Make("Red Gadget", "RG-200");
  const std::string green = Make("Green widget", "GW-300");
  const std::string box = Make("Toolbox", "TB-WIDGET-9");
  ASSERT_EQ(Delete(green).status, 200);
  auto all = List();
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(Ids(all), (std::vector<std::string>{box, green, red, blue}));  // newest first
  Json a(all.body);
  EXPECT_EQ(a.Int("/meta/total"), 4);
  EXPECT_EQ(a.Int("/meta/page"), 1);
  EXPECT_EQ(a.Int("/meta/limit"), 20);
  EXPECT_EQ(a.Int("/meta/pages"), 1);
  EXPECT_EQ(Ids(List("?search=wIdGeT")), (std::vector<std::string>{box, green, blue}));
  EXPECT_EQ(Ids(List("?search=rg-2")), (std::vector<std::string>{red}));
  EXPECT_EQ(Ids(List("?isActive=false")), (std::vector<std::string>{green}));
  EXPECT_EQ(Ids(List("?isActive=true&search=widget")), (std::vector<std::string>{box, blue}));
  auto paged = List("?limit=3&page=2");
  EXPECT_EQ(Ids(paged), (std::vector<std::string>{blue}));
  EXPECT_EQ(Json(paged.body).Int("/meta/total"), 4);
  EXPECT_EQ(Json(paged.body).Int("/meta/pages"), 2);
  auto none = List("?search=nothing-like-it");
  EXPECT_EQ(Json(none.body).Int("/meta/total"), 0);
  EXPECT_EQ(Json(none.body).Size("/data"), 0u);
  auto bad = admin_.Send("GET", "/api/v1/products?limit=0&isActive=maybe");
  ASSERT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(ErrorFields(bad.body), (std::vector<std::string>{"limit", "isActive"}));
}

TEST_F(ProductApiTest, EveryRoleReadsAndOnlyAdminsAndManagersWrite) {
  const std::string id = Make("Widget", "W-1");
  HttpClient rep(app_.base(), MakeUser("rep@keel.test", "sales_rep"));
  HttpClient manager(app_.base(), MakeUser("max@keel.test", "manager"));
  EXPECT_EQ(rep.Send("GET", AtPosition("/api/v1/products/" + id, positions_.Joined())).status, 200);
  EXPECT_EQ(rep.Send("GET", "/api/v1/products").status, 200);
  EXPECT_EQ(rep.Send("POST", "/api/v1/products", R"({"name":"X","sku":"X","price":1})").status,
            403);
  EXPECT_EQ(
      rep.Send("PUT", "/api/v1/products/" + id, R"({"name":"X","sku":"W-1","price":1})").status,
      403);
  EXPECT_EQ(rep.Send("DELETE", "/api/v1/products/" + id).status, 403);
  auto by_manager =
      manager.Send("POST", "/api/v1/products", R"({"name":"Managed","sku":"M-1","price":1})");
  EXPECT_EQ(by_manager.status, 201) << by_manager.body;
  EXPECT_EQ(HttpClient(app_.base()).Send("GET", "/api/v1/products").status, 401);
  EXPECT_EQ(Logged(), 2);
}

TEST_F(ProductApiTest, ProductsAndTheirSkusOutliveARestart) {
  const std::string kept = Make("Widget", "W-1", "19.99");
  const std::string off = Make("Gadget", "G-1");
  ASSERT_EQ(Put(kept, R"({"name":"Widget v2","sku":"W-1","price":24.5,"taxRate":21})").status, 200);
  ASSERT_EQ(Delete(off).status, 200);
  auto keyed = admin_.Send("POST", "/api/v1/products", R"({"name":"Keyed","sku":"K-1","price":1})",
                           {"Idempotency-Key: before-restart"});
  ASSERT_EQ(keyed.status, 201) << keyed.body;
  positions_.Remember(keyed.headers["x-keel-position"]);
  ASSERT_EQ(Json(List().body).Int("/meta/total"), 3);

  app_.Restart();
  HttpClient admin(app_.base(), app_.token());
  ASSERT_EQ(AwaitReady(admin).status, 200);
  auto read = admin.Send("GET", "/api/v1/products/" + kept);
  ASSERT_EQ(read.status, 200) << read.body;
  Json r(read.body);
  EXPECT_EQ(r.Str("/data/name"), "Widget v2");
  EXPECT_EQ(r.Num("/data/price"), 24.5);
  EXPECT_EQ(r.Num("/data/taxRate"), 21);
  EXPECT_EQ(r.Int("/data/version"), 2);
  EXPECT_FALSE(Json(admin.Send("GET", "/api/v1/products/" + off).body).Bool("/data/isActive"));
  EXPECT_EQ(Json(admin.Send("GET", "/api/v1/products").body).Int("/meta/total"), 3);
  // The write side folded the log again: skus are still taken, versions still checked, keys
  // still answered.
  auto taken = admin.Send("POST", "/api/v1/products", R"({"name":"X","sku":"g-1","price":1})");
  EXPECT_EQ(taken.status, 409) << taken.body;
  auto stale = admin.Send("PUT", "/api/v1/products/" + kept,
                          R"({"name":"X","sku":"W-1","price":1})", {"If-Match: \"1\""});
  EXPECT_EQ(stale.status, 409) << stale.body;
  auto replay = admin.Send("POST", "/api/v1/products", R"({"name":"Keyed","sku":"K-1","price":1})",
                           {"Idempotency-Key: before-restart"});
  ASSERT_EQ(replay.status, 201) << replay.body;
  EXPECT_EQ(Json(replay.body).Str("/data/id"), Json(keyed.body).Str("/data/id"));
  EXPECT_EQ(Logged(), 5);
}

}  // namespace
}  // namespace keel

// `keel replay` rebuilds read models equal to the live ones, byte for byte.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "api/app.h"
#include "api/read_model.h"
#include "infra/rocks_store.h"
#include "tests/test_app.h"

namespace keel {
namespace {

using Snapshot = std::map<std::string, std::map<std::string, std::string>>;

Snapshot Dump(const std::string& path) {
  auto store = RocksStore::Open(path, ProjectionSet::Tables());
  EXPECT_TRUE(store) << store.error().message;
  Snapshot out;
  for (const auto& table : ProjectionSet::Tables()) {
    auto& rows = out[table];
    EXPECT_TRUE((*store)->Scan(table, "", "", [&](std::string_view k, std::string_view v) {
      rows.emplace(k, v);
      return true;
    }));
  }
  return out;
}

TEST(ReplayTest, RebuiltReadModelsEqualTheLiveOnes) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  {
    TestApp app(config);
    HttpClient c(app.base(), app.token());
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) {
      auto r = c.Send("POST", "/api/v1/customers",
                      R"({"name":"R )" + std::to_string(i) + R"(","email":"r)" +
                          std::to_string(i) + R"(@x.io","totalSpending":)" + std::to_string(i) +
                          ".25}");
      ASSERT_EQ(r.status, 201);
      ids.push_back(Json(r.body).Str("/data/id"));
    }
    for (int i = 0; i < 200; i += 3) {
      ASSERT_EQ(c.Send("PATCH", "/api/v1/customers/" + ids[i], R"({"visits":)" + std::to_string(i) + "}").status, 200);
    }
    for (int i = 0; i < 200; i += 7) {
      ASSERT_EQ(c.Send("DELETE", "/api/v1/customers/" + ids[i]).status, 200);
    }
    for (int i = 1; i < 200; i += 11) {
      ASSERT_EQ(c.Send("PATCH", "/api/v1/customers/" + ids[i],
                       R"({"email":"moved)" + std::to_string(i) + R"(@x.io"})").status, 200);
    }
    // Orders: placed, some shipped, some cancelled, some re-sent by external id.
    std::vector<std::string> orders;
    for (int i = 0; i < 200; i += 2) {
      if (i % 7 == 0) continue;  // deactivated customers cannot order
      auto r = c.Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + ids[i] + R"(","orderAmount":)" + std::to_string(i + 1) +
                          R"(.5,"orderId":"ext-)" + std::to_string(i) + R"("})");
      ASSERT_EQ(r.status, 201) << r.body;
      orders.push_back(Json(r.body).Str("/data/id"));
      ASSERT_EQ(c.Send("POST", "/api/v1/customers/" + ids[i] + "/visits").status, 200);
    }
    for (size_t i = 0; i < orders.size(); i += 3) {
      ASSERT_EQ(c.Send("PATCH", "/api/v1/orders/" + orders[i] + "/status",
                       i % 2 ? R"({"status":"Cancelled"})" : R"({"status":"Shipped"})").status, 200);
    }
    ASSERT_EQ(c.Send("POST", "/api/v1/orders", R"({"customerId":")" + ids[2] +
                                                 R"(","orderAmount":3.5,"orderId":"ext-2"})").status, 200);
    // A dead letter too: replay must reproduce it at the same position.
    ASSERT_TRUE(app.app().log().Append("keel.customers", "junk", {"not json"}));
  }

  // Let the live projection reach the end of the log, then stop it.
  {
    TestApp app(config);
    for (int i = 0; i < 200 && !app.app().customer_projection().caught_up(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(app.app().customer_projection().caught_up());
  }
  const std::string live_dir = ActiveReadModelDir(dir.path());
  const Snapshot live = Dump(dir.path() + "/" + live_dir);
  ASSERT_EQ(live.at("customers").size(), 200u);
  ASSERT_EQ(live.at("orders").size(), 85u);
  ASSERT_EQ(live.at("dead_letters").size(), 1u);

  int64_t last_done = 0, last_total = 0;
  auto st = Replay(config, [&](int64_t done, int64_t total, double) {
    last_done = done;
    last_total = total;
  });
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_EQ(last_done, last_total);
  // 200 registrations, 66 visit changes (customer 0's visits:0 changes nothing and appends
  // nothing), 29 deactivations, 19 email moves, 85 orders and 85 visits, 29 status changes,
  // 1 dead letter; and on the users stream, the first admin and the test's session.
  EXPECT_EQ(last_total, 200 + 66 + 29 + 19 + 85 + 85 + 29 + 1 + 2);
  const std::string rebuilt_dir = ActiveReadModelDir(dir.path());
  EXPECT_NE(rebuilt_dir, live_dir);
  const Snapshot rebuilt = Dump(dir.path() + "/" + rebuilt_dir);
  for (const auto& [table, rows] : live) {
    EXPECT_EQ(rebuilt.at(table), rows) << "table " << table << " differs after replay";
  }
  // Only the new generation is left, and a server starts on it.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/" + live_dir));
  TestApp after(config);
  HttpClient c(after.base(), after.token());
  EXPECT_EQ(Json(c.Send("GET", "/api/v1/customers?limit=1").body).Int("/meta/total"), 200);
}

TEST(ReplayTest, RefusesToRunBesideAServer) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  TestApp app(config);
  auto st = Replay(config, nullptr);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace keel

// kill -9 at random moments while a real `keel serve` projects: the read models must end up
// with exactly the effects of the acknowledged events, none lost, none doubled.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "api/app.h"
#include "api/read_model.h"
#include "infra/rocks_store.h"
#include "projections/customer_history/history_projector.h"
#include "projections/orders/orders_projector.h"
#include "projections/projector.h"
#include "tests/http_client.h"
#include "tests/keel_process.h"
#include "tests/test_app.h"
#include "tests/test_util.h"

namespace keel {
namespace {

// The counts below are of the events the test appended: the level keeper, which would append
// standing changes of its own (each at most once; tests/level_keeper_api_test.cc), is off.
const std::vector<std::pair<std::string, std::string>> kNoLevelKeeper = {
    {"KEEL_LEVEL_INTERVAL_MS", "0"}};

TEST(CrashTest, KillNineWhileProjectingLosesAndDoublesNothing) {
  TempDir dir;
  constexpr int kCustomers = 6000;
  std::vector<std::string> ids(kCustomers);
  std::string token;  // the admin's session: it must outlive every kill
  {
    KeelProcess keel(dir.path(), 0, kNoLevelKeeper);
    ASSERT_GT(keel.port(), 0);
    const std::string base = "http://127.0.0.1:" + std::to_string(keel.port());
    token = LoginToken(base, kTestAdminEmail, kTestAdminPassword);
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        HttpClient c(base, token);
        for (int i = t; i < kCustomers; i += 4) {
          auto r = c.Send("POST", "/api/v1/customers",
                          R"({"name":"C )" + std::to_string(i) + R"(","email":"c)" +
                              std::to_string(i) + R"(@x.io"})");
          ASSERT_EQ(r.status, 201) << r.body << r.curl_error;
          ids[static_cast<size_t>(i)] = Json(r.body).Str("/data/id");
          auto p = c.Send("PATCH", "/api/v1/customers/" + ids[static_cast<size_t>(i)],
                          R"({"visits":)" + std::to_string(i % 97 + 1) + "}");
          ASSERT_EQ(p.status, 200) << p.body << p.curl_error;
        }
      });
    }
    for (auto& w : writers) w.join();
    // One order per customer in one bulk request; every fifth placed cancelled.
    std::string orders;
    for (int i = 0; i < kCustomers; ++i) {
      orders += R"({"customerId":")" + ids[static_cast<size_t>(i)] + R"(","orderAmount":)" +
                std::to_string(i % 50 + 1) + (i % 5 == 0 ? R"(,"status":"Cancelled")" : "") + "}\n";
    }
    HttpClient c(base, token);
    auto placed = c.Send("POST", "/api/v1/ingest/orders", orders, {"Content-Type: application/x-ndjson"}, 60000);
    ASSERT_EQ(placed.status, 200) << placed.body;
    ASSERT_EQ(Json(placed.body).Int("/data/created"), kCustomers);
    // Every command above was acknowledged, hence durable. Kill before a clean stop.
    keel.Kill(SIGKILL);
  }

  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 6; ++round) {
    KeelProcess keel(dir.path(), 0, kNoLevelKeeper);
    ASSERT_GT(keel.port(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 250));
    keel.Kill(SIGKILL);
  }

  {
    KeelProcess keel(dir.path(), 0, kNoLevelKeeper);
    ASSERT_GT(keel.port(), 0);
    HttpClient c("http://127.0.0.1:" + std::to_string(keel.port()), token);
    ASSERT_EQ(AwaitReady(c).status, 200);
    auto list = Json(c.Send("GET", "/api/v1/customers?limit=1").body);
    EXPECT_EQ(list.Int("/meta/total"), kCustomers);
    EXPECT_EQ(Json(c.Send("GET", "/api/v1/orders?limit=1").body).Int("/meta/total"), kCustomers);
    EXPECT_EQ(Json(c.Send("GET", "/api/v1/orders?status=Cancelled&limit=1").body).Int("/meta/total"),
              kCustomers / 5);
    for (int i = 0; i < kCustomers; i += 97) {
      auto got = Json(c.Send("GET", "/api/v1/customers/" + ids[static_cast<size_t>(i)]).body);
      EXPECT_EQ(got.Int("/data/version"), 2);
      const bool cancelled = i % 5 == 0;
      EXPECT_EQ(got.Int("/data/visits"), i % 97 + 1 + (cancelled ? 0 : 1));
      EXPECT_EQ(got.Int("/data/orderCount"), cancelled ? 0 : 1);
      EXPECT_EQ(got.Num("/data/totalSpending"), cancelled ? 0 : i % 50 + 1);
    }
    EXPECT_EQ(Json(c.Send("GET", "/api/v1/admin/dead-letters").body).Size("/data"), 0u);
    EXPECT_EQ(keel.Kill(SIGTERM), 0);  // a clean stop exits 0
  }

  // The counters are not idempotent: any event applied twice or skipped would show here.
  auto store =
      RocksStore::Open(dir.path() + "/" + ActiveReadModelDir(dir.path()), ProjectionSet::Tables());
  ASSERT_TRUE(store) << store.error().message;
  int64_t applied = 0;
  ASSERT_TRUE((*store)->Scan(kProjectionMetaTable, "customers/events_applied/", "",
                             [&](auto, std::string_view v) {
                               applied += std::stoll(std::string(v));
                               return true;
                             }));
  EXPECT_EQ(applied, 3 * kCustomers);
  int64_t checkpoints = 0;
  ASSERT_TRUE((*store)->Scan(kCheckpointsTable, "customers/", "", [&](auto, std::string_view v) {
    checkpoints += std::stoll(std::string(v));
    return true;
  }));
  EXPECT_EQ(checkpoints, 3 * kCustomers);
  // Each customer's history: its two events as entries, its order's event in the order's
  // record. An event folded twice would be listed twice.
  int64_t history = 0;
  ASSERT_TRUE((*store)->Scan(kCustomerEventsTable, "", "", [&](auto, auto) {
    ++history;
    return true;
  }));
  EXPECT_EQ(history, 2 * kCustomers);
  int64_t order_events = 0;
  std::vector<LogPosition> positions;
  ASSERT_TRUE((*store)->Scan(kOrdersTable, "", "", [&](auto, std::string_view v) {
    EXPECT_TRUE(DecodeOrderRecord(v, &positions));
    order_events += static_cast<int64_t>(positions.size());
    return true;
  }));
  EXPECT_EQ(order_events, kCustomers);
}

}  // namespace
}  // namespace keel

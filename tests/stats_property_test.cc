// Property, end to end: random orders, cancellations, other status changes and visits through
// the HTTP API give every customer the stats that a brute-force recomputation from the
// customer's own event list (GET /customers/:id/events) gives; and still do after `keel
// replay` rebuilds the read models from the log.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "api/app.h"
#include "domain/customer.h"
#include "domain/event.h"
#include "domain/order.h"
#include "tests/test_app.h"

namespace keel {
namespace {

struct Expected {
  int64_t order_count = 0;
  int64_t order_cents = 0;
  int64_t visits = 0;
  std::optional<Millis> first, last, latest;
};

// The stats from the event list alone: every order's final status, then sums and extremes.
Expected Recompute(const std::string& history_json) {
  Json history(history_json);
  Expected e;
  std::map<std::string, std::pair<OrderStatus, int64_t>> orders;
  for (size_t i = 0; i < history.Size("/data"); ++i) {
    const std::string at = "/data/" + std::to_string(i);
    std::string raw = simdjson::minify(*history.At(at));
    auto event = DecodeEvent(raw);
    EXPECT_TRUE(event) << raw;
    if (!event) continue;
    if (event->type == kCustomerVisitRecorded) {
      ++e.visits;
      const Millis v = *DecodeVisit(event->payload);
      e.latest = std::max(e.latest.value_or(v), v);
      continue;
    }
    if (event->aggregate_type != kOrderAggregate) continue;
    auto change = DecodeOrderChange(*event);
    EXPECT_TRUE(change);
    if (change->placed) {
      orders[event->aggregate_id] = {change->status, change->amount_cents};
      e.first = std::min(e.first.value_or(change->order_date), change->order_date);
      e.last = std::max(e.last.value_or(change->order_date), change->order_date);
      e.latest = std::max(e.latest.value_or(change->order_date), change->order_date);
    } else {
      orders[event->aggregate_id].first = change->status;
    }
  }
  for (const auto& [id, o] : orders) {
    if (o.first == OrderStatus::kCancelled) continue;
    ++e.order_count;
    e.order_cents += o.second;
  }
  return e;
}

void ExpectStats(HttpClient& client, const std::string& id, const std::string& context) {
  Json c(client.Send("GET", "/api/v1/customers/" + id).body);
  const Expected e = Recompute(client.Send("GET", "/api/v1/customers/" + id + "/events").body);
  auto cents = [&](const char* p) { return std::llround(c.Num(p) * 100); };
  auto time_or_null = [&](const char* p) -> std::optional<Millis> {
    auto v = c.At(p);
    std::string_view s;
    if (!v || v->get(s)) return std::nullopt;
    return ParseIso8601(s);
  };
  EXPECT_EQ(c.Int("/data/orderCount"), e.order_count) << context;
  EXPECT_EQ(cents("/data/orderSpending"), e.order_cents) << context;
  EXPECT_EQ(cents("/data/totalSpending"), e.order_cents) << context;  // no baseline here
  EXPECT_EQ(c.Int("/data/visits"), e.order_count + e.visits) << context;
  EXPECT_EQ(cents("/data/averageOrderValue"),
            e.order_count ? (e.order_cents + e.order_count / 2) / e.order_count : 0) << context;
  EXPECT_EQ(time_or_null("/data/firstOrderAt"), e.first) << context;
  EXPECT_EQ(time_or_null("/data/lastOrderAt"), e.last) << context;
  EXPECT_EQ(time_or_null("/data/lastVisit"), e.latest) << context;
}

TEST(StatsPropertyTest, RandomHistoriesGiveTheRecomputedStatsBeforeAndAfterReplay) {
  TempDir dir;
  AppConfig config;
  config.data_dir = dir.path();
  std::vector<std::string> customers;
  {
    TestApp app(config);
    HttpClient client(app.base(), app.token());
    for (int i = 0; i < 8; ++i) {
      auto r = client.Send("POST", "/api/v1/customers",
                           R"({"name":"P","email":"p)" + std::to_string(i) + R"(@x.io"})");
      ASSERT_EQ(r.status, 201);
      customers.push_back(Json(r.body).Str("/data/id"));
    }
    std::mt19937_64 rng(20261121);
    std::vector<std::string> orders;
    static const char* kStatuses[] = {"Pending", "Shipped", "Delivered", "Cancelled"};
    for (int step = 0; step < 400; ++step) {
      const std::string& c = customers[rng() % customers.size()];
      const int kind = static_cast<int>(rng() % 10);
      if (kind < 5 || orders.empty()) {
        char date[32];
        std::snprintf(date, sizeof date, "2026-%02d-%02dT%02d:00:00Z",
                      1 + static_cast<int>(rng() % 11), 1 + static_cast<int>(rng() % 28),
                      static_cast<int>(rng() % 24));
        const std::string body = R"({"customerId":")" + c + R"(","orderAmount":)" +
                                 std::to_string(1 + rng() % 500) + "." + std::to_string(10 + rng() % 90) +
                                 R"(,"orderDate":")" + date + R"(","status":")" + kStatuses[rng() % 4] + "\"}";
        auto r = client.Send("POST", "/api/v1/orders", body);
        ASSERT_EQ(r.status, 201) << r.body;
        orders.push_back(Json(r.body).Str("/data/id"));
      } else if (kind < 8) {
        // Any status, legal or not: the illegal ones must be refused and change nothing.
        auto r = client.Send("PATCH", "/api/v1/orders/" + orders[rng() % orders.size()] + "/status",
                             std::string(R"({"status":")") + kStatuses[rng() % 4] + "\"}");
        ASSERT_TRUE(r.status == 200 || r.status == 409) << r.body;
      } else {
        char at[32];
        std::snprintf(at, sizeof at, "2026-%02d-15T12:00:00Z", 1 + static_cast<int>(rng() % 12));
        ASSERT_EQ(client.Send("POST", "/api/v1/customers/" + c + "/visits",
                              std::string(R"({"visitedAt":")") + at + "\"}").status, 200);
      }
    }
    // Let the projection catch up with everything, then compare.
    for (int i = 0; i < 500 && !app.app().customer_projection().caught_up(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    int64_t end = 0;
    for (int32_t p = 0; p < app.app().log().PartitionCount(); ++p) {
      end += app.app().log().EndOffset("keel.customers", p).value_or(0);
    }
    while (app.app().customer_projection().counters().events_applied < end &&
           std::chrono::steady_clock::now() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (const auto& c : customers) ExpectStats(client, c, "live " + c);
  }
  auto replayed = Replay(config, nullptr);
  ASSERT_TRUE(replayed) << replayed.error().message;
  TestApp after(config);
  HttpClient client(after.base(), after.token());
  for (const auto& c : customers) ExpectStats(client, c, "after replay " + c);
}

}  // namespace
}  // namespace keel

// Bulk ingestion end to end: NDJSON and JSON arrays, per-record errors, upserts by email,
// duplicate orders by orderId, async jobs, and stats that stay exact.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <thread>

#include "api/ingest.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class IngestApiTest : public ::testing::Test {
 protected:
  HttpResult Ingest(const std::string& kind, const std::string& body, bool ndjson,
                    const std::string& query = "") {
    return client_.Send("POST", "/api/v1/ingest/" + kind + query, body,
                        {ndjson ? "Content-Type: application/x-ndjson" : "Content-Type: application/json"},
                        60000);
  }
  int64_t LogSize() { return keel::LogSize(app_.app()); }
  // Waits until the projection has folded the whole log.
  void AwaitProjection() {
    const int64_t end = LogSize();
    for (int i = 0; i < 1000; ++i) {
      auto counters = app_.app().customer_projection().counters();
      if (counters.events_applied + counters.dead_lettered >= end) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "projection did not catch up";
  }
  std::string IdOf(const std::string& email) {
    Json r(client_.Send("GET", "/api/v1/customers?email=" + email).body);
    return r.Str("/data/0/id");
  }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
};

TEST_F(IngestApiTest, NdjsonCustomersAreValidatedOneByOneAndUpsertedByEmail) {
  const std::string body =
      "{\"name\":\"Ann\",\"email\":\"ann@x.io\",\"totalSpending\":10}\n"
      "not json\n"
      "\n"
      "{\"name\":\"Bob\",\"email\":\"bad-email\"}\n"
      "{\"name\":\"Cy\",\"email\":\"cy@x.io\",\"colour\":\"red\"}\n"
      "{\"name\":\"Dee\",\"email\":\"DEE@x.io\"}\n";
  auto r = Ingest("customers", body, true);
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.Str("/data/state"), "done");
  EXPECT_EQ(j.Int("/data/total"), 5);
  EXPECT_EQ(j.Int("/data/accepted"), 2);
  EXPECT_EQ(j.Int("/data/created"), 2);
  EXPECT_EQ(j.Int("/data/rejected"), 3);
  EXPECT_EQ(j.Int("/data/errors/0/index"), 1);
  EXPECT_EQ(j.Int("/data/errors/1/index"), 2);
  EXPECT_EQ(j.Str("/data/errors/1/errors/0/field"), "email");
  EXPECT_EQ(j.Int("/data/errors/2/index"), 3);
  EXPECT_EQ(j.Str("/data/errors/2/errors/0/field"), "colour");

  // Re-sent: nothing new. Changed: updated in place, no duplicate.
  const int64_t before = LogSize();
  Json again(Ingest("customers", body, true).body);
  EXPECT_EQ(again.Int("/data/unchanged"), 2);
  EXPECT_EQ(again.Int("/data/created"), 0);
  EXPECT_EQ(LogSize(), before);
  Json changed(Ingest("customers", R"([{"name":"Ann B","email":"ann@x.io"}])", false).body);
  EXPECT_EQ(changed.Int("/data/updated"), 1);
  EXPECT_EQ(AwaitCustomerTotal(client_, 2), 2);
  AwaitProjection();
  Json ann(client_.Send("GET", "/api/v1/customers?email=ann@x.io").body);
  EXPECT_EQ(ann.Str("/data/0/name"), "Ann B");
  EXPECT_EQ(ann.Num("/data/0/totalSpending"), 10);  // absent fields keep their values
}

TEST_F(IngestApiTest, OrdersAreCountedOnceAndStatsStayExact) {
  std::string customers;
  for (int i = 0; i < 50; ++i) {
    customers += "{\"name\":\"C" + std::to_string(i) + "\",\"email\":\"c" + std::to_string(i) + "@x.io\"}\n";
  }
  ASSERT_EQ(Json(Ingest("customers", customers, true).body).Int("/data/created"), 50);
  AwaitProjection();
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(IdOf("c" + std::to_string(i) + "@x.io"));

  // 5,000 orders as one JSON array, some cancelled at placement, a few bad ones.
  std::map<std::string, int64_t> expected_cents, expected_count;
  std::string body = "[";
  for (int i = 0; i < 5000; ++i) {
    const std::string& c = ids[static_cast<size_t>(i % 50)];
    const int64_t cents = 100 + (i * 37) % 10000;
    const bool cancelled = i % 10 == 0;
    if (i) body += ",";
    body += R"({"customerId":")" + c + R"(","orderAmount":)" + std::to_string(cents / 100) + "." +
            (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100) + R"(,"orderId":"o-)" +
            std::to_string(i) + R"(","orderDate":"2026-0)" + std::to_string(1 + i % 9) +
            R"(-01T00:00:00Z")" + (cancelled ? R"(,"status":"Cancelled")" : "") + "}";
    if (!cancelled) {
      expected_cents[c] += cents;
      ++expected_count[c];
    }
  }
  body += R"(,{"customerId":"nobody","orderAmount":1},{"customerId":")" + ids[0] + R"(","orderAmount":0}])";
  auto r = Ingest("orders", body, false);
  ASSERT_EQ(r.status, 200) << r.body;
  Json j(r.body);
  EXPECT_EQ(j.Int("/data/created"), 5000);
  EXPECT_EQ(j.Int("/data/rejected"), 2);
  EXPECT_EQ(j.Int("/data/errors/0/index"), 5000);
  EXPECT_EQ(j.Str("/data/errors/0/errors/0/field"), "customerId");
  EXPECT_EQ(j.Str("/data/errors/1/errors/0/field"), "orderAmount");

  // The same file again: every order is a duplicate, nothing is appended.
  const int64_t before = LogSize();
  Json again(Ingest("orders", body, false).body);
  EXPECT_EQ(again.Int("/data/duplicates"), 5000);
  EXPECT_EQ(LogSize(), before);

  AwaitProjection();
  for (const auto& c : ids) {
    Json got(client_.Send("GET", "/api/v1/customers/" + c).body);
    EXPECT_EQ(std::llround(got.Num("/data/totalSpending") * 100), expected_cents[c]) << c;
    EXPECT_EQ(got.Int("/data/orderCount"), expected_count[c]) << c;
  }
  EXPECT_EQ(Json(client_.Send("GET", "/api/v1/orders?limit=1").body).Int("/meta/total"), 5000);
}

TEST_F(IngestApiTest, ABrokenArrayIsRefusedWholeAndAppendsNothing) {
  const int64_t before = LogSize();
  auto r = Ingest("customers", R"([{"name":"A","email":"a@x.io"} {"name":"B","email":"b@x.io"}])", false);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(Json(r.body).Str("/message").find("at byte"), std::string::npos) << r.body;
  EXPECT_EQ(Ingest("customers", "   ", false).status, 400);
  EXPECT_EQ(Ingest("customers", "[]", false, "?async=maybe").status, 400);
  EXPECT_EQ(LogSize(), before);
}

TEST_F(IngestApiTest, AsyncJobsAnswerAtOnceAndReportProgress) {
  std::string body;
  for (int i = 0; i < 2000; ++i) {
    body += "{\"name\":\"A" + std::to_string(i) + "\",\"email\":\"async" + std::to_string(i) + "@x.io\"}\n";
  }
  auto r = Ingest("customers", body, true, "?async=true");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string job = Json(r.body).Str("/data/jobId");
  EXPECT_EQ(r.headers["location"], "/api/v1/ingest/jobs/" + job);
  std::string state;
  for (int i = 0; i < 500 && state != "done"; ++i) {
    Json status(client_.Send("GET", "/api/v1/ingest/jobs/" + job).body);
    state = status.Str("/data/state");
    if (state == "done") {
      EXPECT_EQ(status.Int("/data/created"), 2000);
      EXPECT_EQ(status.Int("/data/processed"), 2000);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(state, "done");
  EXPECT_EQ(client_.Send("GET", "/api/v1/ingest/jobs/nope").status, 404);
}

TEST_F(IngestApiTest, JobsAreAnsweredAcrossRestartsAndUnfinishedOnesShowFailed) {
  auto r = Ingest("customers", "{\"name\":\"A\",\"email\":\"keep@x.io\"}\nnot json\n", true,
                  "?async=true");
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string job = Json(r.body).Str("/data/jobId");
  std::string before;
  for (int i = 0; i < 500; ++i) {
    before = client_.Send("GET", "/api/v1/ingest/jobs/" + job).body;
    if (Json(before).Str("/data/state") == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(Json(before).Str("/data/state"), "done") << before;

  // What a crash leaves: a job recorded as queued and never finished, then a torn line.
  app_.Stop();
  const std::string file = app_.config().data_dir + "/ingest-jobs.ndjson";
  IngestJobStatus lost;
  lost.id = "01a1ff60-0000-7000-8000-000000000001";
  lost.kind = IngestKind::kOrders;
  lost.submitted_at = 1795000000000;
  {
    std::ofstream out(file, std::ios::app);
    out << IngestJobToJson(lost) << "\n{\"jobId\":\"01a1ff60-0000-7000-8000-00000";
  }
  app_.Start();
  HttpClient client(app_.base(), app_.token());
  EXPECT_EQ(client.Send("GET", "/api/v1/ingest/jobs/" + job).body, before);
  auto unfinished = client.Send("GET", "/api/v1/ingest/jobs/" + lost.id);
  ASSERT_EQ(unfinished.status, 200) << unfinished.body;
  EXPECT_EQ(Json(unfinished.body).Str("/data/state"), "failed");
  EXPECT_EQ(Json(unfinished.body).Str("/data/kind"), "orders");
  EXPECT_NE(Json(unfinished.body).Str("/data/failure").find("re-send"), std::string::npos);
  EXPECT_EQ(client.Send("GET", "/api/v1/ingest/jobs/nope").status, 404);

  // The file was rewritten without the torn line: every line is a job.
  std::ifstream in(file);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    EXPECT_TRUE(IngestJobFromJson(line)) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

TEST(IngestLimitTest, ABodyOverTheIngestLimitIs413InTheEnvelope) {
  AppConfig config;
  config.max_ingest_bytes = 1 << 20;
  TestApp app(config);
  HttpClient client(app.base(), app.token());
  std::string body;
  while (body.size() <= (1u << 20)) body += "{\"name\":\"Big\",\"email\":\"big@x.io\"}\n";
  auto r = client.Send("POST", "/api/v1/ingest/customers", body, {"Content-Type: application/x-ndjson"});
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_FALSE(Json(r.body).Bool("/success"));
  // Ordinary routes keep their own, smaller limit.
  EXPECT_EQ(client.Send("POST", "/api/v1/customers", std::string(2 << 20, ' ')).status, 413);
}

TEST(FreshnessMetricTest, CommitsObserveHowLongEventsTookToBecomeVisible) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  auto r = client.Send("POST", "/api/v1/customers", R"({"name":"F","email":"f@x.io"})");
  ASSERT_EQ(r.status, 201);
  ASSERT_EQ(client.Send("GET", "/api/v1/customers?minPosition=" + r.headers["x-keel-position"]).status, 200);
  auto metrics = client.Send("GET", "/metrics").body;
  EXPECT_NE(metrics.find("keel_projection_freshness_seconds_count{projection=\"customers\"} 1"),
            std::string::npos) << metrics.substr(0, 2000);
}

// A customer's figures at the edge: a baseline of the largest amount and 9,999 orders of it
// make exactly the most one customer may spend (1e16). The projection folds them without a
// dead letter and serves them exactly; one cent more is refused, by the API and the ingest
// alike, and cancelling an order makes room again.
TEST_F(IngestApiTest, ACustomersSpendingStopsAtTheLimit) {
  auto created = client_.Send("POST", "/api/v1/customers",
                              R"({"name":"Max","email":"max@x.io","totalSpending":1000000000000})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  std::string orders;
  for (int i = 0; i < 9999; ++i) {
    orders += R"({"customerId":")" + id + R"(","orderAmount":1000000000000,"orderId":"M-)" +
              std::to_string(i) + "\"}\n";
  }
  orders += R"({"customerId":")" + id +
            R"(","orderAmount":0.01,"orderId":"M-over"})"
            "\n";
  auto r = Ingest("orders", orders, true);
  ASSERT_EQ(r.status, 200) << r.body;
  Json job(r.body);
  EXPECT_EQ(job.Str("/data/state"), "done");
  EXPECT_EQ(job.Int("/data/created"), 9999);
  EXPECT_EQ(job.Int("/data/rejected"), 1);
  EXPECT_EQ(job.Int("/data/errors/0/index"), 9999);
  EXPECT_EQ(job.Str("/data/errors/0/errors/0/field"), "orderAmount");

  const int64_t before = LogSize();
  auto over = client_.Send("POST", "/api/v1/orders",
                           R"({"customerId":")" + id + R"(","orderAmount":0.01})");
  ASSERT_EQ(over.status, 400) << over.body;
  EXPECT_EQ(Json(over.body).Str("/errors/0/field"), "orderAmount");
  auto raise =
      client_.Send("PATCH", "/api/v1/customers/" + id, R"({"totalSpending":1000000000000.01})");
  ASSERT_EQ(raise.status, 400) << raise.body;
  EXPECT_EQ(Json(raise.body).Str("/errors/0/field"), "totalSpending");
  EXPECT_EQ(LogSize(), before);

  AwaitProjection();
  EXPECT_EQ(app_.app().customer_projection().counters().dead_lettered, 0);
  auto got = client_.Send("GET", "/api/v1/customers/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_NE(got.body.find(R"("totalSpending":10000000000000000.00)"), std::string::npos)
      << got.body;
  EXPECT_NE(got.body.find(R"("averageOrderValue":1000000000000.00)"), std::string::npos)
      << got.body;
  EXPECT_NE(got.body.find(R"("orderSpending":9999000000000000.00)"), std::string::npos) << got.body;
  Json c(got.body);
  EXPECT_EQ(c.Int("/data/orderCount"), 9999);
  auto listed = client_.Send("GET", "/api/v1/customers?sort=totalSpending&minOrders=9999");
  ASSERT_EQ(listed.status, 200) << listed.body;
  EXPECT_EQ(Json(listed.body).Str("/data/0/id"), id);

  auto mine = client_.Send("GET", "/api/v1/orders?limit=1&customerId=" + id);
  const std::string some_order = Json(mine.body).Str("/data/0/id");
  ASSERT_EQ(
      client_.Send("PATCH", "/api/v1/orders/" + some_order + "/status", R"({"status":"Cancelled"})")
          .status,
      200);
  EXPECT_EQ(client_
                .Send("POST", "/api/v1/orders",
                      R"({"customerId":")" + id + R"(","orderAmount":1000000000000})")
                .status,
            201);
}

}  // namespace
}  // namespace keel

// The dispatcher and delivery receipts end to end (issue 18): the real server on port 0, the
// embedded log and RocksDB, and a DummyVendor on loopback that calls the server back with signed
// receipts.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "domain/topics.h"
#include "infra/vendor/dummy_vendor.h"
#include "infra/vendor/vendor_contract.h"
#include "tests/test_app.h"
#include "tests/test_vendor.h"

namespace keel {
namespace {

constexpr const char* kSecret = "vendor-test-secret-of-32-characters";

class CampaignDispatchTest : public ::testing::Test {
 protected:
  // Starts the vendor, calling back this server, and restarts the server with it.
  void StartVendor(double vendor_rate = 0, size_t chunk = 2000) {
    vendor_ = StartVendorFor(app_, kSecret, 7);
    ASSERT_TRUE(vendor_);
    AppConfig& config = app_.mutable_config();
    config.vendor_rate = vendor_rate;
    config.dispatch_chunk_size = chunk;
    app_.Restart();
    client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  }
  // `count` customers, all in one segment; its id.
  std::string Audience(int count) {
    std::string customers;
    for (int i = 0; i < count; ++i) {
      customers += R"({"name":"Cust )";
      customers += std::to_string(i);
      customers += R"(","email":"cust)";
      customers += std::to_string(i);
      customers += "@x.io\"}\n";
    }
    auto ingested = client_->Send("POST", "/api/v1/ingest/customers", customers,
                                  {"Content-Type: application/x-ndjson"});
    EXPECT_EQ(ingested.status, 200) << ingested.body;
    EXPECT_EQ(AwaitCustomerTotal(*client_, count), count);
    auto r = client_->Send(
        "POST", "/api/v1/segments",
        R"({"name":"Everyone","rules":{"field":"totalSpending","op":">=","value":0}})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  std::string Launch(const std::string& segment) {
    auto r = client_->Send(
        "POST", "/api/v1/campaigns",
        R"({"name":"Go","segmentId":")" + segment + R"(","message":"Hi {{name}}","launch":true})");
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r.body).Str("/data/id");
  }
  std::string Get(const std::string& id) {
    return client_->Send("GET", "/api/v1/campaigns/" + id + "?limit=1").body;
  }
  // The campaign once `done` holds of it, or its last reading after `seconds`.
  template <typename Pred>
  std::string AwaitCampaign(const std::string& id, Pred done, int seconds = 15) {
    std::string body;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      body = Get(id);
      if (done(Json(body))) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return body;
  }
  static bool IsSent(const Json& j) { return j.Str("/data/status") == "Sent"; }
  // Every message id of the campaign, from its communication log.
  std::vector<std::string> MessageIds(const std::string& id) {
    std::vector<std::string> ids;
    std::string cursor;
    for (;;) {
      auto r = client_->Send("GET", "/api/v1/campaigns/" + id + "?limit=500&cursor=" + cursor);
      Json j(r.body);
      const size_t n = j.Size("/data/communications");
      for (size_t i = 0; i < n; ++i) {
        ids.push_back(j.Str("/data/communications/" + std::to_string(i) + "/id"));
      }
      if (n < 500) break;
      cursor = j.Str("/meta/nextCursor");
    }
    return ids;
  }
  HttpResult PostReceipts(const std::string& body, int64_t at_seconds) {
    HttpClient c(app_.base());
    return c.Send("POST", "/api/v1/delivery-receipts", body,
                  {std::string(vendor::kTimestampHeader) + ": " + std::to_string(at_seconds),
                   std::string(vendor::kSignatureHeader) + ": " +
                       vendor::SignPayload(kSecret, at_seconds, body)});
  }
  static int64_t NowSeconds() { return SystemClock().NowMillis() / 1000; }

  TestApp app_;
  std::unique_ptr<vendor::DummyVendor> vendor_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(CampaignDispatchTest, EveryRecipientIsAcceptedOnceAndTheStatsEqualTheVendorsTally) {
  StartVendor();
  const std::string segment = Audience(2000);
  const auto started = std::chrono::steady_clock::now();
  const std::string id = Launch(segment);
  const std::string body = AwaitCampaign(id, IsSent);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Json j(body);
  ASSERT_EQ(j.Str("/data/status"), "Sent") << body;
  std::printf(
      "[ measured ] 2000 recipients, launch to Sent (every receipt applied): %.2f s, "
      "%.0f messages/s\n",
      seconds, 2000 / seconds);
  const auto tally = vendor_->tally();
  EXPECT_EQ(tally.accepted, 2000u);
  EXPECT_EQ(tally.duplicates, 0u);
  EXPECT_EQ(j.Int("/data/stats/queued"), 2000);
  EXPECT_EQ(j.Int("/data/stats/sent"), static_cast<int64_t>(tally.accepted));
  EXPECT_EQ(j.Int("/data/stats/delivered"), static_cast<int64_t>(tally.delivered));
  EXPECT_EQ(j.Int("/data/stats/failed"), static_cast<int64_t>(tally.failed));
  EXPECT_EQ(j.Int("/data/stats/pending"), 0);
  EXPECT_GT(j.Int("/data/stats/failed"), 0);  // about 10% fail at the vendor
  const auto ids = MessageIds(id);
  ASSERT_EQ(ids.size(), 2000u);
  for (const auto& m : ids) ASSERT_EQ(vendor_->TimesSent(m), 1u) << m;

  // The dispatcher's metrics.
  auto metrics = client_->Send("GET", "/metrics");
  EXPECT_NE(metrics.body.find("keel_dispatch_messages{outcome=\"accepted\"} 2000"),
            std::string::npos)
      << metrics.body.substr(0, 2000);
  EXPECT_NE(metrics.body.find("keel_dispatch_queue_depth{stage=\"backlog\"} 0"), std::string::npos);
  EXPECT_NE(metrics.body.find("keel_receipt_lag_seconds_count"), std::string::npos);

  // The status filter.
  auto failed = client_->Send("GET", "/api/v1/campaigns/" + id + "?status=FAILED&limit=500");
  ASSERT_EQ(failed.status, 200) << failed.body;
  Json fj(failed.body);
  ASSERT_GT(fj.Size("/data/communications"), 0u);
  EXPECT_EQ(fj.Str("/data/communications/0/status"), "FAILED");
  EXPECT_FALSE(fj.Str("/data/communications/0/reason").empty());
  EXPECT_EQ(fj.Size("/data/communications"),
            std::min<size_t>(500, static_cast<size_t>(j.Int("/data/stats/failed"))));
  auto pending = client_->Send("GET", "/api/v1/campaigns/" + id + "?status=PENDING");
  EXPECT_EQ(Json(pending.body).Size("/data/communications"), 0u) << pending.body;
  EXPECT_EQ(client_->Send("GET", "/api/v1/campaigns/" + id + "?status=LOST").status, 400);

  // Receipts: a bad, a stale and a missing signature change nothing.
  const int64_t events = LogSize(app_.app(), std::string(kCampaignsTopic));
  const std::string delivered_id =
      Json(client_->Send("GET", "/api/v1/campaigns/" + id + "?status=DELIVERED&limit=1").body)
          .Str("/data/communications/0/id");
  const std::string repeat = R"({"eventId":"again-1","messageId":")" + delivered_id +
                             R"(","vendorMessageId":"vm","status":"FAILED","reason":"blocked",)"
                             R"("occurredAt":"2026-01-01T00:00:00Z"})";
  HttpClient anon(app_.base());
  EXPECT_EQ(anon.Send("POST", "/api/v1/delivery-receipts", repeat).status, 401);
  auto stale = PostReceipts(repeat, NowSeconds() - 3600);
  EXPECT_EQ(stale.status, 401) << stale.body;
  auto forged =
      anon.Send("POST", "/api/v1/delivery-receipts", repeat,
                {std::string(vendor::kTimestampHeader) + ": " + std::to_string(NowSeconds()),
                 std::string(vendor::kSignatureHeader) + ": " +
                     vendor::SignPayload("wrong", NowSeconds(), repeat)});
  EXPECT_EQ(forged.status, 401) << forged.body;
  EXPECT_EQ(LogSize(app_.app(), std::string(kCampaignsTopic)), events);

  // Malformed, or more than 10,000: refused, nothing appended.
  auto malformed = PostReceipts(R"({"receipts":[{"eventId":"e","status":"LOST"}]})", NowSeconds());
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  std::string huge = R"({"receipts":[)";
  for (int i = 0; i <= 10'000; ++i) {
    if (i > 0) huge += ',';
    huge += repeat;
  }
  huge += "]}";
  EXPECT_EQ(PostReceipts(huge, NowSeconds()).status, 413);
  EXPECT_EQ(LogSize(app_.app(), std::string(kCampaignsTopic)), events);

  // A second receipt for a delivered message, and an unknown message: the first is a duplicate,
  // not appended, and changes no count; the second is reported.
  const std::string batch = R"({"receipts":[)" + repeat +
                            R"(,{"eventId":"x","messageId":"nope:nobody","status":"DELIVERED",)"
                            R"("occurredAt":"2026-01-01T00:00:00Z"}]})";
  auto mixed = PostReceipts(batch, NowSeconds());
  ASSERT_EQ(mixed.status, 200) << mixed.body;
  EXPECT_EQ(Json(mixed.body).Int("/data/recorded"), 0);
  EXPECT_EQ(Json(mixed.body).Int("/data/duplicates"), 1);
  EXPECT_EQ(Json(mixed.body).Int("/data/unknown/count"), 1);
  EXPECT_EQ(LogSize(app_.app(), std::string(kCampaignsTopic)), events);
  EXPECT_EQ(Json(mixed.body).Str("/data/unknown/messageIds/0"), "nope:nobody");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the projection folds it
  Json aj(Get(id));
  EXPECT_EQ(aj.Int("/data/stats/delivered"), j.Int("/data/stats/delivered"));
  EXPECT_EQ(aj.Int("/data/stats/failed"), j.Int("/data/stats/failed"));
}

// A measurement, not a check: KEEL_DISPATCH_BENCH=<recipients> runs it.
TEST_F(CampaignDispatchTest, MeasuresLaunchToEveryReceiptApplied) {
  const char* n = std::getenv("KEEL_DISPATCH_BENCH");
  if (!n) GTEST_SKIP() << "set KEEL_DISPATCH_BENCH=<recipients> to measure";
  const int count = std::atoi(n);
  const char* rate = std::getenv("KEEL_DISPATCH_BENCH_RATE");  // messages/s; unset: unlimited
  StartVendor(rate ? std::atof(rate) : 0);
  const std::string segment = Audience(count);
  const auto started = std::chrono::steady_clock::now();
  const std::string id = Launch(segment);
  Json j(AwaitCampaign(id, IsSent, 600));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(j.Str("/data/status"), "Sent");
  EXPECT_EQ(j.Int("/data/stats/sent"), count);
  EXPECT_EQ(vendor_->tally().accepted, static_cast<uint64_t>(count));
  std::printf("[ measured ] %d recipients, launch to Sent: %.2f s, %.0f messages/s\n", count,
              seconds, count / seconds);
  if (rate) {
    std::printf("[ measured ] accepted per second at the vendor:");
    for (uint64_t per_second : vendor_->AcceptedPerSecond()) {
      std::printf(" %llu", static_cast<unsigned long long>(per_second));
    }
    std::printf("\n");
  }
  // Acknowledging receipts: batches of 1,000 (repeats of real messages: each is decided, appended
  // and answered, then changes no count).
  const auto ids = MessageIds(id);
  std::vector<double> ms;
  for (int batch = 0; batch < 50; ++batch) {
    std::string body = R"({"receipts":[)";
    for (int i = 0; i < 1000; ++i) {
      if (i > 0) body += ',';
      body += R"({"eventId":"bench-)";
      body += std::to_string(batch * 1000 + i);
      body += R"(","messageId":")";
      body += ids[static_cast<size_t>(batch * 1000 + i) % ids.size()];
      body += R"(","status":"DELIVERED","occurredAt":"2026-01-01T00:00:00Z"})";
    }
    body += "]}";
    const auto t0 = std::chrono::steady_clock::now();
    auto r = PostReceipts(body, NowSeconds());
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::sort(ms.begin(), ms.end());
  std::printf(
      "[ measured ] POST /delivery-receipts, 50 batches of 1,000: p50 %.1f ms, p99 %.1f "
      "ms (client-side, HMAC signing included)\n",
      ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
}

TEST_F(CampaignDispatchTest, ARestartMidSendLosesNoRecipientAndAcceptsNoneTwice) {
  StartVendor(/*vendor_rate=*/400, /*chunk=*/100);
  const std::string segment = Audience(600);
  const std::string id = Launch(segment);
  // Some chunks recorded, some not: restart in the middle.
  AwaitCampaign(
      id, [](const Json& j) { return j.Int("/data/stats/sent") >= 150; }, 10);
  app_.Restart();
  client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  const std::string body = AwaitCampaign(id, IsSent);
  Json j(body);
  ASSERT_EQ(j.Str("/data/status"), "Sent") << body;
  const auto tally = vendor_->tally();
  EXPECT_EQ(tally.accepted, 600u);  // distinct ids: none new twice
  EXPECT_EQ(j.Int("/data/stats/sent"), 600);
  EXPECT_EQ(j.Int("/data/stats/delivered"), static_cast<int64_t>(tally.delivered));
  EXPECT_EQ(j.Int("/data/stats/failed"), static_cast<int64_t>(tally.failed));
  const auto ids = MessageIds(id);
  ASSERT_EQ(ids.size(), 600u);
  for (const auto& m : ids) ASSERT_GE(vendor_->TimesSent(m), 1u) << m;
}

TEST_F(CampaignDispatchTest, APausedCampaignGetsNoNewChunkAndResumesWhereItStopped) {
  StartVendor(/*vendor_rate=*/400, /*chunk=*/100);
  const std::string segment = Audience(500);
  const std::string id = Launch(segment);
  AwaitCampaign(
      id, [](const Json& j) { return j.Int("/data/stats/sent") >= 100; }, 10);
  ASSERT_EQ(client_->Send("POST", "/api/v1/campaigns/" + id + "/pause").status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // the chunk in flight lands
  const int64_t paused_at = Json(Get(id)).Int("/data/stats/sent");
  const uint64_t accepted = vendor_->tally().accepted;
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(Json(Get(id)).Int("/data/stats/sent"), paused_at);
  EXPECT_EQ(vendor_->tally().accepted, accepted);
  EXPECT_LT(paused_at, 500);
  ASSERT_EQ(client_->Send("POST", "/api/v1/campaigns/" + id + "/resume").status, 200);
  Json j(AwaitCampaign(id, IsSent));
  ASSERT_EQ(j.Str("/data/status"), "Sent");
  EXPECT_EQ(j.Int("/data/stats/sent"), 500);
  EXPECT_EQ(vendor_->tally().accepted, 500u);
  EXPECT_EQ(vendor_->tally().duplicates, 0u);
}

TEST_F(CampaignDispatchTest, AnUnreachableVendorFailsTheCampaignWithTheReason) {
  app_.KeepPort();
  AppConfig& config = app_.mutable_config();
  config.vendor_url = "http://127.0.0.1:1";  // nothing listens there
  config.vendor_secret = kSecret;
  config.vendor_retry_budget_ms = 500;
  config.vendor_request_timeout_ms = 200;
  app_.Restart();
  client_ = std::make_unique<HttpClient>(app_.base(), app_.token());
  const std::string segment = Audience(3);
  const std::string id = Launch(segment);
  Json j(AwaitCampaign(id, [](const Json& j) { return j.Str("/data/status") == "Failed"; }));
  ASSERT_EQ(j.Str("/data/status"), "Failed");
  EXPECT_NE(j.Str("/data/reason").find("vendor"), std::string::npos) << j.Str("/data/reason");
  EXPECT_EQ(j.Int("/data/stats/sent"), 0);
  EXPECT_EQ(j.Int("/data/stats/failed"), 3);
  EXPECT_EQ(j.Int("/data/stats/failedByReason/not_sent"), 3);
  EXPECT_EQ(j.Int("/data/stats/pending"), 0);
}

}  // namespace
}  // namespace keel

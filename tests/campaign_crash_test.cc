// kill -9 at random moments of a campaign's send (issue 18's crash test): a real `keel serve`
// sends a 10,000-recipient campaign through `keel vendor`'s code (the DummyVendor, in this
// process, on loopback) and is killed ten times, paused and resumed in between. Afterwards every
// recipient was accepted by the vendor exactly once as new (a message in flight at a kill is
// re-sent under the same id and answered as a duplicate), none is missing, and the campaign's
// stats equal the vendor's own tally.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "infra/vendor/dummy_vendor.h"
#include "tests/http_client.h"
#include "tests/keel_process.h"
#include "tests/test_util.h"

namespace keel {
namespace {

constexpr const char* kSecret = "campaign-crash-test-vendor-secret-32+";

// A port nothing listens on now (the kernel's pick, released).
int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Waits (up to 10 s) until the vendor gets sends from this run, then a random 0–1.5 s more,
// and kills it (unless `kill` is false); whether sends were seen.
bool KillWhileSending(KeelProcess& keel, vendor::DummyVendor& vendor, std::mt19937& rng,
                      bool kill = true) {
  auto sent = [&] {
    const auto t = vendor.tally();
    return t.accepted + t.duplicates;
  };
  const uint64_t before = sent();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool sending = false;
  while (!(sending = sent() > before) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 1500));
  if (kill) keel.Kill(SIGKILL);
  return sending;
}

TEST(CampaignCrashTest, KillNineDuringASendAcceptsEveryRecipientOnceAndTheStatsMatchTheVendor) {
  constexpr int kRecipients = 10'000;
  TempDir dir;
  const int port = FreePort();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  vendor::DummyVendor::Options options;
  options.secret = kSecret;
  options.receipt_url = base + "/api/v1/delivery-receipts";
  options.seed = 11;
  auto vendor = vendor::DummyVendor::Start(options);
  ASSERT_TRUE(vendor) << vendor.error().message;
  const std::vector<std::pair<std::string, std::string>> env = {
      {"KEEL_VENDOR_URL", "http://127.0.0.1:" + std::to_string((*vendor)->port())},
      {"KEEL_VENDOR_SECRET", kSecret},
      {"KEEL_VENDOR_RATE", "2500"},  // about 4 s of sending: the kills land inside it
  };

  std::string token, campaign;
  std::mt19937 rng(std::random_device{}());
  {
    KeelProcess keel(dir.path(), port, env);
    ASSERT_EQ(keel.port(), port);
    token = LoginToken(base, kTestAdminEmail, kTestAdminPassword);
    HttpClient c(base, token);
    std::string customers;
    for (int i = 0; i < kRecipients; ++i) {
      customers += R"({"name":"Cust )";
      customers += std::to_string(i);
      customers += R"(","email":"cust)";
      customers += std::to_string(i);
      customers += "@x.io\"}\n";
    }
    auto ingested = c.Send("POST", "/api/v1/ingest/customers", customers,
                           {"Content-Type: application/x-ndjson"}, 120000);
    ASSERT_EQ(ingested.status, 200) << ingested.body;
    ASSERT_EQ(AwaitCustomerTotal(c, kRecipients), kRecipients);
    auto segment =
        c.Send("POST", "/api/v1/segments",
               R"({"name":"Everyone","rules":{"field":"totalSpending","op":">=","value":0}})");
    ASSERT_EQ(segment.status, 201) << segment.body;
    auto created = c.Send("POST", "/api/v1/campaigns",
                          R"({"name":"Crash","segmentId":")" + Json(segment.body).Str("/data/id") +
                              R"(","message":"Hi {{name}}","launch":true})");
    ASSERT_EQ(created.status, 201) << created.body;
    campaign = Json(created.body).Str("/data/id");
    KillWhileSending(keel, **vendor, rng);
  }

  bool paused = false;
  for (int round = 0; round < 9; ++round) {
    KeelProcess keel(dir.path(), port, env);
    ASSERT_EQ(keel.port(), port) << "round " << round;
    HttpClient c(base, token);
    if (round == 3) {  // paused, killed while paused, resumed after the next start
      auto r = c.Send("POST", "/api/v1/campaigns/" + campaign + "/pause");
      paused = r.status == 200;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    } else if (paused) {
      auto r = c.Send("POST", "/api/v1/campaigns/" + campaign + "/resume");
      ASSERT_EQ(r.status, 200) << r.body;
      paused = false;
    }
    const bool sending = !paused && KillWhileSending(keel, **vendor, rng, /*kill=*/false);
    Json now(c.Send("GET", "/api/v1/campaigns/" + campaign + "?limit=1").body);
    std::printf("[ round %d ] killed at %s, %lld sent; the vendor: %llu accepted, %llu again\n",
                round, now.Str("/data/status").c_str(),
                static_cast<long long>(now.Int("/data/stats/sent")),
                static_cast<unsigned long long>((*vendor)->tally().accepted),
                static_cast<unsigned long long>((*vendor)->tally().duplicates));
    if (!paused && !sending) break;  // all sent before this round's kill: nothing left to crash
    keel.Kill(SIGKILL);
  }

  KeelProcess keel(dir.path(), port, env);
  ASSERT_EQ(keel.port(), port);
  HttpClient c(base, token);
  if (paused) {
    ASSERT_EQ(c.Send("POST", "/api/v1/campaigns/" + campaign + "/resume").status, 200);
  }
  std::string body;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < until) {
    body = c.Send("GET", "/api/v1/campaigns/" + campaign + "?limit=1").body;
    if (Json(body).Str("/data/status") == "Sent") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Json j(body);
  ASSERT_EQ(j.Str("/data/status"), "Sent") << body;
  const auto tally = (*vendor)->tally();
  EXPECT_EQ(tally.accepted, static_cast<uint64_t>(kRecipients));
  EXPECT_EQ(j.Int("/data/stats/queued"), kRecipients);
  EXPECT_EQ(j.Int("/data/stats/sent"), static_cast<int64_t>(tally.accepted));
  EXPECT_EQ(j.Int("/data/stats/delivered"), static_cast<int64_t>(tally.delivered));
  EXPECT_EQ(j.Int("/data/stats/failed"), static_cast<int64_t>(tally.failed));
  EXPECT_EQ(j.Int("/data/stats/pending"), 0);
  std::printf("[ measured ] 10 kills: %llu accepted, %llu re-sent as duplicates\n",
              static_cast<unsigned long long>(tally.accepted),
              static_cast<unsigned long long>(tally.duplicates));
  // Every recipient's message was sent, under its one id. The communication log is folded from
  // the customers stream, which the restarted process may still be re-folding after the
  // campaign's own stream said Sent (a kill rolls each read model back to its last flush): read
  // it once every projection has caught up (/ready).
  const auto ready = AwaitReady(c, std::chrono::seconds(60));
  ASSERT_EQ(ready.status, 200) << ready.body;
  std::set<std::string> ids;
  std::string cursor;
  for (;;) {
    auto page = c.Send("GET", "/api/v1/campaigns/" + campaign + "?limit=500&cursor=" + cursor);
    ASSERT_EQ(page.status, 200) << page.body << page.curl_error;
    Json p(page.body);
    const size_t n = p.Size("/data/communications");
    for (size_t i = 0; i < n; ++i) {
      const std::string id = p.Str("/data/communications/" + std::to_string(i) + "/id");
      EXPECT_GE((*vendor)->TimesSent(id), 1u) << id;
      ids.insert(id);
    }
    auto next = p.At("/meta/nextCursor");
    if (!next || next->is_null()) break;
    cursor = p.Str("/meta/nextCursor");
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kRecipients));
  EXPECT_EQ(Json(c.Send("GET", "/api/v1/admin/dead-letters").body).Size("/data"), 0u);
  EXPECT_EQ(keel.Kill(SIGTERM), 0);
}

}  // namespace
}  // namespace keel

// Nothing a client sends costs the server more than it costs the client: bodies are judged on
// their headers before they are read, and reads that wait for a position hold no HTTP thread.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/http_server.h"
#include "domain/time.h"
#include "infra/vendor/vendor_contract.h"
#include "tests/test_app.h"

namespace keel {
namespace {

// This process's resident set, in bytes (the server runs in it).
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
  }
  return 0;
}

class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  // False once the server stopped taking bytes (closed, or the send timed out).
  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // What arrived until the headers of a response were in (and a little more).
  std::string ReadResponse() {
    std::string out;
    char buf[4096];
    while (out.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// Stops the projection and registers a customer: the position of an acknowledged command that
// no read model will apply, so that reads of it wait their whole bound.
std::string UnappliedPosition(TestApp& app) {
  HttpClient writer(app.base(), app.token());
  app.app().customer_projection().Stop();
  auto created = writer.Send("POST", "/api/v1/customers",
                             R"({"name":"Waited For","email":"waited@example.com"})");
  EXPECT_EQ(created.status, 201) << created.body;
  return created.headers["x-keel-position"];
}

TEST(RequestCostTest, AnAnonymousLargeBodyIsRefusedOnItsHeadersAndNeverBuffered) {
  TestApp app;
  const std::string chunk(1 << 20, 'x');
  // One refused request first, so that what starting up and a first connection allocate
  // (thread caches, the sanitizers' own) is not counted against the bodies.
  {
    RawConnection warm(app.app().port());
    ASSERT_TRUE(
        warm.Send("POST /api/v1/nowhere HTTP/1.1\r\nHost: keel\r\nContent-Length: "
                  "209715200\r\n\r\n"));
    warm.ReadResponse();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const int64_t before = ResidentBytes();
  for (const char* path : {"/api/v1/auth/login", "/api/v1/ingest/orders", "/api/v1/nowhere"}) {
    RawConnection c(app.app().port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(std::string("POST ") + path +
                       " HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\n"
                       "Content-Length: 209715200\r\nExpect: 100-continue\r\n\r\n"));
    // The answer comes before any of the body, and it is not "100 Continue".
    const std::string answer = c.ReadResponse();
    const std::string expected = std::string(path) == "/api/v1/ingest/orders" ? " 401 " : " 413 ";
    EXPECT_NE(answer.find(expected), std::string::npos) << path << ": " << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
    // A client that sends its 200 MB anyway costs the server nothing to keep.
    for (int i = 0; i < 64 && c.Send(chunk); ++i) {
    }
  }
  const int64_t grown = ResidentBytes() - before;
  // Kept, the bodies sent would be 192 MiB. The sanitizers keep freed memory in quarantine and
  // grow by more for the same work.
#ifdef __SANITIZE_ADDRESS__
  constexpr int64_t kBound = 96 << 20;
#else
  constexpr int64_t kBound = 32 << 20;
#endif
  EXPECT_LT(grown, kBound) << "the server kept bodies it had refused";
  HttpClient client(app.base());
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

// The public receipts route takes bodies up to 4 MiB, signed with a secret it can only check
// once the body is in. So a body over the default limit is taken only after headers that are
// signed and fresh, and only four at once: an anonymous caller buys no more than that.
TEST(RequestCostTest, ALargeReceiptBodyIsScreenedOnItsHeadersAndBoundedInNumber) {
  constexpr char kSecret[] = "receipt-screen-secret-of-32-chars";
  AppConfig config;
  config.vendor_secret = kSecret;
  TestApp app(config);
  const int64_t now = SystemClock().NowMillis() / 1000;
  const std::string body = R"({"receipts":[])" + std::string(2 << 20, ' ') + "}";
  const std::string signature = vendor::SignPayload(kSecret, now, body);
  auto headers = [&](std::string_view stamp, std::string_view sig) {
    std::string h =
        "POST /api/v1/delivery-receipts HTTP/1.1\r\nHost: keel\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n";
    if (!stamp.empty())
      h += std::string(vendor::kTimestampHeader) + ": " + std::string(stamp) + "\r\n";
    if (!sig.empty()) h += std::string(vendor::kSignatureHeader) + ": " + std::string(sig) + "\r\n";
    return h + "\r\n";
  };
  // Unsigned, stale, or with a signature of the wrong form: 401 before any of the body.
  for (const auto& [stamp, sig] :
       std::vector<std::pair<std::string, std::string>>{{"", ""},
                                                        {std::to_string(now - 3600), signature},
                                                        {std::to_string(now), "v1=not-hex"}}) {
    RawConnection c(app.app().port());
    ASSERT_TRUE(c.Send(headers(stamp, sig)));
    const std::string answer = c.ReadResponse();
    EXPECT_NE(answer.find(" 401 "), std::string::npos) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << answer;
  }
  // Signed and fresh (the signature's value is checked once the body is in): four are taken at
  // once, a fifth is answered 503 on its headers.
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(app.app().port()));
    ASSERT_TRUE(held.back()->Send(headers(std::to_string(now), signature)));
    EXPECT_NE(held.back()->ReadResponse().find("100 Continue"), std::string::npos) << i;
    ASSERT_TRUE(held.back()->Send(body.substr(0, 1000)));
  }
  {
    RawConnection fifth(app.app().port());
    ASSERT_TRUE(fifth.Send(headers(std::to_string(now), signature)));
    const std::string answer = fifth.ReadResponse();
    EXPECT_NE(answer.find(" 503 "), std::string::npos) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos) << answer;
  }
  // One holder hangs up and another completes its body: two places are free again, and a whole
  // signed request is answered.
  held[0].reset();
  ASSERT_TRUE(held[1]->Send(std::string_view(body).substr(1000)));
  const std::string completed = held[1]->ReadResponse();
  EXPECT_NE(completed.find(" 200 "), std::string::npos) << completed;
  for (int i = 0; i < 2; ++i) {
    std::string answer;
    for (int attempt = 0; attempt < 100; ++attempt) {  // the hang-up is seen a moment later
      auto c = std::make_unique<RawConnection>(app.app().port());
      ASSERT_TRUE(c->Send(headers(std::to_string(now), signature)));
      answer = c->ReadResponse();
      if (answer.find("100 Continue") != std::string::npos) {
        held.push_back(std::move(c));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(answer.find("100 Continue"), std::string::npos) << i << ": " << answer;
  }
}

// Pistache closes a connection whose request stalls past its timeout without telling the
// handler. The connection's counts and the place its large body took still come back (they go
// with the connection's state), so stalled clients cannot use up the server's connections or a
// route's places for good.
TEST(RequestCostTest, AConnectionPistacheTimesOutGivesBackItsCountsAndItsPlace) {
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.max_body_bytes = 1024;
  options.pistache_timeout = std::chrono::milliseconds(2000);
  HttpServer server(options);
  server.AddRoute(
      "POST", "/big", [](HttpRequest&, HttpResponder r) { r.Send(200, "{}"); },
      RouteLimits{.max_body_bytes = 1 << 20, .max_large_bodies = 1});
  std::string error;
  const auto port = server.Start(&error);
  ASSERT_TRUE(port) << error;
  const std::string large =
      "POST /big HTTP/1.1\r\nHost: keel\r\nContent-Length: 100000\r\n"
      "Expect: 100-continue\r\n\r\n";
  auto settled = [&](int64_t connections) {  // within 20 s
    for (int i = 0; i < 1000 && server.load().connections.load() != connections; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return server.load().connections.load() == connections;
  };
  {
    RawConnection stalled(*port);
    ASSERT_TRUE(stalled.Send(large));
    EXPECT_NE(stalled.ReadResponse().find("100 Continue"), std::string::npos);
    ASSERT_TRUE(stalled.Send(std::string(10, 'x')));
    {
      RawConnection second(*port);
      ASSERT_TRUE(second.Send(large));
      const std::string answer = second.ReadResponse();
      EXPECT_NE(answer.find(" 503 "), std::string::npos) << answer;
      EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
    }
    // The client never hangs up; Pistache's timeout drops the connection.
    EXPECT_TRUE(settled(0)) << server.load().connections.load();
    RawConnection third(*port);
    ASSERT_TRUE(third.Send("POST /big HTTP/1.1\r\nHost: keel\r\nContent-Length: 100000\r\n\r\n" +
                           std::string(100000, 'x')));
    const std::string answer = third.ReadResponse();
    EXPECT_NE(answer.find(" 200 "), std::string::npos) << answer;
  }
  EXPECT_TRUE(settled(0)) << server.load().connections.load();
  // The same after a first answer on the connection (Pistache's keep-alive timeout then governs
  // the next request, whatever its step).
  {
    RawConnection reused(*port);
    ASSERT_TRUE(reused.Send("POST /big HTTP/1.1\r\nHost: keel\r\nContent-Length: 2\r\n\r\n{}"));
    EXPECT_NE(reused.ReadResponse().find(" 200 "), std::string::npos);
    ASSERT_TRUE(reused.Send(large));
    EXPECT_NE(reused.ReadResponse().find("100 Continue"), std::string::npos);
    EXPECT_TRUE(settled(0)) << server.load().connections.load();
  }
  std::lock_guard lock(server.load().address_mu);
  EXPECT_TRUE(server.load().per_address.empty());
}

// What Pistache keeps of a request as it arrives is bounded by what the request may send:
// headers that never end are refused past 64 KiB, and a body's framing (one-byte chunks, six raw
// bytes per body byte) past twice the default limit, before the body limit itself is reached.
TEST(RequestCostTest, HeadersThatNeverEndAndChunkFramingAreRefusedEarly) {
  TestApp app;
  {
    RawConnection c(app.app().port());
    ASSERT_TRUE(c.Send("POST /api/v1/auth/login HTTP/1.1\r\nHost: keel\r\n"));
    const std::string pad = "X-Pad: " + std::string(1000, 'a') + "\r\n";
    size_t sent = 0;
    while (sent < (8u << 20) && c.Send(pad)) sent += pad.size();
    const std::string answer = c.ReadResponse();
    EXPECT_NE(answer.find(" 413 "), std::string::npos) << answer;
    EXPECT_NE(answer.find("headers exceed 65536 bytes"), std::string::npos) << answer;
  }
  {
    RawConnection c(app.app().port());
    ASSERT_TRUE(c.Send(
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: keel\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"));
    // 3 MiB of framing for half a MiB of body: within the body limit, not complete, and yet
    // answered (without the bound the server would wait for the rest, keeping every byte).
    std::string chunks;
    for (int i = 0; i < 10000; ++i) chunks += "1\r\na\r\n";
    for (size_t sent = 0; sent < (3u << 20) && c.Send(chunks); sent += chunks.size()) {
    }
    const std::string answer = c.ReadResponse();
    EXPECT_NE(answer.find(" 413 "), std::string::npos) << answer;
  }
  HttpClient client(app.base());
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(RequestCostTest, AnAuthorizedIngestStillStreamsALargeBody) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  std::string body;
  while (body.size() < (3u << 20)) {
    body += R"({"name":"Bulk","email":"bulk)" + std::to_string(body.size()) + R"(@example.com"})" +
            "\n";
  }
  auto r = client.Send("POST", "/api/v1/ingest/customers", body,
                       {"Content-Type: application/x-ndjson"}, 60000);
  EXPECT_EQ(r.status / 100, 2) << r.body;
}

TEST(RequestCostTest, APositionBeyondTheLogsEndIsRefusedAtOnce) {
  TestApp app;
  HttpClient client(app.base(), app.token());
  const auto started = std::chrono::steady_clock::now();
  auto r = client.Send("GET", "/api/v1/customers?minPosition=0:99999999999");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("beyond the log's end"), std::string::npos) << r.body;
  EXPECT_EQ(client.Send("GET", "/api/v1/customers?minPosition=4096:0").status, 400);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(500));
}

// The issue's load: 64 reads waiting for a position and 8 password sign-ins running (Argon2id,
// tens of milliseconds each, and an append), against two HTTP threads. /health must not wait
// behind any of them.
TEST(RequestCostTest, ReadsWaitingForPositionsAndSignInsHoldNoHttpThread) {
  AppConfig config;
  config.max_read_wait_ms = 3000;
  TestApp app(config);
  const std::string position = UnappliedPosition(app);
  const std::string token = app.token();

  constexpr int kWaiters = 64;
  std::atomic<int> stale{0}, answered{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      HttpClient c(app.base(), token);
      auto r = c.Send("GET", "/api/v1/customers?minPosition=" + position);
      ++answered;
      if (r.status == 200 && r.headers["x-keel-stale"] == "true") ++stale;
    });
  }
  constexpr int kSignIns = 8;
  std::atomic<bool> probing{true};
  std::atomic<int> signed_in{0}, refused{0};
  std::vector<std::thread> sign_ins;
  for (int i = 0; i < kSignIns; ++i) {
    sign_ins.emplace_back([&] {
      HttpClient c(app.base());
      while (probing) {
        auto r = c.Send("POST", "/api/v1/auth/login",
                        std::string(R"({"email":")") + kTestAdminEmail + R"(","password":")" +
                            kTestAdminPassword + R"("})");
        (r.status == 200 ? signed_in : refused)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // all of them are waiting
  HttpClient probe(app.base());
  // 500 probes: a p99 that one scheduling blip on a busy two-core machine does not decide.
  constexpr size_t kProbes = 500;
  std::vector<double> ms;
  for (size_t i = 0; i < kProbes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(probe.Send("GET", "/health").status, 200);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  EXPECT_EQ(answered.load(), 0) << "the waits ended before the probe";
  probing = false;
  for (auto& s : sign_ins) s.join();
  for (auto& w : waiters) w.join();
  EXPECT_GE(signed_in.load(), kSignIns) << "the sign-ins did not run meanwhile";
  EXPECT_EQ(refused.load(), 0);
  RecordProperty("sign_ins", std::to_string(signed_in.load()));
  std::sort(ms.begin(), ms.end());
  // The issue's bound, in the build that ships. The sanitizers slow every instruction several
  // times over: there the bound only tells a free thread from a held one (held, /health would
  // wait out the reads' three seconds).
#ifdef __SANITIZE_ADDRESS__
  constexpr double kBoundMs = 50.0;
#else
  constexpr double kBoundMs = 10.0;
#endif
  const double p99 = ms[kProbes * 99 / 100 - 1];
  RecordProperty("health_p99_ms", std::to_string(p99));
  std::printf("GET /health p99 %.2f ms (median %.2f) while %d reads waited and %d sign-ins ran\n",
              p99, ms[kProbes / 2], kWaiters, signed_in.load());
  EXPECT_LT(p99, kBoundMs) << "GET /health p99 while " << kWaiters << " reads waited and "
                           << kSignIns << " sign-ins ran";
  EXPECT_EQ(stale.load(), kWaiters);
}

TEST(RequestCostTest, RequestsPastTheInFlightCapGet503AtOnce) {
  AppConfig config;
  config.max_read_wait_ms = 2000;
  config.max_requests_in_flight = 16;
  TestApp app(config);
  const std::string position = UnappliedPosition(app);
  const std::string token = app.token();
  std::atomic<int> waited{0}, refused{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 32; ++i) {
    readers.emplace_back([&] {
      HttpClient c(app.base(), token);
      auto r = c.Send("GET", "/api/v1/customers?minPosition=" + position);
      if (r.status == 200) ++waited;
      if (r.status == 503) ++refused;
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(waited.load(), 16);
  EXPECT_EQ(refused.load(), 16);
}

// Opens `n` connections and asks /health on each; how many were answered 200 (the others were
// closed as they arrived). The connections stay open in `held`.
int HealthAnsweredOnNewConnections(TestApp& app, int n,
                                   std::vector<std::unique_ptr<RawConnection>>& held) {
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    held.push_back(std::make_unique<RawConnection>(app.app().port()));
    if (!held.back()->Send("GET /health HTTP/1.1\r\nHost: keel\r\n\r\n")) continue;
    if (held.back()->ReadResponse().find(" 200 ") != std::string::npos) ++answered;
  }
  return answered;
}

TEST(RequestCostTest, ConnectionsPastTheCapAreClosedAsTheyArrive) {
  AppConfig config;
  config.max_connections = 16;
  TestApp app(config);
  std::vector<std::unique_ptr<RawConnection>> held;
  EXPECT_EQ(HealthAnsweredOnNewConnections(app, 40, held), 16);
  held.clear();  // the slots come back once those connections close
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  HttpClient client(app.base());
  EXPECT_EQ(client.Send("GET", "/health").status, 200);
}

TEST(RequestCostTest, OneAddressHoldsAtMostItsShareOfConnections) {
  AppConfig config;
  config.max_connections_per_address = 8;
  TestApp app(config);
  std::vector<std::unique_ptr<RawConnection>> held;
  EXPECT_EQ(HealthAnsweredOnNewConnections(app, 20, held), 8);
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  HttpClient client(app.base());
  EXPECT_EQ(client.Send("GET", "/health").status, 200) << "the address's share came back";
}

}  // namespace
}  // namespace keel

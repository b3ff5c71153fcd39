// VendorClient against the real DummyVendor on loopback (port 0): batching, exactly-once
// answers, pacing, retries of 503/429/stalls with the same ids, bisection of a 400, giving up,
// and Stop.
#include "infra/vendor/vendor_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "infra/vendor/dummy_vendor.h"
#include "infra/vendor/vendor_contract.h"

namespace keel::vendor {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kSecret[] = "test-secret";

std::unique_ptr<DummyVendor> StartVendor(DummyVendor::Options options = {}) {
  options.secret = kSecret;
  auto vendor = DummyVendor::Start(std::move(options));
  EXPECT_TRUE(vendor.has_value()) << (vendor ? "" : vendor.error().message);
  return vendor ? std::move(*vendor) : nullptr;
}

VendorClient::Options ClientOptions(const DummyVendor& vendor) {
  VendorClient::Options o;
  o.url = "http://127.0.0.1:" + std::to_string(vendor.port());
  o.secret = kSecret;
  o.backoff_base = 10ms;
  o.backoff_max = 100ms;
  o.seed = 7;
  return o;
}

std::unique_ptr<VendorClient> StartClient(VendorClient::Options options) {
  auto client = VendorClient::Start(std::move(options));
  EXPECT_TRUE(client.has_value()) << (client ? "" : client.error().message);
  return client ? std::move(*client) : nullptr;
}

std::vector<OutgoingMessage> Messages(std::string_view prefix, size_t n, size_t first = 0) {
  std::vector<OutgoingMessage> out;
  out.reserve(n);
  for (size_t i = first; i < first + n; ++i) {
    out.push_back({std::string(prefix) + "-" + std::to_string(i),
                   "user" + std::to_string(i) + "@example.com", "email", "Hello, customer!"});
  }
  return out;
}

// Collects what done callbacks report; must outlive the client (Stop answers through it).
class Collector final {
 public:
  std::function<void(std::vector<SendResult>)> Callback() {
    return [this](std::vector<SendResult> results) {
      std::lock_guard lock(mu_);
      ++calls_;
      for (auto& r : results) {
        ++times_[r.id];
        results_.push_back(std::move(r));
      }
      cv_.notify_all();
    };
  }

  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return results_.size() >= n; });
  }

  std::vector<SendResult> results() const {
    std::lock_guard lock(mu_);
    return results_;
  }
  size_t calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  // Every id answered exactly once.
  bool EachOnce() const {
    std::lock_guard lock(mu_);
    for (const auto& [id, times] : times_) {
      if (times != 1) return false;
    }
    return times_.size() == results_.size();
  }
  size_t Count(SendOutcome outcome) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& r : results_) n += r.outcome == outcome;
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SendResult> results_;
  std::map<std::string, int> times_;
  size_t calls_ = 0;
};

template <typename Predicate>
bool Eventually(Predicate p, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = Clock::now() + timeout;
  while (!p()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

double MillisSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

TEST(VendorClientTest, StartRefusesABadUrlOrOptions) {
  VendorClient::Options o;
  o.url = "https://127.0.0.1:1";
  o.secret = kSecret;
  auto client = VendorClient::Start(o);
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(client.error().field_errors.size(), 1u);
  EXPECT_EQ(client.error().field_errors[0].field, "url");

  for (std::string url : {"http://", "http://host:0", "http://host:70000", "http://h:1/x?y=1",
                          "http://user@host:1", "http://[::1"}) {
    o.url = url;
    auto bad = VendorClient::Start(o);
    ASSERT_FALSE(bad.has_value()) << url;
    EXPECT_EQ(bad.error().field_errors.at(0).field, "url") << url;
  }

  o.url = "http://127.0.0.1:1";
  o.batch_size = kMaxBatchMessages + 1;
  o.connections = 0;
  o.secret = "";
  auto options = VendorClient::Start(o);
  ASSERT_FALSE(options.has_value());
  EXPECT_EQ(options.error().code, ErrorCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : options.error().field_errors) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"secret", "connections", "batch_size"}));
}

TEST(VendorClientTest, AcceptsTenThousandMessagesEachOnce) {
  auto vendor = StartVendor();
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("m", 10'000), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(10'000));

  EXPECT_TRUE(collector.EachOnce());
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 10'000u);
  EXPECT_EQ(collector.calls(), 20u);  // once per request of 500
  for (const auto& r : collector.results()) {
    ASSERT_FALSE(r.duplicate) << r.id;
    ASSERT_TRUE(r.vendor_message_id.starts_with("vm-")) << r.id;
  }
  for (const auto& m : Messages("m", 10'000)) ASSERT_EQ(vendor->TimesSent(m.id), 1u) << m.id;
  EXPECT_EQ(vendor->tally().accepted, 10'000u);
  EXPECT_EQ(vendor->tally().duplicates, 0u);
  const auto stats = client->stats();
  EXPECT_EQ(stats.requests, 20u);
  EXPECT_EQ(stats.accepted, 10'000u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(client->pending(), 0u);
}

TEST(VendorClientTest, ThroughputWithEightConnectionsAndBatchesOf500) {
  auto vendor = StartVendor();
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.connections = 8;
  options.batch_size = 500;
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);
  constexpr size_t kMessages = 100'000;
  auto messages = Messages("t", kMessages);

  const auto start = Clock::now();
  client->Send(std::move(messages), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(kMessages));
  const double ms = MillisSince(start);

  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), kMessages);
  EXPECT_EQ(vendor->tally().accepted, kMessages);
  const double per_second = kMessages / (ms / 1000);
  std::printf("[ figures  ] %zu messages in %.0f ms: %.0f messages/s\n", kMessages, ms, per_second);
  RecordProperty("messages_per_second", static_cast<int>(per_second));
}

TEST(VendorClientTest, SendsFromManyThreadsAreEachAnsweredOnce) {
  auto vendor = StartVendor();
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);

  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      const std::string prefix = std::to_string(t) + "s";
      for (size_t i = 0; i < 250; ++i) {
        client->Send(Messages(prefix, 10, i * 10), collector.Callback());
      }
    });
  }
  for (auto& s : senders) s.join();
  ASSERT_TRUE(collector.WaitFor(10'000));

  EXPECT_TRUE(collector.EachOnce());
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 10'000u);
  EXPECT_EQ(vendor->tally().accepted, 10'000u);
  EXPECT_EQ(vendor->tally().duplicates, 0u);
  EXPECT_EQ(client->pending(), 0u);
}

TEST(VendorClientTest, EscapesTheRequestJson) {
  auto vendor = StartVendor();
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);
  std::vector<OutgoingMessage> messages = {
      {"esc-1", "a\"b\\c@example.com", "email", "line\nbreak \"quoted\" \\ tab\t bell\x07 é ✓"},
      {"esc-2", "+15550100", "sms", std::string("nul\0inside", 10)}};

  client->Send(messages, collector.Callback());
  ASSERT_TRUE(collector.WaitFor(2));

  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 2u);
  EXPECT_EQ(vendor->TimesSent("esc-1"), 1u);
  EXPECT_EQ(vendor->TimesSent("esc-2"), 1u);
}

TEST(VendorClientTest, PacesMessagesToTheRateLimitEverySecond) {
  auto vendor = StartVendor();
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.rate_per_second = 5'000;
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);

  // 4.5 s of messages: seconds 1, 2 and 3 since the vendor started are whole and paced.
  client->Send(Messages("r", 22'500), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(22'500));

  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 22'500u);
  const auto per_second = vendor->AcceptedPerSecond();
  ASSERT_GE(per_second.size(), 5u);
  std::string figures;
  for (uint64_t n : per_second) figures += std::to_string(n) + " ";
  std::printf("[ figures  ] accepted per second at 5000/s: %s\n", figures.c_str());
  for (size_t s = 1; s <= 3; ++s) {
    EXPECT_GE(per_second[s], 4'750u) << "second " << s;
    EXPECT_LE(per_second[s], 5'250u) << "second " << s;
  }
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST(VendorClientTest, RetriesServerErrorsAndThrottlesWithTheSameIds) {
  DummyVendor::Options vo;
  vo.fail_rate = 0.3;
  vo.throttle_rate = 0.3;
  vo.throttle_retry_after_s = 0;  // the wait itself is HonoursRetryAfterForTheWholeClient's
  auto vendor = StartVendor(vo);
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("f", 10'000), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(10'000));

  EXPECT_TRUE(collector.EachOnce());
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 10'000u);
  const auto stats = client->stats();
  EXPECT_GT(stats.retries, 0u);
  EXPECT_GT(stats.server_errors, 0u);
  EXPECT_GT(stats.throttled, 0u);
  EXPECT_EQ(stats.requests, 20 + stats.retries);
  EXPECT_EQ(stats.timeouts, 0u);
  // A faulted request accepts nothing, and nothing timed out: no id was accepted twice.
  EXPECT_EQ(vendor->tally().accepted, 10'000u);
  EXPECT_EQ(vendor->tally().duplicates, 0u);
  for (const auto& m : Messages("f", 10'000)) ASSERT_EQ(vendor->TimesSent(m.id), 1u) << m.id;
}

TEST(VendorClientTest, HonoursRetryAfterForTheWholeClient) {
  DummyVendor::Options vo;
  vo.throttle_rate = 1;
  vo.throttle_retry_after_s = 1;
  auto vendor = StartVendor(vo);
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);

  const auto start = Clock::now();
  client->Send(Messages("a", 1), collector.Callback());
  ASSERT_TRUE(Eventually([&] { return client->stats().throttled >= 1; }));
  vendor->SetFaults(0, 0, 0);
  client->Send(Messages("b", 1), collector.Callback());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(client->stats().requests, 1u) << "a 429 holds every request, not just its own";
  ASSERT_TRUE(collector.WaitFor(2));

  EXPECT_GE(MillisSince(start), 1000);
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 2u);
  EXPECT_EQ(client->stats().throttled, 1u);
  EXPECT_EQ(vendor->tally().accepted, 2u);
}

TEST(VendorClientTest, RetriesAStalledRequestWithTheSameIds) {
  DummyVendor::Options vo;
  vo.stall_rate = 1;
  vo.stall_for = 3s;
  auto vendor = StartVendor(vo);
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.request_timeout = 200ms;
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("st", 50), collector.Callback());
  ASSERT_TRUE(Eventually([&] { return client->stats().timeouts >= 1; }));
  vendor->SetFaults(0, 0, 0);
  ASSERT_TRUE(collector.WaitFor(50));

  EXPECT_TRUE(collector.EachOnce());
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 50u);
  EXPECT_GE(client->stats().retries, 1u);
  EXPECT_EQ(client->stats().retries, client->stats().timeouts);
  // The stalled requests accepted nothing; the retry carried the same 50 ids.
  EXPECT_EQ(vendor->tally().accepted, 50u);
  for (const auto& m : Messages("st", 50)) EXPECT_EQ(vendor->TimesSent(m.id), 1u) << m.id;
}

TEST(VendorClientTest, GivesUpAfterTheRetryBudgetOnceTheVendorIsGone) {
  auto vendor = StartVendor();
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.retry_budget = 400ms;
  options.request_timeout = 200ms;
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);
  client->Send(Messages("g", 5), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(5));
  vendor->Stop();

  const auto start = Clock::now();
  client->Send(Messages("g", 5, 5), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(10));

  const double ms = MillisSince(start);
  EXPECT_LE(ms, 400 + 200 + 300);  // the budget, the last attempt's timeout, scheduling
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 5u);
  EXPECT_EQ(collector.Count(SendOutcome::kGaveUp), 5u);
  for (const auto& r : collector.results()) {
    if (r.outcome == SendOutcome::kGaveUp) {
      EXPECT_TRUE(r.reason.starts_with("retry budget")) << r.reason;
    }
  }
  EXPECT_GE(client->stats().retries, 2u);
  EXPECT_EQ(client->stats().gave_up, 5u);
  EXPECT_EQ(client->pending(), 0u);
}

TEST(VendorClientTest, ReconnectsAtOnceWhenThePooledConnectionWasClosed) {
  auto first = StartVendor();
  Collector collector;
  auto options = ClientOptions(*first);
  options.backoff_base = options.backoff_max = 2s;  // a backed-off retry would show
  auto client = StartClient(options);
  ASSERT_TRUE(first && client);
  client->Send(Messages("k", 10), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(10));
  // A restart on the same port closes the kept-alive connection under the client.
  DummyVendor::Options again;
  again.port = first->port();
  first->Stop();
  auto second = StartVendor(again);
  ASSERT_TRUE(second);

  const auto start = Clock::now();
  client->Send(Messages("k", 10, 10), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(20));

  EXPECT_LT(MillisSince(start), 1000);
  EXPECT_EQ(collector.Count(SendOutcome::kAccepted), 20u);
  EXPECT_EQ(client->stats().requests, 3u);
  EXPECT_EQ(client->stats().retries, 1u);  // the resend on a fresh connection
  for (const auto& m : Messages("k", 10, 10)) EXPECT_EQ(second->TimesSent(m.id), 1u) << m.id;
}

TEST(VendorClientTest, GivesUpOnAnUnauthorizedKeyWithoutRetrying) {
  auto vendor = StartVendor();
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.secret = "wrong";
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("u", 3), collector.Callback());
  ASSERT_TRUE(collector.WaitFor(3));

  for (const auto& r : collector.results()) {
    EXPECT_EQ(r.outcome, SendOutcome::kGaveUp);
    EXPECT_EQ(r.reason, "unauthorized");
  }
  EXPECT_EQ(client->stats().requests, 1u);
  EXPECT_EQ(client->stats().retries, 0u);
  EXPECT_EQ(vendor->tally().accepted, 0u);
}

TEST(VendorClientTest, RejectsOnlyTheBadMessageOfABatch) {
  auto vendor = StartVendor();
  Collector collector;
  auto client = StartClient(ClientOptions(*vendor));
  ASSERT_TRUE(vendor && client);
  auto messages = Messages("b", 10);
  messages[3].channel = "fax";

  client->Send(messages, collector.Callback());
  ASSERT_TRUE(collector.WaitFor(10));

  EXPECT_TRUE(collector.EachOnce());
  for (const auto& r : collector.results()) {
    if (r.id == "b-3") {
      EXPECT_EQ(r.outcome, SendOutcome::kRejected);
      EXPECT_NE(r.reason.find("channel"), std::string::npos) << r.reason;
    } else {
      EXPECT_EQ(r.outcome, SendOutcome::kAccepted) << r.id;
    }
  }
  const auto stats = client->stats();
  EXPECT_EQ(stats.requests, 11u);  // the batch, then each message alone
  EXPECT_EQ(stats.accepted, 9u);
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.retries, 0u);
  EXPECT_EQ(vendor->tally().accepted, 9u);
}

TEST(VendorClientTest, StopAnswersEveryPendingMessageOnceAsStopped) {
  DummyVendor::Options vo;
  vo.stall_rate = 1;
  vo.stall_for = 5s;
  auto vendor = StartVendor(vo);
  Collector collector;
  auto options = ClientOptions(*vendor);
  options.connections = 2;
  auto client = StartClient(options);
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("p", 3'000), collector.Callback());
  ASSERT_TRUE(Eventually([&] { return client->stats().requests >= 2; }));
  EXPECT_EQ(client->pending(), 3'000u);
  client->Stop();

  EXPECT_EQ(collector.results().size(), 3'000u);
  EXPECT_TRUE(collector.EachOnce());
  for (const auto& r : collector.results()) {
    ASSERT_EQ(r.outcome, SendOutcome::kGaveUp);
    ASSERT_EQ(r.reason, "stopped");
  }
  EXPECT_EQ(client->pending(), 0u);
  EXPECT_EQ(client->stats().gave_up, 3'000u);

  client->Stop();
  client->Send(Messages("late", 2), collector.Callback());
  EXPECT_EQ(collector.results().size(), 3'002u);
  EXPECT_EQ(collector.results().back().reason, "stopped");
  EXPECT_EQ(vendor->tally().accepted, 0u);
}

TEST(VendorClientTest, StopFromADoneCallback) {
  auto vendor = StartVendor();
  std::unique_ptr<VendorClient> client;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<SendResult> results;
  auto done = [&](std::vector<SendResult> r) {
    bool first = false;
    {
      std::lock_guard lock(mu);
      first = results.empty();
      results.insert(results.end(), r.begin(), r.end());
      cv.notify_all();
    }
    if (first) client->Stop();  // answers the rest through this callback, re-entrantly
  };
  auto options = ClientOptions(*vendor);
  options.batch_size = 10;
  options.connections = 1;
  client = StartClient(options);
  ASSERT_TRUE(vendor && client);

  client->Send(Messages("cb", 100), done);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return results.size() == 100; }));
  lock.unlock();

  size_t accepted = 0, stopped = 0;
  for (const auto& r : results) {
    accepted += r.outcome == SendOutcome::kAccepted;
    stopped += r.reason == "stopped";
  }
  EXPECT_EQ(accepted, 10u);
  EXPECT_EQ(stopped, 90u);
  client.reset();
}

}  // namespace
}  // namespace keel::vendor

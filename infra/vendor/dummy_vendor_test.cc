#include "infra/vendor/dummy_vendor.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "infra/vendor/vendor_contract.h"

namespace keel::vendor {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

constexpr std::string_view kSecret = "s3cret";

// Beast 1.74 speaks boost::string_view.
beast::string_view Bv(std::string_view s) { return {s.data(), s.size()}; }
std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

int64_t NowUnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string MessageJson(std::string_view id, std::string_view channel = "email",
                        std::string_view to = "ada@example.com", std::string_view text = "hi") {
  return R"({"id":")" + std::string(id) + R"(","to":")" + std::string(to) + R"(","channel":")" +
         std::string(channel) + R"(","text":")" + std::string(text) + "\"}";
}

std::string BatchJson(const std::vector<std::string>& ids) {
  std::string out = R"({"messages":[)";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += MessageJson(ids[i]);
  }
  return out + "]}";
}

std::vector<std::string> Ids(std::string_view prefix, size_t from, size_t n) {
  std::vector<std::string> ids;
  for (size_t i = from; i < from + n; ++i) ids.push_back(std::string(prefix) + std::to_string(i));
  return ids;
}

// A blocking HTTP/1.1 client on one keep-alive connection, as the dispatcher would hold.
class Client final {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  struct Answer {
    int status = -1;  // -1: the connection ended without an answer
    std::string body;
    std::string retry_after;
  };

  Answer Send(http::verb verb, std::string_view target, std::string body,
              std::string_view auth = "Bearer s3cret") {
    http::request<http::string_body> req{verb, Bv(target), 11};
    req.set(http::field::host, "127.0.0.1");
    if (!auth.empty()) req.set(http::field::authorization, Bv(auth));
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    beast::error_code ec;
    http::write(socket_, req, ec);
    if (ec) return {};
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res, ec);
    if (ec) return {};
    return {static_cast<int>(res.result_int()), res.body(),
            std::string(res[http::field::retry_after])};
  }
  Answer Post(std::string_view target, std::string body, std::string_view auth = "Bearer s3cret") {
    return Send(http::verb::post, target, std::move(body), auth);
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// A receipt as the receiver saw it.
struct Receipt {
  std::string event_id, message_id, vendor_message_id, status, reason, occurred_at;
};

// A loopback receipt endpoint: checks each callback's signature, answers 500 to the first
// `fail_first` callbacks and 200 after, and records the receipts of the callbacks it answered 200.
class ReceiptReceiver final {
 public:
  explicit ReceiptReceiver(int fail_first = 0)
      : fail_first_(fail_first),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    Accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~ReceiptReceiver() {
    ioc_.stop();
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + "/receipts";
  }

  // Waits until `n` distinct eventIds were acknowledged (or 8 s passed); true when they were.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(8), [&] { return acked_.size() >= n; });
  }

  std::map<std::string, int> acknowledged() const {  // eventId → times answered 200
    std::lock_guard lock(mu_);
    return acked_;
  }
  std::vector<Receipt> receipts() const {
    std::lock_guard lock(mu_);
    return receipts_;
  }
  int callbacks() const {
    std::lock_guard lock(mu_);
    return callbacks_;
  }
  int bad_signatures() const {
    std::lock_guard lock(mu_);
    return bad_signatures_;
  }
  size_t largest_callback() const {
    std::lock_guard lock(mu_);
    return largest_callback_;
  }

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      Read(std::make_shared<Connection>(std::move(socket)));
      Accept();
    });
  }

  void Read(std::shared_ptr<Connection> c) {
    c->req = {};
    http::async_read(c->socket, c->buffer, c->req, [this, c](beast::error_code ec, size_t) {
      if (ec) return;
      c->res = {Handle(c->req), c->req.version()};
      c->res.keep_alive(c->req.keep_alive());
      c->res.prepare_payload();
      http::async_write(c->socket, c->res, [this, c](beast::error_code ec, size_t) {
        if (!ec && c->res.keep_alive()) Read(c);
      });
    });
  }

  http::status Handle(const http::request<http::string_body>& req) {
    std::lock_guard lock(mu_);
    ++callbacks_;
    if (!VerifySignature(kSecret, Sv(req[Bv(kTimestampHeader)]), Sv(req[Bv(kSignatureHeader)]),
                         req.body(), NowUnixSeconds())) {
      ++bad_signatures_;
      return http::status::unauthorized;
    }
    if (callbacks_ <= fail_first_) return http::status::internal_server_error;
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(req.body());
    simdjson::dom::array receipts = root["receipts"];
    largest_callback_ = std::max(largest_callback_, receipts.size());
    for (simdjson::dom::element r : receipts) {
      Receipt receipt{std::string(r["eventId"].get_string().value()),
                      std::string(r["messageId"].get_string().value()),
                      std::string(r["vendorMessageId"].get_string().value()),
                      std::string(r["status"].get_string().value()),
                      "",
                      std::string(r["occurredAt"].get_string().value())};
      std::string_view reason;
      if (!r["reason"].get_string().get(reason)) receipt.reason = reason;
      ++acked_[receipt.event_id];
      receipts_.push_back(std::move(receipt));
    }
    cv_.notify_all();
    return http::status::ok;
  }

  const int fail_first_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int callbacks_ = 0, bad_signatures_ = 0;  // GUARDED_BY(mu_)
  size_t largest_callback_ = 0;             // GUARDED_BY(mu_)
  std::map<std::string, int> acked_;        // GUARDED_BY(mu_)
  std::vector<Receipt> receipts_;           // GUARDED_BY(mu_)
};

DummyVendor::Options Quick(std::string receipt_url = "") {
  DummyVendor::Options o;
  o.secret = std::string(kSecret);
  o.receipt_url = std::move(receipt_url);
  o.receipt_delay_min = milliseconds(1);
  o.receipt_delay_max = milliseconds(20);
  return o;
}

std::unique_ptr<DummyVendor> StartVendor(DummyVendor::Options options) {
  auto vendor = DummyVendor::Start(std::move(options));
  EXPECT_TRUE(vendor) << (vendor ? "" : vendor.error().message);
  return vendor ? std::move(*vendor) : nullptr;
}

// The tally once every receipt is acknowledged: the vendor counts an acknowledgement when the
// answer reaches it, a moment after the receiver recorded the receipts.
DummyVendor::Tally SettledTally(const DummyVendor& vendor) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (vendor.tally().callbacks_pending > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(2));
  }
  return vendor.tally();
}

std::string Field(const std::string& json, std::string_view name) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = parser.parse(json);
  return std::string(root[name].get_string().value());
}

TEST(DummyVendorTest, AcceptsOneMessage) {
  auto vendor = StartVendor(Quick());
  ASSERT_NE(vendor->port(), 0);
  Client client(vendor->port());
  auto answer = client.Post("/v1/messages", MessageJson("m-1"));
  ASSERT_EQ(answer.status, 200) << answer.body;
  EXPECT_EQ(Field(answer.body, "id"), "m-1");
  EXPECT_TRUE(Field(answer.body, "vendorMessageId").starts_with("vm-"));
  EXPECT_NE(answer.body.find(R"("duplicate":false)"), std::string::npos);
  EXPECT_EQ(vendor->TimesSent("m-1"), 1u);
  EXPECT_EQ(vendor->TimesSent("m-2"), 0u);
  EXPECT_EQ(vendor->tally().accepted, 1u);
}

TEST(DummyVendorTest, AcceptsABatchAnsweringInItsOrder) {
  auto vendor = StartVendor(Quick());
  Client client(vendor->port());
  const auto ids = Ids("b-", 0, 1000);
  auto answer = client.Post("/v1/messages/batch", BatchJson(ids));
  ASSERT_EQ(answer.status, 200) << answer.body.substr(0, 200);
  simdjson::dom::parser parser;
  simdjson::dom::array results = parser.parse(answer.body)["results"];
  ASSERT_EQ(results.size(), ids.size());
  std::set<std::string> vendor_ids;
  size_t i = 0;
  for (simdjson::dom::element r : results) {
    EXPECT_EQ(r["id"].get_string().value(), ids[i++]);
    EXPECT_FALSE(r["duplicate"].get_bool().value());
    vendor_ids.insert(std::string(r["vendorMessageId"].get_string().value()));
  }
  EXPECT_EQ(vendor_ids.size(), ids.size());
  EXPECT_EQ(vendor->tally().accepted, 1000u);
}

TEST(DummyVendorTest, DuplicatesAnswerTheSameVendorMessageIdAndCountOnce) {
  ReceiptReceiver receiver;
  auto vendor = StartVendor(Quick(receiver.url()));
  Client client(vendor->port());
  auto first = client.Post("/v1/messages", MessageJson("dup-1"));
  auto again = client.Post("/v1/messages", MessageJson("dup-1"));
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(Field(first.body, "vendorMessageId"), Field(again.body, "vendorMessageId"));
  EXPECT_NE(again.body.find(R"("duplicate":true)"), std::string::npos);
  // In a batch too, and twice within one batch.
  auto batch = client.Post("/v1/messages/batch", BatchJson({"dup-1", "dup-2", "dup-2"}));
  ASSERT_EQ(batch.status, 200);
  EXPECT_NE(batch.body.find(R"({"id":"dup-1","vendorMessageId":")" +
                            Field(first.body, "vendorMessageId") + R"(","duplicate":true})"),
            std::string::npos)
      << batch.body;
  EXPECT_EQ(vendor->TimesSent("dup-1"), 3u);
  EXPECT_EQ(vendor->TimesSent("dup-2"), 2u);
  ASSERT_TRUE(receiver.WaitFor(2));
  std::this_thread::sleep_for(milliseconds(100));  // a second receipt would have come by now
  EXPECT_EQ(receiver.receipts().size(), 2u);
  const auto tally = SettledTally(*vendor);
  EXPECT_EQ(tally.accepted, 2u);
  EXPECT_EQ(tally.duplicates, 3u);
  EXPECT_EQ(tally.delivered + tally.failed, 2u);
}

TEST(DummyVendorTest, RefusesMalformedSendsNamingTheField) {
  auto vendor = StartVendor(Quick());
  Client client(vendor->port());
  const std::string too_long_text(kMaxTextBytes + 1, 'x');
  const std::vector<std::pair<std::string, std::string>> singles = {
      {"{", "body: malformed JSON"},
      {"[]", "body: must be a JSON object"},
      {R"({"to":"a@b.c","channel":"email","text":"x"})", "id: required"},
      {MessageJson("has space"), "id: must be"},
      {MessageJson(std::string(kMaxMessageIdBytes + 1, 'a')), "id: must be"},
      {R"({"id":7,"to":"a@b.c","channel":"email","text":"x"})", "id: must be a string"},
      {MessageJson("m-1", "fax"), "channel: must be"},
      {MessageJson("m-1", "sms", ""), "to: required"},
      {MessageJson("m-1", "sms", "+441234", too_long_text), "text: over 16384 bytes"},
      {R"({"id":"m-1","to":"a@b.c","channel":"email"})", "text: required"},
      {MessageJson("m-1") + "x", "body: malformed JSON"},
  };
  for (const auto& [body, error] : singles) {
    auto answer = client.Post("/v1/messages", body);
    EXPECT_EQ(answer.status, 400) << body.substr(0, 80);
    EXPECT_TRUE(Field(answer.body, "error").starts_with(error)) << answer.body;
  }
  auto ids = Ids("ok-", 0, 3);
  std::string bad_index = BatchJson(ids);
  bad_index.replace(bad_index.find("ok-2"), 4, "ok 2");
  const std::vector<std::pair<std::string, std::string>> batches = {
      {"{}", "messages: required"},
      {R"({"messages":{}})", "messages: must be an array"},
      {R"({"messages":[1]})", "messages[0]: must be an object"},
      {bad_index, "messages[2].id: must be"},
      {BatchJson(Ids("many-", 0, kMaxBatchMessages + 1)), "messages: at most 1000"},
  };
  for (const auto& [body, error] : batches) {
    auto answer = client.Post("/v1/messages/batch", body);
    EXPECT_EQ(answer.status, 400) << body.substr(0, 80);
    EXPECT_TRUE(Field(answer.body, "error").starts_with(error)) << answer.body;
  }
  // A refused batch accepts none of its valid messages.
  EXPECT_EQ(vendor->TimesSent("ok-0"), 0u);
  EXPECT_EQ(vendor->tally().accepted, 0u);
}

TEST(DummyVendorTest, RefusesABadOrMissingKey) {
  auto vendor = StartVendor(Quick());
  Client client(vendor->port());
  EXPECT_EQ(client.Post("/v1/messages", MessageJson("k-1"), "").status, 401);
  EXPECT_EQ(client.Post("/v1/messages", MessageJson("k-1"), "Bearer s3cre").status, 401);
  EXPECT_EQ(client.Post("/v1/messages", MessageJson("k-1"), "Bearer s3cret2").status, 401);
  EXPECT_EQ(client.Post("/v1/messages/batch", BatchJson({"k-1"}), "Basic s3cret").status, 401);
  EXPECT_EQ(client.Send(http::verb::get, "/v1/tally", "", "Bearer nope").status, 401);
  EXPECT_EQ(vendor->tally().accepted, 0u);
  EXPECT_EQ(client.Post("/v1/other", "{}").status, 404);
}

TEST(DummyVendorTest, RefusesABodyOverTheLimit) {
  auto vendor = StartVendor(Quick());
  asio::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), vendor->port()));
  const std::string head =
      "POST /v1/messages/batch HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer s3cret\r\nContent-Length: " +
      std::to_string(kMaxBodyBytes + 1) + "\r\n\r\n{";
  asio::write(socket, asio::buffer(head));
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 413u);
}

TEST(DummyVendorTest, ServesItsTally) {
  auto vendor = StartVendor(Quick());
  Client client(vendor->port());
  ASSERT_EQ(client.Post("/v1/messages/batch", BatchJson({"t-1", "t-2", "t-1"})).status, 200);
  auto answer = client.Send(http::verb::get, "/v1/tally", "");
  ASSERT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, R"({"accepted":2,"duplicates":1,"delivered":0,"failed":0,)"
                         R"("callbacksAcknowledged":0,"callbacksPending":0})");
}

TEST(DummyVendorTest, FailRateOneAnswers503AndAcceptsNothingUntilRecovered) {
  auto options = Quick();
  options.fail_rate = 1;
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(client.Post("/v1/messages", MessageJson("f-1")).status, 503);
    EXPECT_EQ(client.Post("/v1/messages/batch", BatchJson({"f-2"})).status, 503);
  }
  EXPECT_EQ(client.Post("/v1/messages", "{").status, 503);  // before any parsing
  EXPECT_EQ(vendor->TimesSent("f-1"), 0u);
  EXPECT_EQ(vendor->tally().accepted, 0u);
  vendor->SetFaults(0, 0, 0);
  EXPECT_EQ(client.Post("/v1/messages", MessageJson("f-1")).status, 200);
  EXPECT_EQ(vendor->TimesSent("f-1"), 1u);
}

TEST(DummyVendorTest, ThrottleAnswers429WithRetryAfter) {
  auto options = Quick();
  options.throttle_rate = 1;
  options.throttle_retry_after_s = 7;
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  auto answer = client.Post("/v1/messages/batch", BatchJson({"th-1", "th-2"}));
  EXPECT_EQ(answer.status, 429);
  EXPECT_EQ(answer.retry_after, "7");
  EXPECT_EQ(vendor->tally().accepted, 0u);
}

TEST(DummyVendorTest, SharesOfFaultsFollowTheSeed) {
  auto options = Quick();
  options.fail_rate = 0.3;
  options.throttle_rate = 0.2;
  auto run = [&] {
    auto vendor = StartVendor(options);
    Client client(vendor->port());
    std::string statuses;
    for (int i = 0; i < 400; ++i) {
      statuses += std::to_string(
                      client.Post("/v1/messages", MessageJson("s-" + std::to_string(i))).status) +
                  ",";
    }
    return statuses;
  };
  const std::string first = run();
  EXPECT_EQ(run(), first);  // same seed, same faults in the same order
  auto count = [&](std::string_view s) {
    size_t n = 0;
    for (size_t at = first.find(s); at != std::string::npos; at = first.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_NEAR(count("503"), 120, 40);
  EXPECT_NEAR(count("429"), 80, 35);
  EXPECT_EQ(count("200") + count("503") + count("429"), 400u);
}

TEST(DummyVendorTest, StallLeavesTheRequestUnansweredThenCloses) {
  auto options = Quick();
  options.stall_rate = 1;
  options.stall_for = milliseconds(300);
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  const auto started = std::chrono::steady_clock::now();
  auto answer = client.Post("/v1/messages", MessageJson("st-1"));
  EXPECT_EQ(answer.status, -1);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(290));
  EXPECT_EQ(vendor->TimesSent("st-1"), 0u);
  // Stop closes a stalled connection at once.
  vendor->SetFaults(0, 0, 1);
  auto options2 = options;
  options2.stall_for = std::chrono::seconds(60);
  auto stalling = StartVendor(options2);
  std::thread stop([&] {
    std::this_thread::sleep_for(milliseconds(100));
    stalling->Stop();
  });
  Client blocked(stalling->port());
  const auto before = std::chrono::steady_clock::now();
  EXPECT_EQ(blocked.Post("/v1/messages", MessageJson("st-2")).status, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  stop.join();
}

TEST(DummyVendorTest, RateLimitAnswers429BeyondTheMessagesOfOneSecond) {
  auto options = Quick();
  options.rate_limit = 1000;
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  Client::Answer answer;
  int accepted_batches = 0;
  for (int i = 0; i < 10; ++i) {
    answer =
        client.Post("/v1/messages/batch", BatchJson(Ids("r" + std::to_string(i) + "-", 0, 400)));
    if (answer.status != 200) break;
    ++accepted_batches;
  }
  EXPECT_EQ(answer.status, 429);
  EXPECT_EQ(answer.retry_after, "1");
  EXPECT_GE(accepted_batches, 2);
  for (uint64_t n : vendor->AcceptedPerSecond()) EXPECT_LE(n, 1000u);
  uint64_t total = 0;
  for (uint64_t n : vendor->AcceptedPerSecond()) total += n;
  EXPECT_EQ(total, 400u * accepted_batches);
}

TEST(DummyVendorTest, ReceiptsAreSignedAndAboutNinetyPercentDelivered) {
  ReceiptReceiver receiver;
  auto options = Quick(receiver.url());
  options.receipt_batch = 300;
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  const auto ids = Ids("rc-", 0, 2000);
  for (size_t i = 0; i < ids.size(); i += 500) {
    std::vector<std::string> part(ids.begin() + i, ids.begin() + i + 500);
    ASSERT_EQ(client.Post("/v1/messages/batch", BatchJson(part)).status, 200);
  }
  ASSERT_TRUE(receiver.WaitFor(2000));
  EXPECT_EQ(receiver.bad_signatures(), 0);
  EXPECT_LE(receiver.largest_callback(), 300u);
  std::set<std::string> messages;
  size_t delivered = 0;
  for (const Receipt& r : receiver.receipts()) {
    messages.insert(r.message_id);
    EXPECT_EQ(r.event_id, r.vendor_message_id + ":" + r.status);
    EXPECT_EQ(r.occurred_at.size(), 24u) << r.occurred_at;  // 2026-12-02T03:04:05.678Z
    if (r.status == kDelivered) {
      ++delivered;
      EXPECT_EQ(r.reason, "");
    } else {
      EXPECT_EQ(r.status, kFailed);
      EXPECT_TRUE(r.reason == "mailbox_full" || r.reason == "invalid_address" ||
                  r.reason == "blocked")
          << r.reason;
    }
  }
  EXPECT_EQ(messages.size(), 2000u);
  EXPECT_NEAR(static_cast<double>(delivered), 1800, 60);
  const auto tally = SettledTally(*vendor);
  EXPECT_EQ(tally.accepted, 2000u);
  EXPECT_EQ(tally.delivered, delivered);
  EXPECT_EQ(tally.failed, 2000u - delivered);
  EXPECT_EQ(tally.callbacks_acknowledged, 2000u);
  EXPECT_EQ(tally.callbacks_pending, 0u);
}

TEST(DummyVendorTest, SameSeedSameOutcomesAndVendorIds) {
  auto outcomes = [](uint64_t seed) {
    ReceiptReceiver receiver;
    auto options = Quick(receiver.url());
    options.seed = seed;
    auto vendor = StartVendor(options);
    Client client(vendor->port());
    EXPECT_EQ(client.Post("/v1/messages/batch", BatchJson(Ids("o-", 0, 300))).status, 200);
    EXPECT_TRUE(receiver.WaitFor(300));
    std::map<std::string, std::string> out;
    for (const Receipt& r : receiver.receipts()) {
      out[r.message_id] = r.event_id + "/" + r.reason;
    }
    return out;
  };
  const auto first = outcomes(42);
  ASSERT_EQ(first.size(), 300u);
  EXPECT_EQ(outcomes(42), first);
  EXPECT_NE(outcomes(43), first);
}

TEST(DummyVendorTest, CallbacksAreRetriedUntilEachReceiptIsAcknowledgedOnce) {
  ReceiptReceiver receiver(/*fail_first=*/2);
  auto options = Quick(receiver.url());
  options.receipt_batch = 100;
  auto vendor = StartVendor(options);
  Client client(vendor->port());
  ASSERT_EQ(client.Post("/v1/messages/batch", BatchJson(Ids("rt-", 0, 500))).status, 200);
  ASSERT_TRUE(receiver.WaitFor(500));
  EXPECT_GE(receiver.callbacks(), 2 + 5);
  for (const auto& [event_id, times] : receiver.acknowledged()) {
    EXPECT_EQ(times, 1) << event_id;
  }
  EXPECT_EQ(receiver.acknowledged().size(), 500u);
  const auto tally = SettledTally(*vendor);
  EXPECT_EQ(tally.callbacks_acknowledged, 500u);
  EXPECT_EQ(tally.callbacks_pending, 0u);
}

TEST(DummyVendorTest, StartRefusesBadOptions) {
  auto code = [](DummyVendor::Options o) {
    auto vendor = DummyVendor::Start(std::move(o));
    return vendor ? std::optional<ErrorCode>() : vendor.error().code;
  };
  auto o = Quick();
  o.secret = "";
  EXPECT_EQ(code(o), ErrorCode::kInvalidArgument);
  o = Quick();
  o.fail_rate = 0.6, o.throttle_rate = 0.6;
  EXPECT_EQ(code(o), ErrorCode::kInvalidArgument);
  o = Quick();
  o.receipt_url = "https://example.com/receipts";
  EXPECT_EQ(code(o), ErrorCode::kInvalidArgument);
  o = Quick();
  o.receipt_delay_min = milliseconds(5), o.receipt_delay_max = milliseconds(4);
  EXPECT_EQ(code(o), ErrorCode::kInvalidArgument);
  auto taken = StartVendor(Quick());
  o = Quick();
  o.port = taken->port();
  EXPECT_EQ(code(o), ErrorCode::kUnavailable);
}

// Batches of 500 from two connections at once, receipts called back to a loopback receiver.
TEST(DummyVendorTest, SustainsTwentyThousandMessagesPerSecond) {
  ReceiptReceiver receiver;
  auto vendor = StartVendor(Quick(receiver.url()));
  constexpr int kSenders = 2, kBatches = 40;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      Client client(vendor->port());
      for (int b = 0; b < kBatches; ++b) {
        const auto ids = Ids("p" + std::to_string(s) + "-" + std::to_string(b) + "-", 0, 500);
        EXPECT_EQ(client.Post("/v1/messages/batch", BatchJson(ids)).status, 200);
      }
    });
  }
  for (auto& t : senders) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double rate = kSenders * kBatches * 500 / seconds;
  std::printf("accepted %d messages in %.3f s: %.0f messages/s\n", kSenders * kBatches * 500,
              seconds, rate);
  RecordProperty("messages_per_second", static_cast<int>(rate));
  ASSERT_TRUE(receiver.WaitFor(kSenders * kBatches * 500));
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_GT(rate, 20000);
#endif
}

}  // namespace
}  // namespace keel::vendor

#include "infra/vendor/dummy_vendor.h"

#include <curl/curl.h>
#include <simdjson.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "infra/vendor/vendor_contract.h"

namespace keel::vendor {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long the receipt thread waits, once a receipt is due, for more to share its callback.
constexpr milliseconds kReceiptLinger{10};
constexpr milliseconds kFirstRetry{100};
constexpr milliseconds kMaxRetry{5000};
constexpr auto kIdleTimeout = std::chrono::minutes(5);
constexpr std::string_view kFailureReasons[] = {"mailbox_full", "invalid_address", "blocked"};

// The dedupe key of a message id: 16 bytes of a BLAKE2b digest keyed with the seed.
struct Digest {
  uint64_t hi = 0, lo = 0;
  bool operator==(const Digest&) const = default;
};
struct DigestHash {
  size_t operator()(const Digest& d) const noexcept { return d.lo; }
};

// All a vendor decides about one message, from the seed and its id alone.
struct MessageFacts {
  Digest key;
  uint64_t outcome_bits = 0;  // DELIVERED or FAILED, and the reason
  uint64_t delay_bits = 0;    // the receipt's delay
};

uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

MessageFacts FactsOf(uint64_t seed, std::string_view id) {
  unsigned char key[crypto_generichash_KEYBYTES_MIN] = {};
  static_assert(sizeof key >= sizeof seed);
  std::memcpy(key, &seed, sizeof seed);
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(id.data()), id.size(),
                     key, sizeof key);
  return {.key = {Load64(out), Load64(out + 8)},
          .outcome_bits = Load64(out + 16),
          .delay_bits = Load64(out + 24)};
}

// A uniform double in [0, 1) from 64 random bits.
double Unit(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1p-53; }

std::string VendorMessageId(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "vm-";
  out.reserve(3 + 32);
  for (uint64_t word : {d.hi, d.lo}) {
    for (int shift = 60; shift >= 0; shift -= 4) out += kDigits[(word >> shift) & 15];
  }
  return out;
}

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

std::string ErrorBody(std::string_view message) {
  std::string out = R"({"error":)";
  AppendJsonString(out, message);
  out += '}';
  return out;
}

// ISO-8601 UTC with milliseconds.
std::string IsoTime(std::chrono::system_clock::time_point t) {
  const int64_t ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// One message of a send, pointing into the parser's buffers.
struct Message {
  std::string_view id, to, channel, text;
};

// Reads one {"id", "to", "channel", "text"} object; on a bad field, the error names it after
// `where` ("" or "messages[3].").
std::optional<std::string> ParseMessage(simdjson::dom::object object, const std::string& where,
                                        Message& out) {
  bool has_id = false, has_to = false, has_channel = false, has_text = false;
  for (auto [key, value] : object) {
    std::string_view* slot = nullptr;
    if (key == "id") {
      slot = &out.id, has_id = true;
    } else if (key == "to") {
      slot = &out.to, has_to = true;
    } else if (key == "channel") {
      slot = &out.channel, has_channel = true;
    } else if (key == "text") {
      slot = &out.text, has_text = true;
    } else {
      continue;  // unknown fields are ignored, as the big vendors do
    }
    if (value.get_string().get(*slot)) return where + std::string(key) + ": must be a string";
  }
  if (!has_id) return where + "id: required";
  if (!ValidMessageId(out.id)) return where + "id: must be 1-128 bytes of [A-Za-z0-9:._-]";
  if (!has_to || out.to.empty()) return where + "to: required, not empty";
  if (!has_channel) return where + "channel: required";
  if (out.channel != "email" && out.channel != "sms") {
    return where + "channel: must be \"email\" or \"sms\"";
  }
  if (!has_text) return where + "text: required";
  if (out.text.size() > kMaxTextBytes) {
    return where + "text: over " + std::to_string(kMaxTextBytes) + " bytes";
  }
  return std::nullopt;
}

// Parses a send's body into `out`: one message, or a batch. Returns the 400 message, if any.
// The views in `out` point into `parser` until its next parse.
std::optional<std::string> ParseSend(simdjson::dom::parser& parser,
                                     const simdjson::padded_string& body, bool batch,
                                     std::vector<Message>& out) {
  simdjson::dom::element root;
  if (parser.parse(body).get(root)) return "body: malformed JSON";
  simdjson::dom::object object;
  if (root.get_object().get(object)) return "body: must be a JSON object";
  if (!batch) {
    Message m;
    if (auto error = ParseMessage(object, "", m)) return error;
    out.push_back(m);
    return std::nullopt;
  }
  simdjson::dom::element messages;
  if (object["messages"].get(messages)) return "messages: required";
  simdjson::dom::array array;
  if (messages.get_array().get(array)) return "messages: must be an array";
  if (array.size() > kMaxBatchMessages) {
    return "messages: at most " + std::to_string(kMaxBatchMessages) + " in a batch";
  }
  out.reserve(array.size());
  size_t index = 0;
  for (simdjson::dom::element element : array) {
    const std::string where = "messages[" + std::to_string(index++) + "]";
    simdjson::dom::object message;
    if (element.get_object().get(message)) return where + ": must be an object";
    Message m;
    if (auto error = ParseMessage(message, where + ".", m)) return error;
    out.push_back(m);
  }
  return std::nullopt;
}

struct Reply {
  http::status status = http::status::ok;
  std::string body;
  int retry_after_s = -1;  // sets Retry-After when >= 0
  bool stall = false;      // leave unanswered, close after stall_for
};

enum class Fault { kNone, kFail, kThrottle, kStall };

// A receipt waiting for its delay, in a min-heap by `due`.
struct PendingReceipt {
  SteadyClock::time_point due;
  std::string id;
};
struct LaterDue {
  bool operator()(const PendingReceipt& a, const PendingReceipt& b) const { return a.due > b.due; }
};

// What a connection asks of the vendor.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual Reply Handle(const http::request<http::string_body>& req) = 0;
  virtual milliseconds stall_for() const = 0;
};

}  // namespace

struct DummyVendor::Impl final : RequestHandler {
  explicit Impl(Options o)
      : options_(std::move(o)),
        started_(SteadyClock::now()),
        fault_rng_(options_.seed),
        fail_rate_(options_.fail_rate),
        throttle_rate_(options_.throttle_rate),
        stall_rate_(options_.stall_rate) {}

  Status Listen();
  void Run();
  void Stop();
  Reply Handle(const http::request<http::string_body>& req) override;
  milliseconds stall_for() const override { return options_.stall_for; }
  Reply HandleSend(const http::request<http::string_body>& req, bool batch);
  Fault DrawFault();
  void Schedule(std::vector<PendingReceipt> receipts);
  void ReceiptLoop();
  bool PostCallback(CURL* curl, const std::string& body);
  Tally GetTally() const;
  std::string TallyJson() const;
  uint64_t SecondSinceStart(SteadyClock::time_point t) const {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(t - started_).count());
  }

  const Options options_;
  const SteadyClock::time_point started_;
  uint16_t port_ = 0;

  // Accepted ids, the fault draws and the rate-limit window.
  mutable std::mutex mu_;
  std::unordered_map<Digest, uint32_t, DigestHash> times_sent_;  // GUARDED_BY(mu_)
  uint64_t duplicates_ = 0;                                      // GUARDED_BY(mu_)
  std::vector<uint64_t> accepted_per_second_;                    // GUARDED_BY(mu_)
  uint64_t window_second_ = 0, window_messages_ = 0;             // GUARDED_BY(mu_)
  std::mt19937_64 fault_rng_;                                    // GUARDED_BY(mu_)
  double fail_rate_, throttle_rate_, stall_rate_;                // GUARDED_BY(mu_)

  // Receipts not yet due; the receipt thread waits on receipts_cv_.
  std::mutex receipts_mu_;
  std::condition_variable receipts_cv_;
  std::vector<PendingReceipt> due_heap_;  // GUARDED_BY(receipts_mu_)
  bool stopping_ = false;                 // GUARDED_BY(receipts_mu_)
  std::atomic<bool> abort_callback_{false};
  std::atomic<uint64_t> delivered_{0}, failed_{0}, acknowledged_{0};

  std::once_flag stop_once_;
  std::unique_ptr<asio::io_context> ioc_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::thread receipt_thread_;
};

namespace {

// One keep-alive connection: reads a request, answers it, reads the next. Runs on its strand.
class Session final : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, RequestHandler& vendor)
      : stream_(std::move(socket)), vendor_(vendor), stall_timer_(stream_.get_executor()) {}

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      Reply reply{http::status::payload_too_large,
                  ErrorBody("body: over " + std::to_string(kMaxBodyBytes) + " bytes")};
      Write(std::move(reply), /*keep_alive=*/false, 11);
      return;
    }
    if (ec) return Close();
    http::request<http::string_body> req = parser_->release();
    Reply reply = vendor_.Handle(req);
    if (reply.stall) {
      stream_.expires_never();
      stall_timer_.expires_after(vendor_.stall_for());
      stall_timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Close(); });
      return;
    }
    Write(std::move(reply), req.keep_alive(), req.version());
  }

  void Write(Reply reply, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>(reply.status, version);
    res->set(http::field::server, "keel-dummy-vendor");
    res->set(http::field::content_type, "application/json");
    if (reply.retry_after_s >= 0) {
      res->set(http::field::retry_after, std::to_string(reply.retry_after_s));
    }
    res->keep_alive(keep_alive);
    res->body() = std::move(reply.body);
    res->prepare_payload();
    stream_.expires_after(kIdleTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  RequestHandler& vendor_;
  asio::steady_timer stall_timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void Accept(tcp::acceptor& acceptor, asio::io_context& ioc, RequestHandler& vendor) {
  acceptor.async_accept(asio::make_strand(ioc),
                        [&acceptor, &ioc, &vendor](beast::error_code ec, tcp::socket socket) {
                          if (ec == asio::error::operation_aborted) return;
                          if (!ec) {
                            socket.set_option(tcp::no_delay(true), ec);
                            std::make_shared<Session>(std::move(socket), vendor)->Start();
                          }
                          if (acceptor.is_open()) Accept(acceptor, ioc, vendor);
                        });
}

bool BearerMatches(std::string_view header, std::string_view secret) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() != kBearer.size() + secret.size() || !header.starts_with(kBearer)) {
    return false;
  }
  return sodium_memcmp(header.data() + kBearer.size(), secret.data(), secret.size()) == 0;
}

size_t DiscardBody(char*, size_t size, size_t n, void*) { return size * n; }

int AbortOnStop(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(flag)->load() ? 1 : 0;
}

}  // namespace

Status DummyVendor::Impl::Listen() {
  ioc_ = std::make_unique<asio::io_context>(options_.threads);
  beast::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return Fail(Error::InvalidArgument("host: not an IP address: " + options_.host));
  acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(*ioc_));
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(Error::Unavailable("cannot listen on " + options_.host + ":" +
                                   std::to_string(options_.port) + ": " + ec.message()));
  }
  port_ = acceptor_->local_endpoint().port();
  return {};
}

void DummyVendor::Impl::Run() {
  Accept(*acceptor_, *ioc_, *this);
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] { ioc_->run(); });
  }
  receipt_thread_ = std::thread([this] { ReceiptLoop(); });
}

void DummyVendor::Impl::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard lock(receipts_mu_);
      stopping_ = true;
    }
    abort_callback_ = true;
    receipts_cv_.notify_all();
    ioc_->stop();
    for (auto& t : threads_) t.join();
    if (receipt_thread_.joinable()) receipt_thread_.join();
    beast::error_code ignored;
    acceptor_->close(ignored);
    acceptor_.reset();
    // Destroying the context destroys the handlers it still holds, and with them every session
    // and its socket.
    ioc_.reset();
  });
}

Fault DummyVendor::Impl::DrawFault() {
  std::lock_guard lock(mu_);
  const double u = Unit(fault_rng_());
  if (u < fail_rate_) return Fault::kFail;
  if (u < fail_rate_ + throttle_rate_) return Fault::kThrottle;
  if (u < fail_rate_ + throttle_rate_ + stall_rate_) return Fault::kStall;
  return Fault::kNone;
}

Reply DummyVendor::Impl::Handle(const http::request<http::string_body>& req) {
  std::string_view target(req.target().data(), req.target().size());
  target = target.substr(0, target.find('?'));
  const bool send = target == "/v1/messages" || target == "/v1/messages/batch";
  if (!send && target != "/v1/tally") {
    return {http::status::not_found, ErrorBody("no such route")};
  }
  const auto auth = req[http::field::authorization];
  if (!BearerMatches(std::string_view(auth.data(), auth.size()), options_.secret)) {
    return {http::status::unauthorized, ErrorBody("a bad or missing key")};
  }
  if (!send) {
    if (req.method() != http::verb::get) {
      return {http::status::method_not_allowed, ErrorBody("GET only")};
    }
    return {http::status::ok, TallyJson()};
  }
  if (req.method() != http::verb::post) {
    return {http::status::method_not_allowed, ErrorBody("POST only")};
  }
  return HandleSend(req, target == "/v1/messages/batch");
}

Reply DummyVendor::Impl::HandleSend(const http::request<http::string_body>& req, bool batch) {
  switch (DrawFault()) {
    case Fault::kFail:
      return {http::status::service_unavailable, ErrorBody("injected failure")};
    case Fault::kThrottle:
      return {http::status::too_many_requests, ErrorBody("injected throttling"),
              options_.throttle_retry_after_s};
    case Fault::kStall:
      return {.stall = true};
    case Fault::kNone:
      break;
  }

  thread_local simdjson::dom::parser parser;
  const simdjson::padded_string body(req.body());
  std::vector<Message> messages;
  if (auto error = ParseSend(parser, body, batch, messages)) {
    return {http::status::bad_request, ErrorBody(*error)};
  }
  std::vector<MessageFacts> facts;
  facts.reserve(messages.size());
  for (const Message& m : messages) facts.push_back(FactsOf(options_.seed, m.id));

  const auto now = SteadyClock::now();
  std::vector<bool> duplicate(messages.size());
  {
    std::lock_guard lock(mu_);
    const uint64_t second = SecondSinceStart(now);
    if (options_.rate_limit > 0) {
      if (second != window_second_) window_second_ = second, window_messages_ = 0;
      if (window_messages_ > 0 &&
          static_cast<double>(window_messages_ + messages.size()) > options_.rate_limit) {
        return {http::status::too_many_requests, ErrorBody("over the rate limit"), 1};
      }
      window_messages_ += messages.size();
    }
    uint64_t fresh = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      auto [it, inserted] = times_sent_.try_emplace(facts[i].key, 0);
      ++it->second;
      duplicate[i] = !inserted;
      if (inserted) {
        ++fresh;
      } else {
        ++duplicates_;
      }
    }
    if (accepted_per_second_.size() <= second) accepted_per_second_.resize(second + 1);
    accepted_per_second_[second] += fresh;
  }

  std::vector<PendingReceipt> receipts;
  const int64_t span = (options_.receipt_delay_max - options_.receipt_delay_min).count() + 1;
  std::string out = batch ? R"({"results":[)" : "";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!duplicate[i]) {
      const auto delay = options_.receipt_delay_min +
                         milliseconds(static_cast<int64_t>(facts[i].delay_bits % span));
      receipts.push_back({now + delay, std::string(messages[i].id)});
    }
    if (i > 0) out += ',';
    out += R"({"id":")";
    out += messages[i].id;  // ValidMessageId: nothing to escape
    out += R"(","vendorMessageId":")";
    out += VendorMessageId(facts[i].key);
    out += R"(","duplicate":)";
    out += duplicate[i] ? "true}" : "false}";
  }
  if (batch) out += "]}";
  if (!receipts.empty()) Schedule(std::move(receipts));
  return {http::status::ok, std::move(out)};
}

void DummyVendor::Impl::Schedule(std::vector<PendingReceipt> receipts) {
  {
    std::lock_guard lock(receipts_mu_);
    for (auto& r : receipts) {
      due_heap_.push_back(std::move(r));
      std::push_heap(due_heap_.begin(), due_heap_.end(), LaterDue());
    }
  }
  receipts_cv_.notify_one();
}

bool DummyVendor::Impl::PostCallback(CURL* curl, const std::string& body) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string timestamp = std::string(kTimestampHeader) + ": " + std::to_string(now);
  const std::string signature =
      std::string(kSignatureHeader) + ": " + SignPayload(options_.secret, now, body);
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, timestamp.c_str());
  headers = curl_slist_append(headers, signature.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const CURLcode rc = curl_easy_perform(curl);
  long code = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  return rc == CURLE_OK && code >= 200 && code < 300;
}

void DummyVendor::Impl::ReceiptLoop() {
  CURL* curl = nullptr;
  if (!options_.receipt_url.empty()) {
    curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, options_.receipt_url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortOnStop);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &abort_callback_);
  }
  const auto system_offset =
      std::chrono::system_clock::now().time_since_epoch() - SteadyClock::now().time_since_epoch();
  std::unique_lock lock(receipts_mu_);
  while (!stopping_) {
    if (due_heap_.empty()) {
      receipts_cv_.wait(lock);
      continue;
    }
    // Once the first receipt is due, wait kReceiptLinger more for others to share its callback.
    const auto first_due = due_heap_.front().due;
    const auto now = SteadyClock::now();
    if (now < first_due + kReceiptLinger) {
      receipts_cv_.wait_until(lock, first_due + kReceiptLinger);
      continue;
    }
    std::vector<PendingReceipt> batch;
    while (!due_heap_.empty() && due_heap_.front().due <= now &&
           batch.size() < options_.receipt_batch) {
      std::pop_heap(due_heap_.begin(), due_heap_.end(), LaterDue());
      batch.push_back(std::move(due_heap_.back()));
      due_heap_.pop_back();
    }
    lock.unlock();

    std::string body = R"({"receipts":[)";
    uint64_t delivered = 0, failed = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      const MessageFacts facts = FactsOf(options_.seed, batch[i].id);
      const bool ok = Unit(facts.outcome_bits) < options_.delivered_rate;
      const std::string_view status = ok ? kDelivered : kFailed;
      const std::string vendor_id = VendorMessageId(facts.key);
      ok ? ++delivered : ++failed;
      if (i > 0) body += ',';
      body += R"({"eventId":")";
      body += vendor_id;
      body += ':';
      body += status;
      body += R"(","messageId":")";
      body += batch[i].id;
      body += R"(","vendorMessageId":")";
      body += vendor_id;
      body += R"(","status":")";
      body += status;
      if (!ok) {
        body += R"(","reason":")";
        body += kFailureReasons[(facts.outcome_bits & 0xff) % std::size(kFailureReasons)];
      }
      body += R"(","occurredAt":")";
      body += IsoTime(std::chrono::system_clock::time_point(
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              batch[i].due.time_since_epoch() + system_offset)));
      body += "\"}";
    }
    body += "]}";
    delivered_ += delivered;
    failed_ += failed;

    if (curl != nullptr) {
      milliseconds backoff = kFirstRetry;
      while (!PostCallback(curl, body)) {
        std::unique_lock wait_lock(receipts_mu_);
        if (receipts_cv_.wait_for(wait_lock, backoff, [this] { return stopping_; })) break;
        backoff = std::min(backoff * 2, kMaxRetry);
      }
      if (!abort_callback_) acknowledged_ += batch.size();
    }
    lock.lock();
  }
  lock.unlock();
  if (curl != nullptr) curl_easy_cleanup(curl);
}

DummyVendor::Tally DummyVendor::Impl::GetTally() const {
  Tally t;
  {
    std::lock_guard lock(mu_);
    t.accepted = times_sent_.size();
    t.duplicates = duplicates_;
  }
  t.delivered = delivered_;
  t.failed = failed_;
  t.callbacks_acknowledged = acknowledged_;
  t.callbacks_pending = options_.receipt_url.empty() ? 0 : t.accepted - t.callbacks_acknowledged;
  return t;
}

std::string DummyVendor::Impl::TallyJson() const {
  const Tally t = GetTally();
  return R"({"accepted":)" + std::to_string(t.accepted) + R"(,"duplicates":)" +
         std::to_string(t.duplicates) + R"(,"delivered":)" + std::to_string(t.delivered) +
         R"(,"failed":)" + std::to_string(t.failed) + R"(,"callbacksAcknowledged":)" +
         std::to_string(t.callbacks_acknowledged) + R"(,"callbacksPending":)" +
         std::to_string(t.callbacks_pending) + "}";
}

Result<std::unique_ptr<DummyVendor>> DummyVendor::Start(Options options) {
  auto share = [](double v) { return v >= 0 && v <= 1; };
  std::vector<FieldError> errors;
  if (options.secret.empty()) errors.push_back({"secret", "required"});
  if (!options.receipt_url.empty() && !options.receipt_url.starts_with("http://")) {
    errors.push_back({"receipt_url", "must be http://host:port/path"});
  }
  if (!share(options.delivered_rate)) errors.push_back({"delivered_rate", "must be in [0, 1]"});
  if (!share(options.fail_rate)) errors.push_back({"fail_rate", "must be in [0, 1]"});
  if (!share(options.throttle_rate)) errors.push_back({"throttle_rate", "must be in [0, 1]"});
  if (!share(options.stall_rate)) errors.push_back({"stall_rate", "must be in [0, 1]"});
  if (options.fail_rate + options.throttle_rate + options.stall_rate > 1 + 1e-9) {
    errors.push_back({"fail_rate", "fail, throttle and stall shares add up to more than 1"});
  }
  if (options.receipt_delay_min.count() < 0 ||
      options.receipt_delay_min > options.receipt_delay_max) {
    errors.push_back({"receipt_delay_min", "must be in [0, receipt_delay_max]"});
  }
  if (options.receipt_batch == 0) errors.push_back({"receipt_batch", "must be at least 1"});
  if (options.threads < 1) errors.push_back({"threads", "must be at least 1"});
  if (options.throttle_retry_after_s < 0) {
    errors.push_back({"throttle_retry_after_s", "must not be negative"});
  }
  if (options.rate_limit < 0) errors.push_back({"rate_limit", "must not be negative"});
  if (options.stall_for.count() < 0) errors.push_back({"stall_for", "must not be negative"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (sodium_init() < 0) return Fail(Error::Internal("libsodium failed to initialise"));
  static std::once_flag curl_once;
  std::call_once(curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto st = impl->Listen(); !st) return Fail(st.error());
  impl->Run();
  return std::unique_ptr<DummyVendor>(new DummyVendor(std::move(impl)));
}

DummyVendor::DummyVendor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DummyVendor::~DummyVendor() { Stop(); }

uint16_t DummyVendor::port() const { return impl_->port_; }

DummyVendor::Tally DummyVendor::tally() const { return impl_->GetTally(); }

uint64_t DummyVendor::TimesSent(std::string_view id) const {
  const Digest key = FactsOf(impl_->options_.seed, id).key;
  std::lock_guard lock(impl_->mu_);
  auto it = impl_->times_sent_.find(key);
  return it == impl_->times_sent_.end() ? 0 : it->second;
}

std::vector<uint64_t> DummyVendor::AcceptedPerSecond() const {
  const uint64_t second = impl_->SecondSinceStart(SteadyClock::now());
  std::lock_guard lock(impl_->mu_);
  std::vector<uint64_t> out = impl_->accepted_per_second_;
  if (out.size() <= second) out.resize(second + 1);
  return out;
}

void DummyVendor::SetFaults(double fail_rate, double throttle_rate, double stall_rate) {
  std::lock_guard lock(impl_->mu_);
  impl_->fail_rate_ = std::clamp(fail_rate, 0.0, 1.0);
  impl_->throttle_rate_ = std::clamp(throttle_rate, 0.0, 1.0);
  impl_->stall_rate_ = std::clamp(stall_rate, 0.0, 1.0);
}

void DummyVendor::Stop() { impl_->Stop(); }

}  // namespace keel::vendor

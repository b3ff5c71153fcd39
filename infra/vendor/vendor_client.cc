#include "infra/vendor/vendor_client.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <utility>

#include "domain/json.h"
#include "infra/vendor/vendor_contract.h"

namespace keel::vendor {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Done = std::function<void(std::vector<SendResult>)>;

constexpr std::string_view kStopped = "stopped";
constexpr std::string_view kUnauthorized = "unauthorized";
// How far the pacer may catch up after a late wake-up (a busy thread, all connections in
// flight): at 5,000/s, 100 messages. Any window of T seconds then carries at most
// rate·T + rate·slack + one request, within 4% of rate·T for T = 1 s.
constexpr auto kPacerSlack = std::chrono::milliseconds(20);
// When rate-limited, a request carries at most rate/kPacedRequestsPerSecond messages, so one
// request landing on either side of a second's boundary moves that second's count by ≤ 2%.
constexpr double kPacedRequestsPerSecond = 50;
constexpr int kMaxRetryAfterSeconds = 3600;
constexpr size_t kMaxReasonBytes = 512;

struct Endpoint {
  std::string host;  // as given, without brackets for IPv6
  std::string port;
  std::string host_header;
  std::string target_single;  // path prefix + /v1/messages
  std::string target_batch;   // path prefix + /v1/messages/batch
};

// http://host[:port][/prefix]; no query, fragment or user info.
Result<Endpoint> ParseUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  auto bad = [&](std::string why) { return Fail(Error::Validation({{"url", std::move(why)}})); };
  if (!url.starts_with(kScheme)) return bad("must start with http://");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos) return bad("no query or fragment");
  while (path.ends_with('/')) path.remove_suffix(1);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return bad("needs a host and no user info");
  }
  Endpoint e;
  std::string_view port = "80";
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed IPv6 literal");
    e.host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after the IPv6 literal");
      port = after.substr(1);
    }
  } else {
    const size_t colon = authority.rfind(':');
    e.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  unsigned port_number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (e.host.empty() || ec != std::errc() || end != port.data() + port.size() || port_number == 0 ||
      port_number > 65535) {
    return bad("needs a host and a port in 1..65535");
  }
  if (e.host.find_first_of(" \t\r\n") != std::string::npos) return bad("a host has no spaces");
  e.port = std::string(port);
  e.host_header = std::string(authority);
  e.target_single = std::string(path) + "/v1/messages";
  e.target_batch = e.target_single + "/batch";
  return e;
}

Status Validate(const VendorClient::Options& o) {
  std::vector<FieldError> errors;
  if (o.secret.empty() || o.secret.find_first_of("\r\n") != std::string::npos) {
    errors.push_back({"secret", "must be a non-empty single line"});
  }
  if (o.connections < 1 || o.connections > 1024) {
    errors.push_back({"connections", "must be in 1..1024"});
  }
  if (o.batch_size < 1 || o.batch_size > kMaxBatchMessages) {
    errors.push_back({"batch_size", "must be in 1.." + std::to_string(kMaxBatchMessages)});
  }
  if (!std::isfinite(o.rate_per_second) || o.rate_per_second < 0) {
    errors.push_back({"rate_per_second", "must be 0 (unlimited) or positive"});
  }
  if (o.request_timeout.count() <= 0) {
    errors.push_back({"request_timeout", "must be positive"});
  }
  if (o.backoff_base.count() <= 0 || o.backoff_max < o.backoff_base) {
    errors.push_back({"backoff", "needs 0 < backoff_base <= backoff_max"});
  }
  if (o.retry_budget.count() < 0) errors.push_back({"retry_budget", "must not be negative"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return {};
}

void AppendMessage(std::string& out, const OutgoingMessage& m) {
  out += "{\"id\":";
  AppendJsonString(out, m.id);
  out += ",\"to\":";
  AppendJsonString(out, m.to);
  out += ",\"channel\":";
  AppendJsonString(out, m.channel);
  out += ",\"text\":";
  AppendJsonString(out, m.text);
  out += '}';
}

// Integral seconds (the contract's form); nullopt for anything else, HTTP-dates included.
std::optional<int> ParseRetryAfter(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || seconds < 0) {
    return std::nullopt;
  }
  return static_cast<int>(std::min<int64_t>(seconds, kMaxRetryAfterSeconds));
}

std::string Truncated(std::string_view s) { return std::string(s.substr(0, kMaxReasonBytes)); }

// A messages queued by Send, with the callback of its Send.
struct Item {
  OutgoingMessage message;
  std::shared_ptr<Done> done;
};

// One request's messages. Its body is built once, so every retry resends the same ids.
struct Batch {
  std::vector<Item> items;
  bool single = false;  // POST /v1/messages rather than /v1/messages/batch
  std::string body;
  bool started = false;
  Clock::time_point first_attempt{};
  int attempts = 0;
  int failures = 0;  // transient failures, for the backoff's exponent
  bool fresh_connection_retry = false;
};

std::unique_ptr<Batch> MakeBatch(std::vector<Item> items) {
  auto batch = std::make_unique<Batch>();
  batch->single = items.size() == 1;
  if (batch->single) {
    AppendMessage(batch->body, items.front().message);
  } else {
    batch->body.reserve(64 + items.size() * 128);
    batch->body += "{\"messages\":[";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) batch->body += ',';
      AppendMessage(batch->body, items[i].message);
    }
    batch->body += "]}";
  }
  batch->items = std::move(items);
  return batch;
}

// One pooled keep-alive connection and the request it is carrying, if any.
struct Connection {
  explicit Connection(asio::io_context& io) : socket(io), resolver(io), timer(io) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;  // request_timeout of the current attempt
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response<http::string_body> response;
  std::unique_ptr<Batch> batch;
  uint64_t attempt = 0;  // numbers attempts, so a late timer cannot touch a later one
  bool connected = false;
  bool reused = false;  // the attempt runs on a connection that served an earlier one
  bool timed_out = false;
};

bool StaleConnectionError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
}

}  // namespace

class VendorClient::Impl {
 public:
  Impl(Options options, Endpoint endpoint)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        authorization_("Bearer " + options_.secret),
        paced_(options_.rate_per_second > 0),
        request_cap_(paced_ ? std::clamp<size_t>(static_cast<size_t>(options_.rate_per_second /
                                                                     kPacedRequestsPerSecond),
                                                 1, options_.batch_size)
                            : options_.batch_size),
        work_(asio::make_work_guard(io_)),
        pump_timer_(io_),
        rng_(options_.seed) {
    for (int i = 0; i < options_.connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(io_));
      idle_.push_back(connections_.back().get());
    }
  }

  ~Impl() {
    Stop();
    connections_.clear();
  }

  Status Launch() {
    try {
      thread_ = std::thread([this] { io_.run(); });
    } catch (const std::system_error& e) {
      return Fail(Error::Internal(std::string("vendor client thread: ") + e.what()));
    }
    io_thread_id_ = thread_.get_id();
    return {};
  }

  void Send(std::vector<OutgoingMessage> messages, Done done) {
    if (messages.empty()) return;
    auto callback = std::make_shared<Done>(std::move(done));
    std::unique_lock lock(mu_);
    if (closed_) {
      lock.unlock();
      std::vector<SendResult> results;
      results.reserve(messages.size());
      for (auto& m : messages) {
        results.push_back(
            {std::move(m.id), SendOutcome::kGaveUp, "", false, std::string(kStopped)});
      }
      stats_.gave_up += results.size();
      (*callback)(std::move(results));
      return;
    }
    pending_ += messages.size();
    for (auto& m : messages) inbox_.push_back({std::move(m), callback});
    if (!pump_posted_) {
      pump_posted_ = true;
      asio::post(io_, [this] { Pump(); });
    }
  }

  size_t pending() const { return pending_.load(); }

  Stats stats() const {
    Stats s;
    s.requests = stats_.requests.load();
    s.accepted = stats_.accepted.load();
    s.rejected = stats_.rejected.load();
    s.gave_up = stats_.gave_up.load();
    s.retries = stats_.retries.load();
    s.throttled = stats_.throttled.load();
    s.timeouts = stats_.timeouts.load();
    s.server_errors = stats_.server_errors.load();
    return s;
  }

  void Stop() {
    if (std::this_thread::get_id() == io_thread_id_) {
      StopOnIoThread();
      return;
    }
    std::lock_guard lock(stop_mu_);
    if (joined_) return;
    asio::post(io_, [this] { StopOnIoThread(); });
    if (thread_.joinable()) thread_.join();
    joined_ = true;
    // A client whose thread never started still answers what was queued.
    if (!stopping_) StopOnIoThread();
  }

 private:
  // Everything below runs on the client's thread.

  void Pump() {
    if (stopping_) return;
    {
      std::lock_guard lock(mu_);
      pump_posted_ = false;
      for (auto& item : inbox_) queue_.push_back(std::move(item));
      inbox_.clear();
    }
    const auto now = Clock::now();
    while (!retry_.empty() && retry_.begin()->first <= now) {
      ready_.push_back(std::move(retry_.begin()->second));
      retry_.erase(retry_.begin());
    }
    auto wake = Clock::time_point::max();
    while (!idle_.empty() && (!ready_.empty() || !queue_.empty())) {
      if (now < throttled_until_) {
        wake = throttled_until_;
        break;
      }
      const size_t n =
          !ready_.empty() ? ready_.front()->items.size() : std::min(request_cap_, queue_.size());
      if (paced_) {
        if (next_send_ > now) {
          wake = next_send_;
          break;
        }
        next_send_ = std::max(next_send_, now - kPacerSlack) +
                     std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(n / options_.rate_per_second));
      }
      std::unique_ptr<Batch> batch;
      if (!ready_.empty()) {
        batch = std::move(ready_.front());
        ready_.pop_front();
      } else {
        std::vector<Item> items;
        items.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          items.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        batch = MakeBatch(std::move(items));
      }
      Connection* c = idle_.back();
      idle_.pop_back();
      Begin(*c, std::move(batch), now);
    }
    if (!retry_.empty()) wake = std::min(wake, retry_.begin()->first);
    ArmPumpTimer(wake);
  }

  void ArmPumpTimer(Clock::time_point at) {
    if (at == Clock::time_point::max()) return;
    if (pump_timer_armed_ && pump_timer_at_ <= at) return;
    pump_timer_armed_ = true;
    pump_timer_at_ = at;
    pump_timer_.expires_at(at);
    pump_timer_.async_wait([this](const beast::error_code& ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      pump_timer_armed_ = false;
      Pump();
    });
  }

  void Begin(Connection& c, std::unique_ptr<Batch> batch, Clock::time_point now) {
    if (!batch->started) {
      batch->started = true;
      batch->first_attempt = now;
    }
    if (++batch->attempts > 1) ++stats_.retries;
    ++stats_.requests;
    c.request = {};
    c.request.method(http::verb::post);
    c.request.target(batch->single ? endpoint_.target_single : endpoint_.target_batch);
    c.request.version(11);
    c.request.set(http::field::host, endpoint_.host_header);
    c.request.set(http::field::authorization, authorization_);
    c.request.set(http::field::content_type, "application/json");
    c.request.keep_alive(true);
    c.request.body() = batch->body;
    c.request.prepare_payload();
    c.batch = std::move(batch);
    c.timed_out = false;
    const uint64_t attempt = ++c.attempt;
    c.timer.expires_after(options_.request_timeout);
    c.timer.async_wait([this, &c, attempt](const beast::error_code& ec) {
      if (ec || Abandoned(c, attempt)) return;
      c.timed_out = true;
      c.resolver.cancel();
      beast::error_code ignored;
      c.socket.close(ignored);
    });
    c.reused = c.connected;
    if (c.connected) {
      Write(c, attempt);
    } else {
      Connect(c, attempt);
    }
  }

  bool Abandoned(const Connection& c, uint64_t attempt) const {
    return stopping_ || c.attempt != attempt || !c.batch;
  }

  void Connect(Connection& c, uint64_t attempt) {
    c.resolver.async_resolve(
        endpoint_.host, endpoint_.port,
        [this, &c, attempt](const beast::error_code& ec, tcp::resolver::results_type results) {
          if (Abandoned(c, attempt)) return;
          if (ec) return Failed(c, ec);
          beast::error_code ignored;
          c.socket.close(ignored);
          asio::async_connect(
              c.socket, results,
              [this, &c, attempt](const beast::error_code& ec, const tcp::endpoint&) {
                if (Abandoned(c, attempt)) return;
                if (ec) return Failed(c, ec);
                beast::error_code ignored;
                c.socket.set_option(tcp::no_delay(true), ignored);
                c.connected = true;
                c.buffer.clear();
                Write(c, attempt);
              });
        });
  }

  void Write(Connection& c, uint64_t attempt) {
    http::async_write(c.socket, c.request,
                      [this, &c, attempt](const beast::error_code& ec, size_t) {
                        if (Abandoned(c, attempt)) return;
                        if (ec) return Failed(c, ec);
                        Read(c, attempt);
                      });
  }

  void Read(Connection& c, uint64_t attempt) {
    c.response = {};
    http::async_read(c.socket, c.buffer, c.response,
                     [this, &c, attempt](const beast::error_code& ec, size_t) {
                       if (Abandoned(c, attempt)) return;
                       if (ec) return Failed(c, ec);
                       Answered(c);
                     });
  }

  void CloseConnection(Connection& c) {
    beast::error_code ignored;
    c.socket.close(ignored);
    c.connected = false;
    c.buffer.clear();
  }

  // Takes the connection's batch and returns the connection to the pool.
  std::unique_ptr<Batch> Release(Connection& c) {
    c.timer.cancel();
    auto batch = std::move(c.batch);
    idle_.push_back(&c);
    return batch;
  }

  // No answer: a timeout, a refused or reset connection.
  void Failed(Connection& c, const beast::error_code& ec) {
    const bool timed_out = c.timed_out;
    const bool stale = c.reused && StaleConnectionError(ec);
    CloseConnection(c);
    auto batch = Release(c);
    if (timed_out) {
      ++stats_.timeouts;
      Retry(std::move(batch), "no answer within the request timeout", {});
    } else if (stale && !batch->fresh_connection_retry) {
      // The vendor closed an idle keep-alive connection: resend at once on a fresh one.
      batch->fresh_connection_retry = true;
      ready_.push_front(std::move(batch));
    } else {
      Retry(std::move(batch), "connection: " + ec.message(), {});
    }
    if (!stopping_) Pump();
  }

  void Answered(Connection& c) {
    const unsigned status = c.response.result_int();
    const std::string body = std::move(c.response.body());
    const auto retry_after_header = c.response[http::field::retry_after];
    const std::string retry_after(retry_after_header.data(), retry_after_header.size());
    if (!c.response.keep_alive()) CloseConnection(c);
    auto batch = Release(c);
    if (status == 200) {
      if (auto results = ParseAccepted(*batch, body)) {
        stats_.accepted += results->size();
        Deliver(*batch, std::move(*results));
      } else {
        ++stats_.server_errors;
        Retry(std::move(batch), "unreadable answer: " + results.error().message, {});
      }
    } else if (status == 400) {
      if (batch->items.size() > 1) {
        // Refused as a whole: find the bad messages one by one, ahead of fresh work.
        for (auto it = batch->items.rbegin(); it != batch->items.rend(); ++it) {
          std::vector<Item> one;
          one.push_back(std::move(*it));
          ready_.push_front(MakeBatch(std::move(one)));
        }
      } else {
        ++stats_.rejected;
        Settle(*batch, SendOutcome::kRejected, ErrorText(body));
      }
    } else if (status == 401) {
      GiveUp(*batch, std::string(kUnauthorized));
    } else if (status == 429) {
      ++stats_.throttled;
      const int seconds = ParseRetryAfter(retry_after).value_or(1);
      throttled_until_ = std::max(throttled_until_, Clock::now() + std::chrono::seconds(seconds));
      Retry(std::move(batch), "throttled", throttled_until_);
    } else if (status >= 500 || status == 408) {
      if (status >= 500) ++stats_.server_errors;
      Retry(std::move(batch), "vendor answered " + std::to_string(status), {});
    } else {
      GiveUp(*batch, "vendor answered " + std::to_string(status) + ": " + ErrorText(body));
    }
    if (!stopping_) Pump();
  }

  // A transient failure: back off (exponential, full jitter; not before `not_before`) and
  // resend, unless that would start after the batch's retry budget.
  void Retry(std::unique_ptr<Batch> batch, std::string reason, Clock::time_point not_before) {
    const auto now = Clock::now();
    const int exponent = std::min(batch->failures++, 30);
    const auto cap = std::min<int64_t>(options_.backoff_max.count(),
                                       options_.backoff_base.count() * (int64_t{1} << exponent));
    std::uniform_int_distribution<int64_t> jitter(0, cap);
    const auto at = std::max(now + std::chrono::milliseconds(jitter(rng_)), not_before);
    if (at > batch->first_attempt + options_.retry_budget) {
      GiveUp(*batch, "retry budget spent; last: " + reason);
      return;
    }
    retry_.emplace(at, std::move(batch));
  }

  void GiveUp(Batch& batch, std::string reason) {
    stats_.gave_up += batch.items.size();
    Settle(batch, SendOutcome::kGaveUp, std::move(reason));
  }

  void Settle(Batch& batch, SendOutcome outcome, std::string reason) {
    std::vector<SendResult> results;
    results.reserve(batch.items.size());
    for (auto& item : batch.items) {
      results.push_back({std::move(item.message.id), outcome, "", false, reason});
    }
    Deliver(batch, std::move(results));
  }

  // Calls each Send's done once with its messages' results, in order. `results` is aligned
  // with batch.items.
  void Deliver(Batch& batch, std::vector<SendResult> results) {
    pending_ -= results.size();
    std::vector<std::pair<Done*, std::vector<SendResult>>> groups;
    for (size_t i = 0; i < results.size(); ++i) {
      Done* done = batch.items[i].done.get();
      auto group = std::find_if(groups.begin(), groups.end(),
                                [done](const auto& g) { return g.first == done; });
      if (group == groups.end()) {
        groups.emplace_back(done, std::vector<SendResult>{});
        group = std::prev(groups.end());
      }
      group->second.push_back(std::move(results[i]));
    }
    for (auto& [done, group] : groups) (*done)(std::move(group));
  }

  Result<std::vector<SendResult>> ParseAccepted(const Batch& batch, std::string_view body) {
    auto unreadable = [](std::string why) { return Fail(Error::Internal(std::move(why))); };
    simdjson::dom::element doc;
    if (parser_.parse(body.data(), body.size()).get(doc)) return unreadable("not JSON");
    auto one = [&](simdjson::dom::element e, const Item& item) -> Result<SendResult> {
      std::string_view id, vendor_id;
      bool duplicate = false;
      if (e["id"].get(id) || id != item.message.id) return unreadable("an answer for another id");
      if (e["vendorMessageId"].get(vendor_id)) return unreadable("no vendorMessageId");
      if (auto d = e["duplicate"]; d.error() != simdjson::NO_SUCH_FIELD && d.get(duplicate)) {
        return unreadable("duplicate is not a boolean");
      }
      return SendResult{std::string(id), SendOutcome::kAccepted, std::string(vendor_id), duplicate,
                        ""};
    };
    std::vector<SendResult> results;
    results.reserve(batch.items.size());
    if (batch.single) {
      auto r = one(doc, batch.items.front());
      if (!r) return Fail(r.error());
      results.push_back(std::move(*r));
      return results;
    }
    simdjson::dom::array list;
    if (doc["results"].get(list) || list.size() != batch.items.size()) {
      return unreadable("results do not match the batch");
    }
    size_t i = 0;
    for (simdjson::dom::element e : list) {
      auto r = one(e, batch.items[i++]);
      if (!r) return Fail(r.error());
      results.push_back(std::move(*r));
    }
    return results;
  }

  std::string ErrorText(std::string_view body) {
    simdjson::dom::element doc;
    std::string_view error;
    if (!parser_.parse(body.data(), body.size()).get(doc) && !doc["error"].get(error)) {
      return Truncated(error);
    }
    return Truncated(body);
  }

  void StopOnIoThread() {
    if (stopping_) return;
    stopping_ = true;
    std::deque<Item> inbox;
    {
      std::lock_guard lock(mu_);
      closed_ = true;
      inbox.swap(inbox_);
    }
    pump_timer_.cancel();
    std::vector<std::unique_ptr<Batch>> unanswered;
    for (auto& c : connections_) {
      c->resolver.cancel();
      c->timer.cancel();
      CloseConnection(*c);
      if (c->batch) unanswered.push_back(std::move(c->batch));
    }
    for (auto& b : ready_) unanswered.push_back(std::move(b));
    ready_.clear();
    for (auto& [at, b] : retry_) unanswered.push_back(std::move(b));
    retry_.clear();
    std::vector<Item> queued(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
    queue_.clear();
    queued.insert(queued.end(), std::make_move_iterator(inbox.begin()),
                  std::make_move_iterator(inbox.end()));
    if (!queued.empty()) {
      auto rest = std::make_unique<Batch>();
      rest->items = std::move(queued);
      unanswered.push_back(std::move(rest));
    }
    work_.reset();
    for (auto& batch : unanswered) GiveUp(*batch, std::string(kStopped));
  }

  const Options options_;
  const Endpoint endpoint_;
  const std::string authorization_;
  const bool paced_;
  const size_t request_cap_;

  std::atomic<size_t> pending_{0};
  struct Counters {
    std::atomic<uint64_t> requests{0}, accepted{0}, rejected{0}, gave_up{0}, retries{0},
        throttled{0}, timeouts{0}, server_errors{0};
  } stats_;

  mutable std::mutex mu_;
  std::deque<Item> inbox_;    // guarded by mu_: sent, not yet seen by the client's thread
  bool pump_posted_ = false;  // guarded by mu_
  bool closed_ = false;       // guarded by mu_: Stop has begun; Send answers at once

  std::mutex stop_mu_;   // serialises Stop from other threads
  bool joined_ = false;  // guarded by stop_mu_
  std::thread thread_;
  std::thread::id io_thread_id_;  // set once before the client is handed out

  // The client's thread only, from here on.
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer pump_timer_;
  bool pump_timer_armed_ = false;
  Clock::time_point pump_timer_at_{};
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;                                   // most recently used last
  std::deque<Item> queue_;                                          // not yet in a batch
  std::deque<std::unique_ptr<Batch>> ready_;                        // to send before queue_
  std::multimap<Clock::time_point, std::unique_ptr<Batch>> retry_;  // by when to resend
  Clock::time_point throttled_until_{};                     // after a 429: no request begins before
  Clock::time_point next_send_ = Clock::time_point::min();  // the pacer's next slot
  std::mt19937_64 rng_;
  simdjson::dom::parser parser_;
  bool stopping_ = false;
};

Result<std::unique_ptr<VendorClient>> VendorClient::Start(Options options) {
  auto endpoint = ParseUrl(options.url);
  if (auto valid = Validate(options); !valid || !endpoint) {
    std::vector<FieldError> errors;
    if (!endpoint) errors = endpoint.error().field_errors;
    if (!valid) {
      errors.insert(errors.end(), valid.error().field_errors.begin(),
                    valid.error().field_errors.end());
    }
    return Fail(Error::Validation(std::move(errors)));
  }
  auto impl = std::make_unique<Impl>(std::move(options), std::move(*endpoint));
  if (auto launched = impl->Launch(); !launched) return Fail(launched.error());
  return std::unique_ptr<VendorClient>(new VendorClient(std::move(impl)));
}

VendorClient::VendorClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

VendorClient::~VendorClient() { impl_->Stop(); }

void VendorClient::Send(std::vector<OutgoingMessage> messages,
                        std::function<void(std::vector<SendResult>)> done) {
  impl_->Send(std::move(messages), std::move(done));
}

size_t VendorClient::pending() const { return impl_->pending(); }

VendorClient::Stats VendorClient::stats() const { return impl_->stats(); }

void VendorClient::Stop() { impl_->Stop(); }

}  // namespace keel::vendor

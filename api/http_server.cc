#include "api/http_server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>

#include "api/envelope.h"
#include "domain/automation.h"
#include "domain/text.h"
#include "infra/log.h"

namespace keel {

using namespace Pistache;

// Pistache's own Http::Handler::onInput (the request parser), which Pistache 0.0.5 declares
// private: KeelHandler overrides it to act between headers and body, so it calls the base
// through the library's exported symbol (a member function, in the Itanium C++ ABI that GCC
// follows, is a function of `this` and then its arguments). The symbol names its exact
// parameter types; a Pistache that lacks it fails to link, never to run.
// clang-format off
void PistacheParseInput(Http::Handler* handler, const char* buffer, size_t len,
                        const std::shared_ptr<Tcp::Peer>& peer)
    asm("_ZN8Pistache4Http7Handler7onInputEPKcmRKSt10shared_ptrINS_3Tcp4PeerEE");
void PistacheOnConnection(Http::Handler* handler, const std::shared_ptr<Tcp::Peer>& peer)
    asm("_ZN8Pistache4Http7Handler12onConnectionERKSt10shared_ptrINS_3Tcp4PeerEE");
// clang-format on

namespace {

// A response header known only by name at run time. Pistache 0.0.5 writes typed headers only
// and drops raw ones, so every custom header goes out as one of these.
class NamedHeader final : public Http::Header::Header {
 public:
  NamedHeader(std::string name, std::string value)
      : name_(std::move(name)), value_(std::move(value)) {}
  const char* name() const override { return name_.c_str(); }
  void write(std::ostream& os) const override { os << value_; }
#ifdef SAFE_HEADER_CAST
  uint64_t hash() const override { return 0; }
#endif

 private:
  std::string name_;
  std::string value_;
};

}  // namespace

struct HttpResponder::Impl {
  Impl(Http::ResponseWriter w, const HttpServer* server)
      : writer(std::move(w)), server(server), arrived(std::chrono::steady_clock::now()) {
    server->load().in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  // The request is in flight until its last responder handle is gone (answered or dropped).
  ~Impl() { server->load().in_flight.fetch_sub(1, std::memory_order_relaxed); }
  std::mutex mu;
  Http::ResponseWriter writer;  // guarded by mu
  bool sent = false;            // guarded by mu
  const HttpServer* server;
  const std::chrono::steady_clock::time_point arrived;
  std::string method;
  std::string route = "unmatched";
  std::string request_id;
};

void HttpResponder::Send(int status, std::string body,
                         const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view content_type) {
  std::lock_guard lock(impl_->mu);
  if (impl_->sent) return;
  impl_->sent = true;
  // Observed before the answer leaves, so that a client that reads /metrics after its answer
  // always finds its request counted.
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->arrived).count();
  if (const auto& observe = impl_->server->options().observer) {
    observe(impl_->method, impl_->route, status, seconds);
  }
  try {
    auto& w = impl_->writer;
    // Pistache 0.0.5 keeps one header per name; cookies each need their own Set-Cookie line,
    // so the first carries the others on lines of their own. Keel writes every cookie itself:
    // a value with a line break would be a bug, and is dropped rather than sent.
    std::string cookies;
    for (const auto& [name, value] : headers) {
      if (AsciiLower(name) != "set-cookie") {
        w.headers().add(std::make_shared<NamedHeader>(name, value));
      } else if (value.find_first_of("\r\n") == std::string::npos) {
        cookies += (cookies.empty() ? "" : "\r\nSet-Cookie: ") + value;
      }
    }
    if (!cookies.empty()) w.headers().add(std::make_shared<NamedHeader>("Set-Cookie", cookies));
    w.headers().add(std::make_shared<NamedHeader>("X-Request-Id", impl_->request_id));
    w.setMime(Http::Mime::MediaType::fromString(std::string(content_type)));
    w.send(static_cast<Http::Code>(status), body);
  } catch (const std::exception& e) {
    // The client went away before its answer was ready; nothing more to do.
  }
  const LogLevel level = status >= 500 ? LogLevel::kError : LogLevel::kDebug;
  if (LogEnabled(level)) {
    Log(level, "request", {{"request_id", impl_->request_id}, {"method", impl_->method},
                           {"route", impl_->route}, {"status", std::to_string(status)},
                           {"ms", std::to_string(seconds * 1000)}});
  }
}

namespace {

// 16 hex digits from a per-thread generator: unique enough to find a request in the logs.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) id[static_cast<size_t>(i)] = kHex[v & 0xf];
  return id;
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

// Whether `parser` has a request's headers and waits for its body.
bool InBody(Http::RequestParser& parser) {
  return parser.step() && parser.step()->id() == Http::Private::BodyStep::Id;
}

// Whether the request whose headers `parser` holds asks for "100 Continue" before its body.
bool ExpectsContinue(const Http::RequestParser& parser) {
  if (parser.request.version() != Http::Version::Http11) return false;  // HTTP/1.0: ignored
  // The raw text decides: Pistache 0.0.5 parses "100-continue" into its typed Expect header
  // as an extension, not as Expectation::Continue.
  auto raw = parser.request.headers().tryGetRaw("Expect");
  return raw && AsciiLower(TrimSpace(raw->value())) == "100-continue";
}

// Points the request's header and cookie accessors at Pistache's request, which must outlive
// their use.
void ReadHeadersFrom(const Http::Request& request, HttpRequest& req) {
  const auto& headers = request.headers();
  req.header = [&headers](const std::string& name) -> std::optional<std::string> {
    auto raw = headers.tryGetRaw(name);
    if (!raw) return std::nullopt;
    return raw->value();
  };
  req.cookie = [&request](const std::string& name) -> std::optional<std::string> {
    const auto& jar = request.cookies();
    if (!jar.has(name)) return std::nullopt;
    return jar.get(name).value;
  };
}

void SendError(HttpResponder& r, const Error& e, int status = 0) {
  r.Send(status ? status : HttpStatusFor(e.code), ErrorBody(e));
}

class KeelHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(KeelHandler)

  explicit KeelHandler(const HttpServer* server) : server_(server) {}

  // Bodies are judged on the headers, before they are read: a body over its route's limit,
  // or over the server's default limit on a route that allows more to whoever may call it, is
  // answered at once (413, 401, 403...) and its bytes are dropped as they arrive, never
  // buffered. So an anonymous client cannot make the server hold more than the default limit
  // per connection. A request whose length is not declared (chunked) is judged as it grows.
  //
  // A client that sent "Expect: 100-continue" holds its body back until it reads "100
  // Continue" (curl does so for every body over 1 MiB, and gives up waiting after a second);
  // Pistache 0.0.5 never sends it. Sent once the body is admitted, when this input completed a
  // request's headers and its body has not arrived (a request that arrived whole needs none).
  // Connections past the cap are closed as they arrive: each costs the server a parser and
  // buffers, and a client can open them for nothing.
  // One client address (a trusted proxy's excepted) holds at most max_connections_per_address
  // of them, so that one client cannot take every place.
  void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    PistacheOnConnection(this, peer);
    auto state = std::make_shared<PeerState>();
    peer->putData(kPeerState, state);
    state->load = server_->shared_load();
    auto& load = *state->load;
    const auto& options = server_->options();
    const int64_t open = load.connections.fetch_add(1) + 1;
    const std::string host = peer->address().host();
    int64_t from_address = 0;
    if (options.max_connections_per_address > 0 && !options.trusted_proxies.Trusts(host)) {
      std::lock_guard lock(load.address_mu);
      state->address_bucket = AddressBucket(host);
      from_address = ++load.per_address[state->address_bucket];
    }
    const bool too_many = open > static_cast<int64_t>(options.max_connections);
    if (too_many || from_address > static_cast<int64_t>(options.max_connections_per_address)) {
      state->refused = true;
      Log(LogLevel::kWarn,
          too_many ? "connection refused: too many open"
                   : "connection refused: too many open from one address",
          {{"open", std::to_string(open)}, {"peer", host}});
      ::shutdown(peer->fd(), SHUT_RDWR);  // the transport sees the hang-up and closes it
    }
  }
  // Nothing to do on a hang-up: the connection's counts and place are given back when its
  // state goes with it (~PeerState), which also covers Pistache's timeouts, after which Pistache
  // drops a connection without calling this.
  void onDisconnection(const std::shared_ptr<Tcp::Peer>&) override {}

  void onInput(const char* buffer, size_t len, const std::shared_ptr<Tcp::Peer>& peer) override {
    auto state = std::static_pointer_cast<PeerState>(peer->tryGetData(kPeerState));
    if (!state) {
      state = std::make_shared<PeerState>();
      peer->putData(kPeerState, state);
    }
    if (state->refused) return;  // answered already; the rest of the body is not kept
    auto parser = std::static_pointer_cast<Http::RequestParser>(peer->tryGetData(ParserData));
    const bool body_was_due = parser && InBody(*parser);
    // Pistache keeps a request's raw bytes until it completes, up to its own cap (the largest
    // route's limit). Counted here first, so that headers that never end, or a body's framing
    // (padded chunk-size lines, one-byte chunks), cannot make it keep more than the request's
    // own limit allows: headers of at most kMaxHeaderBytes, and a body's raw bytes at most twice
    // its limit (the default one until it is admitted as large).
    state->raw_bytes += len;
    const uint64_t before = state->raw_bytes - len;
    const uint64_t body_limit =
        state->admitted_large ? state->large_limit : server_->max_body_bytes();
    if ((!body_was_due && before > kMaxHeaderBytes) ||
        state->raw_bytes > kMaxHeaderBytes + kInputBytes + 2 * body_limit) {
      return Refuse(*peer, *state, parser.get(), body_was_due,
                    Error::PayloadTooLarge(
                        body_was_due ? "Request body's raw bytes (its framing included) exceed " +
                                           std::to_string(2 * body_limit) + " bytes"
                                     : "Request headers exceed " + std::to_string(kMaxHeaderBytes) +
                                           " bytes"));
    }
    const auto parser_since = parser ? parser->time() : std::chrono::steady_clock::time_point{};
    PistacheParseInput(this, buffer, len, peer);
    if (!parser) {
      parser = std::static_pointer_cast<Http::RequestParser>(peer->tryGetData(ParserData));
    } else if (parser->time() != parser_since) {
      // Pistache reset its parser (a request completed, or it refused one itself): the next
      // request's bytes are counted from here.
      state->raw_bytes = 0;
    }
    if (!parser || !InBody(*parser)) {
      // The request completed, or Pistache refused it and reset its parser: no body is coming.
      state->ReleaseLargeBody();
      return;
    }
    if (!body_was_due) state->admitted_large = false;  // this input began a new request's body
    const auto& request = parser->request;
    auto declared = request.headers().tryGet<Http::Header::ContentLength>();
    const uint64_t size = declared ? declared->value() : request.body().size();
    if (!body_was_due || size > server_->max_body_bytes()) {
      if (auto refusal = Screen(request, size, *peer, *state)) {
        return Refuse(*peer, *state, parser.get(), true, *refusal);
      }
    }
    if (body_was_due || !ExpectsContinue(*parser)) return;
    constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    peer->send(Pistache::RawBuffer(kContinue.data(), kContinue.size()));
  }

  void onRequest(const Http::Request& request, Http::ResponseWriter writer) override {
    // Once the handler has returned (the body is then the handler's to keep or drop), the
    // place the request took among its route's large bodies is free again. Pistache calls this
    // from the connection's own input, on its thread, so the state is there.
    std::shared_ptr<PeerState> state;
    try {
      state = std::static_pointer_cast<PeerState>(writer.peer()->tryGetData(kPeerState));
    } catch (const std::exception&) {  // no peer any more: its state has released it
    }
    struct Release {
      PeerState* state;
      ~Release() {
        if (state) state->ReleaseLargeBody();
      }
    } release{state.get()};
    if (state) state->raw_bytes = 0;  // the next request's bytes are counted from here
    // Pistache 0.0.5 answers "Connection: close" when the request has no Connection header,
    // which HTTP/1.1 clients read as the end of a persistent connection. Say what HTTP says.
    auto asked = request.headers().tryGet<Http::Header::Connection>();
    writer.headers().remove<Http::Header::Connection>();
    const bool close = asked ? asked->control() == Http::ConnectionControl::Close
                             : request.version() == Http::Version::Http10;
    writer.headers().add<Http::Header::Connection>(close ? Http::ConnectionControl::Close
                                                         : Http::ConnectionControl::KeepAlive);

    auto impl = std::make_shared<HttpResponder::Impl>(std::move(writer), server_);
    HttpResponder responder(impl);
    if (server_->load().in_flight.load(std::memory_order_relaxed) >
        static_cast<int64_t>(server_->options().max_in_flight)) {
      return responder.Send(
          503, ErrorBody(Error::Unavailable("Too many requests in progress; retry shortly")),
          {{"Retry-After", "1"}});
    }
    try {
      HttpRequest req;
      req.method = Http::methodString(request.method());
      impl->method = req.method;
      auto given = request.headers().tryGetRaw("X-Request-Id");
      // "ingest/…" is the bulk ingestion's causation (domain/automation.h), not a client's.
      req.request_id = given && !given->value().empty() && given->value().size() <= 128 &&
                               !given->value().starts_with(kIngestCausationPrefix)
                           ? given->value()
                           : NewRequestId();
      impl->request_id = req.request_id;
      req.path = request.resource();
      for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
           ++it) {
        // Pistache leaves query keys and values form-encoded.
        req.query.emplace(PercentDecode(it->first, true), PercentDecode(it->second, true));
      }
      ReadHeadersFrom(request, req);
      req.client_address = ClientAddress(request, request.address().host());
      const Route* route = nullptr;
      switch (server_->Resolve(req.method, req.path, &route, &req.params)) {
        case HttpServer::Match::kNoPath:
          return SendError(responder, Error::NotFound("No route for " + req.path));
        case HttpServer::Match::kNoMethod:
          return SendError(responder,
                           Error::InvalidArgument("Method " + req.method + " is not allowed on " +
                                                  req.path),
                           405);
        case HttpServer::Match::kFound: break;
      }
      impl->route = route->pattern;
      if (server_->options().authorize) {
        if (auto st = server_->options().authorize(req, *route); !st) {
          return SendError(responder, st.error());
        }
      }
      const size_t limit = server_->BodyLimitOf(*route);
      if (request.body().size() > limit) {
        return SendError(responder, Error::PayloadTooLarge("Request body exceeds " +
                                                           std::to_string(limit) + " bytes"));
      }
      // Taken, not copied (bulk bodies run to hundreds of MiB): the request is the parser's
      // own object, not a const one, and the parser resets it once this handler returns.
      req.body = std::move(const_cast<std::string&>(request.body()));
      route->handler(req, responder);
    } catch (const std::exception& e) {
      Log(LogLevel::kError, "handler failed", {{"request_id", impl->request_id}, {"error", e.what()}});
      SendError(responder, Error::Internal("Internal error"));
    }
  }

 private:
  static constexpr const char* kPeerState = "keel.peer";
  static constexpr uint64_t kMaxHeaderBytes = 64 << 10;
  static constexpr uint64_t kInputBytes = 64 << 10;  // more than Pistache reads at once
  // One connection's state, in Pistache's peer: it goes when Pistache drops the connection,
  // whichever way, and gives back what the connection was counted in.
  struct PeerState {
    PeerState() = default;
    PeerState(const PeerState&) = delete;
    PeerState& operator=(const PeerState&) = delete;
    ~PeerState() {
      ReleaseLargeBody();
      if (!load) return;
      load->connections.fetch_sub(1);
      if (address_bucket.empty()) return;
      std::lock_guard lock(load->address_mu);
      auto it = load->per_address.find(address_bucket);
      if (it != load->per_address.end() && --it->second <= 0) load->per_address.erase(it);
    }
    void ReleaseLargeBody() {
      if (large_body) large_body->fetch_sub(1);
      large_body.reset();
    }

    bool refused = false;         // an early answer went out: drop the connection's input
    bool admitted_large = false;  // the current request may send more than the default limit
    uint64_t large_limit = 0;     // its route's limit, once admitted
    uint64_t raw_bytes = 0;       // the current request's bytes so far, as they arrived
    std::shared_ptr<HttpServer::Load> load;  // counted in its connections; null: not counted
    std::string address_bucket;              // counted in Load::per_address; empty: not counted
    // The route's count of large bodies this connection's current request holds a place in.
    std::shared_ptr<std::atomic<int64_t>> large_body;
  };

  // The client's address: the peer's, or the one a trusted proxy names in X-Forwarded-For.
  std::string ClientAddress(const Http::Request& request, const std::string& peer) const {
    auto forwarded_for = request.headers().tryGetRaw("X-Forwarded-For");
    return server_->options().trusted_proxies.ClientAddress(
        peer, forwarded_for ? std::optional<std::string_view>(forwarded_for->value())
                            : std::nullopt);
  }

  // Whether a body of `size` bytes may follow these headers: nullopt, or the error to answer.
  std::optional<Error> Screen(const Http::Request& request, uint64_t size, Tcp::Peer& peer,
                              PeerState& state) {
    const std::string method = Http::methodString(request.method());
    const Route* route = nullptr;
    std::map<std::string, std::string> params;
    const bool found =
        server_->Resolve(method, request.resource(), &route, &params) == HttpServer::Match::kFound;
    const size_t limit = found ? server_->BodyLimitOf(*route) : server_->max_body_bytes();
    if (size > limit) {
      return Error::PayloadTooLarge("Request body exceeds " + std::to_string(limit) + " bytes");
    }
    if (!found || size <= server_->max_body_bytes() || state.admitted_large) return std::nullopt;
    // Only a caller the route admits, with headers its screen accepts, may send it more than
    // the default limit, and only as many at once as the route allows.
    HttpRequest req;
    req.method = method;
    req.path = request.resource();
    req.params = std::move(params);
    ReadHeadersFrom(request, req);
    req.client_address = ClientAddress(request, peer.address().host());
    if (const auto& authorize = server_->options().authorize) {
      if (auto st = authorize(req, *route); !st) return st.error();
    }
    if (route->limits.screen) {
      if (auto st = route->limits.screen(req); !st) return st.error();
    }
    if (const size_t places = route->limits.max_large_bodies; places > 0) {
      state.ReleaseLargeBody();  // a place left by an earlier request (none: it was released)
      auto& held = *route->large_bodies;
      int64_t now = held.load();
      do {
        if (now >= static_cast<int64_t>(places)) {
          return Error::Unavailable("Too many large bodies are being received on " +
                                    route->pattern + "; retry shortly");
        }
      } while (!held.compare_exchange_weak(now, now + 1));
      state.large_body = route->large_bodies;
    }
    state.admitted_large = true;
    state.large_limit = limit;
    return std::nullopt;
  }

  // Answers the connection's current request with `e` at once; the rest of its input is
  // dropped, and what the parser kept of the request with it. `parsed`: whether the parser
  // holds the request's headers (else the request is not named to the observer).
  void Refuse(Tcp::Peer& peer, PeerState& state, Http::RequestParser* parser, bool parsed,
              const Error& e) {
    state.refused = true;
    state.ReleaseLargeBody();
    SendEarly(peer, parser && parsed ? &parser->request : nullptr, e);
    if (parser) parser->reset();
  }

  // Answers from the transport, before the body, and closes the connection after.
  // `request`: as far as it was parsed (null: not at all).
  void SendEarly(Tcp::Peer& peer, const Http::Request* request, const Error& e) {
    const int status = HttpStatusFor(e.code);
    const std::string body = ErrorBody(e);
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " +
                           Http::codeString(static_cast<Http::Code>(status)) +
                           "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
                           (status == 503 ? "Retry-After: 1\r\n" : "") +
                           "X-Request-Id: " + NewRequestId() +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    if (const auto& observe = server_->options().observer) {
      const Route* route = nullptr;
      std::map<std::string, std::string> params;
      const std::string method = request ? Http::methodString(request->method()) : "";
      const bool found = request && server_->Resolve(method, request->resource(), &route,
                                                     &params) == HttpServer::Match::kFound;
      observe(method, found ? route->pattern : "unmatched", status, 0.0);
    }
    const size_t length = response.size();
    peer.send(Pistache::RawBuffer(std::move(response), length));
  }

  const HttpServer* server_;
};

}  // namespace

struct HttpServer::Impl {
  std::unique_ptr<Http::Endpoint> endpoint;
  std::atomic<bool> running{false};
};

HttpServer::HttpServer(Options options) : options_(std::move(options)), impl_(std::make_unique<Impl>()) {}

HttpServer::~HttpServer() { Shutdown(); }

void HttpServer::AddRoute(std::string method, std::string pattern, HttpHandler handler,
                          size_t max_body_bytes) {
  AddRoute(std::move(method), std::move(pattern), std::move(handler),
           RouteLimits{.max_body_bytes = max_body_bytes});
}

void HttpServer::AddRoute(std::string method, std::string pattern, HttpHandler handler,
                          RouteLimits limits) {
  routes_.push_back({std::move(method), std::move(pattern), std::move(handler), std::move(limits)});
}

size_t HttpServer::BodyLimitOf(const Route& route) const {
  return route.limits.max_body_bytes ? route.limits.max_body_bytes : options_.max_body_bytes;
}

HttpServer::Match HttpServer::Resolve(const std::string& method, const std::string& path,
                                      const Route** route,
                                      std::map<std::string, std::string>* params) const {
  const auto parts = Split(path);
  bool path_known = false;
  for (const auto& r : routes_) {
    const auto pattern = Split(r.pattern);
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> captured;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      if (!pattern[i].empty() && pattern[i][0] == ':') {
        captured.emplace(std::string(pattern[i].substr(1)), std::string(parts[i]));
      } else {
        ok = pattern[i] == parts[i];
      }
    }
    if (!ok) continue;
    path_known = true;
    if (r.method != method) continue;
    *route = &r;
    *params = std::move(captured);
    return Match::kFound;
  }
  return path_known ? Match::kNoMethod : Match::kNoPath;
}

std::optional<uint16_t> HttpServer::Start(std::string* error) {
  try {
    impl_->endpoint = std::make_unique<Http::Endpoint>(
        Address(options_.host, Port(options_.port)));
    // Pistache refuses larger requests itself (with a plain-text 413); leave room so that
    // Keel's own check answers in the envelope for anything a client plausibly sends.
    size_t largest = options_.max_body_bytes * 16;
    for (const auto& r : routes_) largest = std::max(largest, r.limits.max_body_bytes);
    auto opts = Http::Endpoint::options()
                    .threads(options_.threads)
                    .flags(Tcp::Options::ReuseAddr)
                    .maxRequestSize(largest + 64 * 1024);
    // Pistache's header timeout (60 s) stays: Pistache 0.0.5 also applies it to a request
    // whose answer is still being prepared on another thread (a wait for a position, a
    // sign-in), so it must stay above the longest of those (KEEL_MAX_READ_WAIT_MS, 60 s).
    // Its keep-alive timeout (300 s by default) governs every request after a connection's
    // first answer, whatever step the request is at: the same bound, so that a stalled request
    // holds what it holds for at most that long on any connection.
    const std::chrono::milliseconds timeout = options_.pistache_timeout.count() > 0
                                                  ? options_.pistache_timeout
                                                  : std::chrono::milliseconds(60'000);
    opts.headerTimeout(timeout).bodyTimeout(timeout).keepaliveTimeout(timeout);
    impl_->endpoint->init(opts);
    impl_->endpoint->setHandler(Http::make_handler<KeelHandler>(this));
    impl_->endpoint->serveThreaded();
    impl_->running = true;
    return static_cast<uint16_t>(impl_->endpoint->getPort());
  } catch (const std::exception& e) {
    if (error) *error = e.what();
    impl_->endpoint.reset();
    return std::nullopt;
  }
}

void HttpServer::Shutdown() {
  if (impl_ && impl_->running.exchange(false)) {
    impl_->endpoint->shutdown();
    impl_->endpoint.reset();
  }
}

}  // namespace keel

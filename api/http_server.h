// HttpServer: Pistache underneath, Keel's routing and envelopes on top. Pistache types stay in
// the .cc.
//
// - HTTP/1.1 connections persist unless the client asks to close (Pistache 0.0.5 would
//   otherwise close every connection whose request lacks a Connection header).
// - Handlers may answer later, from any thread, through the HttpResponder they were given
//   (commands answer once their events are durable).
// - Unknown paths get 404, known paths with another method 405, bodies over the limit 413, a
//   handler that throws 500: all in the error envelope.
//
// Thread-safety: routes are added before Start; handlers run on Pistache's worker threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/client_address.h"
#include "domain/error.h"

namespace keel {

struct Principal;

struct HttpRequest {
  std::string request_id;  // the client's X-Request-Id, or a fresh one; echoed in the answer
  std::string method;
  std::string path;
  std::map<std::string, std::string> params;  // from ":name" segments of the route
  std::map<std::string, std::string> query;
  std::function<std::optional<std::string>(const std::string&)> header;  // case-insensitive
  std::function<std::optional<std::string>(const std::string&)> cookie;
  // The client's IP address: the peer's, or the one a trusted proxy names (client_address.h).
  std::string client_address;
  std::string body;
  // Who is asking, as the server's `authorize` hook found; null for public routes without one.
  std::shared_ptr<const Principal> principal;
};

// Sends one response; later calls are ignored. Copyable handle; thread-safe.
class HttpResponder {
 public:
  struct Impl;
  explicit HttpResponder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  void Send(int status, std::string body,
            const std::vector<std::pair<std::string, std::string>>& headers = {},
            std::string_view content_type = "application/json");

 private:
  std::shared_ptr<Impl> impl_;
};

using HttpHandler = std::function<void(HttpRequest&, HttpResponder)>;
// Judges a request on its headers alone (no body, no principal): OK, or the error to answer.
using HeaderScreen = std::function<Status(const HttpRequest&)>;

// What a route takes beyond the server's defaults.
struct RouteLimits {
  size_t max_body_bytes = 0;  // 0: the server's limit
  // Bodies over the server's default limit that the route receives at once (0: no bound): one
  // more is answered 503 on its headers, so that what the route may hold is bounded.
  size_t max_large_bodies = 0;
  // Called on the headers of a request whose body is over the server's default limit, after
  // `authorize` and before the body is read; an error is answered at once and the body dropped.
  HeaderScreen screen;
};

struct Route {
  std::string method;
  std::string pattern;  // "/api/v1/customers/:id"
  HttpHandler handler;
  RouteLimits limits;
  // Bodies over the default limit being received now (counted only with max_large_bodies).
  std::shared_ptr<std::atomic<int64_t>> large_bodies = std::make_shared<std::atomic<int64_t>>(0);
};

class HttpServer final {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    uint16_t port = 8080;  // 0: any free port
    int threads = 2;
    size_t max_body_bytes = 1 << 20;
    // Called once per answered request, on the thread that answers: method, the matched
    // route's pattern ("unmatched" for none), status, seconds since the request arrived.
    std::function<void(const std::string&, const std::string&, int, double)> observer;
    // Called for every routed request before its body limit and handler: sets req.principal,
    // or refuses the request with an error (401, 403, ...). None: every route is open.
    std::function<Status(HttpRequest&, const Route&)> authorize;
    // Connections past this are closed as they arrive; requests past this many in progress
    // (answered or not yet) get 503 at once.
    size_t max_connections = 1024;
    size_t max_in_flight = 1024;
    // Open connections from one client address (an IPv6 /64 counts as one); a trusted proxy's
    // are not counted. 0: no bound.
    size_t max_connections_per_address = 256;
    // Whose X-Forwarded-For names the client; none: the header is ignored.
    TrustedProxies trusted_proxies;
    // Pistache's header, body and keep-alive timeouts (0: 60 s). Pistache 0.0.5 also applies
    // them to a request whose answer is still being prepared, so they must stay above the
    // longest wait a handler may take (KEEL_MAX_READ_WAIT_MS); lowered only by tests.
    std::chrono::milliseconds pistache_timeout{0};
  };

  // What the server holds now. Thread-safe counters.
  struct Load {
    std::atomic<int64_t> connections{0};
    std::atomic<int64_t> in_flight{0};
    std::mutex address_mu;
    std::unordered_map<std::string, int64_t>
        per_address;  // open connections; guarded by address_mu
  };
  Load& load() const { return *load_; }
  // The same, shared with each connection's state, which gives its counts back when Pistache
  // drops the connection, whichever way (a hang-up, or one of Pistache's own timeouts, which
  // close a connection without telling the handler).
  std::shared_ptr<Load> shared_load() const { return load_; }

  explicit HttpServer(Options options);
  ~HttpServer();  // Shutdown()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // `max_body_bytes` raises (or lowers) the body limit for this route; 0 keeps the server's.
  void AddRoute(std::string method, std::string pattern, HttpHandler handler,
                size_t max_body_bytes = 0);
  void AddRoute(std::string method, std::string pattern, HttpHandler handler, RouteLimits limits);
  const std::vector<Route>& routes() const { return routes_; }

  // Binds and serves on background threads. Returns the bound port.
  std::optional<uint16_t> Start(std::string* error);
  void Shutdown();

  // Routing, exposed for tests: the route and its parameters, or the reason it failed.
  enum class Match { kFound, kNoPath, kNoMethod };
  Match Resolve(const std::string& method, const std::string& path, const Route** route,
                std::map<std::string, std::string>* params) const;
  size_t max_body_bytes() const { return options_.max_body_bytes; }
  // The route's body limit: its own, or the server's.
  size_t BodyLimitOf(const Route& route) const;
  const Options& options() const { return options_; }

 private:
  struct Impl;
  Options options_;
  std::vector<Route> routes_;
  std::shared_ptr<Load> load_ = std::make_shared<Load>();
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel

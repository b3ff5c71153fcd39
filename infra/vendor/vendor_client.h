// VendorClient: the campaign dispatcher's HTTP/1.1 client to the messaging vendor
// (vendor_contract.h). It batches queued messages into requests, sends them over a pool of
// keep-alive connections with at most `connections` requests in flight, paces messages to
// `rate_per_second`, and retries transient failures (timeouts, connection errors, 429, 5xx)
// with the same ids, exponential backoff and full jitter, until a batch's retry budget is spent.
// A batch answered 400 is resent one message at a time so that only the bad messages are
// rejected.
//
// Ownership: the client owns its I/O thread (one Asio io_context) and every connection; the
// messages handed to Send are moved in and kept until answered.
// Thread-safety: Send, pending, stats and Stop may be called from any thread. `done` callbacks
// run on the client's thread (on the caller's thread for a Send after Stop); they must be quick
// and must not throw. A callback may call Send or Stop, but must not destroy the client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "domain/error.h"

namespace keel::vendor {

struct OutgoingMessage {
  std::string id, to, channel, text;
};

// kRejected: the vendor answered 400 for this message alone (permanent; `reason` holds its
// error text). kGaveUp: the retry budget was spent, the vendor refused the key (401, reason
// "unauthorized"), the client was stopped (reason "stopped"), or another permanent answer.
enum class SendOutcome { kAccepted, kRejected, kGaveUp };

struct SendResult {
  std::string id;
  SendOutcome outcome = SendOutcome::kGaveUp;
  std::string vendor_message_id;  // when accepted
  bool duplicate = false;         // accepted earlier under the same id (never delivered twice)
  std::string reason;             // when not accepted
};

class VendorClient final {
 public:
  struct Options {
    std::string url;             // http://host[:port]; plain HTTP (TLS is a real adapter's proxy)
    std::string secret;          // Bearer key
    int connections = 8;         // keep-alive connections; also the limit of requests in flight
    size_t batch_size = 500;     // messages per request (1..kMaxBatchMessages)
    double rate_per_second = 0;  // 0: unlimited; otherwise messages leave paced at this rate
    std::chrono::milliseconds request_timeout{5000};                 // connect + write + answer
    std::chrono::milliseconds backoff_base{100}, backoff_max{5000};  // exponential, full jitter
    std::chrono::milliseconds retry_budget{60000};  // from a batch's first attempt to kGaveUp
    uint64_t seed = 0;                              // jitter
  };

  // kInvalidArgument for a bad url or out-of-range options; kInternal if the thread fails.
  static Result<std::unique_ptr<VendorClient>> Start(Options options);
  ~VendorClient();  // Stop()s
  VendorClient(const VendorClient&) = delete;
  VendorClient& operator=(const VendorClient&) = delete;

  // Queues messages; they leave in requests of at most batch_size (at most rate/50 when
  // rate-limited, so that each second's count stays within a few percent), possibly together
  // with messages of other Sends. `done` is called exactly once per message, in groups: once per
  // request that settled, with the results of this Send's messages in it, in their order. Not
  // called for an empty vector. After Stop, `done` is called at once with kGaveUp "stopped".
  void Send(std::vector<OutgoingMessage> messages,
            std::function<void(std::vector<SendResult>)> done);

  // Messages queued or in flight, not yet answered through done.
  size_t pending() const;

  // Counters since Start. requests: HTTP requests begun (retries included); accepted, rejected,
  // gave_up: messages; retries: requests resent after a transient failure; throttled: 429
  // answers; timeouts: requests that hit request_timeout; server_errors: 5xx answers and
  // unreadable 200s.
  struct Stats {
    uint64_t requests = 0, accepted = 0, rejected = 0, gave_up = 0, retries = 0, throttled = 0,
             timeouts = 0, server_errors = 0;
  };
  Stats stats() const;

  // Stops: requests in flight are abandoned and every message not yet answered gets kGaveUp
  // with reason "stopped", once. Idempotent. Blocks until the client's thread has finished,
  // unless called from a done callback (then the thread finishes on its own shortly after).
  void Stop();

 private:
  class Impl;
  explicit VendorClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::vendor

// DummyVendor: a messaging vendor for tests and benchmarks (`keel vendor`). An HTTP server that
// speaks vendor_contract.h: it accepts sends, answers duplicates as before, and calls the
// receipt URL back with signed delivery receipts, retried until acknowledged.
//
// Determinism: with the same seed, a message id always gets the same vendorMessageId, the same
// outcome (DELIVERED, or FAILED with a reason) and the same receipt delay, whatever the order of
// arrival. Faults (503, 429, a stall) are drawn per send request from an RNG seeded with `seed`,
// before the request has any effect: a faulted request accepts nothing. Authentication comes
// first (a bad key is 401 whatever the faults); GET /v1/tally is never faulted.
//
// Beyond the contract:
//   - vendorMessageId is "vm-" + 32 hex digits, derived from the seed and the id;
//   - eventId is vendorMessageId + ":" + status;
//   - a body over kMaxBodyBytes is 413; a send over `rate_limit` messages in the current whole
//     second since Start is 429 with `Retry-After: 1` (a request of more than `rate_limit`
//     messages is admitted only into a second that has admitted nothing yet, or it could
//     never pass);
//   - a stalled request is never answered: its connection is closed after `stall_for`.
//   - Receipts are posted by one thread, one callback at a time, in due order: once the first
//     is due it waits 10 ms for more to share the callback (up to receipt_batch). A callback
//     not answered 2xx (or not within 10 s) is retried with the same body and eventIds (signed
//     afresh) after 100 ms, doubling up to 5 s, until acknowledged or Stop; later receipts
//     wait behind it. `occurredAt` is when the receipt fell due.
//
// Memory: about 60 bytes per accepted message id (a 16-byte digest and a counter in a hash
// table), whatever the id's length, plus the pending receipts until they are acknowledged.
//
// Thread-safety: every method may be called from any thread. The destructor Stop()s, which
// blocks until the server threads and the receipt thread have ended: at most about a second,
// the time libcurl takes to notice that a callback in flight is to be aborted.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain/error.h"

namespace keel::vendor {

inline constexpr size_t kMaxBodyBytes = 32 << 20;

class DummyVendor final {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    uint16_t port = 0;            // 0: the OS picks
    std::string secret;           // Bearer key for sends; HMAC key for callbacks; required
    std::string receipt_url;      // http://host:port/path; empty: no callbacks
    uint64_t seed = 1;            // same seed, same outcomes per message id
    double delivered_rate = 0.9;  // else FAILED: "mailbox_full", "invalid_address", "blocked"
    std::chrono::milliseconds receipt_delay_min{10}, receipt_delay_max{200};
    size_t receipt_batch = 500;  // receipts per callback, at most
    double fail_rate = 0;        // share of send requests answered 503
    double throttle_rate = 0;    // share answered 429 with Retry-After: throttle_retry_after_s
    int throttle_retry_after_s = 1;
    double stall_rate = 0;  // share not answered for stall_for (the client times out)
    std::chrono::milliseconds stall_for{30000};
    double rate_limit = 0;  // messages/s the vendor tolerates; beyond it 429 (0: none)
    int threads = 2;
  };

  // Listens on host:port and starts `threads` server threads and the receipt thread.
  // kInvalidArgument for a bad option (a share outside [0, 1], their sum over 1, no secret,
  // a receipt URL not http://, min delay over max, no threads, a zero batch); kUnavailable when
  // the address cannot be bound.
  static Result<std::unique_ptr<DummyVendor>> Start(Options options);
  ~DummyVendor();  // Stop()s
  DummyVendor(const DummyVendor&) = delete;
  DummyVendor& operator=(const DummyVendor&) = delete;

  // The port it listens on (the one the OS picked for port 0).
  uint16_t port() const;

  // accepted: distinct message ids; duplicates: sends of an id already accepted; delivered and
  // failed: receipts whose delay has passed; callbacks_acknowledged: receipts in callbacks
  // answered 2xx; callbacks_pending: accepted messages whose receipt is not acknowledged yet
  // (not yet due, or not yet answered 2xx), 0 without a receipt URL.
  struct Tally {
    uint64_t accepted = 0, duplicates = 0, delivered = 0, failed = 0, callbacks_acknowledged = 0,
             callbacks_pending = 0;
  };
  Tally tally() const;

  // How many send requests carried `id` and were accepted (first time or duplicate): tests of
  // exactly-once check accepted ids and duplicates.
  uint64_t TimesSent(std::string_view id) const;

  // Distinct messages accepted in each whole second since Start (rate-limit tests).
  std::vector<uint64_t> AcceptedPerSecond() const;

  // Changes the fault shares while running (tests: make it fail, then recover).
  void SetFaults(double fail_rate, double throttle_rate, double stall_rate);

  // Idempotent: stops listening, closes connections (stalled ones too), stops the callbacks
  // (receipts not yet acknowledged are dropped), and joins the threads.
  void Stop();

 private:
  struct Impl;
  explicit DummyVendor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::vendor

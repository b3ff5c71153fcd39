// The messaging vendor's HTTP contract: what Keel's dispatcher sends, what the vendor answers,
// and how it calls back with delivery receipts. `keel vendor` (dummy_vendor.h) implements the
// vendor side for tests and benchmarks; a real adapter (SendGrid, Twilio, SES) is a proxy that
// speaks this contract.
//
// Sends (Keel → vendor), each authenticated by `Authorization: Bearer <secret>`:
//   POST /v1/messages         {"id", "to", "channel", "text"}: one message.
//   POST /v1/messages/batch   {"messages": [{"id", "to", "channel", "text"}, …]}: at most
//                             kMaxBatchMessages; accepted or refused as a whole.
//   `id` is Keel's message id (at most 128 bytes of [A-Za-z0-9:._-]) and the vendor's
//   idempotency key: a message sent again with an id the vendor has accepted is answered as
//   before (same vendorMessageId, "duplicate": true) and never delivered twice.
//   `channel` is "email" or "sms"; `to` the address; `text` at most 16 KiB.
// Answers:
//   200 {"id", "vendorMessageId", "duplicate"} for one message;
//   200 {"results": [{"id", "vendorMessageId", "duplicate"}, …]} for a batch, in its order;
//   400 {"error": "…"}: the request is malformed; permanent, never retried;
//   401: a bad or missing key; permanent;
//   413: the body is over the vendor's limit (DummyVendor's: kMaxBodyBytes, 32 MiB); permanent;
//   429 with `Retry-After: <seconds>`: throttled; retry after that long;
//   5xx, a reset connection or no answer: transient; retry with the same ids.
//   GET /v1/tally: the vendor's own count, {"accepted", "duplicates", "delivered", "failed",
//   "callbacksAcknowledged", "callbacksPending"} (accepted counts distinct ids).
//
// Receipts (vendor → Keel): POST <receipt url> with
//   {"receipts": [{"eventId", "messageId", "vendorMessageId", "status": "DELIVERED" | "FAILED",
//                  "reason"?, "occurredAt": ISO-8601}, …]}
// signed as the big vendors sign webhooks: headers kTimestampHeader (Unix seconds) and
// kSignatureHeader ("v1=" + lowercase hex HMAC-SHA256(secret, timestamp + "." + raw body)).
// `eventId` is unique per receipt: the vendor retries a callback that was not answered 2xx
// (with backoff), and the receiver must apply each eventId once.
//
// Thread-safety: the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "domain/error.h"

namespace keel::vendor {

inline constexpr size_t kMaxBatchMessages = 1000;
inline constexpr size_t kMaxMessageIdBytes = 128;
inline constexpr size_t kMaxTextBytes = 16 << 10;
inline constexpr std::string_view kTimestampHeader = "X-Keel-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-Keel-Signature";
// How far a callback's timestamp may be from the receiver's clock.
inline constexpr int64_t kSignatureToleranceSeconds = 300;

inline constexpr std::string_view kDelivered = "DELIVERED";
inline constexpr std::string_view kFailed = "FAILED";

// "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body).
std::string SignPayload(std::string_view secret, int64_t unix_seconds, std::string_view body);

// Checks what a callback's headers say before its body is read: kUnauthenticated when a header
// is missing or malformed (the signature must be "v1=" and 64 lowercase hex digits), or the
// timestamp is more than kSignatureToleranceSeconds from `now_unix_seconds`. A receiver can so
// refuse a stale or unsigned callback without taking its body.
Status CheckSignatureHeaders(std::string_view timestamp_header, std::string_view signature_header,
                             int64_t now_unix_seconds);

// Checks a callback's headers against its raw body: what CheckSignatureHeaders checks, and that
// the signature matches (compared in constant time); kUnauthenticated otherwise.
Status VerifySignature(std::string_view secret, std::string_view timestamp_header,
                       std::string_view signature_header, std::string_view body,
                       int64_t now_unix_seconds);

// Whether `id` is a valid message id (see above).
bool ValidMessageId(std::string_view id);

}  // namespace keel::vendor

// POST /api/v1/delivery-receipts (issue 18, "Delivery receipts"): the messaging vendor's signed
// callbacks. Public in the access rules because the HMAC signature over the raw body
// (vendor_contract.h), not a session, authenticates the caller.
//
// Receipts are appended through the campaigns stream, one DeliveryReceiptsRecorded per campaign
// and callback, with the campaign's next version: receipts then sit in the campaign's own order
// with its dispatch progress and completion (so a replay folds them in the same order, and a
// campaign is completed only by a command that follows every receipt it was decided from), and
// the write side serialises them with the dispatcher's commands. A receipt for a message whose
// terminal status (DELIVERED, FAILED, or REJECTED at the send) the read model already holds is
// counted as a duplicate and not appended; one that arrives before the read model has its first
// is appended, and the campaigns read model applies the first terminal status of each message
// and ignores the rest, so the vendor's retries (same eventIds) and a repeated callback are
// harmless either way. A campaign's receipts are appended in events of at most
// kReceiptsPerEvent receipts and kReceiptBytesPerEvent bytes, so that one event stays far below
// a Kafka record's size limit (1 MB by default) whatever the batch.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/envelope.h"
#include "api/metrics.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/campaign_service.h"
#include "domain/campaign.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "infra/vendor/vendor_contract.h"
#include "projections/campaign_audience/campaign_audience_projector.h"
#include "projections/campaigns/campaigns_projector.h"

namespace keel {
namespace {

constexpr size_t kMaxReceipts = 10'000;
// 10,000 receipts of about 250 bytes each (ids of at most 128 bytes), with room to spare: the
// route is public (the signature authenticates it), so what one caller can make the server
// buffer before the check is kept small.
constexpr size_t kMaxReceiptBodyBytes = 4 << 20;
// Receipt bodies over the server's default limit (1 MiB) being received at once, so that what
// anonymous callers can make the server hold in large receipt bodies is bounded (each is held
// twice while it arrives: Pistache's raw copy and the decoded body). The headers are screened
// first, but well-formed fresh headers prove nothing about the sender: anyone can take the
// places (for at most Pistache's timeout), delaying large batches, never counting a receipt.
constexpr size_t kMaxLargeReceiptBodies = 4;
constexpr size_t kMaxUnknownListed = 100;
// One event holds at most this many receipts, and at most kReceiptBytesPerEvent of them as the
// event's JSON could grow them (every byte of an id or reason escaped as \u00XX): far below a
// Kafka record's 1 MB whatever the receipts hold.
constexpr size_t kReceiptsPerEvent = 1'000;
constexpr size_t kReceiptBytesPerEvent = 512 << 10;

size_t WorstEncodedBytes(const DeliveryReceipt& r) {
  return 6 * (r.event_id.size() + r.customer_id.size() + r.reason.size()) + 128;
}

struct ParsedReceipt {
  std::string message_id;
  std::string campaign_id;
  std::string customer_id;
  DeliveryReceipt receipt;
};

void ReadReceipt(simdjson::dom::element e, size_t index, bool batch,
                 std::vector<ParsedReceipt>& out, std::vector<FieldError>& errors) {
  std::string field = batch ? "receipts[" : "";
  if (batch) {
    field += std::to_string(index);
    field += "].";
  }
  simdjson::dom::object obj;
  if (e.get(obj)) {
    errors.push_back({batch ? field.substr(0, field.size() - 1) : "body", "Must be an object"});
    return;
  }
  ParsedReceipt p;
  std::string_view event_id, message_id, status, reason, at;
  bool ok = true;
  auto need = [&](std::string_view key, std::string_view& v) {
    if (obj.at_key(key).get(v) || v.empty() || v.size() > 256) {
      std::string name = field;
      name += key;
      errors.push_back({std::move(name), "Must be a non-empty string of at most 256 bytes"});
      ok = false;
    }
  };
  need("eventId", event_id);
  need("messageId", message_id);
  need("status", status);
  need("occurredAt", at);
  if (simdjson::dom::element rv; !obj.at_key("reason").get(rv) && !rv.is_null()) {
    if (rv.get(reason) || reason.size() > 256) {
      std::string name = field;
      name += "reason";
      errors.push_back({std::move(name), "Must be a string of at most 256 bytes"});
      ok = false;
    }
  }
  if (!ok) return;
  if (status != vendor::kDelivered && status != vendor::kFailed) {
    std::string name = field;
    name += "status";
    errors.push_back({std::move(name), "Must be DELIVERED or FAILED"});
    return;
  }
  auto t = ParseIso8601(at);
  if (!t) {
    std::string name = field;
    name += "occurredAt";
    errors.push_back({std::move(name), "Must be an ISO-8601 time with a zone"});
    return;
  }
  p.message_id = std::string(message_id);
  const size_t colon = message_id.find(':');
  if (colon != std::string_view::npos) {
    p.campaign_id = std::string(message_id.substr(0, colon));
    p.customer_id = std::string(message_id.substr(colon + 1));
  }
  p.receipt.event_id = std::string(event_id);
  p.receipt.customer_id = p.customer_id;
  p.receipt.delivered = status == vendor::kDelivered;
  p.receipt.reason = p.receipt.delivered ? "" : (reason.empty() ? "unknown" : std::string(reason));
  p.receipt.occurred_at = *t;
  out.push_back(std::move(p));
}

// {"receipts": [...]} or one receipt object.
Result<std::vector<ParsedReceipt>> ParseReceipts(std::string_view body) {
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  simdjson::dom::object obj;
  if (doc->get(obj)) return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  std::vector<ParsedReceipt> out;
  std::vector<FieldError> errors;
  simdjson::dom::array list;
  if (simdjson::dom::element rv; !obj.at_key("receipts").get(rv)) {
    if (rv.get(list)) return Fail(Error::Validation({{"receipts", "Must be an array"}}));
    if (list.size() > kMaxReceipts) {
      return Fail(Error::PayloadTooLarge("At most 10000 receipts in one request"));
    }
    size_t i = 0;
    for (auto e : list) ReadReceipt(e, i++, true, out, errors);
  } else {
    ReadReceipt(*doc, 0, false, out, errors);
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return out;
}

// The answers of the per-campaign commands, gathered into one response.
struct Gathered {
  std::mutex mu;
  size_t waiting = 0;                // guarded by mu
  int64_t recorded = 0;              // guarded by mu
  std::optional<Error> first_error;  // guarded by mu
  int64_t unknown = 0;
  int64_t duplicates = 0;  // their message's terminal status was already recorded
  std::vector<std::string> unknown_ids;
  HttpResponder r;
  explicit Gathered(HttpResponder responder) : r(std::move(responder)) {}

  void Answer() {
    if (first_error) return SendError(r, *first_error);
    JsonWriter w;
    w.BeginObject();
    w.Key("recorded").Int(recorded);
    w.Key("duplicates").Int(duplicates);
    w.Key("unknown").BeginObject();
    w.Key("count").Int(unknown);
    w.Key("messageIds").BeginArray();
    for (const auto& id : unknown_ids) w.String(id);
    w.EndArray();
    w.EndObject();
    w.EndObject();
    r.Send(200, SuccessBody("Delivery receipts recorded", w.str()));
  }
};

// Receipts are taken only when they can be verified (checked before their headers and again
// before their body).
Status SecretIsSet(const RouteContext& ctx) {
  if (!ctx.vendor_secret.empty()) return {};
  return Fail(
      Error::Unauthenticated("Delivery receipts are not accepted: no vendor secret is set"));
}

}  // namespace

void AddReceiptRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute(
      "POST", "/api/v1/delivery-receipts",
      [&ctx](HttpRequest& req, HttpResponder r) {
        if (ctx.draining) {
          return SendError(r, Error::Unavailable("The server is shutting down; retry shortly"));
        }
        // The signature first: an unsigned body is not even parsed.
        if (auto st = SecretIsSet(ctx); !st) return SendError(r, st.error());
        const auto ts = req.header(std::string(vendor::kTimestampHeader));
        const auto sig = req.header(std::string(vendor::kSignatureHeader));
        if (auto st = vendor::VerifySignature(ctx.vendor_secret, ts.value_or(""), sig.value_or(""),
                                              req.body, ctx.clock.NowMillis() / 1000);
            !st) {
          return SendError(r, st.error());
        }
        // Until the campaigns stream is folded, no campaign is known: a receipt would be
        // reported unknown (and so dropped by the vendor). 503: the vendor retries.
        if (!ctx.campaigns || !ctx.campaigns->loaded()) {
          return SendError(r, Error::Unavailable("Campaigns are not loaded yet; retry shortly"));
        }
        auto receipts = ParseReceipts(req.body);
        if (!receipts) return SendError(r, receipts.error());
        auto gathered = std::make_shared<Gathered>(r);
        std::map<std::string, std::vector<DeliveryReceipt>> by_campaign;
        {
          auto current = ctx.read_models.Current();  // held while its store is read
          // Whether a launched campaign's messages are all in the read model: after a crash it
          // re-folds from its checkpoint, and a receipt must not be reported unknown (and so
          // dropped by the vendor) because its message is not back yet. 503: retry later.
          std::map<std::string, bool> complete;
          auto audience_in = [&](const std::string& campaign) -> Result<bool> {
            auto it = complete.find(campaign);
            if (it != complete.end()) return it->second;
            auto c = ctx.campaigns->Find(campaign);
            bool in = true;  // an unknown campaign or one without an audience has no messages
            if (c && c->audience) {
              auto a = QueryCampaignAudience(*current->store, campaign, ctx.log.PartitionCount());
              if (!a) return Fail(a.error());
              in = a->has_value();
            }
            complete.emplace(campaign, in);
            return in;
          };
          // Whether the read model already holds the message's DELIVERED or FAILED.
          std::map<std::string, std::optional<Campaign>> records;
          auto already_final = [&](const std::string& campaign,
                                   const std::string& customer) -> Result<bool> {
            auto it = records.find(campaign);
            if (it == records.end()) {
              auto c = QueryCampaign(*current->store, campaign);
              if (!c) return Fail(c.error());
              it = records.emplace(campaign, std::move(*c)).first;
            }
            if (!it->second) return false;
            auto status = QueryMessageStatus(*current->store, *it->second, customer);
            if (!status) return Fail(status.error());
            return status->status == MessageStatus::kDelivered ||
                   status->status == MessageStatus::kFailed ||
                   status->status == MessageStatus::kRejected;
          };
          for (auto& p : *receipts) {
            bool known = !p.campaign_id.empty() && !p.customer_id.empty();
            if (known) {
              auto in = audience_in(p.campaign_id);
              if (!in) return SendError(r, in.error());
              if (!*in) {
                return SendError(r, Error::Unavailable("Campaign " + p.campaign_id +
                                                       "'s messages are not readable yet; retry"));
              }
              auto m = QueryCampaignMessage(*current->store, p.campaign_id, p.customer_id);
              if (!m) return SendError(r, m.error());
              known = m->has_value();
              if (known) {
                auto recorded = already_final(p.campaign_id, p.customer_id);
                if (!recorded) return SendError(r, recorded.error());
                if (*recorded) {
                  ++gathered->duplicates;
                  continue;
                }
              }
            }
            if (!known) {
              ++gathered->unknown;
              if (gathered->unknown_ids.size() < kMaxUnknownListed) {
                gathered->unknown_ids.push_back(std::move(p.message_id));
              }
              continue;
            }
            by_campaign[p.campaign_id].push_back(std::move(p.receipt));
          }
        }
        if (by_campaign.empty()) return gathered->Answer();
        auto meta = MetaFor(req);
        if (!meta) return SendError(r, meta.error());
        meta->actor = "vendor";
        meta->idempotency_key.clear();  // idempotent per message, in the read model's fold
        std::vector<double> lags;
        const Millis now = ctx.clock.NowMillis();
        for (const auto& [campaign, list] : by_campaign) {
          for (const auto& receipt : list) {
            lags.push_back(static_cast<double>(std::max<Millis>(0, now - receipt.occurred_at)) /
                           1000.0);
          }
        }
        ctx.metrics.ReceiptsRecorded(lags);
        std::vector<std::pair<std::string, std::vector<DeliveryReceipt>>> chunks;
        for (auto& [campaign, list] : by_campaign) {
          std::vector<DeliveryReceipt> chunk;
          size_t bytes = 0;
          for (auto& receipt : list) {
            const size_t size = WorstEncodedBytes(receipt);
            if (!chunk.empty() &&
                (chunk.size() == kReceiptsPerEvent || bytes + size > kReceiptBytesPerEvent)) {
              chunks.emplace_back(campaign, std::move(chunk));
              chunk.clear();
              bytes = 0;
            }
            bytes += size;
            chunk.push_back(std::move(receipt));
          }
          if (!chunk.empty()) chunks.emplace_back(campaign, std::move(chunk));
        }
        gathered->waiting = chunks.size();
        for (auto& [campaign, list] : chunks) {
          const auto count = static_cast<int64_t>(list.size());
          ctx.campaigns->RecordReceipts(campaign, std::move(list), *meta,
                                        [gathered, count, &ctx](Result<CampaignOutcome> out) {
                                          ctx.metrics.Command("RecordDeliveryReceipts",
                                                              out.has_value());
                                          std::unique_lock lock(gathered->mu);
                                          if (out) {
                                            gathered->recorded += count;
                                          } else if (!gathered->first_error) {
                                            gathered->first_error = out.error();
                                          }
                                          if (--gathered->waiting == 0) {
                                            lock.unlock();
                                            gathered->Answer();
                                          }
                                        });
        }
      },
      RouteLimits{.max_body_bytes = kMaxReceiptBodyBytes,
                  .max_large_bodies = kMaxLargeReceiptBodies,
                  // A body over the default limit is taken only after well-formed, fresh
                  // signature headers (the signature itself is checked once the body is in).
                  .screen = [&ctx](const HttpRequest& req) -> Status {
                    if (auto st = SecretIsSet(ctx); !st) return st;
                    return vendor::CheckSignatureHeaders(
                        req.header(std::string(vendor::kTimestampHeader)).value_or(""),
                        req.header(std::string(vendor::kSignatureHeader)).value_or(""),
                        ctx.clock.NowMillis() / 1000);
                  }});
}

}  // namespace keel

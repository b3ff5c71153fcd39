// Campaigns (issue 18): their commands through the campaigns stream, their records from the
// campaigns read model, their messages from the campaign_audience read model.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/campaign_service.h"
#include "domain/campaign.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "projections/campaign_audience/campaign_audience_projector.h"
#include "projections/campaigns/campaigns_projector.h"
#include "projections/customers/customer_queries.h"
#include "projections/segments/segments_projector.h"

namespace keel {
namespace {

constexpr int kMaxMessagesPage = 500;

void OptionalTime(JsonWriter& w, std::string_view key, const std::optional<Millis>& t) {
  w.Key(key);
  t ? w.String(FormatIso8601(*t)) : w.Null();
}

// A campaign as served: its definition, state, audience and stats (sent from the dispatcher's
// progress, delivered and failed from the receipts, as the campaigns read model counts them).
std::string CampaignJson(const Campaign& c) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(c.id);
  w.Key("name").String(c.name);
  w.Key("segmentId").String(c.segment_id);
  w.Key("message").String(c.message);
  w.Key("channel").String(c.channel);
  w.Key("occasion");
  c.occasion == Occasion::kNone ? w.Null() : w.String(OccasionName(c.occasion));
  w.Key("status").String(CampaignStateName(c.state));
  OptionalTime(w, "scheduledAt", c.scheduled_at);
  OptionalTime(w, "launchedAt", c.launched_at);
  w.Key("launchTrigger");
  c.launch_trigger.empty() ? w.Null() : w.String(c.launch_trigger);
  OptionalTime(w, "completedAt", c.finished_at);
  w.Key("reason");
  c.reason.empty() ? w.Null() : w.String(c.reason);
  w.Key("stats");
  if (c.audience) {
    const CampaignAudience& a = *c.audience;
    w.BeginObject();
    w.Key("totalAudience").Int(a.size);
    w.Key("excluded").BeginObject();
    for (size_t i = 0; i < kExclusionCount; ++i) {
      w.Key(ExclusionName(static_cast<Exclusion>(i))).Int(a.excluded[i]);
    }
    w.EndObject();
    w.Key("queued").Int(a.queued);
    w.Key("sent").Int(c.sent);
    w.Key("rejected").Int(c.rejected);
    w.Key("delivered").Int(c.delivered);
    w.Key("failed").Int(c.failed);
    w.Key("failedByReason").BeginObject();
    for (const auto& [reason, n] : c.failed_by_reason) w.Key(reason).Int(n);
    w.EndObject();
    w.Key("pending").Int(std::max<int64_t>(0, a.queued - c.delivered - c.failed - c.rejected));
    w.Key("deliveryRate");
    c.sent > 0 ? w.Double(static_cast<double>(c.delivered) / static_cast<double>(c.sent))
               : w.Null();
    w.Key("audiencePositions").BeginArray();
    for (int64_t p : a.positions) w.Int(p);
    w.EndArray();
    w.EndObject();
  } else {
    w.Null();  // not launched, or its audience not resolved yet
  }
  w.Key("createdBy").String(c.created_by);
  w.Key("createdAt").String(FormatIso8601(c.created_at));
  w.Key("updatedAt").String(FormatIso8601(c.updated_at));
  w.Key("version").Int(c.version);
  w.EndObject();
  return w.Take();
}

void WriteMessage(JsonWriter& w, const CampaignMessage& m, const TerminalStatus& status) {
  w.BeginObject();
  w.Key("id").String(m.id);
  w.Key("campaignId").String(m.campaign_id);
  w.Key("customerId").String(m.customer_id);
  w.Key("channel").String(m.channel);
  w.Key("to").String(m.to);
  w.Key("text").String(m.text);
  w.Key("status").String(MessageStatusName(status.status));
  w.Key("reason");
  status.reason.empty() ? w.Null() : w.String(status.reason);
  w.Key("queuedAt").String(FormatIso8601(m.queued_at));
  w.EndObject();
}

// A page of the campaign's communication log after the customer `cursor`, each with its status,
// only those in `status` if given, only `owner`'s customers if given. At most kMaxReadPerPage
// messages are read for one page: `next` says where the next one starts (empty: the end).
constexpr size_t kMaxReadPerPage = 100'000;
struct StatusPage {
  std::vector<std::pair<CampaignMessage, TerminalStatus>> items;
  std::string next;
};
Result<StatusPage> MessagePage(ReadStore& store, const Campaign& c, std::string cursor,
                               std::optional<MessageStatus> status, size_t limit,
                               const std::string* owner) {
  StatusPage out;
  size_t read = 0;
  // Unfiltered, a page reads what it serves; a filter skips some, so reads ahead more.
  const size_t chunk = status || owner ? std::max<size_t>(limit, 100) : limit;
  if (status && *status != MessageStatus::kPending && *status != MessageStatus::kSent) {
    // Terminal statuses have their own table: no scan of the whole audience.
    while (out.items.size() < limit && read < kMaxReadPerPage) {
      auto ids = QueryCustomersWithStatus(store, c.id, *status, cursor, chunk);
      if (!ids) return Fail(ids.error());
      for (const auto& id : *ids) {
        if (out.items.size() >= limit) break;
        ++read;
        cursor = id;
        auto m = QueryCampaignMessage(store, c.id, id);
        if (!m) return Fail(m.error());
        if (!*m || (owner && (*m)->owner_id != *owner)) continue;
        auto st = QueryMessageStatus(store, c, id);
        if (!st) return Fail(st.error());
        out.items.emplace_back(std::move(**m), std::move(*st));
      }
      if (ids->size() < chunk && out.items.size() < limit) return out;  // the end
    }
    out.next = cursor;
    return out;
  }
  // PENDING messages are past the cursor; SENT ones at most at it.
  if (status == MessageStatus::kPending && cursor < c.dispatch_cursor) cursor = c.dispatch_cursor;
  while (out.items.size() < limit && read < kMaxReadPerPage) {
    auto page = QueryCampaignMessages(store, c.id, cursor, chunk, owner, kMaxReadPerPage - read);
    if (!page) return Fail(page.error());
    read += page->read;
    for (auto& m : page->messages) {
      if (out.items.size() >= limit) {
        out.next = cursor;
        return out;
      }
      cursor = m.customer_id;
      if (status == MessageStatus::kSent &&
          (c.dispatch_cursor.empty() || m.customer_id > c.dispatch_cursor)) {
        return out;  // none after the dispatch cursor is SENT
      }
      auto st = QueryMessageStatus(store, c, m.customer_id);
      if (!st) return Fail(st.error());
      if (status && st->status != *status) continue;
      out.items.emplace_back(std::move(m), std::move(*st));
    }
    if (page->next.empty()) return out;  // the end
    cursor = page->next;
  }
  out.next = cursor;
  return out;
}

void AnswerCampaignCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                           const Result<CampaignOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->campaign.version), out->position, message,
                    CampaignJson(out->campaign));
}

// Reads a {"reason"} body of a cancel (optional).
Result<std::string> ReasonOf(const HttpRequest& req) {
  if (req.body.empty()) return std::string();
  auto obj = json::BodyObject(req.body);
  if (!obj) return Fail(obj.error());
  std::string reason;
  std::vector<FieldError> errors;
  for (auto [key, value] : *obj) {
    std::string_view text;
    if (key != "reason") {
      errors.push_back({std::string(key), "Unknown field"});
    } else if (value.get(text) || text.size() > 500) {
      errors.push_back({"reason", "Must be a string of at most 500 bytes"});
    } else {
      reason = std::string(text);
    }
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return reason;
}

std::optional<CampaignState> StateParam(const std::string& v) {
  for (int s = 0; s <= static_cast<int>(CampaignState::kCancelled); ++s) {
    const auto state = static_cast<CampaignState>(s);
    if (v == CampaignStateName(state)) return state;
  }
  return std::nullopt;
}

}  // namespace

void AddCampaignRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.campaigns != nullptr, "Campaigns", r);
  };

  server.AddRoute(
      "POST", "/api/v1/campaigns", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("CreateCampaign", false);
          SendError(r, e);
        };
        auto input = ParseCampaignInput(req.body, ctx.clock.NowMillis());
        if (!input) return refuse(input.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        ctx.campaigns->Create(
            std::move(*input), std::move(*meta), [&ctx, r](Result<CampaignOutcome> out) mutable {
              AnswerCampaignCommand(ctx, "CreateCampaign", r, out, "Campaign created");
            });
      });

  server.AddRoute("PATCH", "/api/v1/campaigns/:id",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
                    if (refuse_if_unable(r)) return;
                    auto refuse = [&](const Error& e) {
                      ctx.metrics.Command("EditCampaign", false);
                      SendError(r, e);
                    };
                    auto edit = ParseCampaignEdit(req.body);
                    if (!edit) return refuse(edit.error());
                    auto expected = ExpectedVersion(req);
                    if (!expected) return refuse(expected.error());
                    auto meta = MetaFor(req);
                    if (!meta) return refuse(meta.error());
                    ctx.campaigns->Edit(
                        req.params["id"], std::move(*edit), *expected, std::move(*meta),
                        [&ctx, r](Result<CampaignOutcome> out) mutable {
                          AnswerCampaignCommand(
                              ctx, "EditCampaign", r, out,
                              out && out->position ? "Campaign edited" : "Campaign unchanged");
                        });
                  });

  server.AddRoute("POST", "/api/v1/campaigns/:id/schedule",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
                    if (refuse_if_unable(r)) return;
                    auto refuse = [&](const Error& e) {
                      ctx.metrics.Command("ScheduleCampaign", false);
                      SendError(r, e);
                    };
                    auto at = ParseScheduleInput(req.body, ctx.clock.NowMillis());
                    if (!at) return refuse(at.error());
                    auto expected = ExpectedVersion(req);
                    if (!expected) return refuse(expected.error());
                    auto meta = MetaFor(req);
                    if (!meta) return refuse(meta.error());
                    ctx.campaigns->Schedule(req.params["id"], *at, *expected, std::move(*meta),
                                            [&ctx, r](Result<CampaignOutcome> out) mutable {
                                              AnswerCampaignCommand(ctx, "ScheduleCampaign", r, out,
                                                                    "Campaign scheduled");
                                            });
                  });

  auto launch = [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
    if (refuse_if_unable(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("LaunchCampaign", false);
      SendError(r, e);
    };
    auto expected = ExpectedVersion(req);
    if (!expected) return refuse(expected.error());
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.campaigns->Launch(req.params["id"], "manual", *expected, std::move(*meta),
                          [&ctx, r](Result<CampaignOutcome> out) mutable {
                            AnswerCampaignCommand(ctx, "LaunchCampaign", r, out,
                                                  "Campaign launched");
                          });
  };
  server.AddRoute("POST", "/api/v1/campaigns/:id/launch", launch);
  server.AddRoute("POST", "/api/v1/campaigns/:id/execute", launch);  // seed 002

  struct Move {
    const char* path;
    const char* type;
    CampaignState to;
    const char* message;
  };
  static constexpr Move kMoves[] = {
      {"/api/v1/campaigns/:id/pause", "PauseCampaign", CampaignState::kPaused, "Campaign paused"},
      {"/api/v1/campaigns/:id/resume", "ResumeCampaign", CampaignState::kRunning,
       "Campaign resumed"},
      {"/api/v1/campaigns/:id/cancel", "CancelCampaign", CampaignState::kCancelled,
       "Campaign cancelled"},
  };
  for (const Move& move : kMoves) {
    server.AddRoute(
        "POST", move.path, [&ctx, refuse_if_unable, move](HttpRequest& req, HttpResponder r) {
          if (refuse_if_unable(r)) return;
          auto refuse = [&](const Error& e) {
            ctx.metrics.Command(move.type, false);
            SendError(r, e);
          };
          auto reason = move.to == CampaignState::kCancelled ? ReasonOf(req) : std::string();
          if (!reason) return refuse(reason.error());
          auto expected = ExpectedVersion(req);
          if (!expected) return refuse(expected.error());
          auto meta = MetaFor(req);
          if (!meta) return refuse(meta.error());
          ctx.campaigns->Move(req.params["id"], move.to, std::move(*reason), *expected,
                              std::move(*meta),
                              [&ctx, r, move](Result<CampaignOutcome> out) mutable {
                                AnswerCampaignCommand(ctx, move.type, r, out, move.message);
                              });
        });
  }

  auto list = [&ctx](HttpRequest& req, HttpResponder r) {
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    std::optional<CampaignState> state;
    if (const std::string* v = QueryParam(req, "status")) {
      state = StateParam(*v);
      if (!state) {
        errors.push_back({"status",
                          "Must be one of Draft, Scheduled, Running, Paused, Sent, Failed, "
                          "Cancelled"});
      }
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [page, limit, state](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) {
          int64_t total = 0;
          auto campaigns = QueryCampaigns(*rm.store, state, static_cast<size_t>(page - 1) * limit,
                                          static_cast<size_t>(limit), total);
          if (!campaigns) return SendError(r, campaigns.error());
          std::vector<std::string> items;
          items.reserve(campaigns->size());
          for (const Campaign& c : *campaigns) items.push_back(CampaignJson(c));
          r.Send(200,
                 SuccessBody("Campaigns retrieved", JsonArray(items), PageMeta(total, page, limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kCampaignsTopic);
  };
  server.AddRoute("GET", "/api/v1/campaigns", list);
  server.AddRoute("GET", "/api/v1/campaigns/history", list);  // seed 003

  // A campaign with its segment and a page of its communication log.
  server.AddRoute("GET", "/api/v1/campaigns/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    std::vector<FieldError> errors;
    int limit = 50;
    if (const std::string* v = QueryParam(req, "limit")) {
      try {
        size_t used = 0;
        limit = std::stoi(*v, &used);
        if (used != v->size() || limit < 1 || limit > kMaxMessagesPage) throw 0;
      } catch (...) {
        errors.push_back({"limit", "Must be a whole number from 1 to 500"});
      }
    }
    std::string cursor;
    if (const std::string* v = QueryParam(req, "cursor")) cursor = *v;
    std::optional<MessageStatus> status;
    if (const std::string* v = QueryParam(req, "status")) {
      status = ParseMessageStatus(*v);
      if (!status) {
        errors.push_back({"status", "Must be one of PENDING, SENT, DELIVERED, FAILED, REJECTED"});
      }
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [limit, cursor, status](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto campaign = QueryCampaign(*rm.store, id);
          if (!campaign) return SendError(r, campaign.error());
          if (!*campaign) return SendError(r, Error::NotFound("Campaign " + id + " not found"));
          // An automated message's campaign has an occasion, not a segment.
          Result<std::optional<Segment>> segment = std::optional<Segment>();
          if (!(*campaign)->segment_id.empty())
            segment = QuerySegment(*rm.store, (*campaign)->segment_id);
          if (!segment) return SendError(r, segment.error());
          // The communication log names customers: a caller sees those they may read (a sales
          // rep their own; without customers:read, none).
          std::optional<std::string> owner;
          bool none = false;
          if (req.principal) {
            switch (req.principal->ScopeFor("customers", "read")) {
              case Scope::kAll:
                break;
              case Scope::kOwn:
                owner = req.principal->user_id;
                break;
              case Scope::kNone:
                none = true;
                break;
            }
          }
          StatusPage messages;
          if (!none) {
            auto page = MessagePage(*rm.store, **campaign, cursor, status,
                                    static_cast<size_t>(limit), owner ? &*owner : nullptr);
            if (!page) return SendError(r, page.error());
            messages = std::move(*page);
          }
          const std::string doc = CampaignJson(**campaign);
          JsonWriter w;
          w.BeginObject();
          w.RawMembers(std::string_view(doc).substr(1, doc.size() - 2));
          w.Key("segment");
          if (*segment) {
            w.BeginObject()
                .Key("id")
                .String((*segment)->id)
                .Key("name")
                .String((*segment)->name)
                .EndObject();
          } else {
            w.Null();
          }
          w.Key("communications");
          if (none) {
            w.Null();
          } else {
            w.BeginArray();
            for (const auto& [m, st] : messages.items) WriteMessage(w, m, st);
            w.EndArray();
          }
          w.EndObject();
          JsonWriter meta;
          meta.BeginObject().Key("nextCursor");
          messages.next.empty() ? meta.Null() : meta.String(messages.next);
          meta.EndObject();
          Headers headers{{"ETag", VersionTag((*campaign)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Campaign retrieved", w.str(), meta.str()), headers);
        },
        kCampaignsTopic);
  });

  server.AddRoute(
      "GET", "/api/v1/customers/:id/communications", [&ctx](HttpRequest& req, HttpResponder r) {
        if (req.principal && req.principal->ScopeFor("customers", "read") == Scope::kNone) {
          return SendError(r, Error::PermissionDenied("Access denied: this needs customers:read"));
        }
        AwaitPosition(req, ctx, r, [](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool) {
          const std::string& id = req.params["id"];
          auto doc = QueryCustomer(*rm.store, id);
          if (!doc) return SendError(r, doc.error());
          if (auto st =
                  CheckCustomerScope(req, "customers", "read", id,
                                     *doc ? std::optional<std::string_view>(**doc) : std::nullopt);
              !st) {
            return SendError(r, st.error());
          }
          if (!*doc) return SendError(r, Error::NotFound("Customer " + id + " not found"));
          auto messages = QueryCustomerMessages(*rm.store, id, 100);
          if (!messages) return SendError(r, messages.error());
          JsonWriter w;
          w.BeginArray();
          for (const auto& m : *messages) {
            auto campaign = QueryCampaign(*rm.store, m.campaign_id);
            if (!campaign) return SendError(r, campaign.error());
            TerminalStatus st;
            st.status = MessageStatus::kPending;
            if (*campaign) {
              auto known = QueryMessageStatus(*rm.store, **campaign, m.customer_id);
              if (!known) return SendError(r, known.error());
              st = std::move(*known);
            }
            WriteMessage(w, m, st);
          }
          w.EndArray();
          r.Send(200, SuccessBody("Customer communications retrieved", w.str()));
        });
      });
}

}  // namespace keel

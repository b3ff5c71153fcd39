// Segments (issue 15): their definitions through the segments stream, their live audiences
// counted from the customers' audience columns at the moment of the request, exact.
#include <atomic>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/segment_service.h"
#include "domain/campaign.h"
#include "domain/customer.h"
#include "domain/json.h"
#include "domain/message_template.h"
#include "domain/segment.h"
#include "projections/audience/audience_columns.h"
#include "projections/customers/customer_queries.h"
#include "projections/membership/membership_queries.h"
#include "projections/segments/segments_projector.h"

namespace keel {
namespace {

constexpr size_t kSampleSize = 10;

// Counting is CPU (a few milliseconds over a million customers, more for many text rules): at
// most this many requests count at once; more get 429 at once, so that a burst of previews
// cannot take every core from the other requests.
constexpr int kMaxConcurrentCounts = 4;
std::atomic<int> counts_running{0};

class CountSlot {
 public:
  CountSlot() : taken_(counts_running.fetch_add(1) < kMaxConcurrentCounts) {}
  ~CountSlot() { counts_running.fetch_sub(1); }
  CountSlot(const CountSlot&) = delete;
  CountSlot& operator=(const CountSlot&) = delete;
  bool taken() const { return taken_; }
  // Answers 429 when no slot was free.
  bool Refused(HttpResponder& r) const {
    if (taken_) return false;
    SendError(r, Error::ResourceExhausted("Too many audience counts at once; retry shortly"),
              {{"Retry-After", "1"}});
    return true;
  }

 private:
  const bool taken_;
};

// The generation's audience columns once they can answer.
const AudienceColumns* AudienceOf(const ReadModel& rm) {
  const AudienceColumns* audience = AudienceColumnsOf(rm);
  return audience && audience->ready() ? audience : nullptr;
}

Error AudienceUnavailable() {
  return Error::Unavailable("Audience counts are not available yet (the customers' columns are "
                            "loading); retry shortly");
}

// What of the customers a caller may see: all of them, those assigned to them, or none (counts
// only).
enum class Visible { kAll, kOwn, kNone };
Visible CustomersVisibleTo(const HttpRequest& req) {
  if (!req.principal) return Visible::kAll;  // authentication off
  switch (req.principal->ScopeFor("customers", "read")) {
    case Scope::kAll:
      return Visible::kAll;
    case Scope::kOwn:
      return Visible::kOwn;
    case Scope::kNone:
      break;
  }
  return Visible::kNone;
}

// The rules narrowed to the caller's own customers.
RuleNode OwnedBy(RuleNode rules, const std::string& owner) {
  RuleNode mine;
  mine.condition.field = RuleField::kOwnerId;
  mine.condition.op = RuleOp::kEq;
  mine.condition.texts = {owner};
  RuleNode both;
  both.kind = RuleNode::Kind::kAnd;
  both.children.push_back(std::move(rules));
  both.children.push_back(std::move(mine));
  return both;
}

// The stored documents of `ids`, in order (a customer gone meanwhile is left out).
Result<std::vector<std::string>> CustomerDocuments(ReadStore& store,
                                                   const std::vector<std::string>& ids) {
  std::vector<std::string> docs;
  docs.reserve(ids.size());
  for (const auto& id : ids) {
    auto doc = QueryCustomer(store, id);
    if (!doc) return Fail(doc.error());
    if (*doc) docs.push_back(std::move(**doc));
  }
  return docs;
}

// The rules narrowed to the customers the caller may read, which are all a count covers (a
// count over customers they may not read would tell them about those: a rule on one email and a
// spending threshold is a question about one customer). nullopt: they may read none.
std::optional<RuleNode> VisibleRules(const HttpRequest& req, RuleNode rules) {
  switch (CustomersVisibleTo(req)) {
    case Visible::kAll:
      return rules;
    case Visible::kOwn:
      return OwnedBy(std::move(rules), req.principal->user_id);
    case Visible::kNone:
      break;
  }
  return std::nullopt;
}

Error CountsNeedCustomers() {
  return Error::PermissionDenied(
      "Access denied: counting an audience needs customers:read (its count covers the customers "
      "you may read)");
}

// {"audienceSize":n,"sample":[customers]}: the count over the customers the caller may read and
// up to kSampleSize of them.
Result<std::string> PreviewJson(ReadModel& rm, const AudienceColumns& audience,
                                const RuleNode& rules, Millis now, const HttpRequest& req) {
  auto visible = VisibleRules(req, rules);
  if (!visible) return Fail(CountsNeedCustomers());
  const auto counted = audience.Count(*visible, now, kSampleSize);
  auto docs = CustomerDocuments(*rm.store, counted.sample);
  if (!docs) return Fail(docs.error());
  JsonWriter w;
  w.BeginObject().Key("audienceSize").Int(counted.count);
  w.Key("sample").Raw(JsonArray(*docs));
  w.EndObject();
  return w.Take();
}

// A segment as served: its definition and its live audience among the customers the caller may
// read (0 once archived; null when they may read none).
Result<std::string> SegmentJson(const Segment& segment, const AudienceColumns& audience, Millis now,
                                const HttpRequest& req) {
  std::optional<int64_t> size = 0;
  if (!segment.archived) {
    auto rules = ParseSegmentRulesJson(segment.rules_json);
    if (!rules) return Fail(Error::Internal("Segment " + segment.id + " holds unreadable rules"));
    auto visible = VisibleRules(req, std::move(*rules));
    size = visible ? std::optional<int64_t>(audience.Count(*visible, now, 0).count) : std::nullopt;
  }
  const std::string doc = SegmentToJson(segment);
  JsonWriter w;
  w.BeginObject();
  w.RawMembers(std::string_view(doc).substr(1, doc.size() - 2));
  w.Key("audienceSize");
  size ? w.Int(*size) : w.Null();
  w.EndObject();
  return w.Take();
}

void AnswerSegmentCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                          const Result<SegmentOutcome>& out, std::optional<int64_t> audience_size,
                          std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  const std::string doc = SegmentToJson(out->segment);
  JsonWriter w;
  w.BeginObject();
  w.RawMembers(std::string_view(doc).substr(1, doc.size() - 2));
  w.Key("audienceSize");
  if (out->segment.archived) {
    w.Int(0);
  } else if (audience_size) {
    w.Int(*audience_size);
  } else {
    w.Null();
  }
  w.EndObject();
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->segment.version), out->position, message,
                    w.str());
}

// The segment `id` of the live read model after the request's wait, with its rules, or the
// error to answer.
struct LiveSegment {
  Segment segment;
  RuleNode rules;
};
Result<LiveSegment> FindLiveSegment(ReadStore& store, const std::string& id) {
  auto segment = QuerySegment(store, id);
  if (!segment) return Fail(segment.error());
  if (!*segment) return Fail(Error::NotFound("Segment " + id + " not found"));
  if ((*segment)->archived) {
    return Fail(Error::FailedPrecondition("Segment " + id + " is archived; it has no audience"));
  }
  auto rules = ParseSegmentRulesJson((*segment)->rules_json);
  if (!rules) return Fail(Error::Internal("Segment " + id + " holds unreadable rules"));
  return LiveSegment{std::move(**segment), std::move(*rules)};
}

// Reconstructing who was in a segment at a past time reads the changes since then: at most this
// many (a request beyond it is refused, not answered slowly).
constexpr size_t kMaxChangesReplayed = 100'000;

// A change of membership as served.
void WriteChange(JsonWriter& w, const MembershipChange& change) {
  w.BeginObject();
  w.Key("customerId").String(change.customer_id);
  w.Key("change").String(change.joined ? "joined" : "left");
  w.Key("at").String(FormatIso8601(change.at.at));
  w.Key("position")
      .BeginObject()
      .Key("partition")
      .Int(change.at.partition)
      .Key("offset")
      .Int(change.at.offset)
      .EndObject();
  w.EndObject();
}

// A query parameter holding an ISO-8601 time; nullopt when absent (an error when malformed).
std::optional<Millis> TimeParam(const HttpRequest& req, const char* name,
                                std::vector<FieldError>& errors) {
  const std::string* v = QueryParam(req, name);
  if (!v) return std::nullopt;
  auto t = ParseIso8601(*v);
  if (!t) errors.push_back({name, "Must be an ISO-8601 time with a zone"});
  return t;
}

Error HistoryNeedsAllCustomers() {
  return Error::PermissionDenied(
      "Access denied: a segment's history and past members name customers of every owner, which "
      "needs customers:read_all");
}

// GET /segments/:id/members?at=: who was a member at `at`, from the membership read model.
void SendMembersAt(HttpRequest& req, ReadModel& rm, HttpResponder& r, Millis at, int page,
                   int limit) {
  CountSlot slot;  // a pass over the segment's members, like a count
  if (slot.Refused(r)) return;
  auto segment = QuerySegment(*rm.store, req.params["id"]);
  if (!segment) return SendError(r, segment.error());
  if (!*segment) return SendError(r, Error::NotFound("Segment " + req.params["id"] + " not found"));
  auto members = QueryMembersAt(*rm.store, (*segment)->id, at, kMaxChangesReplayed,
                                static_cast<size_t>(page - 1) * static_cast<size_t>(limit),
                                static_cast<size_t>(limit));
  if (!members) {
    if (members.error().code == ErrorCode::kInvalidArgument) {
      return SendError(r, Error::Validation({{"at", members.error().message}}));
    }
    return SendError(r, members.error());
  }
  auto docs = CustomerDocuments(*rm.store, members->ids);
  if (!docs) return SendError(r, docs.error());
  r.Send(200, SuccessBody("Segment members retrieved", JsonArray(*docs),
                          PageMeta(members->total, page, limit)));
}

}  // namespace

void AddSegmentRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.segments != nullptr, "Segments", r);
  };

  // A definition's command (POST and PUT): its audience is counted as the request arrives.
  auto define = [&ctx, refuse_if_unable](bool create) {
    return [&ctx, refuse_if_unable, create](HttpRequest& req, HttpResponder r) {
      if (refuse_if_unable(r)) return;
      const char* type = create ? "DefineSegment" : "RedefineSegment";
      auto refuse = [&](const Error& e) {
        ctx.metrics.Command(type, false);
        SendError(r, e);
      };
      auto input = ParseSegmentInput(req.body);
      if (!input) return refuse(input.error());
      auto expected = ExpectedVersion(req);
      if (!expected) return refuse(expected.error());
      auto meta = MetaFor(req);
      if (!meta) return refuse(meta.error());
      // The answer's audience, counted as the request arrives: null rather than a refused
      // command when it cannot be counted (no customers:read, the columns not loaded, every
      // count slot busy): a definition never depends on a view.
      std::optional<int64_t> size;
      auto visible = VisibleRules(req, input->rules);
      auto rm = ctx.read_models.Current();  // held while its columns are read
      const AudienceColumns* audience = AudienceOf(*rm);
      if (visible && audience) {
        CountSlot slot;
        if (slot.taken()) size = audience->Count(*visible, ctx.clock.NowMillis(), 0).count;
      }
      auto done = [&ctx, r, type, size, create](Result<SegmentOutcome> out) mutable {
        AnswerSegmentCommand(ctx, type, r, out, size,
                             create ? "Segment created"
                                    : (out && out->position ? "Segment redefined"
                                                            : "Segment unchanged"));
      };
      if (create) {
        ctx.segments->Define(std::move(*input), std::move(*meta), std::move(done));
      } else {
        ctx.segments->Redefine(req.params["id"], std::move(*input), *expected, std::move(*meta),
                               std::move(done));
      }
    };
  };
  server.AddRoute("POST", "/api/v1/segments", define(true));
  server.AddRoute("PUT", "/api/v1/segments/:id", define(false));

  server.AddRoute("DELETE", "/api/v1/segments/:id",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
    if (refuse_if_unable(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("ArchiveSegment", false);
      SendError(r, e);
    };
    auto expected = ExpectedVersion(req);
    if (!expected) return refuse(expected.error());
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.segments->Archive(req.params["id"], *expected, std::move(*meta),
                          [&ctx, r](Result<SegmentOutcome> out) mutable {
                            AnswerSegmentCommand(ctx, "ArchiveSegment", r, out, 0,
                                                 "Segment archived");
                          });
  });

  server.AddRoute("GET", "/api/v1/segments", [&ctx](HttpRequest& req, HttpResponder r) {
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    bool include_archived = false;
    if (const std::string* v = QueryParam(req, "includeArchived")) {
      if (*v == "true") include_archived = true;
      else if (*v != "false") errors.push_back({"includeArchived", "Must be true or false"});
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [&ctx, page, limit, include_archived](HttpRequest& req, ReadModel& rm, HttpResponder& r,
                                              bool caught_up) {
          const AudienceColumns* audience = AudienceOf(rm);
          if (!audience) return SendError(r, AudienceUnavailable());
          CountSlot slot;
          if (slot.Refused(r)) return;
          auto segments = QuerySegments(*rm.store, include_archived);
          if (!segments) return SendError(r, segments.error());
          const Millis now = ctx.clock.NowMillis();
          std::vector<std::string> items;
          const size_t from = static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
          for (size_t i = from; i < segments->size() && items.size() < static_cast<size_t>(limit);
               ++i) {
            auto doc = SegmentJson((*segments)[i], *audience, now, req);
            if (!doc) return SendError(r, doc.error());
            items.push_back(std::move(*doc));
          }
          r.Send(200,
                 SuccessBody("Segments retrieved", JsonArray(items),
                             PageMeta(static_cast<int64_t>(segments->size()), page, limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kSegmentsTopic);
  });

  server.AddRoute("GET", "/api/v1/segments/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const AudienceColumns* audience = AudienceOf(rm);
          if (!audience) return SendError(r, AudienceUnavailable());
          CountSlot slot;
          if (slot.Refused(r)) return;
          const std::string& id = req.params["id"];
          auto segment = QuerySegment(*rm.store, id);
          if (!segment) return SendError(r, segment.error());
          if (!*segment) return SendError(r, Error::NotFound("Segment " + id + " not found"));
          auto doc = SegmentJson(**segment, *audience, ctx.clock.NowMillis(), req);
          if (!doc) return SendError(r, doc.error());
          Headers headers{{"ETag", VersionTag((*segment)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Segment retrieved", *doc), headers);
        },
        kSegmentsTopic);
  });

  server.AddRoute("GET", "/api/v1/segments/:id/preview", [&ctx](HttpRequest& req,
                                                                HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool) {
          const AudienceColumns* audience = AudienceOf(rm);
          if (!audience) return SendError(r, AudienceUnavailable());
          CountSlot slot;
          if (slot.Refused(r)) return;
          auto live = FindLiveSegment(*rm.store, req.params["id"]);
          if (!live) return SendError(r, live.error());
          auto body = PreviewJson(rm, *audience, live->rules, ctx.clock.NowMillis(), req);
          if (!body) return SendError(r, body.error());
          r.Send(200, SuccessBody("Audience previewed", *body));
        },
        kSegmentsTopic);
  });

  auto preview = [&ctx](HttpRequest& req, HttpResponder r) {
    auto rules = ParsePreviewInput(req.body);
    if (!rules) return SendError(r, rules.error());
    auto rm = ctx.read_models.Current();
    const AudienceColumns* audience = AudienceOf(*rm);
    if (!audience) return SendError(r, AudienceUnavailable());
    CountSlot slot;
    if (slot.Refused(r)) return;
    auto body = PreviewJson(*rm, *audience, *rules, ctx.clock.NowMillis(), req);
    if (!body) return SendError(r, body.error());
    r.Send(200, SuccessBody("Audience previewed", *body));
  };
  server.AddRoute("POST", "/api/v1/segments/preview", preview);
  server.AddRoute("POST", "/api/v1/campaigns/check-audience-size", preview);

  // A campaign's message rendered for a sample of its segment's audience (the customers the
  // caller may read), with the audience's size.
  server.AddRoute("POST", "/api/v1/campaigns/preview", [&ctx](HttpRequest& req, HttpResponder r) {
    auto input = ParseCampaignPreviewInput(req.body);
    if (!input) return SendError(r, input.error());
    auto tmpl = MessageTemplate::Parse(input->message, "message", kMaxCampaignMessageLength);
    if (!tmpl) return SendError(r, tmpl.error());
    auto rm = ctx.read_models.Current();
    const AudienceColumns* audience = AudienceOf(*rm);
    if (!audience) return SendError(r, AudienceUnavailable());
    CountSlot slot;
    if (slot.Refused(r)) return;
    auto live = FindLiveSegment(*rm->store, input->segment_id);
    if (!live) {
      if (live.error().code == ErrorCode::kNotFound) {
        return SendError(r, Error::Validation({{"segmentId", live.error().message}}));
      }
      return SendError(r, live.error());
    }
    auto visible = VisibleRules(req, std::move(live->rules));
    if (!visible) return SendError(r, CountsNeedCustomers());
    const auto counted = audience->Count(*visible, ctx.clock.NowMillis(), kSampleSize);
    auto docs = CustomerDocuments(*rm->store, counted.sample);
    if (!docs) return SendError(r, docs.error());
    JsonWriter w;
    w.BeginObject().Key("audienceSize").Int(counted.count);
    w.Key("placeholders").BeginArray();
    for (const auto& name : tmpl->placeholders()) w.String(name);
    w.EndArray();
    w.Key("samples").BeginArray();
    for (const auto& doc : *docs) {
      auto customer = CustomerFromJson(doc);
      if (!customer) return SendError(r, customer.error());
      w.BeginObject();
      w.Key("customerId").String(customer->id);
      w.Key("name").String(customer->name);
      w.Key("text").String(tmpl->Render(*customer));
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    r.Send(200, SuccessBody("Campaign message previewed", w.str()));
  });

  server.AddRoute("GET", "/api/v1/segments/:id/members", [&ctx](HttpRequest& req,
                                                                HttpResponder r) {
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    const std::optional<Millis> at = TimeParam(req, "at", errors);
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    if (CustomersVisibleTo(req) == Visible::kNone) return SendError(r, CountsNeedCustomers());
    if (at) {
      if (CustomersVisibleTo(req) != Visible::kAll) return SendError(r, HistoryNeedsAllCustomers());
      return AwaitPosition(
          req, ctx, r,
          [page, limit, at](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool) {
            SendMembersAt(req, rm, r, *at, page, limit);
          },
          kCustomersTopic);
    }
    AwaitPosition(
        req, ctx, r,
        [&ctx, page, limit](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const AudienceColumns* audience = AudienceOf(rm);
          if (!audience) return SendError(r, AudienceUnavailable());
          CountSlot slot;
          if (slot.Refused(r)) return;
          auto live = FindLiveSegment(*rm.store, req.params["id"]);
          if (!live) return SendError(r, live.error());
          auto rules = VisibleRules(req, std::move(live->rules));
          if (!rules) return SendError(r, CountsNeedCustomers());
          int64_t total = 0;
          auto ids = audience->Members(*rules, ctx.clock.NowMillis(),
                                       static_cast<size_t>(page - 1) * static_cast<size_t>(limit),
                                       static_cast<size_t>(limit), &total);
          auto docs = CustomerDocuments(*rm.store, ids);
          if (!docs) return SendError(r, docs.error());
          r.Send(200,
                 SuccessBody("Segment members retrieved", JsonArray(*docs),
                             PageMeta(total, page, limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kSegmentsTopic);
  });

  // Joins and leaves, oldest first, and their counts per day (UTC), between `from` and `to`.
  server.AddRoute("GET", "/api/v1/segments/:id/history", [&ctx](HttpRequest& req, HttpResponder r) {
    std::vector<FieldError> errors;
    const Millis from = TimeParam(req, "from", errors).value_or(INT64_MIN);
    const Millis to = TimeParam(req, "to", errors).value_or(INT64_MAX);
    int page = 1, limit = 100;
    ReadPaging(req, page, limit, errors);
    std::string cursor;
    if (const std::string* c = QueryParam(req, "cursor")) cursor = *c;
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    if (CustomersVisibleTo(req) != Visible::kAll) return SendError(r, HistoryNeedsAllCustomers());
    AwaitPosition(
        req, ctx, r,
        [from, to, limit, cursor](HttpRequest& req, ReadModel& rm, HttpResponder& r,
                                  bool caught_up) {
          auto segment = QuerySegment(*rm.store, req.params["id"]);
          if (!segment) return SendError(r, segment.error());
          if (!*segment) {
            return SendError(r, Error::NotFound("Segment " + req.params["id"] + " not found"));
          }
          std::string next;
          auto changes = QuerySegmentHistory(*rm.store, (*segment)->id, from, to,
                                             static_cast<size_t>(limit), cursor, &next);
          if (!changes) return SendError(r, changes.error());
          // Counts per day over the page's changes.
          std::vector<std::tuple<std::string, int64_t, int64_t>> days;
          for (const auto& change : *changes) {
            const std::string day = FormatIso8601(change.at.at).substr(0, 10);
            if (days.empty() || std::get<0>(days.back()) != day) days.emplace_back(day, 0, 0);
            ++(change.joined ? std::get<1>(days.back()) : std::get<2>(days.back()));
          }
          JsonWriter w;
          w.BeginObject();
          w.Key("changes").BeginArray();
          for (const auto& change : *changes) WriteChange(w, change);
          w.EndArray();
          w.Key("days").BeginArray();
          for (const auto& [day, joins, leaves] : days) {
            w.BeginObject().Key("date").String(day).Key("joined").Int(joins).Key("left").Int(
                leaves);
            w.EndObject();
          }
          w.EndArray();
          w.EndObject();
          JsonWriter meta;
          meta.BeginObject().Key("nextCursor");
          next.empty() ? meta.Null() : meta.String(next);
          meta.EndObject();
          r.Send(200, SuccessBody("Segment history retrieved", w.str(), meta.str()),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        });
  });

  server.AddRoute(
      "GET", "/api/v1/customers/:id/segments", [&ctx](HttpRequest& req, HttpResponder r) {
        if (CustomersVisibleTo(req) == Visible::kNone) {
          return SendError(r, Error::PermissionDenied("Access denied: this needs customers:read"));
        }
        AwaitPosition(req, ctx, r, [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool) {
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
          auto customer = CustomerFromJson(**doc);
          if (!customer) return SendError(r, customer.error());
          auto segments = QuerySegments(*rm.store, /*include_archived=*/false);
          if (!segments) return SendError(r, segments.error());
          const Millis now = ctx.clock.NowMillis();
          JsonWriter w;
          w.BeginArray();
          for (const Segment& segment : *segments) {
            auto rules = ParseSegmentRulesJson(segment.rules_json);
            if (!rules) {
              return SendError(
                  r, Error::Internal("Segment " + segment.id + " holds unreadable rules"));
            }
            if (!EvaluateRules(*rules, *customer, now)) continue;
            w.BeginObject()
                .Key("id")
                .String(segment.id)
                .Key("name")
                .String(segment.name)
                .EndObject();
          }
          w.EndArray();
          r.Send(200, SuccessBody("Customer segments retrieved", w.str()));
        });
      });
}

}  // namespace keel

#include "api/routes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "api/envelope.h"
#include "api/openapi_doc.h"
#include "api/route_helpers.h"
#include "domain/customer.h"
#include "domain/json.h"
#include "domain/numbers.h"
#include "domain/text.h"
#include "projections/customer_history/history_projector.h"
#include "projections/customers/customer_queries.h"

namespace keel {
namespace {

Result<CustomerListQuery> ParseListQuery(const HttpRequest& req) {
  CustomerListQuery q;
  std::vector<FieldError> errors;
  auto get = [&](const char* name) { return QueryParam(req, name); };
  ReadPaging(req, q.page, q.limit, errors);
  if (auto v = get("email")) q.email = NormaliseEmail(*v);
  if (auto v = get("name")) {
    if (v->empty() || v->size() > 100) errors.push_back({"name", "Must be 1 to 100 characters"});
    else q.name_contains = *v;
  }
  if (auto v = get("isActive")) {
    if (*v == "true") q.is_active = true;
    else if (*v == "false") q.is_active = false;
    else errors.push_back({"isActive", "Must be true or false"});
  }
  if (auto v = get("ownerId")) q.owner_id = *v;
  if (auto v = get("status")) {
    q.status = ParseCustomerStatus(*v);
    if (!q.status) errors.push_back({"status", "Must be LEAD, OPPORTUNITY, CUSTOMER or CHURNED"});
  }
  if (auto v = get("customerType")) {
    q.customer_type = ParseCustomerType(*v);
    if (!q.customer_type) errors.push_back({"customerType", "Must be PERSON or COMPANY"});
  }
  if (auto v = get("tag")) {
    std::string_view tag = TrimSpace(*v);
    if (tag.empty() || Utf8Length(tag) > kMaxTagLength) {
      errors.push_back({"tag", "Must be 1 to " + std::to_string(kMaxTagLength) + " characters"});
    } else {
      q.tag = std::string(tag);
    }
  }
  // A user who reads only their own customers lists only those.
  if (req.principal && req.principal->ScopeFor("customers", "read") == Scope::kOwn) {
    q.owner_id = req.principal->user_id;
  }
  auto amount = [&](const char* name, std::optional<int64_t>& out) {
    auto v = get(name);
    if (!v) return;
    double d = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
    const double cents = d * 100.0;
    if (ec != std::errc() || end != v->data() + v->size() || !(cents >= 0) || cents > 1e14) {
      errors.push_back({name, "Must be an amount from 0"});
    } else {
      out = static_cast<int64_t>(std::llround(cents));
    }
  };
  auto count = [&](const char* name, std::optional<int64_t>& out) {
    auto v = get(name);
    if (!v) return;
    auto n = ParseInt64(*v);
    if (!n || *n < 0) errors.push_back({name, "Must be an integer from 0"});
    else out = *n;
  };
  auto time = [&](const char* name, std::optional<Millis>& out) {
    auto v = get(name);
    if (!v) return;
    out = ParseIso8601(*v);
    if (!out) errors.push_back({name, "Must be an ISO-8601 datetime, e.g. 2026-01-31T00:00:00Z"});
  };
  amount("minTotalSpending", q.min_total_spending_cents);
  amount("maxTotalSpending", q.max_total_spending_cents);
  count("minOrders", q.min_order_count);
  count("maxOrders", q.max_order_count);
  count("minVisits", q.min_visits);
  time("lastOrderFrom", q.last_order_from);
  time("lastOrderTo", q.last_order_to);
  static const std::pair<const char*, CustomerSort> kSorts[] = {
      {"createdAt", CustomerSort::kCreatedAt},     {"totalSpending", CustomerSort::kTotalSpending},
      {"name", CustomerSort::kName},               {"orderCount", CustomerSort::kOrderCount},
      {"visits", CustomerSort::kVisits},           {"lastOrderAt", CustomerSort::kLastOrderAt},
      {"averageOrderValue", CustomerSort::kAverageOrderValue}};
  if (auto v = get("sort")) {
    auto it = std::find_if(std::begin(kSorts), std::end(kSorts),
                           [&](const auto& s) { return *v == s.first; });
    if (it == std::end(kSorts)) {
      errors.push_back({"sort", "Must be createdAt, totalSpending, name, orderCount, visits, "
                                "lastOrderAt or averageOrderValue"});
    } else {
      q.sort = it->second;
    }
  }
  q.descending = q.sort != CustomerSort::kName;
  if (auto v = get("order")) {
    if (*v == "asc") q.descending = false;
    else if (*v == "desc") q.descending = true;
    else errors.push_back({"order", "Must be asc or desc"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return q;
}

void WriteRebuild(JsonWriter& w, const RebuildProgress& p) {
  w.BeginObject();
  w.Key("projection").String(p.projection).Key("phase").String(p.phase);
  w.Key("done").Int(p.done).Key("total").Int(p.total);
  w.Key("eventsPerSecond").Double(p.events_per_second).Key("etaSeconds").Double(p.eta_seconds);
  w.Key("startedAt").String(FormatIso8601(p.started_at));
  w.Key("finishedAt");
  p.finished_at ? w.String(FormatIso8601(p.finished_at)) : w.Null();
  w.Key("error");
  p.error.empty() ? w.Null() : w.String(p.error);
  w.EndObject();
}

}  // namespace

void AddHealthRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("GET", "/health", [](HttpRequest&, HttpResponder r) {
    r.Send(200, SuccessBody("ok", R"({"status":"ok"})"));
  });
  server.AddRoute("GET", "/ready", [&ctx](HttpRequest&, HttpResponder r) {
    if (ctx.draining) {
      return SendError(r, Error::Unavailable("Shutting down"));
    }
    if (auto health = ctx.log.Health(); !health) {
      return SendError(
          r, Error::Unavailable("The event log takes no appends: " + health.error().message));
    }
    if (!ctx.commands.loaded()) {
      return SendError(r, Error::Unavailable("The command side is still reading the log"));
    }
    if (ctx.views_loaded && !*ctx.views_loaded) {
      return SendError(r, Error::Unavailable("The in-memory views are still loading"));
    }
    auto rm = ctx.read_models.Current();
    for (const auto& runner : rm->projections->runners()) {
      if (runner->stalled()) {
        return SendError(r,
                         Error::Unavailable("Projection " + runner->group().name + " is stalled"));
      }
    }
    if (!rm->projections->caught_up()) {
      return SendError(r, Error::Unavailable("Projections are catching up with the log"));
    }
    r.Send(200, SuccessBody("ready", R"({"status":"ready"})"));
  });
}

namespace {
// Whether the caller may see loyalty levels (no principal: authentication is off).
bool SeesLoyalty(const HttpRequest& req) {
  return !req.principal || req.principal->Has("levels:read");
}
}  // namespace

void AddCustomerRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_draining = [&ctx](HttpResponder& r) {
    if (!ctx.draining) return false;
    SendError(r, Error::Unavailable("The server is shutting down; retry shortly"));
    return true;
  };

  server.AddRoute("POST", "/api/v1/customers", [&ctx, refuse_if_draining](HttpRequest& req, HttpResponder r) {
    if (refuse_if_draining(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("RegisterCustomer", false);
      SendError(r, e);
    };
    auto fields = ParseCustomerInput(req.body, CustomerInputMode::kCreate);
    if (!fields) return refuse(fields.error());
    if (auto st = CheckAssignment(*ctx.auth, req.principal.get(), *fields, /*creating=*/true); !st)
      return refuse(st.error());
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.commands.Register(std::move(*fields), std::move(*meta), [&ctx, r](Result<CommandOutcome> out) {
      AnswerCommand(ctx, "RegisterCustomer", r, out,
                    out && out->created ? "Customer created" : "Customer unchanged");
    });
  });

  auto update = [&ctx, refuse_if_draining](bool replace) {
    return [&ctx, refuse_if_draining, replace](HttpRequest& req, HttpResponder r) {
      if (refuse_if_draining(r)) return;
      const char* type = replace ? "ReplaceCustomer" : "UpdateCustomer";
      auto refuse = [&](const Error& e) {
        ctx.metrics.Command(type, false);
        SendError(r, e);
      };
      auto fields = ParseCustomerInput(
          req.body, replace ? CustomerInputMode::kReplace : CustomerInputMode::kPatch);
      if (!fields) return refuse(fields.error());
      if (auto st = CheckAssignment(*ctx.auth, req.principal.get(), *fields, /*creating=*/false);
          !st) {
        return refuse(st.error());
      }
      auto expected = ExpectedVersion(req);
      if (!expected) return refuse(expected.error());
      auto meta = ScopedMetaFor(req, "customers", "update");
      if (!meta) return refuse(meta.error());
      ctx.commands.Update({req.params["id"], std::move(*fields), replace, *expected},
                           std::move(*meta), [&ctx, r, type](Result<CommandOutcome> out) {
                             AnswerCommand(ctx, type, r, out, "Customer updated");
                           });
    };
  };
  server.AddRoute("PUT", "/api/v1/customers/:id", update(true));
  server.AddRoute("PATCH", "/api/v1/customers/:id", update(false));

  server.AddRoute("DELETE", "/api/v1/customers/:id", [&ctx, refuse_if_draining](HttpRequest& req, HttpResponder r) {
    if (refuse_if_draining(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("DeactivateCustomer", false);
      SendError(r, e);
    };
    auto expected = ExpectedVersion(req);
    if (!expected) return refuse(expected.error());
    auto meta = ScopedMetaFor(req, "customers", "update");
    if (!meta) return refuse(meta.error());
    ctx.commands.Deactivate({req.params["id"], *expected}, std::move(*meta),
                             [&ctx, r](Result<CommandOutcome> out) {
                               AnswerCommand(ctx, "DeactivateCustomer", r, out,
                                             "Customer deactivated");
                             });
  });

  // The customer's own wish, recorded by whoever serves them: no If-Match (it is not an edit of
  // the profile), and a repeat changes nothing.
  for (const bool unsubscribe : {true, false}) {
    const std::string_view type = unsubscribe ? "Unsubscribe" : "Resubscribe";
    server.AddRoute(
        "POST",
        unsubscribe ? "/api/v1/customers/:id/unsubscribe" : "/api/v1/customers/:id/resubscribe",
        [&ctx, refuse_if_draining, unsubscribe, type](HttpRequest& req, HttpResponder r) {
          if (refuse_if_draining(r)) return;
          auto meta = ScopedMetaFor(req, "customers", "update");
          if (!meta) {
            ctx.metrics.Command(type, false);
            return SendError(r, meta.error());
          }
          ctx.commands.ChangeSubscription(
              {req.params["id"], unsubscribe}, std::move(*meta),
              [&ctx, r, unsubscribe, type](Result<CommandOutcome> out) {
                AnswerCommand(ctx, type, r, out,
                              unsubscribe ? "Customer unsubscribed from campaign messages"
                                          : "Customer resubscribed to campaign messages");
              });
        });
  }

  // The stored customer with its loyalty level, scored at the request's clock (only for a
  // caller who may read levels: a role without levels:read gets the customer without it).
  server.AddRoute("GET", "/api/v1/customers/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r, [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto doc = QueryCustomer(*rm.store, id);
          if (!doc) return SendError(r, doc.error());
          if (!*doc) return SendError(r, Error::NotFound("Customer " + id + " not found"));
          if (auto st = CheckCustomerScope(req, "customers", "read", id, **doc); !st) {
            return SendError(r, st.error());
          }
          Headers headers{{"ETag", QuotedETag(**doc)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          if (!SeesLoyalty(req)) {
            return r.Send(200, SuccessBody("Customer retrieved", std::move(**doc)), headers);
          }
          const auto loyalty = LoyaltyOfCustomersJson(rm, {id}, ctx.clock.NowMillis());
          r.Send(200,
                 SuccessBody("Customer retrieved", WithLoyalty(std::move(**doc), loyalty.front())),
                 headers);
        });
  });

  server.AddRoute("GET", "/api/v1/customers", [&ctx](HttpRequest& req, HttpResponder r) {
    auto query = ParseListQuery(req);
    if (!query) return SendError(r, query.error());
    AwaitPosition(
        req, ctx, r,
        [&ctx, query = std::move(*query)](HttpRequest& req, ReadModel& rm, HttpResponder& r,
                                          bool caught_up) {
          auto page = QueryCustomers(*rm.store, CustomerIndexOf(rm), query);
          if (!page) return SendError(r, page.error());
          if (SeesLoyalty(req)) {
            const auto loyalty = LoyaltyOfCustomersJson(rm, page->ids, ctx.clock.NowMillis());
            for (size_t i = 0; i < page->items.size(); ++i) {
              page->items[i] = WithLoyalty(std::move(page->items[i]), loyalty[i]);
            }
          }
          r.Send(200,
                 SuccessBody("Customers retrieved", JsonArray(page->items),
                             PageMeta(page->total, query.page, query.limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        });
  });

  server.AddRoute("GET", "/api/v1/customers/:id/events", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(req, ctx, r, [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool) {
      if (auto st = CheckCustomerScope(*rm.store, req, "customers", "read", req.params["id"]);
          !st) {
        return SendError(r, st.error());
      }
      auto events = QueryCustomerEvents(*rm.store, ctx.log, req.params["id"]);
      if (!events) return SendError(r, events.error());
      if (events->empty()) {
        return SendError(r, Error::NotFound("Customer " + req.params["id"] + " not found"));
      }
      JsonWriter meta;
      meta.BeginObject().Key("total").Int(static_cast<int64_t>(events->size())).EndObject();
      r.Send(200, SuccessBody("Customer history retrieved", JsonArray(*events), meta.str()));
    });
  });
}

void AddAdminRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("GET", "/api/v1/admin/projections", [&ctx](HttpRequest&, HttpResponder r) {
    auto rm = ctx.read_models.Current();
    auto rebuild = ctx.rebuild_progress ? ctx.rebuild_progress() : std::nullopt;
    JsonWriter w;
    w.BeginArray();
    for (const auto& runner : rm->projections->runners()) {
      auto status = runner->Describe(ctx.clock.NowMillis());
      if (!status) return SendError(r, status.error());
      w.BeginObject();
      w.Key("name").String(status->name).Key("topic").String(status->topic);
      w.Key("readModels").BeginArray();
      for (const Projector* projector : runner->group().projectors) w.String(projector->name());
      w.EndArray();
      // A rebuild builds a whole generation: every group's.
      const bool rebuilding =
          rebuild && (rebuild->phase == "replaying" || rebuild->phase == "catching up");
      w.Key("state").String(rebuilding ? "rebuilding" : status->state);
      w.Key("lastError");
      status->last_error.empty() ? w.Null() : w.String(status->last_error);
      w.Key("eventsPerSecond").Double(status->events_per_second);
      int64_t lag = 0;
      double lag_seconds = 0;
      for (const auto& p : status->partitions) {
        lag += p.lag;
        lag_seconds = std::max(lag_seconds, p.lag_seconds);
      }
      w.Key("lag").Int(lag).Key("lagSeconds").Double(lag_seconds);
      w.Key("counters").BeginObject();
      w.Key("eventsApplied").Int(status->counters.events_applied);
      w.Key("skippedUnknown").Int(status->counters.skipped_unknown);
      w.Key("skippedNewer").Int(status->counters.skipped_newer);
      w.Key("deadLettered").Int(status->counters.dead_lettered);
      w.EndObject();
      w.Key("partitions").BeginArray();
      for (const auto& p : status->partitions) {
        w.BeginObject().Key("partition").Int(p.partition).Key("position").Int(p.position);
        w.Key("end").Int(p.end).Key("lag").Int(p.lag).Key("lagSeconds").Double(p.lag_seconds);
        w.EndObject();
      }
      w.EndArray();
      w.Key("rebuild");
      if (rebuild) {
        WriteRebuild(w, *rebuild);
      } else {
        w.Null();
      }
      w.EndObject();
    }
    w.EndArray();
    r.Send(200, SuccessBody("Projections retrieved", w.str()));
  });

  server.AddRoute("POST", "/api/v1/admin/projections/:name/rebuild",
                  [&ctx](HttpRequest& req, HttpResponder r) {
    if (!ctx.start_rebuild) return SendError(r, Error::Unavailable("Rebuilds are not available"));
    auto started = ctx.start_rebuild(req.params["name"]);
    if (!started) return SendError(r, started.error());
    JsonWriter w;
    WriteRebuild(w, *started);
    r.Send(202, SuccessBody("Rebuild started; GET /api/v1/admin/projections reports its progress",
                            w.str()));
  });

  server.AddRoute("GET", "/api/v1/admin/dead-letters", [&ctx](HttpRequest& req, HttpResponder r) {
    int64_t limit = 100;
    if (auto it = req.query.find("limit"); it != req.query.end()) {
      auto n = ParseInt64(it->second);
      if (!n || *n < 1 || *n > 1000) {
        return SendError(r, Error::Validation({{"limit", "Must be an integer from 1 to 1000"}}));
      }
      limit = *n;
    }
    std::vector<std::string> items;
    auto rm = ctx.read_models.Current();
    auto st = rm->store->Scan(kDeadLettersTable, "", "", [&](std::string_view, std::string_view v) {
      items.emplace_back(v);
      return static_cast<int64_t>(items.size()) < limit;
    });
    if (!st) return SendError(r, st.error());
    JsonWriter meta;
    meta.BeginObject().Key("total").Int(rm->projections->dead_lettered()).EndObject();
    r.Send(200, SuccessBody("Dead letters retrieved", JsonArray(items), meta.str()));
  });
}

void AddDocsRoutes(HttpServer& server, std::string docs_dir) {
  if (docs_dir.empty()) docs_dir = KEEL_DEFAULT_DOCS_DIR;
  server.AddRoute("GET", "/openapi.json", [](HttpRequest&, HttpResponder r) {
    r.Send(200, std::string(OpenApiDocument()));
  });
  server.AddRoute("GET", "/docs", [docs_dir](HttpRequest&, HttpResponder r) {
    if (!std::filesystem::exists(docs_dir + "/swagger-ui-bundle.js")) {
      return SendError(r, Error::Unavailable("Swagger UI is not installed in " + docs_dir +
                                             "; run scripts/setup"));
    }
    r.Send(200, R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Keel API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>
</body></html>
)", {}, "text/html; charset=utf-8");
  });
  // The assets, read once and kept: a handful of files, a couple of MiB.
  auto cache = std::make_shared<std::pair<std::mutex, std::map<std::string, std::string>>>();
  server.AddRoute("GET", "/docs/:asset", [docs_dir, cache](HttpRequest& req, HttpResponder r) {
    const std::string& name = req.params["asset"];
    static const std::map<std::string, std::string> kTypes = {
        {".js", "application/javascript"}, {".css", "text/css"}, {".png", "image/png"},
        {".html", "text/html; charset=utf-8"}, {".map", "application/json"}};
    const size_t dot = name.rfind('.');
    auto type = dot == std::string::npos ? kTypes.end() : kTypes.find(name.substr(dot));
    if (type == kTypes.end() || name.find('/') != std::string::npos || name.starts_with(".")) {
      return SendError(r, Error::NotFound("No documentation file " + name));
    }
    std::string body;
    {
      std::lock_guard lock(cache->first);
      auto it = cache->second.find(name);
      if (it == cache->second.end()) {
        std::ifstream in(docs_dir + "/" + name, std::ios::binary);
        if (!in) return SendError(r, Error::NotFound("No documentation file " + name));
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        it = cache->second.emplace(name, std::move(content)).first;
      }
      body = it->second;
    }
    r.Send(200, std::move(body), {{"Cache-Control", "public, max-age=3600"}}, type->second);
  });
}

void AddMetricsRoute(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("GET", "/metrics", [&ctx](HttpRequest&, HttpResponder r) {
    r.Send(200, ctx.metrics.Render(), {}, "text/plain; version=0.0.4");
  });
}

}  // namespace keel

#include "api/routes.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "api/envelope.h"
#include "api/openapi_doc.h"
#include "domain/customer.h"
#include "domain/json.h"
#include "domain/numbers.h"
#include "projections/customer_projector.h"

namespace keel {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

void SendError(HttpResponder& r, const Error& e) { r.Send(HttpStatusFor(e.code), ErrorBody(e)); }

// If-Match: "3", W/"3" or 3. nullopt when absent; an error when present but not a version.
Result<std::optional<int64_t>> ExpectedVersion(const HttpRequest& req) {
  auto h = req.header("If-Match");
  if (!h) return std::optional<int64_t>();
  std::string_view v = *h;
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  auto n = ParseInt64(v);
  if (!n || *n < 1) {
    return Fail(Error::Validation({{"If-Match", "Must be the customer's version, e.g. \"3\""}}));
  }
  return std::optional<int64_t>(*n);
}

Result<CommandMeta> MetaFor(const HttpRequest& req) {
  CommandMeta meta;
  meta.actor = "anonymous";  // until sign-in exists
  // The request is the cause; the correlation spans a flow of requests when the client names
  // one, else it is the request too.
  meta.causation_id = req.request_id;
  meta.correlation_id = req.header("X-Correlation-Id").value_or(req.request_id).substr(0, 128);
  if (auto key = req.header("Idempotency-Key")) {
    if (key->empty() || key->size() > 255) {
      return Fail(Error::Validation({{"Idempotency-Key", "Must be 1 to 255 characters"}}));
    }
    meta.idempotency_key = *key;
  }
  return meta;
}

std::string PositionJson(const AppendResult& p) {
  JsonWriter w;
  w.BeginObject().Key("topic").String(p.topic).Key("partition").Int(p.partition);
  w.Key("offset").Int(p.last_offset).EndObject();
  return w.Take();
}

// The answer to a customer command, once its events are durable.
void AnswerCommand(RouteContext& ctx, std::string_view type, HttpResponder r,
                   const Result<CommandOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  if (out->position) {
    ctx.metrics.EventsAppended(out->position->topic,
                               out->position->last_offset - out->position->first_offset + 1);
  }
  Headers headers{{"ETag", "\"" + std::to_string(out->version) + "\""}};
  std::string meta = "{}";
  if (out->position) {
    headers.emplace_back("X-Keel-Position", std::to_string(out->position->partition) + ":" +
                                                std::to_string(out->position->last_offset));
    meta = "{\"position\":" + PositionJson(*out->position) + "}";
  }
  r.Send(out->status, SuccessBody(message, out->customer_json, meta), headers);
}

// Read-your-writes: a GET may name a position ("partition:offset", as X-Keel-Position said)
// in `minPosition` or the X-Keel-Min-Position header and waits until the projection has it.
// Returns false when the wait timed out; an error when the position is malformed.
Result<bool> AwaitPosition(const HttpRequest& req, RouteContext& ctx, ReadModel& rm) {
  std::optional<std::string> spec;
  if (auto it = req.query.find("minPosition"); it != req.query.end()) spec = it->second;
  if (!spec) spec = req.header("X-Keel-Min-Position");
  if (!spec) return true;
  const size_t colon = spec->find(':');
  auto p = colon == std::string::npos ? std::nullopt : ParseInt64(std::string_view(*spec).substr(0, colon));
  auto o = colon == std::string::npos ? std::nullopt : ParseInt64(std::string_view(*spec).substr(colon + 1));
  if (!p || !o || *p < 0 || *o < 0) {
    return Fail(Error::Validation({{"minPosition", "Must be partition:offset, e.g. 3:1204"}}));
  }
  return rm.customer_runner->WaitFor(static_cast<int32_t>(*p), *o,
                                         std::chrono::milliseconds(ctx.max_read_wait_ms));
}

// The version is the last member CustomerToJson writes; reading it back needs no parse.
std::string VersionOf(std::string_view customer_json) {
  const size_t key = customer_json.rfind("\"version\":");
  if (key == std::string_view::npos) return "0";
  std::string_view rest = customer_json.substr(key + 10);
  return std::string(rest.substr(0, rest.find_first_not_of("0123456789")));
}

Result<CustomerListQuery> ParseListQuery(const HttpRequest& req) {
  CustomerListQuery q;
  std::vector<FieldError> errors;
  auto get = [&](const char* name) -> const std::string* {
    auto it = req.query.find(name);
    return it == req.query.end() ? nullptr : &it->second;
  };
  if (auto v = get("page")) {
    auto n = ParseInt64(*v);
    if (!n || *n < 1 || *n > 1'000'000) errors.push_back({"page", "Must be an integer from 1"});
    else q.page = static_cast<int>(*n);
  }
  if (auto v = get("limit")) {
    auto n = ParseInt64(*v);
    if (!n || *n < 1 || *n > 100) errors.push_back({"limit", "Must be an integer from 1 to 100"});
    else q.limit = static_cast<int>(*n);
  }
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
  if (auto v = get("sort")) {
    if (*v == "createdAt") q.sort = CustomerSort::kCreatedAt;
    else if (*v == "totalSpending") q.sort = CustomerSort::kTotalSpending;
    else if (*v == "name") q.sort = CustomerSort::kName;
    else errors.push_back({"sort", "Must be createdAt, totalSpending or name"});
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

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += items[i];
  }
  out.push_back(']');
  return out;
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
    if (!ctx.customers.loaded()) {
      return SendError(r, Error::Unavailable("The command side is still reading the log"));
    }
    auto rm = ctx.read_models.Current();
    if (rm->customer_runner->stalled()) {
      return SendError(r, Error::Unavailable("Projection customers is stalled"));
    }
    if (!rm->customer_runner->caught_up()) {
      return SendError(r, Error::Unavailable("Projections are catching up with the log"));
    }
    r.Send(200, SuccessBody("ready", R"({"status":"ready"})"));
  });
}

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
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.customers.Register(std::move(*fields), std::move(*meta), [&ctx, r](Result<CommandOutcome> out) {
      AnswerCommand(ctx, "RegisterCustomer", r, out,
                    out && out->status == 201 ? "Customer created" : "Customer unchanged");
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
      auto expected = ExpectedVersion(req);
      if (!expected) return refuse(expected.error());
      auto meta = MetaFor(req);
      if (!meta) return refuse(meta.error());
      ctx.customers.Update({req.params["id"], std::move(*fields), replace, *expected},
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
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    ctx.customers.Deactivate({req.params["id"], *expected}, std::move(*meta),
                             [&ctx, r](Result<CommandOutcome> out) {
                               AnswerCommand(ctx, "DeactivateCustomer", r, out,
                                             "Customer deactivated");
                             });
  });

  server.AddRoute("GET", "/api/v1/customers/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    auto rm = ctx.read_models.Current();
    auto caught_up = AwaitPosition(req, ctx, *rm);
    if (!caught_up) return SendError(r, caught_up.error());
    auto doc = QueryCustomer(*rm->store, req.params["id"]);
    if (!doc) return SendError(r, doc.error());
    if (!*doc) return SendError(r, Error::NotFound("Customer " + req.params["id"] + " not found"));
    Headers headers{{"ETag", "\"" + VersionOf(**doc) + "\""}};
    if (!*caught_up) headers.emplace_back("X-Keel-Stale", "true");
    r.Send(200, SuccessBody("Customer retrieved", **doc), headers);
  });

  server.AddRoute("GET", "/api/v1/customers", [&ctx](HttpRequest& req, HttpResponder r) {
    auto query = ParseListQuery(req);
    if (!query) return SendError(r, query.error());
    auto rm = ctx.read_models.Current();
    auto caught_up = AwaitPosition(req, ctx, *rm);
    if (!caught_up) return SendError(r, caught_up.error());
    auto page = QueryCustomers(*rm->store, *query);
    if (!page) return SendError(r, page.error());
    JsonWriter meta;
    meta.BeginObject().Key("total").Int(page->total).Key("page").Int(query->page);
    meta.Key("limit").Int(query->limit);
    meta.Key("pages").Int((page->total + query->limit - 1) / query->limit).EndObject();
    r.Send(200, SuccessBody("Customers retrieved", JsonArray(page->items), meta.str()),
           *caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
  });

  server.AddRoute("GET", "/api/v1/customers/:id/events", [&ctx](HttpRequest& req, HttpResponder r) {
    auto rm = ctx.read_models.Current();
    auto caught_up = AwaitPosition(req, ctx, *rm);
    if (!caught_up) return SendError(r, caught_up.error());
    auto events = QueryCustomerEvents(*rm->store, req.params["id"]);
    if (!events) return SendError(r, events.error());
    if (events->empty()) {
      return SendError(r, Error::NotFound("Customer " + req.params["id"] + " not found"));
    }
    JsonWriter meta;
    meta.BeginObject().Key("total").Int(static_cast<int64_t>(events->size())).EndObject();
    r.Send(200, SuccessBody("Customer history retrieved", JsonArray(*events), meta.str()));
  });
}

void AddAdminRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("GET", "/api/v1/admin/projections", [&ctx](HttpRequest&, HttpResponder r) {
    auto rm = ctx.read_models.Current();
    auto status = rm->customer_runner->Describe(ctx.clock.NowMillis());
    if (!status) return SendError(r, status.error());
    JsonWriter w;
    w.BeginArray().BeginObject();
    w.Key("name").String(status->name).Key("topic").String(status->topic);
    auto rebuild = ctx.rebuild_progress ? ctx.rebuild_progress() : std::nullopt;
    const bool rebuilding = rebuild && rebuild->projection == status->name &&
                            (rebuild->phase == "replaying" || rebuild->phase == "catching up");
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
    if (rebuild && rebuild->projection == status->name) {
      WriteRebuild(w, *rebuild);
    } else {
      w.Null();
    }
    w.EndObject().EndArray();
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
    meta.BeginObject().Key("total").Int(rm->customer_runner->counters().dead_lettered).EndObject();
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

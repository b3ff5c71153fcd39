// Orders and visits: commands and queries. Parsing and serialising only.
#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "domain/json_input.h"
#include "domain/order.h"
#include "projections/customers/customer_queries.h"
#include "projections/orders/order_queries.h"

namespace keel {
namespace {

// GET /orders and /customers/:id/orders: page, limit, status, from, to, order.
Result<OrderListQuery> ParseOrderListQuery(const HttpRequest& req) {
  OrderListQuery q;
  std::vector<FieldError> errors;
  ReadPaging(req, q.page, q.limit, errors);
  if (auto v = QueryParam(req, "customerId")) {
    if (v->empty() || v->size() > 100) errors.push_back({"customerId", "Must be 1 to 100 characters"});
    else q.customer_id = *v;
  }
  if (auto v = QueryParam(req, "status")) {
    q.status = ParseOrderStatus(*v);
    if (!q.status) errors.push_back({"status", "Must be one of Pending, Shipped, Delivered, Cancelled"});
  }
  for (const char* name : {"from", "to"}) {
    if (auto v = QueryParam(req, name)) {
      auto t = ParseIso8601(*v);
      if (!t) errors.push_back({name, "Must be an ISO-8601 datetime, e.g. 2026-01-31T00:00:00Z"});
      else (std::string_view(name) == "from" ? q.from : q.to) = *t;
    }
  }
  if (q.from && q.to && *q.from > *q.to) errors.push_back({"from", "Must not be after 'to'"});
  if (auto v = QueryParam(req, "order")) {
    if (*v == "asc") q.descending = false;
    else if (*v == "desc") q.descending = true;
    else errors.push_back({"order", "Must be asc or desc"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return q;
}

// `owner`: only the orders of the customers assigned to this user.
void SendOrders(RouteContext& ctx, HttpRequest& req, HttpResponder& r, OrderListQuery query,
                const std::optional<std::string>& owner = std::nullopt) {
  AwaitPosition(req, ctx, r,
                [query = std::move(query), owner](HttpRequest&, ReadModel& rm, HttpResponder& r,
                                                  bool caught_up) mutable {
                  if (owner) {
                    auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), *owner);
                    if (!mine) return SendError(r, mine.error());
                    query.customer_ids = std::move(*mine);
                  }
                  auto page = QueryOrders(*rm.store, query);
                  if (!page) return SendError(r, page.error());
                  r.Send(200,
                         SuccessBody("Orders retrieved", JsonArray(page->items),
                                     PageMeta(page->total, query.page, query.limit)),
                         caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
                });
}

// POST /customers/:id/visits takes an empty body or {"visitedAt": "<ISO-8601>"}.
Result<std::optional<Millis>> ParseVisitInput(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::optional<Millis>();
  auto doc = json::Parse(body, "Request body", ErrorCode::kInvalidArgument);
  if (!doc) return Fail(doc.error());
  if (doc->type() != simdjson::dom::element_type::OBJECT) {
    return Fail(Error::InvalidArgument("Request body must be a JSON object"));
  }
  std::vector<FieldError> errors;
  std::optional<Millis> at;
  const simdjson::dom::object fields = doc->get_object().value_unsafe();
  for (auto [key, value] : fields) {
    std::string_view s;
    if (key != "visitedAt") {
      errors.push_back({std::string(key), "Unknown field"});
    } else if (value.get(s) || !ParseIso8601(s)) {
      errors.push_back({"visitedAt", std::string(kInvalidDatetimeMessage)});
    } else {
      at = ParseIso8601(s);
    }
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return at;
}

// The write model keeps no items (they never change after placement); an order answer that
// lacks them takes them from the read model. Runs on the log's thread, so it never waits: an
// order placed so recently that the read model has not folded it yet keeps "items": null and
// says so in X-Keel-Partial.
Result<CommandOutcome> CompleteOrderAnswer(RouteContext& ctx, Result<CommandOutcome> out,
                                           bool* partial) {
  *partial = false;
  if (!out) return out;
  const size_t items = out->json.find("\"items\":null");
  if (items == std::string::npos) return out;
  const size_t details = out->json.find("\"orderId\":");
  auto parsed_answer = json::Parse(out->json, "Order answer", ErrorCode::kInternal);
  std::string_view id_view;
  if (!parsed_answer || parsed_answer->at_key("id").get(id_view)) return out;
  const std::string id(id_view);
  auto rm = ctx.read_models.Current();
  auto found = QueryStoredOrder(*rm->store, id);
  std::optional<Order> stored;
  if (found && *found) stored = std::move(**found);
  if (!stored || details == std::string::npos || details > items) {
    *partial = true;
    return out;
  }
  const size_t end = items + std::string_view("\"items\":null").size();
  out->json.replace(details, end - details, OrderDetailsMembers(*stored));
  return out;
}

}  // namespace

void AddOrderRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_draining = [&ctx](HttpResponder& r) {
    if (!ctx.draining) return false;
    SendError(r, Error::Unavailable("The server is shutting down; retry shortly"));
    return true;
  };

  server.AddRoute("POST", "/api/v1/customers/:id/visits",
                  [&ctx, refuse_if_draining](HttpRequest& req, HttpResponder r) {
    if (refuse_if_draining(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("RecordVisit", false);
      SendError(r, e);
    };
    auto at = ParseVisitInput(req.body);
    if (!at) return refuse(at.error());
    auto meta = ScopedMetaFor(req, "customers", "update");
    if (!meta) return refuse(meta.error());
    ctx.commands.RecordVisit({req.params["id"], *at}, std::move(*meta),
                             [&ctx, r](Result<CommandOutcome> out) {
                               AnswerCommand(ctx, "RecordVisit", r, out, "Visit recorded");
                             });
  });

  server.AddRoute("POST", "/api/v1/orders", [&ctx, refuse_if_draining](HttpRequest& req, HttpResponder r) {
    if (refuse_if_draining(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("PlaceOrder", false);
      SendError(r, e);
    };
    auto input = ParseOrderInput(req.body);
    if (!input) return refuse(input.error());
    auto meta = ScopedMetaFor(req, "orders", "create");
    if (!meta) return refuse(meta.error());
    ctx.commands.PlaceOrder(std::move(*input), std::move(*meta), [&ctx, r](Result<CommandOutcome> out) {
      bool partial = false;
      out = CompleteOrderAnswer(ctx, std::move(out), &partial);
      AnswerCommand(
          ctx, "PlaceOrder", r, out,
          out && out->created ? "Order created" : "Order already recorded under this orderId",
          partial ? Headers{{"X-Keel-Partial", "items"}} : Headers{});
    });
  });

  server.AddRoute("PATCH", "/api/v1/orders/:id/status",
                  [&ctx, refuse_if_draining](HttpRequest& req, HttpResponder r) {
    if (refuse_if_draining(r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("ChangeOrderStatus", false);
      SendError(r, e);
    };
    auto status = ParseOrderStatusInput(req.body);
    if (!status) return refuse(status.error());
    auto expected = ExpectedVersion(req);
    if (!expected) return refuse(expected.error());
    auto meta = ScopedMetaFor(req, "orders", "update");
    if (!meta) return refuse(meta.error());
    ctx.commands.ChangeOrderStatus({req.params["id"], *status, *expected}, std::move(*meta),
                                   [&ctx, r](Result<CommandOutcome> out) {
                                     bool partial = false;
                                     out = CompleteOrderAnswer(ctx, std::move(out), &partial);
                                     AnswerCommand(ctx, "ChangeOrderStatus", r, out,
                                                   "Order status updated",
                                                   partial ? Headers{{"X-Keel-Partial", "items"}}
                                                           : Headers{});
                                   });
  });

  server.AddRoute("GET", "/api/v1/orders/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    SendStoredDocument(ctx, req, r, "Order", QueryOrder,
                       [](const HttpRequest& req, ReadStore& store, std::string_view doc) {
                         return CheckCustomerScope(
                             store, req, "orders", "read",
                             StoredStringMember(doc, "customerId").value_or(""));
                       });
  });

  server.AddRoute("GET", "/api/v1/orders", [&ctx](HttpRequest& req, HttpResponder r) {
    auto query = ParseOrderListQuery(req);
    if (!query) return SendError(r, query.error());
    if (req.principal && req.principal->ScopeFor("orders", "read") == Scope::kOwn) {
      // A user who reads only their own customers' orders lists those: one customer's when
      // customerId names one of theirs, else all of them (merged from each customer's index).
      if (query->customer_id) {
        auto rm = ctx.read_models.Current();
        if (auto st = CheckCustomerScope(*rm->store, req, "orders", "read", *query->customer_id);
            !st) {
          return SendError(r, st.error());
        }
      } else {
        return SendOrders(ctx, req, r, std::move(*query), req.principal->user_id);
      }
    }
    SendOrders(ctx, req, r, std::move(*query));
  });

  server.AddRoute("GET", "/api/v1/customers/:id/orders", [&ctx](HttpRequest& req, HttpResponder r) {
    auto query = ParseOrderListQuery(req);
    if (!query) return SendError(r, query.error());
    if (query->customer_id && *query->customer_id != req.params["id"]) {
      return SendError(r, Error::Validation({{"customerId", "Conflicts with the customer in the path"}}));
    }
    query->customer_id = req.params["id"];
    auto rm = ctx.read_models.Current();
    auto customer = QueryCustomer(*rm->store, req.params["id"]);
    if (!customer) return SendError(r, customer.error());
    if (auto st = CheckCustomerScope(req, "orders", "read", req.params["id"],
                                     *customer ? std::optional<std::string_view>(**customer)
                                               : std::nullopt); !st) {
      return SendError(r, st.error());
    }
    if (!*customer && !req.query.contains("minPosition")) {
      return SendError(r, Error::NotFound("Customer " + req.params["id"] + " not found"));
    }
    SendOrders(ctx, req, r, std::move(*query));
  });
}

}  // namespace keel

namespace keel {

void AddIngestRoutes(HttpServer& server, RouteContext& ctx) {
  auto ingest = [&ctx](IngestKind kind) {
    return [&ctx, kind](HttpRequest& req, HttpResponder r) {
      const char* command = kind == IngestKind::kCustomers ? "IngestCustomers" : "IngestOrders";
      auto refuse = [&](const Error& e) {
        ctx.metrics.Command(command, false);
        SendError(r, e);
      };
      if (ctx.draining) return refuse(Error::Unavailable("The server is shutting down; retry shortly"));
      bool async = false;
      if (auto v = QueryParam(req, "async")) {
        if (*v == "true") async = true;
        else if (*v != "false") return refuse(Error::Validation({{"async", "Must be true or false"}}));
      }
      if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        return refuse(Error::InvalidArgument(
            "Request body is empty: send a JSON array or NDJSON (application/x-ndjson)"));
      }
      auto meta = MetaFor(req);
      if (!meta) return refuse(meta.error());
      const BulkFormat format = DetectBulkFormat(req.body, req.header("Content-Type").value_or(""));
      IngestService::Done done;
      if (!async) {
        done = [&ctx, r, command](const IngestJobStatus& job) mutable {
          ctx.metrics.Command(command, job.state == "done");
          if (job.state == "done") {
            return r.Send(200, SuccessBody("Ingestion finished", IngestJobToJson(job)));
          }
          // Nothing was read: the body itself is broken. Else the job stopped part-way.
          SendError(r, job.total == 0 ? Error::InvalidArgument(job.failure)
                                      : Error::Unavailable("Ingestion stopped after " +
                                                           std::to_string(job.processed) +
                                                           " records (job " + job.id + "): " +
                                                           job.failure));
        };
      }
      // Ingested customers are assigned as POST /customers assigns them (an existing customer is
      // updated by email, so nothing is assigned by default).
      IngestService::CustomerCheck check;
      if (kind == IngestKind::kCustomers) {
        check = [auth = ctx.auth, principal = req.principal](CustomerFields& fields) {
          return CheckAssignment(*auth, principal.get(), fields, /*creating=*/false);
        };
      }
      auto job = ctx.ingest->Submit(kind, std::move(req.body), format, std::move(*meta),
                                    std::move(done), std::move(check));
      if (!job) return refuse(job.error());
      if (async) {
        ctx.metrics.Command(command, true);
        r.Send(202,
               SuccessBody("Ingestion accepted; GET /api/v1/ingest/jobs/" + job->id + " reports progress",
                           IngestJobToJson(*job)),
               {{"Location", "/api/v1/ingest/jobs/" + job->id}});
      }
    };
  };
  server.AddRoute("POST", "/api/v1/ingest/customers", ingest(IngestKind::kCustomers), ctx.max_ingest_bytes);
  server.AddRoute("POST", "/api/v1/ingest/orders", ingest(IngestKind::kOrders), ctx.max_ingest_bytes);

  server.AddRoute("GET", "/api/v1/ingest/jobs/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    auto job = ctx.ingest->Find(req.params["id"]);
    if (!job) {
      return SendError(r, Error::NotFound("No ingestion job " + req.params["id"]));
    }
    r.Send(200, SuccessBody("Ingestion job retrieved", IngestJobToJson(*job)));
  });
}

}  // namespace keel

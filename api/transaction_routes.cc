// Transactions (payments and refunds, issue 16): recorded through the customers stream, read from
// the transactions read model; an order's balance joins the order with its payment totals.
// transactions:write_* records, transactions:read_* reads; a sales rep's _own scope reaches the
// customers assigned to them, for writes (refused inside the command lock, before deciding) and
// reads alike.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "domain/json.h"
#include "domain/transaction.h"
#include "projections/customers/customer_queries.h"
#include "projections/orders/order_queries.h"
#include "projections/transactions/transactions_projector.h"

namespace keel {
namespace {

constexpr size_t kMaxIdLength = 100;

// page, limit, customerId, orderId, paymentMethod, type (payment, refund), from, to
// (transactionDate, inclusive).
Result<TransactionListQuery> ParseTransactionListQuery(const HttpRequest& req) {
  TransactionListQuery q;
  std::vector<FieldError> errors;
  ReadPaging(req, q.page, q.limit, errors);
  for (const char* name : {"customerId", "orderId"}) {
    if (const std::string* v = QueryParam(req, name)) {
      if (v->empty() || v->size() > kMaxIdLength) {
        errors.push_back({name, "Must be 1 to 100 characters"});
      } else {
        (std::string_view(name) == "customerId" ? q.customer_id : q.order_id) = *v;
      }
    }
  }
  if (const std::string* v = QueryParam(req, "paymentMethod")) {
    q.method = ParsePaymentMethod(*v);
    if (!q.method)
      errors.push_back({"paymentMethod", "Must be one of cash, card, transfer, other"});
  }
  if (const std::string* v = QueryParam(req, "type")) {
    if (*v == "payment") {
      q.refunds = false;
    } else if (*v == "refund") {
      q.refunds = true;
    } else {
      errors.push_back({"type", "Must be payment or refund"});
    }
  }
  for (const char* name : {"from", "to"}) {
    if (const std::string* v = QueryParam(req, name)) {
      auto t = ParseIso8601(*v);
      if (!t) {
        errors.push_back({name, std::string(kInvalidDatetimeMessage)});
      } else {
        (std::string_view(name) == "from" ? q.from : q.to) = *t;
      }
    }
  }
  if (q.from && q.to && *q.from > *q.to) errors.push_back({"from", "Must not be after 'to'"});
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return q;
}

std::string TransactionsJson(const TransactionPage& page) {
  std::vector<std::string> items;
  items.reserve(page.items.size());
  for (const Transaction& t : page.items) items.push_back(TransactionToJson(t));
  return JsonArray(items);
}

// `owner`: only the transactions of the customers assigned to this user. `of_customer`: the
// list of query.customer_id, which must exist and be visible to the caller (checked once the
// wait is over, so that a customer just registered is found), with the customer's payment
// totals in the page's meta.
void SendTransactions(RouteContext& ctx, HttpRequest& req, HttpResponder& r,
                      TransactionListQuery query, std::optional<std::string> owner = std::nullopt,
                      bool of_customer = false) {
  AwaitPosition(req, ctx, r,
                [query = std::move(query), owner = std::move(owner), of_customer](
                    HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) mutable {
                  if (of_customer) {
                    const std::string& id = *query.customer_id;
                    auto customer = QueryCustomer(*rm.store, id);
                    if (!customer) return SendError(r, customer.error());
                    if (!*customer) {
                      return SendError(r, Error::NotFound("Customer " + id + " not found"));
                    }
                    if (auto st = CheckCustomerScope(req, "transactions", "read", id,
                                                     std::string_view(**customer));
                        !st) {
                      return SendError(r, st.error());
                    }
                  }
                  if (owner) {
                    auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), *owner);
                    if (!mine) return SendError(r, mine.error());
                    query.customer_ids = std::move(*mine);
                  }
                  auto page = QueryTransactions(*rm.store, query);
                  if (!page) return SendError(r, page.error());
                  std::string meta =
                      PageMeta(page->total, query.page, query.limit, page->truncated);
                  if (of_customer) {
                    auto totals = QueryCustomerPayments(*rm.store, *query.customer_id);
                    if (!totals) return SendError(r, totals.error());
                    JsonWriter w;
                    w.BeginObject();
                    w.RawMembers(std::string_view(meta).substr(1, meta.size() - 2));
                    w.Key("paid").Cents(totals->paid_cents);
                    w.Key("refunded").Cents(totals->refunded_cents);
                    w.Key("netPaid").Cents(totals->net_cents);
                    w.EndObject();
                    meta = w.Take();
                  }
                  r.Send(200, SuccessBody("Transactions retrieved", TransactionsJson(*page), meta),
                         caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
                });
}

}  // namespace

void AddTransactionRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("POST", "/api/v1/transactions", [&ctx](HttpRequest& req, HttpResponder r) {
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("RecordTransaction", false);
      SendError(r, e);
    };
    if (ctx.draining)
      return refuse(Error::Unavailable("The server is shutting down; retry shortly"));
    auto input = ParseTransactionInput(req.body);
    if (!input) return refuse(input.error());
    auto meta = ScopedMetaFor(req, "transactions", "write");
    if (!meta) return refuse(meta.error());
    ctx.commands.RecordTransaction(
        std::move(*input), std::move(*meta), [&ctx, r](Result<CommandOutcome> out) mutable {
          ctx.metrics.Command("RecordTransaction", out.has_value());
          if (!out) return SendError(r, out.error());
          // From the answer, not the body: a keyed retry answers the first transaction.
          auto recorded = TransactionFromJson(out->json);
          const bool refund = recorded && recorded->is_refund();
          // A transaction has no version member: it never changes, and its tag is always 1.
          SendCommandAnswer(ctx, r, out->created, VersionTag(out->version), out->position,
                            refund ? "Refund recorded" : "Payment recorded", out->json);
        });
  });

  server.AddRoute("GET", "/api/v1/transactions", [&ctx](HttpRequest& req, HttpResponder r) {
    auto query = ParseTransactionListQuery(req);
    if (!query) return SendError(r, query.error());
    if (req.principal && req.principal->ScopeFor("transactions", "read") == Scope::kOwn) {
      // One of their customers when customerId names it, else all of theirs.
      if (!query->customer_id) {
        return SendTransactions(ctx, req, r, std::move(*query), req.principal->user_id);
      }
      auto rm = ctx.read_models.Current();
      if (auto st =
              CheckCustomerScope(*rm->store, req, "transactions", "read", *query->customer_id);
          !st) {
        return SendError(r, st.error());
      }
      // Filtered by their customers too: the customer may not have been there to check yet.
      return SendTransactions(ctx, req, r, std::move(*query), req.principal->user_id);
    }
    SendTransactions(ctx, req, r, std::move(*query));
  });

  server.AddRoute("GET", "/api/v1/transactions/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r, [](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto t = QueryTransaction(*rm.store, id);
          if (!t) return SendError(r, t.error());
          if (!*t) return SendError(r, Error::NotFound("Transaction " + id + " not found"));
          if (auto st =
                  CheckCustomerScope(*rm.store, req, "transactions", "read", (*t)->customer_id);
              !st) {
            return SendError(r, st.error());
          }
          r.Send(200, SuccessBody("Transaction retrieved", TransactionToJson(**t)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        });
  });

  server.AddRoute(
      "GET", "/api/v1/customers/:id/transactions", [&ctx](HttpRequest& req, HttpResponder r) {
        auto query = ParseTransactionListQuery(req);
        if (!query) return SendError(r, query.error());
        if (query->customer_id && *query->customer_id != req.params["id"]) {
          return SendError(
              r, Error::Validation({{"customerId", "Conflicts with the customer in the path"}}));
        }
        query->customer_id = req.params["id"];
        SendTransactions(ctx, req, r, std::move(*query), std::nullopt, /*of_customer=*/true);
      });

  server.AddRoute("GET", "/api/v1/orders/:id/balance", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r, [](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto order = QueryStoredOrder(*rm.store, id);
          if (!order) return SendError(r, order.error());
          if (!*order) return SendError(r, Error::NotFound("Order " + id + " not found"));
          if (auto st =
                  CheckCustomerScope(*rm.store, req, "transactions", "read", (*order)->customer_id);
              !st) {
            return SendError(r, st.error());
          }
          auto totals = QueryOrderPayments(*rm.store, id);
          if (!totals) return SendError(r, totals.error());
          r.Send(200,
                 SuccessBody("Order balance retrieved",
                             OrderBalanceToJson(**order, BalanceOf(**order, *totals))),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        });
  });
}

}  // namespace keel

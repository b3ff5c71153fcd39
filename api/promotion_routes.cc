// Promotions (seed 002, issue 16): their definitions through the promotions stream, read from the
// promotions read model. promotions:read reads, promotions:write creates, replaces and
// deactivates; a definition has no owner (promotions are the team's).
//
// DELETE deactivates, as DELETE /products/:id does: the promotion stays, served with isActive
// false, and a PUT may activate it again.
//
// Giving a promotion to a customer is a command of the customers stream (CommandService::
// AssignPromotion), read back from the customer_promotions read model. promotions:assign_*
// assigns and reads a customer's promotions; a sales rep's _own scope reaches the customers
// assigned to them, for the command (refused inside the command lock, before deciding) and the
// read alike.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/promotion_service.h"
#include "domain/promotion.h"
#include "domain/promotion_assignment.h"
#include "projections/customer_promotions/customer_promotions_projector.h"
#include "projections/customers/customer_queries.h"
#include "projections/promotions/promotions_projector.h"

namespace keel {
namespace {

// The longest search text a list takes.
constexpr size_t kMaxPromotionSearchLength = 200;

void AnswerPromotionCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                            const Result<PromotionOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->promotion.version), out->position,
                    message, PromotionToJson(out->promotion));
}

}  // namespace

void AddPromotionRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.promotions != nullptr, "Promotions", r);
  };

  server.AddRoute(
      "POST", "/api/v1/promotions", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("CreatePromotion", false);
          SendError(r, e);
        };
        auto input = ParsePromotionInput(req.body);
        if (!input) return refuse(input.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        ctx.promotions->Create(
            std::move(*input), std::move(*meta), [&ctx, r](Result<PromotionOutcome> out) mutable {
              AnswerPromotionCommand(ctx, "CreatePromotion", r, out, "Promotion created");
            });
      });

  server.AddRoute(
      "PUT", "/api/v1/promotions/:id", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("ReplacePromotion", false);
          SendError(r, e);
        };
        auto input = ParsePromotionInput(req.body);
        if (!input) return refuse(input.error());
        auto expected = ExpectedVersion(req);
        if (!expected) return refuse(expected.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        ctx.promotions->Replace(req.params["id"], std::move(*input), *expected, std::move(*meta),
                                [&ctx, r](Result<PromotionOutcome> out) mutable {
                                  AnswerPromotionCommand(ctx, "ReplacePromotion", r, out,
                                                         out && out->position
                                                             ? "Promotion updated"
                                                             : "Promotion unchanged");
                                });
      });

  server.AddRoute("DELETE", "/api/v1/promotions/:id",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
                    if (refuse_if_unable(r)) return;
                    auto refuse = [&](const Error& e) {
                      ctx.metrics.Command("DeactivatePromotion", false);
                      SendError(r, e);
                    };
                    auto expected = ExpectedVersion(req);
                    if (!expected) return refuse(expected.error());
                    auto meta = MetaFor(req);
                    if (!meta) return refuse(meta.error());
                    ctx.promotions->Deactivate(req.params["id"], *expected, std::move(*meta),
                                               [&ctx, r](Result<PromotionOutcome> out) mutable {
                                                 AnswerPromotionCommand(
                                                     ctx, "DeactivatePromotion", r, out,
                                                     out && out->position
                                                         ? "Promotion deactivated"
                                                         : "Promotion already inactive");
                                               });
                  });

  server.AddRoute("GET", "/api/v1/promotions", [&ctx](HttpRequest& req, HttpResponder r) {
    PromotionListQuery q;
    std::vector<FieldError> errors;
    ReadPaging(req, q.page, q.limit, errors);
    if (const std::string* v = QueryParam(req, "isActive")) {
      if (*v == "true") {
        q.is_active = true;
      } else if (*v == "false") {
        q.is_active = false;
      } else {
        errors.push_back({"isActive", "Must be true or false"});
      }
    }
    if (const std::string* v = QueryParam(req, "search")) {
      if (v->size() > kMaxPromotionSearchLength) {
        errors.push_back({"search", "Must be at most 200 characters"});
      } else {
        q.search = *v;
      }
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [q = std::move(q)](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) {
          auto page = QueryPromotions(*rm.store, q);
          if (!page) return SendError(r, page.error());
          std::vector<std::string> items;
          items.reserve(page->items.size());
          for (const Promotion& p : page->items) items.push_back(PromotionToJson(p));
          r.Send(200,
                 SuccessBody("Promotions retrieved", JsonArray(items),
                             PageMeta(page->total, q.page, q.limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kPromotionsTopic);
  });

  server.AddRoute("GET", "/api/v1/promotions/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto promotion = QueryPromotion(*rm.store, id);
          if (!promotion) return SendError(r, promotion.error());
          if (!*promotion) return SendError(r, Error::NotFound("Promotion " + id + " not found"));
          Headers headers{{"ETag", VersionTag((*promotion)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Promotion retrieved", PromotionToJson(**promotion)), headers);
        },
        kPromotionsTopic);
  });

  server.AddRoute(
      "POST", "/api/v1/promotions/:id/assign", [&ctx](HttpRequest& req, HttpResponder r) {
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("AssignPromotion", false);
          SendError(r, e);
        };
        if (ctx.draining) {
          return refuse(Error::Unavailable("The server is shutting down; retry shortly"));
        }
        auto customer = ParseAssignPromotionInput(req.body);
        if (!customer) return refuse(customer.error());
        auto meta = ScopedMetaFor(req, "promotions", "assign");
        if (!meta) return refuse(meta.error());
        ctx.commands.AssignPromotion(
            AssignPromotion{req.params["id"], std::move(*customer)}, std::move(*meta),
            [&ctx, r](Result<CommandOutcome> out) mutable {
              ctx.metrics.Command("AssignPromotion", out.has_value());
              if (!out) return SendError(r, out.error());
              // An assignment never changes by a command of its own: its tag is always 1.
              SendCommandAnswer(ctx, r, out->created, VersionTag(out->version), out->position,
                                "Promotion assigned", out->json);
            });
      });

  server.AddRoute(
      "GET", "/api/v1/customers/:id/promotions", [&ctx](HttpRequest& req, HttpResponder r) {
        CustomerPromotionQuery q;
        std::vector<FieldError> errors;
        ReadPaging(req, q.page, q.limit, errors);
        if (const std::string* v = QueryParam(req, "status")) {
          q.status = ParseAssignmentStatus(*v);
          if (!q.status) errors.push_back({"status", "Must be one of available, used, expired"});
        }
        if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
        q.customer_id = req.params["id"];
        AwaitPosition(req, ctx, r,
                      [&ctx, q = std::move(q)](HttpRequest& req, ReadModel& rm, HttpResponder& r,
                                               bool caught_up) mutable {
                        const std::string& id = q.customer_id;
                        auto customer = QueryCustomer(*rm.store, id);
                        if (!customer) return SendError(r, customer.error());
                        if (!*customer) {
                          return SendError(r, Error::NotFound("Customer " + id + " not found"));
                        }
                        if (auto st = CheckCustomerScope(req, "promotions", "assign", id,
                                                         std::string_view(**customer));
                            !st) {
                          return SendError(r, st.error());
                        }
                        q.now = ctx.clock.NowMillis();
                        auto page = QueryCustomerPromotions(*rm.store, q);
                        if (!page) return SendError(r, page.error());
                        std::vector<std::string> items;
                        items.reserve(page->items.size());
                        for (const PromotionAssignment& a : page->items) {
                          items.push_back(AssignmentToJson(a, q.now));
                        }
                        r.Send(200,
                               SuccessBody("Customer promotions retrieved", JsonArray(items),
                                           PageMeta(page->total, q.page, q.limit, page->truncated)),
                               caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
                      });
      });
}

}  // namespace keel

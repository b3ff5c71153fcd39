// The product catalogue (issue 16): its commands through the products stream, its records from
// the products read model. products:read reads, products:write creates, replaces and
// deactivates; neither has an _own scope (a catalogue is the team's).
//
// DELETE deactivates, as DELETE /customers/:id does: the product stays, served with isActive
// false and holding its sku, and a PUT may activate it again.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/product_service.h"
#include "domain/product.h"
#include "projections/products/products_projector.h"

namespace keel {
namespace {

// The longest search text a list takes.
constexpr size_t kMaxProductSearchLength = 200;

void AnswerProductCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                          const Result<ProductOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->product.version), out->position, message,
                    ProductToJson(out->product));
}

}  // namespace

void AddProductRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.products != nullptr, "Products", r);
  };

  server.AddRoute(
      "POST", "/api/v1/products", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("CreateProduct", false);
          SendError(r, e);
        };
        auto input = ParseProductInput(req.body);
        if (!input) return refuse(input.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        ctx.products->Create(
            std::move(*input), std::move(*meta), [&ctx, r](Result<ProductOutcome> out) mutable {
              AnswerProductCommand(ctx, "CreateProduct", r, out, "Product created");
            });
      });

  server.AddRoute(
      "PUT", "/api/v1/products/:id", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("ReplaceProduct", false);
          SendError(r, e);
        };
        auto input = ParseProductInput(req.body);
        if (!input) return refuse(input.error());
        auto expected = ExpectedVersion(req);
        if (!expected) return refuse(expected.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        ctx.products->Replace(req.params["id"], std::move(*input), *expected, std::move(*meta),
                              [&ctx, r](Result<ProductOutcome> out) mutable {
                                AnswerProductCommand(
                                    ctx, "ReplaceProduct", r, out,
                                    out && out->position ? "Product updated" : "Product unchanged");
                              });
      });

  server.AddRoute("DELETE", "/api/v1/products/:id",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
                    if (refuse_if_unable(r)) return;
                    auto refuse = [&](const Error& e) {
                      ctx.metrics.Command("DeactivateProduct", false);
                      SendError(r, e);
                    };
                    auto expected = ExpectedVersion(req);
                    if (!expected) return refuse(expected.error());
                    auto meta = MetaFor(req);
                    if (!meta) return refuse(meta.error());
                    ctx.products->Deactivate(
                        req.params["id"], *expected, std::move(*meta),
                        [&ctx, r](Result<ProductOutcome> out) mutable {
                          AnswerProductCommand(ctx, "DeactivateProduct", r, out,
                                               out && out->position ? "Product deactivated"
                                                                    : "Product already inactive");
                        });
                  });

  server.AddRoute("GET", "/api/v1/products", [&ctx](HttpRequest& req, HttpResponder r) {
    ProductListQuery q;
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
      if (v->size() > kMaxProductSearchLength) {
        errors.push_back({"search", "Must be at most 200 characters"});
      } else {
        q.search = *v;
      }
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [q = std::move(q)](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) {
          auto page = QueryProducts(*rm.store, q);
          if (!page) return SendError(r, page.error());
          std::vector<std::string> items;
          items.reserve(page->items.size());
          for (const Product& p : page->items) items.push_back(ProductToJson(p));
          r.Send(200,
                 SuccessBody("Products retrieved", JsonArray(items),
                             PageMeta(page->total, q.page, q.limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kProductsTopic);
  });

  server.AddRoute("GET", "/api/v1/products/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto product = QueryProduct(*rm.store, id);
          if (!product) return SendError(r, product.error());
          if (!*product) return SendError(r, Error::NotFound("Product " + id + " not found"));
          Headers headers{{"ETag", VersionTag((*product)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Product retrieved", ProductToJson(**product)), headers);
        },
        kProductsTopic);
  });
}

}  // namespace keel

// The recipient's one-click unsubscribe link (issue 18): each campaign message ends with
// `<public url>/api/v1/unsubscribe?m=<message id>&t=<token>`, the token an HMAC of the message id
// under a key derived from the session secret. POST (what mail clients send for RFC 8058's
// one-click, and what the page's button sends) unsubscribes the message's customer; GET only
// shows that button, so that a link scanner fetching it changes nothing. Public in the access
// rules: the signature, not a session, authenticates the caller, and it is checked before
// anything else is read. The answer names nothing of the customer.
#include <string>

#include "api/envelope.h"
#include "api/metrics.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/command_service.h"
#include "domain/text.h"
#include "infra/auth_crypto.h"

namespace keel {
namespace {

constexpr size_t kMaxUnsubscribeBodyBytes = 1024;  // "List-Unsubscribe=One-Click", or a form's

// The customer of a signed message id; kUnauthenticated for a missing or bad signature.
Result<std::string> SignedCustomer(const HttpRequest& req, std::string_view key) {
  const std::string* m = QueryParam(req, "m");
  const std::string* t = QueryParam(req, "t");
  if (!m || !t || m->empty() || m->size() > 256 || key.empty() ||
      !crypto::SameSecret(crypto::HmacSha256Base64Url(key, *m), *t)) {
    return Fail(Error::Unauthenticated("This unsubscribe link is not valid"));
  }
  const size_t colon = m->find(':');
  if (colon == std::string::npos || colon + 1 == m->size()) {
    return Fail(Error::Unauthenticated("This unsubscribe link is not valid"));
  }
  return m->substr(colon + 1);
}

}  // namespace

std::string UnsubscribeUrl(std::string_view public_url, std::string_view key,
                           std::string_view message_id) {
  std::string url(public_url);
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/api/v1/unsubscribe?m=";
  url += PercentEncode(message_id);
  url += "&t=";
  url += crypto::HmacSha256Base64Url(key, message_id);
  return url;
}

void AddUnsubscribeRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute(
      "GET", "/api/v1/unsubscribe",
      [&ctx](HttpRequest& req, HttpResponder r) {
        auto customer = SignedCustomer(req, ctx.unsubscribe_key);
        if (!customer) return SendError(r, customer.error());
        r.Send(200,
               "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title>"
               "</head><body><form method=\"post\"><p>Stop receiving these messages?</p>"
               "<button type=\"submit\">Unsubscribe</button></form></body></html>\n",
               {{"Cache-Control", "no-store"}}, "text/html; charset=utf-8");
      },
      kMaxUnsubscribeBodyBytes);
  server.AddRoute(
      "POST", "/api/v1/unsubscribe",
      [&ctx](HttpRequest& req, HttpResponder r) {
        auto customer = SignedCustomer(req, ctx.unsubscribe_key);
        if (!customer) return SendError(r, customer.error());
        if (ctx.draining) {
          return SendError(r, Error::Unavailable("The server is shutting down; retry shortly"));
        }
        auto meta = MetaFor(req);
        if (!meta) return SendError(r, meta.error());
        meta->actor = "unsubscribe-link";
        ctx.commands.ChangeSubscription(
            {std::move(*customer), true}, std::move(*meta), [&ctx, r](Result<CommandOutcome> out) {
              ctx.metrics.Command("UnsubscribeByLink", out.has_value());
              HttpResponder responder = r;
              if (!out) return SendError(responder, out.error());
              responder.Send(200, SuccessBody("You are unsubscribed", R"({"unsubscribed":true})"));
            });
      },
      kMaxUnsubscribeBodyBytes);
}

}  // namespace keel

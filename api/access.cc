#include "api/access.h"

#include <array>
#include <utility>

namespace keel {
namespace {

struct Rule {
  std::string_view method;
  std::string_view pattern;
  std::string_view rule;
};

constexpr std::array kRules = {
    Rule{"GET", "/health", "public"},
    Rule{"GET", "/ready", "public"},
    Rule{"GET", "/openapi.json", "public"},
    Rule{"GET", "/docs", "public"},
    Rule{"GET", "/docs/:asset", "public"},
    Rule{"GET", "/metrics", "system:admin"},

    Rule{"GET", "/api/v1/auth/google", "public"},
    Rule{"GET", "/api/v1/auth/google/callback", "public"},
    Rule{"POST", "/api/v1/auth/login", "public"},
    Rule{"POST", "/api/v1/auth/dev-token", "public"},
    Rule{"POST", "/api/v1/auth/logout", "session"},
    Rule{"GET", "/api/v1/auth/me", "session"},
    Rule{"POST", "/api/v1/auth/register", "users:manage"},

    Rule{"GET", "/api/v1/users", "users:read"},
    Rule{"POST", "/api/v1/users", "users:manage"},
    Rule{"GET", "/api/v1/users/:id", "users:read"},
    Rule{"PATCH", "/api/v1/users/:id", "users:manage"},
    Rule{"GET", "/api/v1/roles", "users:read"},
    Rule{"POST", "/api/v1/roles", "roles:manage"},
    Rule{"GET", "/api/v1/permissions", "users:read"},
    Rule{"POST", "/api/v1/permissions", "roles:manage"},

    Rule{"POST", "/api/v1/customers", "customers:create"},
    Rule{"GET", "/api/v1/customers", "customers:read*"},
    Rule{"GET", "/api/v1/customers/:id", "customers:read*"},
    Rule{"PUT", "/api/v1/customers/:id", "customers:update*"},
    Rule{"PATCH", "/api/v1/customers/:id", "customers:update*"},
    Rule{"DELETE", "/api/v1/customers/:id", "customers:update*"},
    Rule{"GET", "/api/v1/customers/:id/events", "customers:read*"},
    Rule{"POST", "/api/v1/customers/:id/visits", "customers:update*"},
    Rule{"POST", "/api/v1/customers/:id/unsubscribe", "customers:update*"},
    Rule{"POST", "/api/v1/customers/:id/resubscribe", "customers:update*"},
    Rule{"GET", "/api/v1/customers/:id/orders", "orders:read*"},
    Rule{"GET", "/api/v1/customers/:id/segments", "segments:read"},

    Rule{"POST", "/api/v1/segments", "segments:manage"},
    Rule{"GET", "/api/v1/segments", "segments:read"},
    Rule{"GET", "/api/v1/segments/:id", "segments:read"},
    Rule{"PUT", "/api/v1/segments/:id", "segments:manage"},
    Rule{"DELETE", "/api/v1/segments/:id", "segments:manage"},
    Rule{"GET", "/api/v1/segments/:id/preview", "segments:read"},
    Rule{"GET", "/api/v1/segments/:id/members", "segments:read"},
    Rule{"GET", "/api/v1/segments/:id/history", "segments:read"},
    Rule{"POST", "/api/v1/segments/preview", "segments:read"},
    Rule{"POST", "/api/v1/campaigns/check-audience-size", "segments:read"},

    Rule{"POST", "/api/v1/campaigns", "campaigns:create"},
    Rule{"GET", "/api/v1/campaigns", "campaigns:read"},
    Rule{"GET", "/api/v1/campaigns/history", "campaigns:read"},
    Rule{"GET", "/api/v1/campaigns/:id", "campaigns:read"},
    Rule{"PATCH", "/api/v1/campaigns/:id", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/schedule", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/launch", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/execute", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/pause", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/resume", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/:id/cancel", "campaigns:create"},
    Rule{"POST", "/api/v1/campaigns/preview", "campaigns:read"},
    Rule{"GET", "/api/v1/customers/:id/communications", "campaigns:read"},
    // The vendor's callbacks: authenticated by the HMAC signature over the body, not a session.
    Rule{"POST", "/api/v1/delivery-receipts", "public"},
    // Authenticated by the link's signature, not a session.
    Rule{"GET", "/api/v1/unsubscribe", "public"},
    Rule{"POST", "/api/v1/unsubscribe", "public"},

    Rule{"POST", "/api/v1/projects", "projects:write*"},
    Rule{"GET", "/api/v1/projects", "projects:read*"},
    Rule{"GET", "/api/v1/projects/:id", "projects:read*"},
    Rule{"PUT", "/api/v1/projects/:id", "projects:write*"},

    Rule{"POST", "/api/v1/products", "products:write"},
    Rule{"GET", "/api/v1/products", "products:read"},
    Rule{"GET", "/api/v1/products/:id", "products:read"},
    Rule{"PUT", "/api/v1/products/:id", "products:write"},
    Rule{"DELETE", "/api/v1/products/:id", "products:write"},

    Rule{"POST", "/api/v1/promotions", "promotions:write"},
    Rule{"GET", "/api/v1/promotions", "promotions:read"},
    Rule{"GET", "/api/v1/promotions/:id", "promotions:read"},
    Rule{"PUT", "/api/v1/promotions/:id", "promotions:write"},
    Rule{"DELETE", "/api/v1/promotions/:id", "promotions:write"},
    Rule{"POST", "/api/v1/promotions/:id/assign", "promotions:assign*"},
    Rule{"GET", "/api/v1/customers/:id/promotions", "promotions:assign*"},

    Rule{"POST", "/api/v1/worklogs", "worklogs:write*"},
    Rule{"GET", "/api/v1/worklogs", "worklogs:read*"},
    Rule{"GET", "/api/v1/worklogs/summary", "worklogs:read*"},
    Rule{"GET", "/api/v1/customers/:id/worklogs", "worklogs:read*"},

    Rule{"POST", "/api/v1/transactions", "transactions:write*"},
    Rule{"GET", "/api/v1/transactions", "transactions:read*"},
    Rule{"GET", "/api/v1/transactions/:id", "transactions:read*"},
    Rule{"GET", "/api/v1/customers/:id/transactions", "transactions:read*"},
    Rule{"GET", "/api/v1/orders/:id/balance", "transactions:read*"},

    Rule{"GET", "/api/v1/customer-levels", "levels:read"},
    Rule{"PUT", "/api/v1/customer-levels", "levels:write"},

    Rule{"POST", "/api/v1/orders", "orders:create*"},
    Rule{"GET", "/api/v1/orders", "orders:read*"},
    Rule{"GET", "/api/v1/orders/:id", "orders:read*"},
    Rule{"PATCH", "/api/v1/orders/:id/status", "orders:update*"},

    Rule{"POST", "/api/v1/tasks", "tasks:write*"},
    Rule{"GET", "/api/v1/tasks", "tasks:read*"},
    Rule{"GET", "/api/v1/tasks/my-tasks", "tasks:read*"},
    Rule{"GET", "/api/v1/tasks/reminders", "tasks:read*"},
    Rule{"GET", "/api/v1/tasks/:id", "tasks:read*"},
    Rule{"PUT", "/api/v1/tasks/:id", "tasks:write*"},
    Rule{"PUT", "/api/v1/tasks/:id/status", "tasks:write*"},

    Rule{"POST", "/api/v1/ingest/customers", "ingest:run"},
    Rule{"POST", "/api/v1/ingest/orders", "ingest:run"},
    Rule{"GET", "/api/v1/ingest/jobs/:id", "ingest:run"},

    Rule{"GET", "/api/v1/admin/projections", "system:admin"},
    Rule{"POST", "/api/v1/admin/projections/:name/rebuild", "system:admin"},
    Rule{"GET", "/api/v1/admin/dead-letters", "system:admin"},
};

}  // namespace

std::optional<std::string_view> AccessRule(std::string_view method, std::string_view pattern) {
  for (const auto& r : kRules) {
    if (r.method == method && r.pattern == pattern) return r.rule;
  }
  return std::nullopt;
}

Status CheckAccess(std::string_view rule, const Principal* who) {
  if (rule == "public") return {};
  if (who == nullptr) {
    return Fail(
        Error::Unauthenticated("Authentication required. Please log in to access this resource."));
  }
  if (rule == "session") return {};
  bool allowed = false;
  if (rule.ends_with('*')) {
    const std::string_view base = rule.substr(0, rule.size() - 1);
    const size_t colon = base.find(':');
    allowed = who->ScopeFor(base.substr(0, colon), base.substr(colon + 1)) != Scope::kNone;
  } else {
    allowed = who->Has(rule);
  }
  if (!allowed && who->role == kNoRole) {
    return Fail(Error::PermissionDenied(
        "Access denied: this account has no role yet; an admin must grant one"));
  }
  if (!allowed) {
    return Fail(Error::PermissionDenied(
        "Access denied: the " + who->role + " role lacks " +
        std::string(rule.ends_with('*') ? rule.substr(0, rule.size() - 1) : rule)));
  }
  return {};
}

}  // namespace keel

// The HTTP routes of Keel: parsing and serialising only; decisions live in commands/ and the
// read side in projections/.
#pragma once

#include <atomic>

#include "api/customer_service.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "domain/ids.h"
#include "infra/read_store.h"
#include "projections/projector_runner.h"

namespace keel {

struct RouteContext {
  CustomerService& customers;
  ReadStore& store;
  ProjectorRunner& customer_projection;
  IdGenerator& ids;
  Clock& clock;
  Metrics& metrics;
  int max_read_wait_ms = 5000;
  std::atomic<bool>& draining;  // true once shutdown began: commands get 503
};

void AddHealthRoutes(HttpServer& server, RouteContext& ctx);
void AddCustomerRoutes(HttpServer& server, RouteContext& ctx);
void AddAdminRoutes(HttpServer& server, RouteContext& ctx);
void AddMetricsRoute(HttpServer& server, RouteContext& ctx);
// /openapi.json, and Swagger UI at /docs from the assets in `docs_dir` (empty: the build's
// default, where scripts/setup installs them).
void AddDocsRoutes(HttpServer& server, std::string docs_dir);

}  // namespace keel

// The HTTP routes of Keel: parsing and serialising only; decisions live in commands/ and the
// read side in projections/.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/auth_service.h"
#include "api/http_server.h"
#include "api/ingest.h"
#include "api/metrics.h"
#include "api/read_model.h"
#include "commands/command_service.h"
#include "infra/read_store.h"
#include "projections/projector_runner.h"

namespace keel {

struct RouteContext {
  CommandService& commands;
  ReadModels& read_models;
  Clock& clock;
  Metrics& metrics;
  int max_read_wait_ms = 5000;
  std::atomic<bool>& draining;  // true once shutdown began: commands get 503
  EventLog& log;
  // Starts a side-by-side rebuild of the named projection: kNotFound for an unknown name,
  // kAborted while one is running.
  std::function<Result<RebuildProgress>(const std::string&)> start_rebuild;
  // The running or last rebuild, if any.
  std::function<std::optional<RebuildProgress>()> rebuild_progress;
  IngestService* ingest = nullptr;
  // Set once the in-memory views have loaded at start; /ready waits for it (none: not waited).
  const std::atomic<bool>* views_loaded = nullptr;
  size_t max_ingest_bytes = 256 << 20;
  AuthService* auth = nullptr;
  class OidcClient* oidc = nullptr;
  // Where the work that would hold an HTTP thread runs (route_helpers.h, OffThread): anonymous
  // sign-ins (passwords, Google callbacks) apart from signed-in users' commands, so that a
  // flood of sign-ins cannot keep an admin from disabling an account.
  class BlockingWork* sign_ins = nullptr;
  class BlockingWork* user_commands = nullptr;
  class SegmentService* segments = nullptr;
  class CampaignService* campaigns = nullptr;
  class ProjectService* projects = nullptr;
  class WorklogService* worklogs = nullptr;
  class TaskService* tasks = nullptr;
  class ProductService* products = nullptr;
  class PromotionService* promotions = nullptr;
  class LoyaltyService* loyalty = nullptr;
  // What the task routes take as now (what is overdue); null: `clock`.
  Clock* tasks_clock = nullptr;
  // The HMAC key delivery receipts are signed with (empty: receipts are refused, 401).
  std::string vendor_secret;
  // The key unsubscribe links are signed with (UnsubscribeUrl).
  std::string unsubscribe_key;
};

void AddHealthRoutes(HttpServer& server, RouteContext& ctx);
// Sign-in, sessions, users, roles and permissions (/api/v1/auth/*, /users, /roles,
// /permissions). POST /api/v1/auth/dev-token only in dev mode.
void AddAuthRoutes(HttpServer& server, RouteContext& ctx);
void AddCustomerRoutes(HttpServer& server, RouteContext& ctx);
void AddOrderRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/segments and its previews (also POST /api/v1/campaigns/check-audience-size).
void AddSegmentRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/campaigns: commands, records and communication logs; GET
// /api/v1/customers/:id/communications.
void AddCampaignRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/projects (project_routes.cc).
void AddProjectRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/worklogs, its summary, and GET /api/v1/customers/:id/worklogs (worklog_routes.cc).
void AddWorklogRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/tasks: commands, records, my-tasks and reminders (task_routes.cc).
void AddTaskRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/products: the product catalogue (product_routes.cc).
void AddProductRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/promotions, POST /api/v1/promotions/:id/assign and GET /api/v1/customers/:id/promotions
// (promotion_routes.cc).
void AddPromotionRoutes(HttpServer& server, RouteContext& ctx);
// /api/v1/transactions (payments and refunds), GET /api/v1/customers/:id/transactions and
// GET /api/v1/orders/:id/balance (transaction_routes.cc).
void AddTransactionRoutes(HttpServer& server, RouteContext& ctx);
// GET and PUT /api/v1/customer-levels: loyalty levels by RFM (loyalty_routes.cc).
void AddLoyaltyRoutes(HttpServer& server, RouteContext& ctx);
// The live RFM columns of a generation, or nullptr.
class RfmColumns;
const RfmColumns* RfmColumnsOf(const ReadModel& rm);
// {level, recency, frequency, monetary} of each customer under the settings in force at `now`;
// "null" while the view loads or for a customer it does not hold.
std::vector<std::string> LoyaltyOfCustomersJson(ReadModel& rm, const std::vector<std::string>& ids,
                                                Millis now);
// A served customer document with its "loyalty" member added.
std::string WithLoyalty(std::string customer_json, std::string_view loyalty_json);
// POST /api/v1/delivery-receipts: the vendor's signed receipts (receipt_routes.cc).
void AddReceiptRoutes(HttpServer& server, RouteContext& ctx);
// GET and POST /api/v1/unsubscribe?m=<message id>&t=<token>: a recipient's one-click
// unsubscribe link (unsubscribe_routes.cc).
void AddUnsubscribeRoutes(HttpServer& server, RouteContext& ctx);
// The link of a campaign message (`message_id`, "campaignId:customerId") under `public_url`,
// signed with `key`.
std::string UnsubscribeUrl(std::string_view public_url, std::string_view key,
                           std::string_view message_id);
// POST /api/v1/ingest/customers, /api/v1/ingest/orders; GET /api/v1/ingest/jobs/:id.
void AddIngestRoutes(HttpServer& server, RouteContext& ctx);
void AddAdminRoutes(HttpServer& server, RouteContext& ctx);
void AddMetricsRoute(HttpServer& server, RouteContext& ctx);
// /openapi.json, and Swagger UI at /docs from the assets in `docs_dir` (empty: the build's
// default, where scripts/setup installs them).
void AddDocsRoutes(HttpServer& server, std::string docs_dir);

}  // namespace keel

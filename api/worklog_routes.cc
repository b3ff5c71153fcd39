// Work logs (issue 19): recorded through the worklogs stream, read from the work logs read
// model with their running sums.
//
// Scope: worklogs:write_own logs the caller's own work (another userId is 403); worklogs:
// write_all logs for any active user. Either way the customer a log is for (named, or taken from
// its project or task) must exist (400 at customerId) and be one the caller may read
// (customers:read_own: assigned to them, unless the log is on a project the caller owns; 403
// otherwise). A worklogs:write_own caller logs time only on a task assigned to them or on one of
// their customers (403 "Task <id> is neither assigned to you nor on one of your customers"); an
// unknown task id is 400 at taskId, as an unknown customer is. A deactivated customer still takes
// work logs (time is often logged late), unlike new projects. worklogs:read_own reads the caller's
// own logs and the logs on the caller's customers; GET /customers/:id/worklogs of another's
// customer is 403 for it.
//
// Cost: a list reads at most kMaxWorklogsRead index entries newest first (meta.truncated when it
// stopped there; QueryWorklogs), and page × limit may not reach beyond it (400 at page).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/project_service.h"
#include "commands/worklog_service.h"
#include "domain/json.h"
#include "domain/worklog.h"
#include "projections/customers/customer_queries.h"
#include "projections/projects/projects_projector.h"
#include "projections/worklogs/worklogs_projector.h"

namespace keel {
namespace {

bool OwnScope(const HttpRequest& req, std::string_view resource, std::string_view action) {
  return req.principal && req.principal->ScopeFor(resource, action) == Scope::kOwn;
}

// The user a log is for: the caller's own unless worklogs:write_all; an active user.
Status CheckUser(RouteContext& ctx, const HttpRequest& req, const std::string& user_id) {
  if (OwnScope(req, "worklogs", "write") && user_id != req.principal->user_id) {
    return Fail(Error::PermissionDenied(
        "Logging work for someone else needs the worklogs:write_all permission"));
  }
  if (ctx.auth && !ctx.auth->UserExists(user_id)) {
    return Fail(Error::Validation({{"userId", "No active user " + user_id}}));
  }
  return {};
}

// The customer of a resolved log: it exists and the caller may read it.
Status CheckCustomer(RouteContext& ctx, const HttpRequest& req, const Worklog& log) {
  if (!log.customer_id) return {};
  auto customer = CommandSideCustomer(ctx, *log.customer_id);
  if (!customer)
    return Fail(Error::Validation({{"customerId", "No customer " + *log.customer_id}}));
  if (!req.principal) return {};
  switch (req.principal->ScopeFor("customers", "read")) {
    case Scope::kAll:
      return {};
    case Scope::kOwn: {
      if (customer->owner_id == req.principal->user_id) return {};
      if (log.project_id && ctx.projects) {
        auto project = ctx.projects->Find(*log.project_id);
        if (project && project->owner_id == req.principal->user_id) return {};
      }
      break;
    }
    case Scope::kNone:
      break;
  }
  return Fail(Error::PermissionDenied("Customer " + *log.customer_id + " is not assigned to you"));
}

std::string ListMeta(const WorklogPage& page, int n, int limit) {
  const std::string paging = PageMeta(page.totals.count, n, limit);
  JsonWriter w;
  w.BeginObject();
  w.RawMembers(std::string_view(paging).substr(1, paging.size() - 2));
  w.Key("totalMinutes").Int(page.totals.minutes);
  w.Key("truncated").Bool(page.truncated);
  w.EndObject();
  return w.Take();
}

std::string WorklogsJson(const WorklogPage& page) {
  std::vector<std::string> items;
  items.reserve(page.items.size());
  for (const Worklog& w : page.items) items.push_back(WorklogToJson(w));
  return JsonArray(items);
}

// GET filters: page, limit, userId, customerId, projectId, from, to (dates, inclusive).
Result<WorklogListQuery> ParseListQuery(const HttpRequest& req) {
  WorklogListQuery q;
  std::vector<FieldError> errors;
  ReadPaging(req, q.page, q.limit, errors);
  for (auto [name, field] :
       {std::pair{"userId", &q.user_id}, std::pair{"customerId", &q.customer_id},
        std::pair{"projectId", &q.project_id}}) {
    if (const std::string* v = QueryParam(req, name)) {
      if (v->empty() || v->size() > kMaxWorklogIdLength) {
        errors.push_back({name, "Must be 1 to 100 characters"});
      } else {
        *field = *v;
      }
    }
  }
  for (auto [name, field] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    if (const std::string* v = QueryParam(req, name)) {
      if (!IsIsoDate(*v)) {
        errors.push_back({name, "Must be a date YYYY-MM-DD, e.g. 2026-01-31"});
      } else {
        *field = *v;
      }
    }
  }
  if (q.from && q.to && *q.from > *q.to) errors.push_back({"from", "Must not be after 'to'"});
  if (static_cast<size_t>(q.page) * static_cast<size_t>(q.limit) > kMaxWorklogsRead) {
    errors.push_back({"page", "Must not reach beyond the 10000th work log; narrow from and to"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  return q;
}

}  // namespace

void AddWorklogRoutes(HttpServer& server, RouteContext& ctx) {
  server.AddRoute("POST", "/api/v1/worklogs", [&ctx](HttpRequest& req, HttpResponder r) {
    if (RefusedUnavailable(ctx, ctx.worklogs != nullptr, "Work logs", r)) return;
    auto refuse = [&](const Error& e) {
      ctx.metrics.Command("RecordWorklog", false);
      SendError(r, e);
    };
    auto input = ParseWorklogInput(req.body);
    if (!input) return refuse(input.error());
    auto meta = MetaFor(req);
    if (!meta) return refuse(meta.error());
    const std::string user = input->user_id.value_or(req.principal ? req.principal->user_id : "");
    if (user.empty())
      return refuse(Error::Validation({{"userId", "Is required without a session"}}));
    if (auto st = CheckUser(ctx, req, user); !st) return refuse(st.error());
    WorklogTaskGate gate;
    if (OwnScope(req, "worklogs", "write")) {
      gate = [&ctx, caller = req.principal->user_id](const std::string& task_id,
                                                     const WorklogTaskRef& task) {
        std::optional<std::string> owner;
        if (task.customer_id && !task.customer_id->empty()) {
          if (auto c = CommandSideCustomer(ctx, *task.customer_id)) owner = c->owner_id;
        }
        return CheckOwnWorklogTask(task_id, task, caller, owner);
      };
    }
    auto log = ctx.worklogs->Resolve(*input, user, gate);
    if (!log) return refuse(log.error());
    if (auto st = CheckCustomer(ctx, req, *log); !st) return refuse(st.error());
    ctx.worklogs->Record(
        std::move(*log), std::move(*meta), [&ctx, r](Result<WorklogOutcome> out) mutable {
          ctx.metrics.Command("RecordWorklog", out.has_value());
          if (!out) return SendError(r, out.error());
          SendCommandAnswer(ctx, r, out->created, VersionTag(out->worklog.version), out->position,
                            "Work log recorded", WorklogToJson(out->worklog));
        });
  });

  server.AddRoute("GET", "/api/v1/worklogs", [&ctx](HttpRequest& req, HttpResponder r) {
    auto q = ParseListQuery(req);
    if (!q) return SendError(r, q.error());
    if (OwnScope(req, "worklogs", "read")) q->reader = req.principal->user_id;
    AwaitPosition(
        req, ctx, r,
        [q = std::move(*q)](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) mutable {
          if (q.reader) {
            auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), *q.reader);
            if (!mine) return SendError(r, mine.error());
            q.visible_customers = std::move(*mine);
          }
          auto page = QueryWorklogs(*rm.store, q);
          if (!page) return SendError(r, page.error());
          r.Send(200,
                 SuccessBody("Work logs retrieved", WorklogsJson(*page),
                             ListMeta(*page, q.page, q.limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kWorklogsTopic);
  });

  server.AddRoute(
      "GET", "/api/v1/customers/:id/worklogs", [&ctx](HttpRequest& req, HttpResponder r) {
        auto q = ParseListQuery(req);
        if (!q) return SendError(r, q.error());
        if (q->customer_id) {
          return SendError(r, Error::Validation({{"customerId", "Is the path's: leave it out"}}));
        }
        AwaitPosition(
            req, ctx, r,
            [q = std::move(*q)](HttpRequest& req, ReadModel& rm, HttpResponder& r,
                                bool caught_up) mutable {
              const std::string& id = req.params["id"];
              auto doc = QueryCustomer(*rm.store, id);
              if (!doc) return SendError(r, doc.error());
              if (auto st = CheckCustomerScope(
                      req, "worklogs", "read", id,
                      *doc ? std::optional<std::string_view>(**doc) : std::nullopt);
                  !st) {
                return SendError(r, st.error());
              }
              if (!*doc) return SendError(r, Error::NotFound("Customer " + id + " not found"));
              q.customer_id = id;
              auto page = QueryWorklogs(*rm.store, q);
              if (!page) return SendError(r, page.error());
              r.Send(200,
                     SuccessBody("Customer work logs retrieved", WorklogsJson(*page),
                                 ListMeta(*page, q.page, q.limit)),
                     caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
            },
            kWorklogsTopic);
      });

  // The running sums per user, customer or project, by id, a page at a time (page, limit); a
  // worklogs:read_own caller sees their own row (by=user), their customers' (by=customer), and
  // the projects they may read (by=project), each read by its id rather than by a scan of every
  // sum. meta.truncated: more than kMaxWorklogsRead projects were readable and only that many
  // were summed.
  server.AddRoute("GET", "/api/v1/worklogs/summary", [&ctx](HttpRequest& req, HttpResponder r) {
    const std::string* by = QueryParam(req, "by");
    std::optional<WorklogDimension> dimension;
    if (!by || *by == "user")
      dimension = WorklogDimension::kUser;
    else if (*by == "customer")
      dimension = WorklogDimension::kCustomer;
    else if (*by == "project")
      dimension = WorklogDimension::kProject;
    std::vector<FieldError> errors;
    if (!dimension) errors.push_back({"by", "Must be one of user, customer, project"});
    int page = 1, limit = 20;
    ReadPaging(req, page, limit, errors);
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    std::optional<std::string> reader;
    if (OwnScope(req, "worklogs", "read")) reader = req.principal->user_id;
    AwaitPosition(
        req, ctx, r,
        [dimension = *dimension, reader, page, limit](HttpRequest&, ReadModel& rm, HttpResponder& r,
                                                      bool caught_up) {
          std::vector<std::pair<std::string, WorklogSum>> rows;
          bool truncated = false;
          if (!reader) {
            auto sums = QueryWorklogSums(*rm.store, dimension);
            if (!sums) return SendError(r, sums.error());
            rows = std::move(*sums);
          } else {
            std::vector<std::string> ids;
            if (dimension == WorklogDimension::kUser) {
              ids.push_back(*reader);
            } else {
              auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), *reader);
              if (!mine) return SendError(r, mine.error());
              if (dimension == WorklogDimension::kCustomer) {
                ids = std::move(*mine);
              } else {
                ProjectListQuery pq;
                pq.limit = static_cast<int>(kMaxWorklogsRead);
                pq.reader = reader;
                pq.visible_customers = std::move(*mine);
                auto projects = QueryProjects(*rm.store, pq);
                if (!projects) return SendError(r, projects.error());
                truncated = projects->total > static_cast<int64_t>(projects->items.size());
                for (const Project& p : projects->items) ids.push_back(p.id);
              }
            }
            std::sort(ids.begin(), ids.end());
            ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
            for (const std::string& id : ids) {
              auto sum = QueryWorklogSum(*rm.store, dimension, id);
              if (!sum) return SendError(r, sum.error());
              if (sum->count > 0) rows.emplace_back(id, *sum);
            }
          }
          JsonWriter w;
          w.BeginArray();
          int64_t minutes = 0, count = 0;
          const size_t skip = static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
          for (size_t i = 0; i < rows.size(); ++i) {
            const auto& [id, sum] = rows[i];
            minutes += sum.minutes;
            count += sum.count;
            if (i < skip || i >= skip + static_cast<size_t>(limit)) continue;
            w.BeginObject();
            w.Key("id").String(id);
            w.Key("minutes").Int(sum.minutes);
            w.Key("count").Int(sum.count);
            w.EndObject();
          }
          w.EndArray();
          const std::string paging = PageMeta(static_cast<int64_t>(rows.size()), page, limit);
          JsonWriter meta;
          meta.BeginObject();
          meta.RawMembers(std::string_view(paging).substr(1, paging.size() - 2));
          meta.Key("by").String(WorklogDimensionName(dimension));
          meta.Key("totalMinutes").Int(minutes);
          meta.Key("totalCount").Int(count);
          meta.Key("truncated").Bool(truncated);
          meta.EndObject();
          r.Send(200, SuccessBody("Work log summary retrieved", w.str(), meta.str()),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kWorklogsTopic);
  });
}

}  // namespace keel

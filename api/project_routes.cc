// Projects (issue 19): their commands through the projects stream, their records from the
// projects read model, their logged time from the work logs' sums.
//
// Scope: projects:write_own creates projects owned by the caller on the caller's customers and
// changes the caller's projects (403 otherwise); projects:read_own reads the projects the caller
// owns or that are on the caller's customers. The customer a command names is checked on the
// command side's customers (CommandSideCustomer): it must exist and be active (400 at customerId
// otherwise). A work log may still name a deactivated customer (time logged late).
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/project_service.h"
#include "domain/json.h"
#include "domain/project.h"
#include "domain/task.h"
#include "projections/customers/customer_queries.h"
#include "projections/projects/projects_projector.h"
#include "projections/tasks/task_queries.h"
#include "projections/worklogs/worklogs_projector.h"

namespace keel {
namespace {

// A project page lists at most this many of its tasks, by due date.
constexpr size_t kMaxProjectTasksShown = 500;

bool OwnScope(const HttpRequest& req, std::string_view action) {
  return req.principal && req.principal->ScopeFor("projects", action) == Scope::kOwn;
}

// The owner and customer a command names: the owner an active user (and the caller, for
// projects:write_own), the customer one that exists (and is the caller's, for write_own).
Status CheckNames(RouteContext& ctx, const HttpRequest& req,
                  const std::optional<std::string>& owner,
                  const std::optional<std::string>& customer_id) {
  const bool own = OwnScope(req, "write");
  if (owner) {
    if (own && *owner != req.principal->user_id) {
      return Fail(Error::PermissionDenied(
          "Giving a project to someone else needs the projects:write_all permission"));
    }
    if (ctx.auth && !ctx.auth->UserExists(*owner)) {
      return Fail(Error::Validation({{"ownerId", "No active user " + *owner}}));
    }
  }
  if (customer_id) {
    auto customer = CommandSideCustomer(ctx, *customer_id);
    if (!customer) return Fail(Error::Validation({{"customerId", "No customer " + *customer_id}}));
    if (!customer->active) {
      return Fail(
          Error::Validation({{"customerId", "Customer " + *customer_id + " is deactivated"}}));
    }
    if (own && customer->owner_id != req.principal->user_id) {
      return Fail(Error::PermissionDenied("Customer " + *customer_id + " is not assigned to you"));
    }
  }
  return {};
}

void AnswerProjectCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                          const Result<ProjectOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->project.version), out->position, message,
                    ProjectToJson(out->project));
}

// kPermissionDenied unless a projects:read_own caller owns the project or its customer.
Status CheckReadable(ReadStore& store, const HttpRequest& req, const Project& p) {
  if (!OwnScope(req, "read") || p.owner_id == req.principal->user_id) return {};
  auto customer = QueryCustomer(store, p.customer_id);
  if (!customer) return Fail(customer.error());
  if (*customer && CheckCustomerScope(req, "projects", "read", p.customer_id, **customer)) {
    return {};
  }
  return Fail(Error::PermissionDenied("Project " + p.id + " is not yours nor your customer's"));
}

}  // namespace

void AddProjectRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.projects != nullptr, "Projects", r);
  };

  server.AddRoute(
      "POST", "/api/v1/projects", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("CreateProject", false);
          SendError(r, e);
        };
        auto input = ParseProjectInput(req.body);
        if (!input) return refuse(input.error());
        auto meta = MetaFor(req);
        if (!meta) return refuse(meta.error());
        std::string owner = input->owner_id.value_or(req.principal ? req.principal->user_id : "");
        if (owner.empty()) {
          return refuse(Error::Validation({{"ownerId", "Is required without a session"}}));
        }
        if (auto st = CheckNames(ctx, req, owner, input->customer_id); !st) {
          return refuse(st.error());
        }
        ctx.projects->Create(std::move(*input), std::move(owner), std::move(*meta),
                             [&ctx, r](Result<ProjectOutcome> out) mutable {
                               AnswerProjectCommand(ctx, "CreateProject", r, out,
                                                    "Project created");
                             });
      });

  server.AddRoute(
      "PUT", "/api/v1/projects/:id", [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
        if (refuse_if_unable(r)) return;
        auto refuse = [&](const Error& e) {
          ctx.metrics.Command("ChangeProject", false);
          SendError(r, e);
        };
        auto patch = ParseProjectPatch(req.body);
        if (!patch) return refuse(patch.error());
        auto expected = ExpectedVersion(req);
        if (!expected) return refuse(expected.error());
        // projects:write_own: the decision refuses another's project (meta.owner_scope).
        auto meta = ScopedMetaFor(req, "projects", "write");
        if (!meta) return refuse(meta.error());
        if (auto st = CheckNames(ctx, req, patch->owner_id, patch->customer_id); !st) {
          return refuse(st.error());
        }
        ctx.projects->Change(req.params["id"], std::move(*patch), *expected, std::move(*meta),
                             [&ctx, r](Result<ProjectOutcome> out) mutable {
                               AnswerProjectCommand(
                                   ctx, "ChangeProject", r, out,
                                   out && out->position ? "Project updated" : "Project unchanged");
                             });
      });

  server.AddRoute("GET", "/api/v1/projects", [&ctx](HttpRequest& req, HttpResponder r) {
    ProjectListQuery q;
    std::vector<FieldError> errors;
    ReadPaging(req, q.page, q.limit, errors);
    if (const std::string* v = QueryParam(req, "status")) {
      q.status = ParseProjectStatus(*v);
      if (!q.status) {
        errors.push_back({"status", "Must be one of planned, active, on_hold, done, cancelled"});
      }
    }
    for (auto [name, field] :
         {std::pair{"customerId", &q.customer_id}, std::pair{"ownerId", &q.owner_id}}) {
      if (const std::string* v = QueryParam(req, name)) {
        if (v->empty() || v->size() > kMaxProjectIdLength) {
          errors.push_back({name, "Must be 1 to 100 characters"});
        } else {
          *field = *v;
        }
      }
    }
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    if (OwnScope(req, "read")) q.reader = req.principal->user_id;
    AwaitPosition(
        req, ctx, r,
        [q = std::move(q)](HttpRequest&, ReadModel& rm, HttpResponder& r, bool caught_up) mutable {
          if (q.reader) {
            auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), *q.reader);
            if (!mine) return SendError(r, mine.error());
            q.visible_customers = std::move(*mine);
          }
          auto page = QueryProjects(*rm.store, q);
          if (!page) return SendError(r, page.error());
          std::vector<std::string> items;
          items.reserve(page->items.size());
          for (const Project& p : page->items) items.push_back(ProjectToJson(p));
          r.Send(200,
                 SuccessBody("Projects retrieved", JsonArray(items),
                             PageMeta(page->total, q.page, q.limit)),
                 caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
        },
        kProjectsTopic);
  });

  // A project with its logged time (the work logs' sums) and its tasks (at most
  // kMaxProjectTasksShown, by due date) that the caller may read: every one for tasks:read_all,
  // for tasks:read_own those assigned to the caller or on the caller's customers (the tasks
  // list's rule, TaskVisibleTo); without tasks:read the document has no `tasks` member. A
  // position to wait for is of the projects stream only: the tasks and the logged time may lag
  // a task or work log just written (read the task or log at its position first).
  server.AddRoute("GET", "/api/v1/projects/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto project = QueryProject(*rm.store, id);
          if (!project) return SendError(r, project.error());
          if (!*project) return SendError(r, Error::NotFound("Project " + id + " not found"));
          if (auto st = CheckReadable(*rm.store, req, **project); !st) {
            return SendError(r, st.error());
          }
          auto logged = QueryWorklogSum(*rm.store, WorklogDimension::kProject, id);
          if (!logged) return SendError(r, logged.error());
          const std::string doc = ProjectToJson(**project);
          JsonWriter w;
          w.BeginObject();
          w.RawMembers(std::string_view(doc).substr(1, doc.size() - 2));
          w.Key("loggedMinutes").Int(logged->minutes);
          w.Key("worklogCount").Int(logged->count);
          const Scope task_scope =
              req.principal ? req.principal->ScopeFor("tasks", "read") : Scope::kAll;
          if (task_scope != Scope::kNone) {
            std::optional<TaskReader> reader;
            if (task_scope == Scope::kOwn) {
              reader.emplace();
              reader->user_id = req.principal->user_id;
              auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), reader->user_id);
              if (!mine) return SendError(r, mine.error());
              reader->customer_ids.insert(mine->begin(), mine->end());
            }
            auto tasks = QueryTasksOfProject(*rm.store, id, kMaxProjectTasksShown);
            if (!tasks) return SendError(r, tasks.error());
            w.Key("tasks").BeginArray();
            for (const Task& task : *tasks) {
              if (!reader || TaskVisibleTo(task, *reader)) w.Raw(TaskToJson(task));
            }
            w.EndArray();
          }
          w.EndObject();
          Headers headers{{"ETag", VersionTag((*project)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Project retrieved", w.str()), headers);
        },
        kProjectsTopic);
  });
}

}  // namespace keel

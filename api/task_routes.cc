// Tasks (issue 19): commands through the tasks stream (TaskService), reads from the tasks read
// model. Scope: tasks:read_own reads the tasks assigned to the caller and those on the
// customers assigned to them; tasks:write_own creates tasks assigned to the caller, on no
// customer or one of theirs, and changes the tasks assigned to them that are on no customer or
// one of theirs (the task's resulting customer is checked at every edit). _all: anything.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/envelope.h"
#include "api/route_helpers.h"
#include "api/routes.h"
#include "commands/task_service.h"
#include "commands/write_model.h"
#include "domain/json.h"
#include "domain/task.h"
#include "projections/customers/customer_queries.h"
#include "projections/tasks/task_queries.h"

namespace keel {
namespace {

Millis TasksNow(RouteContext& ctx) {
  return ctx.tasks_clock ? ctx.tasks_clock->NowMillis() : ctx.clock.NowMillis();
}

Scope ScopeOfCaller(const HttpRequest& req, std::string_view action) {
  if (!req.principal) return Scope::kAll;  // authentication off
  return req.principal->ScopeFor("tasks", action);
}

// A task as served: its record and whether it is overdue at `now`; `next`: the occurrence a
// command created after it.
std::string TaskJson(const Task& task, Millis now, const std::optional<Task>& next = {}) {
  const std::string doc = TaskToJson(task);
  JsonWriter w;
  w.BeginObject();
  w.RawMembers(std::string_view(doc).substr(1, doc.size() - 2));
  w.Key("isOverdue").Bool(task.overdue(now));
  if (next) w.Key("nextOccurrence").Raw(TaskToJson(*next));
  w.EndObject();
  return w.Take();
}

void AnswerTaskCommand(RouteContext& ctx, std::string_view type, HttpResponder& r,
                       const Result<TaskOutcome>& out, std::string_view message) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, VersionTag(out->task.version), out->position, message,
                    TaskJson(out->task, TasksNow(ctx), out->next));
}

// The customer a create or an edit names: it must exist and be active on the command side (the
// customers stream's write model, so that a customer just registered is found; a field error
// otherwise) and, for tasks:write_own, be assigned to the caller (403).
Status CheckTaskCustomer(RouteContext& ctx, const HttpRequest& req, const TaskInput& input) {
  if (!input.customer_id) return {};
  const std::string& id = *input.customer_id;
  std::optional<std::optional<std::string>> owner = ctx.commands.ReadWriteModel(
      [&id](const WriteModel& model) -> std::optional<std::optional<std::string>> {
        const Customer* c = model.customers.Find(id);
        if (!c || !c->is_active) return std::nullopt;
        return c->owner_id;
      });
  if (!owner) {
    return Fail(Error::Validation({{"customerId", "Customer " + id + " not found or not active"}}));
  }
  if (ScopeOfCaller(req, "write") == Scope::kOwn && *owner != req.principal->user_id) {
    return Fail(Error::PermissionDenied("Customer " + id + " is not assigned to you"));
  }
  return {};
}

// Who the caller may read tasks as: nullopt for tasks:read_all.
Result<std::optional<TaskReader>> ReaderOf(const HttpRequest& req, ReadModel& rm) {
  if (ScopeOfCaller(req, "read") != Scope::kOwn) return std::optional<TaskReader>();
  TaskReader reader;
  reader.user_id = req.principal->user_id;
  auto mine = QueryCustomerIdsOwnedBy(*rm.store, CustomerIndexOf(rm), reader.user_id);
  if (!mine) return Fail(mine.error());
  reader.customer_ids.insert(mine->begin(), mine->end());
  return std::optional<TaskReader>(std::move(reader));
}

// For tasks:read_own: kPermissionDenied unless the task is assigned to the caller or on one of
// their customers.
Status CheckTaskReadable(const HttpRequest& req, ReadStore& store, const Task& task) {
  if (ScopeOfCaller(req, "read") != Scope::kOwn) return {};
  if (task.fields.assigned_to == req.principal->user_id) return {};
  if (task.fields.customer_id) {
    auto doc = QueryCustomer(store, *task.fields.customer_id);
    if (!doc) return Fail(doc.error());
    if (*doc && StoredStringMember(**doc, "ownerId") == req.principal->user_id) return {};
  }
  return Fail(Error::PermissionDenied("Task " + task.id +
                                      " is neither assigned to you nor on one of your customers"));
}

template <typename T, typename Parse>
std::optional<T> EnumParam(const HttpRequest& req, const char* name, Parse parse,
                           const char* message, std::vector<FieldError>& errors) {
  const std::string* v = QueryParam(req, name);
  if (!v) return std::nullopt;
  auto parsed = parse(*v);
  if (!parsed) errors.push_back({name, message});
  return parsed;
}

std::optional<std::string> StringParam(const HttpRequest& req, const char* name) {
  const std::string* v = QueryParam(req, name);
  if (!v || v->empty()) return std::nullopt;
  return *v;
}

// One page of `tasks` as served; `truncated`: the list was cut (QueryTasks), which meta says.
void SendTaskPage(HttpResponder& r, const std::vector<Task>& tasks, int page, int limit, Millis now,
                  std::string_view message, bool caught_up, bool truncated = false) {
  std::vector<std::string> items;
  const size_t from = static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
  for (size_t i = from; i < tasks.size() && items.size() < static_cast<size_t>(limit); ++i) {
    items.push_back(TaskJson(tasks[i], now));
  }
  r.Send(200,
         SuccessBody(message, JsonArray(items),
                     PageMeta(static_cast<int64_t>(tasks.size()), page, limit, truncated)),
         caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
}

// A page read as a page (QueryOpenTasksOfAssignee): its tasks and the total.
void SendReadPage(HttpResponder& r, const TaskPage& tasks, int page, int limit, Millis now,
                  std::string_view message, bool caught_up) {
  std::vector<std::string> items;
  for (const auto& t : tasks.tasks) items.push_back(TaskJson(t, now));
  r.Send(200, SuccessBody(message, JsonArray(items), PageMeta(tasks.total, page, limit)),
         caught_up ? Headers{} : Headers{{"X-Keel-Stale", "true"}});
}

size_t OffsetOf(int page, int limit) {
  return static_cast<size_t>(page - 1) * static_cast<size_t>(limit);
}

Error NeedsUser() {
  return Error::InvalidArgument("This list is the signed-in user's: sign in to read it");
}

}  // namespace

void AddTaskRoutes(HttpServer& server, RouteContext& ctx) {
  auto refuse_if_unable = [&ctx](HttpResponder& r) {
    return RefusedUnavailable(ctx, ctx.tasks != nullptr, "Tasks", r);
  };

  // POST and PUT /tasks/:id: the same body.
  auto define = [&ctx, refuse_if_unable](bool create) {
    return [&ctx, refuse_if_unable, create](HttpRequest& req, HttpResponder r) {
      if (refuse_if_unable(r)) return;
      const char* type = create ? "CreateTask" : "EditTask";
      auto refuse = [&](const Error& e) {
        ctx.metrics.Command(type, false);
        SendError(r, e);
      };
      auto input = ParseTaskInput(req.body);
      if (!input) return refuse(input.error());
      // A create's assignee defaults to the caller; an edit's, to the task's assignee.
      if (create && input->assigned_to.empty()) {
        if (!req.principal) {
          return refuse(Error::Validation({{"assignedToUserId", "Is required"}}));
        }
        input->assigned_to = req.principal->user_id;
      }
      auto expected = ExpectedVersion(req);
      if (!expected) return refuse(expected.error());
      auto meta = MetaFor(req);
      if (!meta) return refuse(meta.error());
      if (ScopeOfCaller(req, "write") == Scope::kOwn) meta->owner_scope = req.principal->user_id;
      // An _all caller's edit that keeps the task's customer is not checked again (a customer
      // deactivated since does not freeze its tasks). A tasks:write_own caller's task is always
      // checked, at the customer it would be on: the task as known here may be stale.
      std::optional<Task> current;
      if (!create && !meta->owner_scope) current = ctx.tasks->Find(req.params["id"]);
      if (!current || current->fields.customer_id != input->customer_id) {
        if (auto st = CheckTaskCustomer(ctx, req, *input); !st) return refuse(st.error());
      }
      auto done = [&ctx, r, type, create](Result<TaskOutcome> out) mutable {
        AnswerTaskCommand(
            ctx, type, r, out,
            create ? "Task created" : (out && out->position ? "Task updated" : "Task unchanged"));
      };
      if (create) {
        if (*expected) return refuse(Error::InvalidArgument("If-Match applies to existing tasks"));
        ctx.tasks->Create(std::move(*input), std::move(*meta), std::move(done));
      } else {
        ctx.tasks->Edit(req.params["id"], std::move(*input), *expected, std::move(*meta),
                        std::move(done));
      }
    };
  };
  server.AddRoute("POST", "/api/v1/tasks", define(true));
  server.AddRoute("PUT", "/api/v1/tasks/:id", define(false));

  server.AddRoute("PUT", "/api/v1/tasks/:id/status",
                  [&ctx, refuse_if_unable](HttpRequest& req, HttpResponder r) {
                    if (refuse_if_unable(r)) return;
                    auto refuse = [&](const Error& e) {
                      ctx.metrics.Command("ChangeTaskStatus", false);
                      SendError(r, e);
                    };
                    auto to = ParseTaskStatusInput(req.body);
                    if (!to) return refuse(to.error());
                    auto expected = ExpectedVersion(req);
                    if (!expected) return refuse(expected.error());
                    auto meta = MetaFor(req);
                    if (!meta) return refuse(meta.error());
                    if (ScopeOfCaller(req, "write") == Scope::kOwn)
                      meta->owner_scope = req.principal->user_id;
                    ctx.tasks->ChangeStatus(req.params["id"], *to, *expected, std::move(*meta),
                                            [&ctx, r](Result<TaskOutcome> out) mutable {
                                              AnswerTaskCommand(ctx, "ChangeTaskStatus", r, out,
                                                                out && out->position
                                                                    ? "Task status changed"
                                                                    : "Task status unchanged");
                                            });
                  });

  server.AddRoute("GET", "/api/v1/tasks", [&ctx](HttpRequest& req, HttpResponder r) {
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    TaskListQuery query;
    query.status =
        EnumParam<TaskStatus>(req, "status", ParseTaskStatus,
                              "Must be one of pending, in_progress, completed, cancelled", errors);
    query.priority = EnumParam<TaskPriority>(req, "priority", ParseTaskPriority,
                                             "Must be one of low, medium, high, urgent", errors);
    query.assigned_to = StringParam(req, "assignedTo");
    query.customer_id = StringParam(req, "customerId");
    query.project_id = StringParam(req, "projectId");
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [&ctx, page, limit, query = std::move(query)](HttpRequest& req, ReadModel& rm,
                                                      HttpResponder& r, bool caught_up) mutable {
          auto reader = ReaderOf(req, rm);
          if (!reader) return SendError(r, reader.error());
          query.reader = std::move(*reader);
          bool truncated = false;
          auto tasks = QueryTasks(*rm.store, query, &truncated);
          if (!tasks) return SendError(r, tasks.error());
          SendTaskPage(r, *tasks, page, limit, TasksNow(ctx), "Tasks retrieved", caught_up,
                       truncated);
        },
        kTasksTopic);
  });

  // The caller's tasks: open ones unless a status is asked for, overdue first, then by due date.
  server.AddRoute("GET", "/api/v1/tasks/my-tasks", [&ctx](HttpRequest& req, HttpResponder r) {
    if (!req.principal) return SendError(r, NeedsUser());
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    TaskListQuery query;
    query.assigned_to = req.principal->user_id;
    query.status =
        EnumParam<TaskStatus>(req, "status", ParseTaskStatus,
                              "Must be one of pending, in_progress, completed, cancelled", errors);
    query.open_only = !query.status;
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    AwaitPosition(
        req, ctx, r,
        [&ctx, page, limit, query = std::move(query)](HttpRequest&, ReadModel& rm, HttpResponder& r,
                                                      bool caught_up) {
          const Millis now = TasksNow(ctx);
          if (query.open_only) {  // the open ones, a page of them read, in my-tasks' order
            auto open = QueryOpenTasksOfAssignee(*rm.store, *query.assigned_to, false,
                                                 OffsetOf(page, limit), static_cast<size_t>(limit));
            if (!open) return SendError(r, open.error());
            return SendReadPage(r, *open, page, limit, now, "My tasks retrieved", caught_up);
          }
          auto tasks = QueryTasks(*rm.store, query);
          if (!tasks) return SendError(r, tasks.error());
          SortForMyTasks(*tasks, now);
          SendTaskPage(r, *tasks, page, limit, now, "My tasks retrieved", caught_up);
        },
        kTasksTopic);
  });

  // The caller's open tasks whose reminder is due (TaskReminderDue folded), by due date.
  server.AddRoute("GET", "/api/v1/tasks/reminders", [&ctx](HttpRequest& req, HttpResponder r) {
    if (!req.principal) return SendError(r, NeedsUser());
    int page = 1, limit = 20;
    std::vector<FieldError> errors;
    ReadPaging(req, page, limit, errors);
    if (!errors.empty()) return SendError(r, Error::Validation(std::move(errors)));
    TaskListQuery query;
    query.assigned_to = req.principal->user_id;
    query.open_only = true;
    AwaitPosition(
        req, ctx, r,
        [&ctx, page, limit, query = std::move(query)](HttpRequest&, ReadModel& rm, HttpResponder& r,
                                                      bool caught_up) {
          auto tasks = QueryOpenTasksOfAssignee(*rm.store, *query.assigned_to, true,
                                                OffsetOf(page, limit), static_cast<size_t>(limit));
          if (!tasks) return SendError(r, tasks.error());
          SendReadPage(r, *tasks, page, limit, TasksNow(ctx), "Task reminders retrieved",
                       caught_up);
        },
        kTasksTopic);
  });

  server.AddRoute("GET", "/api/v1/tasks/:id", [&ctx](HttpRequest& req, HttpResponder r) {
    AwaitPosition(
        req, ctx, r,
        [&ctx](HttpRequest& req, ReadModel& rm, HttpResponder& r, bool caught_up) {
          const std::string& id = req.params["id"];
          auto task = QueryTask(*rm.store, id);
          if (!task) return SendError(r, task.error());
          if (!*task) return SendError(r, Error::NotFound("Task " + id + " not found"));
          if (auto st = CheckTaskReadable(req, *rm.store, **task); !st) {
            return SendError(r, st.error());
          }
          Headers headers{{"ETag", VersionTag((*task)->version)}};
          if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
          r.Send(200, SuccessBody("Task retrieved", TaskJson(**task, TasksNow(ctx))), headers);
        },
        kTasksTopic);
  });
}

}  // namespace keel

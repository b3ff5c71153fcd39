#include "api/route_helpers.h"

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "api/blocking_work.h"
#include "api/envelope.h"
#include "domain/json.h"
#include "domain/numbers.h"
#include "domain/topics.h"
#include "infra/log.h"
#include "projections/customers/customer_queries.h"
#include "projections/customers/customers_projector.h"

namespace keel {
std::string PositionJson(const AppendResult& p) {
  JsonWriter w;
  w.BeginObject().Key("topic").String(p.topic).Key("partition").Int(p.partition);
  w.Key("offset").Int(p.last_offset).EndObject();
  return w.Take();
}

namespace {

// The digits after the first top-level `"<key>":` (our writer never puts that byte sequence
// inside a string: a quote there is escaped).
std::string_view IntMember(std::string_view json, std::string_view key) {
  const size_t at = json.find(key);
  if (at == std::string_view::npos) return {};
  std::string_view rest = json.substr(at + key.size());
  return rest.substr(0, rest.find_first_not_of("0123456789"));
}

}  // namespace

void SendError(HttpResponder& r, const Error& e, const Headers& headers) {
  r.Send(HttpStatusFor(e.code), ErrorBody(e), headers);
}

Result<std::optional<int64_t>> ExpectedVersion(const HttpRequest& req) {
  auto h = req.header("If-Match");
  if (!h) return std::optional<int64_t>();
  std::string_view v = *h;
  if (v.starts_with("W/")) v.remove_prefix(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  v = v.substr(0, v.find('.'));  // our customer ETags add the stats revision
  auto n = ParseInt64(v);
  if (!n || *n < 1) {
    return Fail(Error::Validation({{"If-Match", "Must be the resource's version or ETag, e.g. \"3\""}}));
  }
  return std::optional<int64_t>(*n);
}

Result<CommandMeta> MetaFor(const HttpRequest& req) {
  CommandMeta meta;
  meta.actor = req.principal ? req.principal->user_id : "anonymous";
  // The request is the cause; the correlation spans a flow of requests when the client names
  // one, else it is the request too.
  meta.causation_id = req.request_id;
  meta.correlation_id = req.header("X-Correlation-Id").value_or(req.request_id).substr(0, 128);
  if (auto key = req.header("Idempotency-Key")) {
    if (key->empty() || key->size() > 255) {
      return Fail(Error::Validation({{"Idempotency-Key", "Must be 1 to 255 characters"}}));
    }
    meta.idempotency_key = req.principal ? req.principal->user_id + "/" + *key : *key;
  }
  return meta;
}

Status CheckAssignment(const AuthService& auth, const Principal* p, CustomerFields& fields,
                       bool creating) {
  if (!p) return {};
  if (!p->Has("customers:assign")) {
    if (fields.owner_id && *fields.owner_id != p->user_id) {
      return Fail(Error::PermissionDenied(
          "Assigning customers to someone else needs the customers:assign permission"));
    }
    if (creating) fields.owner_id = std::optional<std::string>(p->user_id);
    return {};
  }
  if (fields.owner_id && *fields.owner_id && !auth.UserExists(**fields.owner_id)) {
    return Fail(Error::Validation({{"ownerId", "No active user " + **fields.owner_id}}));
  }
  return {};
}

std::string VersionTag(int64_t version) {
  std::string tag = "\"";
  tag += std::to_string(version);
  tag += '"';
  return tag;
}

bool RefusedUnavailable(RouteContext& ctx, bool available, std::string_view what,
                        HttpResponder& r) {
  if (ctx.draining) {
    SendError(r, Error::Unavailable("The server is shutting down; retry shortly"));
    return true;
  }
  if (!available) {
    std::string message(what);
    message += " are not available";
    SendError(r, Error::Unavailable(std::move(message)));
    return true;
  }
  return false;
}

void SendCommandAnswer(RouteContext& ctx, HttpResponder& r, bool created, std::string etag,
                       const std::optional<AppendResult>& position, std::string_view message,
                       std::string_view data_json, const Headers& extra_headers) {
  Headers headers{{"ETag", std::move(etag)}};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  std::string meta = "{}";
  if (position) {
    ctx.metrics.EventsAppended(position->topic, position->last_offset - position->first_offset + 1);
    headers.emplace_back("X-Keel-Position", std::to_string(position->partition) + ":" +
                                                std::to_string(position->last_offset));
    meta = "{\"position\":" + PositionJson(*position) + "}";
  }
  r.Send(created ? 201 : 200, SuccessBody(message, data_json, meta), headers);
}

void AnswerCommand(RouteContext& ctx, std::string_view type, HttpResponder r,
                   const Result<CommandOutcome>& out, std::string_view message,
                   const Headers& extra_headers) {
  ctx.metrics.Command(type, out.has_value());
  if (!out) return SendError(r, out.error());
  SendCommandAnswer(ctx, r, out->created, QuotedETag(out->json), out->position, message, out->json,
                    extra_headers);
}

const CustomerIndex* CustomerIndexOf(const ReadModel& rm) {
  const auto* customers = rm.projections->Find<CustomersProjector>();
  return customers ? customers->index() : nullptr;
}

const AudienceColumns* AudienceColumnsOf(const ReadModel& rm) {
  const auto* customers = rm.projections->Find<CustomersProjector>();
  return customers ? customers->audience() : nullptr;
}

void AwaitPosition(HttpRequest& req, RouteContext& ctx, HttpResponder r, AfterPosition then,
                   std::string_view topic) {
  auto rm = ctx.read_models.Current();
  std::optional<std::string> spec;
  if (auto it = req.query.find("minPosition"); it != req.query.end()) spec = it->second;
  if (!spec) spec = req.header("X-Keel-Min-Position");
  if (!spec) return then(req, *rm, r, true);
  // One position, or several separated by commas (commands on customers in other partitions).
  std::vector<std::pair<int32_t, int64_t>> positions;
  constexpr size_t kMaxPositions = 64;
  auto invalid = [&](std::string message) {
    SendError(r, Error::Validation({{"minPosition", std::move(message)}}));
  };
  std::string_view rest = *spec;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view one = rest.substr(0, comma);
    const size_t colon = one.find(':');
    auto p = colon == std::string_view::npos ? std::nullopt : ParseInt64(one.substr(0, colon));
    auto o = colon == std::string_view::npos ? std::nullopt : ParseInt64(one.substr(colon + 1));
    if (!p || !o || *p < 0 || *p > INT32_MAX || *o < 0 || positions.size() >= kMaxPositions) {
      return invalid(
          "Must be partition:offset (e.g. 3:1204), or up to 64 of them separated by commas");
    }
    if (*p >= ctx.log.PartitionCount()) {
      return invalid("The log has no partition " + std::to_string(*p));
    }
    positions.emplace_back(static_cast<int32_t>(*p), *o);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  ProjectorRunner* runner = rm->projections->RunnerOfTopic(topic);
  if (!runner) return SendError(r, Error::Internal("No projection follows " + std::string(topic)));
  if (runner->Applied(positions)) return then(req, *rm, r, true);
  // A position the log has not reached names no command's answer: waiting for it would only
  // hold the request for the whole bound. Asked only of positions not applied yet: on Kafka
  // the log's end is a broker round trip.
  for (auto [partition, offset] : positions) {
    auto end = ctx.log.EndOffset(std::string(topic), partition);
    if (!end) return SendError(r, end.error());
    if (offset >= *end) {
      return invalid("Position " + std::to_string(partition) + ":" + std::to_string(offset) +
                     " is beyond the log's end (" + std::to_string(*end) + " in partition " +
                     std::to_string(partition) + ")");
    }
  }
  // One bound for the whole wait, however many positions.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(ctx.max_read_wait_ms);
  auto copy = std::make_shared<HttpRequest>(req);
  copy->header = [](const std::string&) { return std::optional<std::string>(); };
  copy->cookie = copy->header;
  copy->body.clear();
  auto st = runner->WhenApplied(
      std::move(positions), deadline,
      [copy, rm, r, then = std::move(then)](bool caught_up) mutable {
        auto held = std::move(rm);
        try {
          then(*copy, *held, r, caught_up);
        } catch (const std::exception& e) {
          Log(LogLevel::kError, "read after a wait failed",
              {{"request_id", copy->request_id}, {"error", e.what()}});
          SendError(r, Error::Internal("Internal error"));
        }
        // This runs on the read model's own waiting thread: if a rebuild swapped the read
        // model out meanwhile, the last reference goes elsewhere, where its destructor may
        // join that thread.
        if (held.use_count() == 1) std::thread([last = std::move(held)] {}).detach();
      });
  if (!st) SendError(r, st.error());
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += items[i];
  }
  out.push_back(']');
  return out;
}

void SendStoredDocument(RouteContext& ctx, HttpRequest& req, HttpResponder& r,
                        std::string_view what, DocumentLookup lookup, DocumentVisible visible) {
  AwaitPosition(req, ctx, r,
                [what = std::string(what), lookup, visible](HttpRequest& req, ReadModel& rm,
                                                            HttpResponder& r, bool caught_up) {
                  const std::string& id = req.params["id"];
                  auto doc = lookup(*rm.store, id);
                  if (!doc) return SendError(r, doc.error());
                  if (!*doc) return SendError(r, Error::NotFound(what + " " + id + " not found"));
                  if (visible) {
                    if (auto st = visible(req, *rm.store, **doc); !st) {
                      return SendError(r, st.error());
                    }
                  }
                  Headers headers{{"ETag", QuotedETag(**doc)}};
                  if (!caught_up) headers.emplace_back("X-Keel-Stale", "true");
                  r.Send(200, SuccessBody(what + " retrieved", **doc), headers);
                });
}

Result<CommandMeta> ScopedMetaFor(const HttpRequest& req, std::string_view resource,
                                  std::string_view action) {
  auto meta = MetaFor(req);
  if (meta && req.principal && req.principal->ScopeFor(resource, action) == Scope::kOwn) {
    meta->owner_scope = req.principal->user_id;
  }
  return meta;
}

std::optional<NamedCustomer> CommandSideCustomer(RouteContext& ctx, const std::string& id) {
  return ctx.commands.ReadWriteModel([&](const WriteModel& model) -> std::optional<NamedCustomer> {
    const Customer* c = model.customers.Find(id);
    if (!c) return std::nullopt;
    return NamedCustomer{c->owner_id, c->is_active};
  });
}

std::optional<std::string> StoredStringMember(std::string_view json, std::string_view name) {
  std::string needle(1, '"');
  needle.append(name).append("\":\"");
  const size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  const size_t start = at + needle.size();
  const size_t end = json.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(start, end - start));
}

Status CheckCustomerScope(ReadStore& store, const HttpRequest& req, std::string_view resource,
                          std::string_view action, const std::string& customer_id) {
  const Principal* p = req.principal.get();
  if (!p || p->ScopeFor(resource, action) != Scope::kOwn || customer_id.empty()) return {};
  auto doc = QueryCustomer(store, customer_id);
  if (!doc) return Fail(doc.error());
  if (!*doc) return {};
  return CheckCustomerScope(req, resource, action, customer_id, std::string_view(**doc));
}

Status CheckCustomerScope(const HttpRequest& req, std::string_view resource,
                          std::string_view action, const std::string& customer_id,
                          std::optional<std::string_view> customer_json) {
  const Principal* p = req.principal.get();
  if (!p || !customer_json || p->ScopeFor(resource, action) != Scope::kOwn) return {};
  if (StoredStringMember(*customer_json, "ownerId") != p->user_id) {
    return Fail(Error::PermissionDenied("Customer " + customer_id + " is not assigned to you"));
  }
  return {};
}

std::string ETagOf(std::string_view json) {
  const std::string_view version = IntMember(json, "\"version\":");
  std::string tag(version.empty() ? std::string_view("0") : version);
  std::string_view revision = IntMember(json, "\"statsRevision\":");
  if (!revision.empty()) tag.append(".").append(revision);
  return tag;
}

std::string QuotedETag(std::string_view json) {
  // Built by appending: GCC 12 warns falsely (-Wrestrict) on "\"" + std::string.
  std::string quoted(1, '"');
  quoted.append(ETagOf(json)).push_back('"');
  return quoted;
}

const std::string* QueryParam(const HttpRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? nullptr : &it->second;
}

void ReadPaging(const HttpRequest& req, int& page, int& limit, std::vector<FieldError>& errors) {
  if (auto v = QueryParam(req, "page")) {
    auto n = ParseInt64(*v);
    if (!n || *n < 1 || *n > 1'000'000) errors.push_back({"page", "Must be an integer from 1"});
    else page = static_cast<int>(*n);
  }
  if (auto v = QueryParam(req, "limit")) {
    auto n = ParseInt64(*v);
    if (!n || *n < 1 || *n > 100) errors.push_back({"limit", "Must be an integer from 1 to 100"});
    else limit = static_cast<int>(*n);
  }
}

std::string PageMeta(int64_t total, int page, int limit, bool truncated) {
  JsonWriter meta;
  meta.BeginObject().Key("total").Int(total).Key("page").Int(page);
  meta.Key("limit").Int(limit);
  meta.Key("pages").Int((total + limit - 1) / limit);
  if (truncated) meta.Key("truncated").Bool(true);
  meta.EndObject();
  return meta.Take();
}

void OffThread(BlockingWork& pool, HttpResponder r, std::function<void(HttpResponder&)> work,
               std::string key) {
  auto posted = pool.Post(
      [r, work = std::move(work)]() mutable {
        try {
          work(r);
        } catch (const std::exception& e) {
          SendError(r, Error::Internal(std::string("Unexpected failure: ") + e.what()));
        }
      },
      [r]() mutable { SendError(r, Error::Unavailable("The server is shutting down")); },
      std::move(key));
  if (!posted) SendError(r, posted.error(), {{"Retry-After", "1"}});
}

}  // namespace keel

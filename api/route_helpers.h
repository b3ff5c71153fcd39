// What every route file shares: errors in the envelope, command metadata from headers,
// answering a command, read-your-writes waits, ETags. Parsing and serialising only.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/blocking_work.h"
#include "api/http_server.h"
#include "api/read_model.h"
#include "api/routes.h"
#include "commands/command_service.h"
#include "domain/topics.h"

namespace keel {

using Headers = std::vector<std::pair<std::string, std::string>>;

void SendError(HttpResponder& r, const Error& e, const Headers& headers = {});

// If-Match: "3", W/"3", 3, or an ETag of ours ("3.7": version 3, stats revision 7). nullopt
// when absent; an error when present but not a version.
Result<std::optional<int64_t>> ExpectedVersion(const HttpRequest& req);

// {"topic":..,"partition":..,"offset":..}: where a command's last event landed.
std::string PositionJson(const AppendResult& position);

// Actor (the signed-in user's id), correlation and causation from the request; Idempotency-Key
// checked and scoped to the user, so that two users' keys never collide.
Result<CommandMeta> MetaFor(const HttpRequest& req);

// The ownerId a customer command (or an ingested customer record) may set. Without
// customers:assign a user may name only themself, and the customers they register are theirs
// (`creating`); with it, any active user, or null. No principal (authentication off): anything.
Status CheckAssignment(const AuthService& auth, const Principal* principal, CustomerFields& fields,
                       bool creating);

// A versioned resource's ETag: its version, quoted.
std::string VersionTag(int64_t version);
// 503 when the server is draining or a stream's service is missing (`what`: "Segments"); says
// whether it answered.
bool RefusedUnavailable(RouteContext& ctx, bool available, std::string_view what, HttpResponder& r);
// Sends a successful command's answer: 201 when it created, 200 otherwise; `data_json`, the ETag
// (already quoted), and where its last event landed (X-Keel-Position and meta.position), whose
// events are counted in the metrics.
void SendCommandAnswer(RouteContext& ctx, HttpResponder& r, bool created, std::string etag,
                       const std::optional<AppendResult>& position, std::string_view message,
                       std::string_view data_json, const Headers& extra_headers = {});

// The answer to a command once its events are durable: the resource, its ETag and the log
// position (X-Keel-Position and meta.position). Counts the command in the metrics.
void AnswerCommand(RouteContext& ctx, std::string_view type, HttpResponder r,
                   const Result<CommandOutcome>& out, std::string_view message,
                   const Headers& extra_headers = {});

// MetaFor, narrowed to the signed-in user's own customers when their scope for
// resource:action ("customers", "update") is _own: the command is refused (403) unless the
// customer it touches is assigned to them.
Result<CommandMeta> ScopedMetaFor(const HttpRequest& req, std::string_view resource,
                                  std::string_view action);

// For a principal whose resource:action scope is _own: kPermissionDenied unless the stored
// customer is assigned to them. OK for _all, and for an unknown customer (the route says 404).
Status CheckCustomerScope(ReadStore& store, const HttpRequest& req, std::string_view resource,
                          std::string_view action, const std::string& customer_id);
// The same for a customer document the caller already read (none: unknown, OK).
Status CheckCustomerScope(const HttpRequest& req, std::string_view resource,
                          std::string_view action, const std::string& customer_id,
                          std::optional<std::string_view> customer_json);

// A customer that a command names (a project's, a work log's), as the command side holds it:
// consistent with the log, so that a customer registered a moment ago is found. nullopt when
// there is no such customer.
struct NamedCustomer {
  std::optional<std::string> owner_id;
  bool active = true;
};
std::optional<NamedCustomer> CommandSideCustomer(RouteContext& ctx, const std::string& id);

// The value of a top-level string member of a document Keel wrote ("ownerId", "customerId"),
// found without a parse; nullopt when absent or null.
std::optional<std::string> StoredStringMember(std::string_view json, std::string_view name);

// Read-your-writes: a GET may name a position ("partition:offset", as X-Keel-Position said)
// in `minPosition` or the X-Keel-Min-Position header. `then(req, rm, r, caught_up)` runs once
// the live read model has applied it, or with caught_up false once the bounded wait ran out;
// at once when no position is named. No HTTP thread waits: `then` may run on the projection's
// waiting thread, with a copy of the request whose header and cookie accessors answer nothing
// (the connection's headers are gone by then), and must not block. A malformed position, or
// one beyond the log's end, is answered 400 here; too many waits at once, 429. Positions are
// of `topic` (the stream whose commands answered them); its projections are waited for.
class CustomerIndex;
class AudienceColumns;
using AfterPosition = std::function<void(HttpRequest&, ReadModel&, HttpResponder&, bool)>;
void AwaitPosition(HttpRequest& req, RouteContext& ctx, HttpResponder r, AfterPosition then,
                   std::string_view topic = kCustomersTopic);

// The live customer index of a generation, or nullptr (lists then scan the store).
const CustomerIndex* CustomerIndexOf(const ReadModel& rm);
// The audience columns of a generation (loaded or not), or nullptr.
const AudienceColumns* AudienceColumnsOf(const ReadModel& rm);

// The lookup and the visibility check run after the wait: they get the copied request, and
// must capture nothing of the handler's.
using DocumentLookup =
    std::function<Result<std::optional<std::string>>(ReadStore&, std::string_view)>;
using DocumentVisible = std::function<Status(const HttpRequest&, ReadStore&, std::string_view)>;
void SendStoredDocument(RouteContext& ctx, HttpRequest& req, HttpResponder& r,
                        std::string_view what, DocumentLookup lookup, DocumentVisible visible = {});

// The ETag of a stored customer or order document: its version, and for customers the stats
// revision ("3.7"), found without a parse.
std::string ETagOf(std::string_view json);
// The same in quotes, as the ETag header carries it.
std::string QuotedETag(std::string_view json);

// Runs `work(r)` on `pool` (ctx.sign_ins, ctx.user_commands) and returns at once: for what
// would hold an HTTP thread (password hashing, the identity provider, appends that wait for
// the log). `work` answers through r, must capture what it needs by value (the request's
// headers and cookies are gone by then), and is answered 500 if it throws. Busy: 503 with
// Retry-After at once; shutting down before it ran: 503. `key` (the client's address bucket)
// bounds what one client may have queued in the pool, if the pool bounds it.
void OffThread(BlockingWork& pool, HttpResponder r, std::function<void(HttpResponder&)> work,
               std::string key = "");

// Query parameter helpers: page/limit with the customers' bounds.
const std::string* QueryParam(const HttpRequest& req, const char* name);
void ReadPaging(const HttpRequest& req, int& page, int& limit, std::vector<FieldError>& errors);

std::string JsonArray(const std::vector<std::string>& items);

// {"total":..,"page":..,"limit":..,"pages":..}
// `truncated`: the list paged through was cut short of all it would hold ("truncated": true).
std::string PageMeta(int64_t total, int page, int limit, bool truncated = false);

}  // namespace keel

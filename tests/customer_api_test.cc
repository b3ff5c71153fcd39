// End to end over HTTP: the real server on port 0, the embedded log and RocksDB.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <thread>

#include "commands/command_service.h"
#include "domain/customer.h"
#include "domain/ids.h"
#include "domain/topics.h"
#include "infra/event_log.h"
#include "projections/projector_runner.h"
#include "tests/test_app.h"

namespace keel {
namespace {

class CustomerApiTest : public ::testing::Test {
 protected:
  HttpResult Post(const std::string& body, std::vector<std::string> headers = {}) {
    return client_.Send("POST", "/api/v1/customers", body, headers);
  }
  // Registers a customer and returns its id; reads of it wait for the projection.
  std::string Create(const std::string& name, const std::string& email) {
    auto r = Post(R"({"name":")" + name + R"(","email":")" + email + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    last_position_ = r.headers["x-keel-position"];
    return Json(r.body).Str("/data/id");
  }
  HttpResult Get(const std::string& path) {
    return client_.Send("GET", AtPosition(path, last_position_));
  }
  int64_t LogSize() { return keel::LogSize(app_.app()); }

  TestApp app_;
  HttpClient client_{app_.base(), app_.token()};
  std::string last_position_ = "0:0";
};

TEST_F(CustomerApiTest, RegisterThenReadBack) {
  auto r = Post(R"({"name":"  Ada Lovelace ","email":"ADA@Example.com","phone":"+44 20 7946 0000",)"
                R"("totalSpending":120.5,"visits":3,"lastVisit":"2026-01-02T03:04:05Z"})");
  ASSERT_EQ(r.status, 201) << r.body;
  Json created(r.body);
  EXPECT_TRUE(created.Bool("/success"));
  const std::string id = created.Str("/data/id");
  EXPECT_TRUE(IsUuid(id));
  EXPECT_EQ(created.Str("/data/name"), "Ada Lovelace");
  EXPECT_EQ(created.Str("/data/email"), "ada@example.com");
  EXPECT_EQ(r.headers["etag"], "\"1.0\"");
  EXPECT_EQ(created.Str("/meta/position/topic"), "keel.customers");
  ASSERT_FALSE(r.headers["x-keel-position"].empty());

  last_position_ = r.headers["x-keel-position"];
  auto got = Get("/api/v1/customers/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  Json doc(got.body);
  EXPECT_EQ(doc.Str("/data/id"), id);
  EXPECT_EQ(doc.Num("/data/totalSpending"), 120.5);
  EXPECT_EQ(doc.Int("/data/visits"), 3);
  EXPECT_EQ(doc.Str("/data/lastVisit"), "2026-01-02T03:04:05.000Z");
  EXPECT_TRUE(doc.Bool("/data/isActive"));
  EXPECT_EQ(got.headers["etag"], "\"1.0\"");
}

TEST_F(CustomerApiTest, EveryViolationIsListedAndNothingIsAppended) {
  const int64_t before = LogSize();
  auto r = Post(R"({"name":"","email":"not-an-email","phone":"call me","totalSpending":-5,)"
                R"("visits":"many","isActive":1,"favouriteColour":"teal"})");
  ASSERT_EQ(r.status, 400);
  Json doc(r.body);
  EXPECT_FALSE(doc.Bool("/success"));
  EXPECT_EQ(doc.Str("/message"), "Validation failed");
  std::set<std::string> fields;
  for (size_t i = 0; i < doc.Size("/errors"); ++i) {
    fields.insert(doc.Str("/errors/" + std::to_string(i) + "/field"));
  }
  EXPECT_EQ(fields, (std::set<std::string>{"name", "email", "phone", "totalSpending", "visits",
                                           "isActive", "favouriteColour"}));
  EXPECT_EQ(LogSize(), before);
}

TEST_F(CustomerApiTest, DuplicateEmailIsConflict) {
  Create("A", "dup@x.io");
  auto r = Post(R"({"name":"B","email":"DUP@x.io"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(Json(r.body).Str("/error/code"), "ALREADY_EXISTS");
}

TEST_F(CustomerApiTest, ConcurrentRegistrationsOfOneEmailHaveExactlyOneWinner) {
  constexpr int kThreads = 16;
  std::atomic<int> created{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient c(app_.base(), app_.token());
      auto r = c.Send("POST", "/api/v1/customers",
                      R"({"name":"Racer )" + std::to_string(t) + R"(","email":"race@x.io"})");
      if (r.status == 201) ++created;
      if (r.status == 409) ++conflicts;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(LogSize(), 1);
}

TEST_F(CustomerApiTest, UpdateReplaceDeactivateAndTheHistoryStays) {
  const std::string id = Create("Grace", "grace@x.io");
  auto patched = client_.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":7})");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(Json(patched.body).Int("/data/visits"), 7);
  EXPECT_EQ(patched.headers["etag"], "\"2.0\"");

  auto put = client_.Send("PUT", "/api/v1/customers/" + id,
                          R"({"name":"Grace Hopper","email":"grace@x.io"})");
  ASSERT_EQ(put.status, 200) << put.body;
  Json replaced(put.body);
  EXPECT_EQ(replaced.Str("/data/name"), "Grace Hopper");
  EXPECT_EQ(replaced.Int("/data/visits"), 0);  // PUT replaces: absent fields take defaults

  auto deleted = client_.Send("DELETE", "/api/v1/customers/" + id);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  EXPECT_FALSE(Json(deleted.body).Bool("/data/isActive"));
  last_position_ = deleted.headers["x-keel-position"];

  auto got = Get("/api/v1/customers/" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_FALSE(Json(got.body).Bool("/data/isActive"));

  auto history = Get("/api/v1/customers/" + id + "/events");
  ASSERT_EQ(history.status, 200) << history.body;
  Json events(history.body);
  ASSERT_EQ(events.Size("/data"), 4u);
  EXPECT_EQ(events.Str("/data/0/type"), "CustomerRegistered");
  EXPECT_EQ(events.Str("/data/1/type"), "CustomerUpdated");
  EXPECT_EQ(events.Str("/data/2/type"), "CustomerUpdated");
  EXPECT_EQ(events.Str("/data/3/type"), "CustomerDeactivated");
  EXPECT_EQ(events.Int("/data/3/aggregate_version"), 4);
  // Who did it: the signed-in admin.
  const std::string admin_id = Json(Get("/api/v1/auth/me").body).Str("/data/user/id");
  EXPECT_EQ(events.Str("/data/3/actor"), admin_id);
}

TEST_F(CustomerApiTest, StaleIfMatchIsConflictAndAppendsNothing) {
  const std::string id = Create("Linus", "linus@x.io");
  const int64_t before = LogSize();
  auto stale = client_.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":1})",
                            {"If-Match: \"5\""});
  EXPECT_EQ(stale.status, 409);
  EXPECT_EQ(Json(stale.body).Str("/error/code"), "CONFLICT");
  EXPECT_EQ(LogSize(), before);
  auto fresh = client_.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":1})",
                            {"If-Match: \"1\""});
  EXPECT_EQ(fresh.status, 200) << fresh.body;
  auto bad = client_.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":1})",
                          {"If-Match: banana"});
  EXPECT_EQ(bad.status, 400);
}

TEST_F(CustomerApiTest, IdempotencyKeyReturnsTheFirstAnswerEvenAfterARestart) {
  const std::string body = R"({"name":"Idem","email":"idem@x.io"})";
  auto first = Post(body, {"Idempotency-Key: order-42"});
  ASSERT_EQ(first.status, 201) << first.body;
  const int64_t after_first = LogSize();
  auto again = Post(body, {"Idempotency-Key: order-42"});
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  EXPECT_EQ(LogSize(), after_first);

  app_.Restart();
  HttpClient c(app_.base(), app_.token());
  auto after_restart = c.Send("POST", "/api/v1/customers", body, {"Idempotency-Key: order-42"});
  EXPECT_EQ(after_restart.status, 201);
  EXPECT_EQ(Json(after_restart.body).Str("/data/id"), Json(first.body).Str("/data/id"));
  EXPECT_EQ(Json(after_restart.body).Int("/meta/position/offset"),
            Json(first.body).Int("/meta/position/offset"));
  EXPECT_EQ(LogSize(), after_first);
}

// A clean stop snapshots the write model; the next start loads it and folds only what came
// after, and decides on it (a taken email stays taken, an answered key stays answered).
TEST_F(CustomerApiTest, ACleanStopSnapshotsTheWriteModelAndTheNextStartUsesIt) {
  RegisterCustomers(client_, "Snap", 5);
  app_.Restart();
  EXPECT_TRUE(
      std::filesystem::exists(app_.config().data_dir + "/snapshots/keel.customers.snapshot"));
  auto report = app_.app().commands().last_load();
  EXPECT_TRUE(report.from_snapshot) << report.snapshot_refused;
  EXPECT_EQ(report.events_folded, 0);
  HttpClient c(app_.base(), app_.token());
  auto taken = c.Send("POST", "/api/v1/customers", R"({"name":"Again","email":"snap3@x.io"})");
  EXPECT_EQ(taken.status, 409) << taken.body;
  RegisterCustomers(c, "After", 2);
  // A stop that cannot save its snapshot (here its temporary file's name is taken by a
  // directory, which refuses even root) leaves the older one, and the next start folds the tail.
  const std::string blocker = app_.config().data_dir + "/snapshots/keel.customers.snapshot.tmp";
  std::filesystem::create_directory(blocker);
  app_.Restart();
  std::filesystem::remove(blocker);
  report = app_.app().commands().last_load();
  EXPECT_TRUE(report.from_snapshot) << report.snapshot_refused;
  EXPECT_EQ(report.events_folded, 2);
  HttpClient d(app_.base(), app_.token());
  EXPECT_EQ(d.Send("POST", "/api/v1/customers", R"({"name":"A","email":"after1@x.io"})").status,
            409);
}

TEST_F(CustomerApiTest, ListPaginatesFiltersAndSorts) {
  for (int i = 0; i < 25; ++i) {
    auto r = Post(R"({"name":"Person )" + std::to_string(i) + R"(","email":"p)" +
                  std::to_string(i) + R"(@x.io","totalSpending":)" + std::to_string(i * 10) +
                  (i % 5 == 0 ? R"(,"isActive":false})" : "}"));
    ASSERT_EQ(r.status, 201);
    last_position_ = r.headers["x-keel-position"];
  }
  // Wait on every partition's last write: the list spans all of them.
  for (int i = 0; i < 50; ++i) {
    if (Json(client_.Send("GET", "/api/v1/customers?limit=1").body).Int("/meta/total") == 25) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto page = client_.Send("GET", "/api/v1/customers?page=2&limit=10&sort=totalSpending&order=desc");
  ASSERT_EQ(page.status, 200) << page.body;
  Json doc(page.body);
  EXPECT_EQ(doc.Int("/meta/total"), 25);
  EXPECT_EQ(doc.Int("/meta/pages"), 3);
  ASSERT_EQ(doc.Size("/data"), 10u);
  EXPECT_EQ(doc.Num("/data/0/totalSpending"), 140.0);

  auto inactive = Json(client_.Send("GET", "/api/v1/customers?isActive=false").body);
  EXPECT_EQ(inactive.Int("/meta/total"), 5);
  auto by_email = Json(client_.Send("GET", "/api/v1/customers?email=P7@X.IO").body);
  EXPECT_EQ(by_email.Int("/meta/total"), 1);
  EXPECT_EQ(by_email.Str("/data/0/name"), "Person 7");
  auto by_name = Json(client_.Send("GET", "/api/v1/customers?name=son%201&sort=name&order=asc").body);
  EXPECT_EQ(by_name.Int("/meta/total"), 11);  // 1, 10..19
  EXPECT_EQ(by_name.Str("/data/0/name"), "Person 1");

  // Newest first by default, oldest first on request, page by page.
  auto newest = Json(client_.Send("GET", "/api/v1/customers?limit=3").body);
  EXPECT_EQ(newest.Int("/meta/total"), 25);
  EXPECT_EQ(newest.Str("/data/0/name"), "Person 24");
  EXPECT_EQ(newest.Str("/data/2/name"), "Person 22");
  auto oldest = Json(client_.Send("GET", "/api/v1/customers?limit=3&page=2&order=asc").body);
  EXPECT_EQ(oldest.Str("/data/0/name"), "Person 3");

  auto bad = client_.Send("GET", "/api/v1/customers?limit=500&sort=shoeSize");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json(bad.body).Size("/errors"), 2u);
}

TEST_F(CustomerApiTest, UnknownCustomerRouteAndMethod) {
  EXPECT_EQ(client_.Send("GET", "/api/v1/customers/nope").status, 404);
  EXPECT_EQ(client_.Send("PATCH", "/api/v1/customers/nope", R"({"visits":1})").status, 404);
  EXPECT_EQ(client_.Send("GET", "/api/v1/nothing-here").status, 404);
  auto method = client_.Send("POST", "/api/v1/customers/x/events", "{}");
  EXPECT_EQ(method.status, 405);
  EXPECT_FALSE(Json(method.body).Bool("/success"));
}

TEST_F(CustomerApiTest, ProjectionAdminShowsPositionsLagAndCounters) {
  Create("P", "p@x.io");
  const std::string position = last_position_;
  Create("Q", "q@x.io");
  ASSERT_EQ(Get("/api/v1/customers?limit=1").status, 200);  // waits for the last write
  const size_t colon = position.find(':');
  ASSERT_TRUE(app_.app().customer_projection().WaitFor(std::stoi(position.substr(0, colon)),
                                                        std::stoll(position.substr(colon + 1)),
                                                        std::chrono::seconds(5)));
  auto r = client_.Send("GET", "/api/v1/admin/projections");
  ASSERT_EQ(r.status, 200) << r.body;
  Json doc(r.body);
  // One entry per topic group: the customers stream's read models, the users stream's, the
  // segments stream's, the campaigns stream's, the projects stream's, the tasks stream's, the
  // work logs stream's, the products stream's, the promotions stream's, the loyalty stream's.
  ASSERT_EQ(doc.Size("/data"), 10u);
  EXPECT_EQ(doc.Str("/data/0/name"), "customers");
  EXPECT_EQ(doc.Str("/data/0/topic"), "keel.customers");
  EXPECT_EQ(doc.Str("/data/0/readModels/0"), "orders");
  EXPECT_EQ(doc.Str("/data/0/readModels/1"), "customers");
  EXPECT_EQ(doc.Str("/data/0/readModels/2"), "customer_history");
  EXPECT_EQ(doc.Str("/data/1/name"), "users");
  EXPECT_EQ(doc.Str("/data/1/readModels/0"), "sessions");
  EXPECT_EQ(doc.Str("/data/2/name"), "segments");
  EXPECT_EQ(doc.Str("/data/2/readModels/0"), "segments");
  EXPECT_EQ(doc.Str("/data/3/name"), "campaigns");
  EXPECT_EQ(doc.Str("/data/3/readModels/0"), "campaigns");
  EXPECT_EQ(doc.Str("/data/4/name"), "projects");
  EXPECT_EQ(doc.Str("/data/4/readModels/0"), "projects");
  EXPECT_EQ(doc.Str("/data/5/name"), "tasks");
  EXPECT_EQ(doc.Str("/data/5/topic"), "keel.tasks");
  EXPECT_EQ(doc.Str("/data/5/readModels/0"), "tasks");
  EXPECT_EQ(doc.Str("/data/6/name"), "worklogs");
  EXPECT_EQ(doc.Str("/data/6/readModels/0"), "worklogs");
  EXPECT_EQ(doc.Str("/data/7/name"), "products");
  EXPECT_EQ(doc.Str("/data/7/readModels/0"), "products");
  EXPECT_EQ(doc.Str("/data/8/name"), "promotions");
  EXPECT_EQ(doc.Str("/data/8/readModels/0"), "promotions");
  EXPECT_EQ(doc.Str("/data/9/name"), "loyalty");
  EXPECT_EQ(doc.Str("/data/9/readModels/0"), "loyalty");
  EXPECT_EQ(doc.Str("/data/0/state"), "running");
  EXPECT_EQ(doc.Int("/data/0/lag"), 0);
  EXPECT_EQ(doc.Int("/data/0/counters/eventsApplied"), 2);
  EXPECT_EQ(doc.Size("/data/0/partitions"), static_cast<size_t>(app_.app().log().PartitionCount()));
  int64_t positions = 0;
  for (size_t i = 0; i < doc.Size("/data/0/partitions"); ++i) {
    const std::string at = "/data/0/partitions/" + std::to_string(i);
    EXPECT_EQ(doc.Int(at + "/position"), doc.Int(at + "/end"));
    positions += doc.Int(at + "/position");
  }
  EXPECT_EQ(positions, 2);
}

TEST_F(CustomerApiTest, MetricsCountRequestsCommandsEventsAndProjections) {
  Create("M", "m@x.io");
  ASSERT_EQ(Post(R"({"name":"M2","email":"m@x.io"})").status, 409);
  ASSERT_EQ(Post(R"({"nope":1})").status, 400);
  ASSERT_EQ(Get("/api/v1/customers?limit=1").status, 200);
  auto r = client_.Send("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain", 0), 0u) << r.headers["content-type"];
  for (const char* line : {
           R"(keel_http_requests_total{method="POST",route="/api/v1/customers",status="201"} 1)",
           R"(keel_http_requests_total{method="POST",route="/api/v1/customers",status="409"} 1)",
           R"(keel_commands_total{outcome="accepted",type="RegisterCustomer"} 1)",
           R"(keel_commands_total{outcome="rejected",type="RegisterCustomer"} 2)",
           R"(keel_events_appended_total{topic="keel.customers"} 1)",
           R"(keel_projection_events_applied{projection="customers"} 1)",
           R"(keel_projection_stalled{projection="customers"} 0)",
           R"(keel_http_request_duration_seconds_count{method="POST",route="/api/v1/customers"} 3)"}) {
    EXPECT_NE(r.body.find(line), std::string::npos) << "missing: " << line;
  }
  EXPECT_NE(r.body.find("keel_projection_lag_events{partition=\"0\",projection=\"customers\"} 0"),
            std::string::npos);
  EXPECT_NE(r.body.find("keel_memory_bytes{kind=\"process_resident\"}"), std::string::npos);
}

TEST_F(CustomerApiTest, RequestIdsAreEchoedAndRecordedInTheEvents) {
  auto r = Post(R"({"name":"Trace","email":"trace@x.io"})", {"X-Request-Id: req-77"});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.headers["x-request-id"], "req-77");
  const std::string id = Json(r.body).Str("/data/id");
  auto patched = client_.Send("PATCH", "/api/v1/customers/" + id, R"({"visits":2})",
                              {"X-Correlation-Id: import-9"});
  ASSERT_EQ(patched.status, 200);
  const std::string generated = patched.headers["x-request-id"];
  EXPECT_EQ(generated.size(), 16u);
  last_position_ = patched.headers["x-keel-position"];
  Json events(Get("/api/v1/customers/" + id + "/events").body);
  ASSERT_EQ(events.Size("/data"), 2u);
  EXPECT_EQ(events.Str("/data/0/causation_id"), "req-77");
  EXPECT_EQ(events.Str("/data/0/correlation_id"), "req-77");
  EXPECT_EQ(events.Str("/data/1/causation_id"), generated);
  EXPECT_EQ(events.Str("/data/1/correlation_id"), "import-9");
  // Every answer carries one, errors included.
  EXPECT_EQ(client_.Send("GET", "/api/v1/nowhere").headers["x-request-id"].size(), 16u);
  // "ingest/…" is the bulk ingestion's causation (no welcome): a client's is replaced.
  auto spoofed = Post(R"({"name":"Spoof","email":"spoof@x.io"})", {"X-Request-Id: ingest/x"});
  ASSERT_EQ(spoofed.status, 201);
  EXPECT_EQ(spoofed.headers["x-request-id"].size(), 16u);
}

TEST_F(CustomerApiTest, HealthAndReady) {
  EXPECT_EQ(client_.Send("GET", "/health").status, 200);
  EXPECT_EQ(AwaitReady(client_).status, 200);
}

// A plain TCP connection to the server, reads timing out after `seconds`; -1 if refused.
int ConnectRaw(uint16_t port, int seconds) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// What arrives next on `fd` (one read), or "" when nothing does before its timeout.
std::string ReadSome(int fd) {
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

// HTTP/1.1 without a Connection header: the connection must stay open for a second request.
TEST_F(CustomerApiTest, KeepAliveWithoutAConnectionHeader) {
  const int fd = ConnectRaw(app_.app().port(), 5);
  ASSERT_GE(fd, 0);
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    const std::string response = ReadSome(fd);
    ASSERT_FALSE(response.empty()) << "connection closed after request " << i;
    EXPECT_NE(response.find("200 OK"), std::string::npos);
    EXPECT_EQ(response.find("Connection: close"), std::string::npos) << response;
  }
  ::close(fd);
}

// "Expect: 100-continue" (curl sends it for any body over 1 MiB): the client holds its body
// back until "100 Continue" arrives, so it must arrive (curl would wait a second for each
// request). Twice on one connection: each request gets its own.
TEST_F(CustomerApiTest, ExpectContinueIsAnsweredBeforeTheBody) {
  const int64_t before = LogSize();
  const int fd = ConnectRaw(app_.app().port(), 3);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 2; ++i) {
    const std::string body =
        R"({"name":"Patient","email":"patient)" + std::to_string(i) + R"(@x.io"})";
    const std::string head =
        "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + app_.token() +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nExpect: 100-continue\r\n\r\n";
    ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
    EXPECT_EQ(ReadSome(fd), "HTTP/1.1 100 Continue\r\n\r\n") << "request " << i;
    ASSERT_EQ(::send(fd, body.data(), body.size(), 0), static_cast<ssize_t>(body.size()));
    const std::string response = ReadSome(fd);
    EXPECT_EQ(response.rfind("HTTP/1.1 201", 0), 0u) << response;
  }
  ::close(fd);
  EXPECT_EQ(LogSize(), before + 2);
}

TEST_F(CustomerApiTest, UndecodableUnknownAndNewerEventsDoNotStopTheProjection) {
  auto& log = app_.app().log();
  auto bad = log.Append(std::string(kCustomersTopic), "junk", {"{this is not an event"});
  ASSERT_TRUE(bad);
  auto unknown = log.Append(
      std::string(kCustomersTopic), "k",
      {R"({"event_id":"e","type":"CustomerTeleported","schema_version":1,"aggregate_type":"customer",)"
       R"("aggregate_id":"k","aggregate_version":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{}})"});
  ASSERT_TRUE(unknown);
  auto newer = log.Append(
      std::string(kCustomersTopic), "k2",
      {R"({"event_id":"e2","type":"CustomerUpdated","schema_version":99,"aggregate_type":"customer",)"
       R"("aggregate_id":"k2","aggregate_version":1,"occurred_at":"2026-01-01T00:00:00Z","payload":{}})"});
  ASSERT_TRUE(newer);
  const std::string id = Create("After", "after@x.io");
  ASSERT_TRUE(app_.app().customer_projection().WaitFor(bad->partition, bad->last_offset,
                                                        std::chrono::seconds(5)));
  ASSERT_TRUE(app_.app().customer_projection().WaitFor(unknown->partition, unknown->last_offset,
                                                        std::chrono::seconds(5)));
  ASSERT_TRUE(app_.app().customer_projection().WaitFor(newer->partition, newer->last_offset,
                                                        std::chrono::seconds(5)));
  EXPECT_EQ(Get("/api/v1/customers/" + id).status, 200);

  auto letters = client_.Send("GET", "/api/v1/admin/dead-letters");
  ASSERT_EQ(letters.status, 200);
  Json doc(letters.body);
  ASSERT_EQ(doc.Size("/data"), 1u);
  EXPECT_EQ(doc.Int("/data/0/partition"), bad->partition);
  EXPECT_EQ(doc.Int("/data/0/offset"), bad->last_offset);
  EXPECT_EQ(doc.Str("/data/0/event"), "{this is not an event");
  EXPECT_NE(doc.Str("/data/0/error").find("not valid JSON"), std::string::npos);
  auto counters = app_.app().customer_projection().counters();
  EXPECT_EQ(counters.dead_lettered, 1);
  EXPECT_EQ(counters.skipped_unknown, 1);
  EXPECT_EQ(counters.skipped_newer, 1);
}

}  // namespace
}  // namespace keel

// Keel on Kafka (librdkafka's mock cluster), end to end over HTTP, and interoperable with
// other Kafka clients: kcat reads what Keel appended, and an event kcat produces in the
// documented format is projected like any other.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "domain/partitioner.h"
#include "domain/topics.h"
#include "infra/kafka_log.h"
#include "tests/test_app.h"

namespace keel {
namespace {

std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

class KafkaInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(std::system("command -v kcat > /dev/null"), 0) << "kcat is required (scripts/setup)";
    auto cluster = KafkaMockCluster::Start();
    ASSERT_TRUE(cluster) << cluster.error().message;
    cluster_ = std::move(*cluster);
    for (std::string_view topic : kAllTopics) {
      ASSERT_TRUE(cluster_->CreateTopic(std::string(topic), 8));
    }
    AppConfig config;
    config.kafka_brokers = cluster_->bootstrap_servers();
    config.partitions = 8;
    app_ = std::make_unique<TestApp>(config);
  }

  std::unique_ptr<KafkaMockCluster> cluster_;
  std::unique_ptr<TestApp> app_;
};

TEST_F(KafkaInteropTest, KcatReadsKeelsEventsAndKeelProjectsKcatsEvents) {
  HttpClient c(app_->base(), app_->token());
  auto created = c.Send("POST", "/api/v1/customers", R"({"name":"Kafka Kate","email":"kate@x.io"})");
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = Json(created.body).Str("/data/id");
  const int64_t partition = Json(created.body).Int("/meta/position/partition");
  EXPECT_EQ(partition, PartitionForKey(id, 8));
  auto got = c.Send("GET", "/api/v1/customers/" + id + "?minPosition=" +
                               created.headers["x-keel-position"]);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.headers.count("x-keel-stale"), 0u);

  // kcat sees the event, keyed by the customer, in the partition Keel chose.
  const std::string brokers = cluster_->bootstrap_servers();
  const std::string consumed =
      Shell("kcat -C -q -b " + brokers + " -t keel.customers -o beginning -e -f '%k|%p|%s\\n'");
  const std::string expected_prefix = id + "|" + std::to_string(partition) + "|";
  ASSERT_NE(consumed.find(expected_prefix), std::string::npos) << consumed;
  EXPECT_NE(consumed.find("\"type\":\"CustomerRegistered\""), std::string::npos);

  // An event produced by kcat in the documented import format (schema v1: defaults omitted,
  // email not yet normalised), keyed by the customer with the Java-compatible partitioner.
  const std::string imported_id = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0001";
  const std::string event =
      R"({"event_id":"0190aaaa-bbbb-7ccc-8ddd-eeeeffff0002","type":"CustomerRegistered",)"
      R"("schema_version":1,"aggregate_type":"customer","aggregate_id":")" + imported_id +
      R"(","aggregate_version":1,"occurred_at":"2026-03-01T10:00:00Z","actor":"kcat-import",)"
      R"("payload":{"name":"  Imported Ian ","email":"IAN@Example.COM"}})";
  Shell("printf '%s\\n' '" + event + "' | kcat -P -q -b " + brokers +
      " -t keel.customers -k " + imported_id + " -X partitioner=murmur2_random");
  HttpResult imported;
  for (int i = 0; i < 200; ++i) {
    imported = c.Send("GET", "/api/v1/customers/" + imported_id);
    if (imported.status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_EQ(imported.status, 200) << imported.body;
  Json doc(imported.body);
  EXPECT_EQ(doc.Str("/data/name"), "Imported Ian");
  EXPECT_EQ(doc.Str("/data/email"), "ian@example.com");
  EXPECT_EQ(doc.Str("/data/createdAt"), "2026-03-01T10:00:00.000Z");
  const std::string placed =
      Shell("kcat -C -q -b " + brokers + " -t keel.customers -o beginning -e -f '%k|%p\\n'");
  EXPECT_NE(placed.find(imported_id + "|" + std::to_string(PartitionForKey(imported_id, 8))),
            std::string::npos)
      << placed;

  // The imported customer is known to the command side after a restart, too.
  app_->Restart();
  HttpClient c2(app_->base(), app_->token());
  auto duplicate = c2.Send("POST", "/api/v1/customers", R"({"name":"Other","email":"ian@example.com"})");
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// Orders and bulk ingestion on Kafka: the same answers and stats as on the embedded log (the
// mock cluster's partitions keep about 5 MiB, so the volume stays small).
TEST_F(KafkaInteropTest, OrdersAndBulkIngestionWorkOnKafka) {
  HttpClient c(app_->base(), app_->token());
  std::string customers;
  for (int i = 0; i < 50; ++i) {
    customers += "{\"name\":\"K" + std::to_string(i) + "\",\"email\":\"k" + std::to_string(i) + "@x.io\"}\n";
  }
  auto ingested = c.Send("POST", "/api/v1/ingest/customers", customers, {"Content-Type: application/x-ndjson"}, 60000);
  ASSERT_EQ(ingested.status, 200) << ingested.body;
  EXPECT_EQ(Json(ingested.body).Int("/data/created"), 50);
  ASSERT_EQ(AwaitCustomerTotal(c, 50), 50);
  std::string orders;
  for (int i = 0; i < 500; ++i) {
    orders += "{\"customerEmail\":\"k" + std::to_string(i % 50) + "@x.io\",\"orderAmount\":2.5,\"orderId\":\"KO-" +
              std::to_string(i) + "\"" + (i % 5 == 0 ? ",\"status\":\"Cancelled\"" : "") + "}\n";
  }
  auto placed = c.Send("POST", "/api/v1/ingest/orders", orders, {"Content-Type: application/x-ndjson"}, 60000);
  ASSERT_EQ(placed.status, 200) << placed.body;
  EXPECT_EQ(Json(placed.body).Int("/data/created"), 500);
  EXPECT_EQ(Json(c.Send("POST", "/api/v1/ingest/orders", orders, {"Content-Type: application/x-ndjson"}, 60000).body)
                .Int("/data/duplicates"), 500);
  // One more order through the single-command route, read back at its position.
  auto one = c.Send("POST", "/api/v1/orders", R"({"customerEmail":"k1@x.io","orderAmount":10})");
  ASSERT_EQ(one.status, 201) << one.body;
  auto k1 = c.Send("GET", "/api/v1/customers?email=k1@x.io&minPosition=" + one.headers["x-keel-position"]);
  Json j(k1.body);
  // k1 has orders 1, 51, …, 451 (none cancelled: no multiple of 5) and the one above.
  EXPECT_EQ(j.Int("/data/0/orderCount"), 10 + 1);
  EXPECT_EQ(j.Num("/data/0/totalSpending"), 10 * 2.5 + 10);
  // k1's history is read back from Kafka (the history table points into the log): its
  // registration, then its eleven orders, spread over the partition among other customers'.
  Json history(c.Send("GET", "/api/v1/customers/" + j.Str("/data/0/id") + "/events").body);
  ASSERT_EQ(history.Int("/meta/total"), 1 + 11);
  EXPECT_EQ(history.Str("/data/0/type"), "CustomerRegistered");
  for (int i = 1; i <= 11; ++i)
    EXPECT_EQ(history.Str("/data/" + std::to_string(i) + "/type"), "OrderPlaced");
  EXPECT_EQ(history.Num("/data/11/payload/orderAmount"), 10);
  // k0's ten orders (0, 50, …, 450) were all placed cancelled.
  Json k0(c.Send("GET", "/api/v1/customers?email=k0@x.io").body);
  EXPECT_EQ(k0.Int("/data/0/orderCount"), 0);
  EXPECT_EQ(k0.Num("/data/0/totalSpending"), 0);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// Two servers on one cluster: the one started second takes the writer lease, reads everything
// the first wrote before it decides anything, and is the only one that acknowledges commands;
// the first answers 503 with the reason. No email ends up with two customers.
TEST_F(KafkaInteropTest, ASecondServerFencesTheFirstAndDecidesOnEverythingItWrote) {
  HttpClient first(app_->base(), app_->token());
  auto before = first.Send("POST", "/api/v1/customers", R"({"name":"Ann","email":"ann@x.io"})");
  ASSERT_EQ(before.status, 201) << before.body;
  const std::string ann = Json(before.body).Str("/data/id");

  AppConfig config;
  config.kafka_brokers = cluster_->bootstrap_servers();
  config.partitions = 8;
  TestApp second_app(config);
  HttpClient second(second_app.base(), second_app.token());

  HttpResult ready;
  for (int i = 0; i < 250; ++i) {
    ready = first.Send("GET", "/ready");
    if (ready.status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("fenced"), std::string::npos) << ready.body;

  const std::string bob = R"({"name":"Bob","email":"bob@x.io"})";
  auto refused = first.Send("POST", "/api/v1/customers", bob);
  EXPECT_EQ(refused.status, 503) << refused.body;
  auto created = second.Send("POST", "/api/v1/customers", bob);
  ASSERT_EQ(created.status, 201) << created.body;
  // The first server's customer is known to the second's command side and read model.
  auto duplicate =
      second.Send("POST", "/api/v1/customers", R"({"name":"Ann 2","email":"ann@x.io"})");
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;
  EXPECT_EQ(second.Send("GET", "/api/v1/customers/" + ann).status, 200);
  EXPECT_EQ(
      first.Send("POST", "/api/v1/customers", R"({"name":"Ann 3","email":"ann3@x.io"})").status,
      503);

  Json bobs(second
                .Send("GET", AtPosition("/api/v1/customers?email=bob@x.io",
                                        created.headers["x-keel-position"]))
                .body);
  EXPECT_EQ(bobs.Int("/meta/total"), 1);
  EXPECT_EQ(second.Send("GET", "/ready").status, 200);
}

}  // namespace
}  // namespace keel

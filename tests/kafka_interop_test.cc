// Keel on Kafka (librdkafka's mock cluster), end to end over HTTP, and interoperable with
// other Kafka clients: kcat reads what Keel appended, and an event kcat produces in the
// documented format is projected like any other.
#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "domain/partitioner.h"
#include "infra/kafka_log.h"
#include "projections/customer_projector.h"
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
    ASSERT_TRUE(cluster_->CreateTopic(std::string(kCustomersTopic), 8));
    AppConfig config;
    config.kafka_brokers = cluster_->bootstrap_servers();
    config.partitions = 8;
    app_ = std::make_unique<TestApp>(config);
  }

  std::unique_ptr<KafkaMockCluster> cluster_;
  std::unique_ptr<TestApp> app_;
};

TEST_F(KafkaInteropTest, KcatReadsKeelsEventsAndKeelProjectsKcatsEvents) {
  HttpClient c(app_->base());
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
  HttpClient c2(app_->base());
  auto duplicate = c2.Send("POST", "/api/v1/customers", R"({"name":"Other","email":"ian@example.com"})");
  EXPECT_EQ(duplicate.status, 409) << duplicate.body;
}

}  // namespace
}  // namespace keel

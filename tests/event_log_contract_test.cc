// One contract, two logs: every test here runs against the embedded log and against Kafka
// (librdkafka's mock cluster, which speaks the Kafka protocol on loopback).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>

#include "domain/partitioner.h"
#include "infra/embedded_log.h"
#include "infra/kafka_log.h"
#include "tests/test_util.h"

namespace keel {
namespace {

constexpr int32_t kPartitions = 4;

class LogFactory {
 public:
  virtual ~LogFactory() = default;
  virtual std::unique_ptr<EventLog> Make() = 0;
};

class EmbeddedFactory final : public LogFactory {
 public:
  std::unique_ptr<EventLog> Make() override {
    auto log = EmbeddedLog::Open({.dir = dir_.path() + "/log", .partitions = kPartitions});
    EXPECT_TRUE(log) << log.error().message;
    return std::move(*log);
  }

 private:
  TempDir dir_;
};

class KafkaFactory final : public LogFactory {
 public:
  KafkaFactory() {
    auto cluster = KafkaMockCluster::Start();
    EXPECT_TRUE(cluster) << cluster.error().message;
    cluster_ = std::move(*cluster);
  }
  std::unique_ptr<EventLog> Make() override {
    // The mock cluster does not serve CreateTopics; topics are made here as an operator would.
    for (const char* t : {"t.orders", "t.customers", "t.other"}) {
      (void)cluster_->CreateTopic(t, kPartitions);
    }
    auto log = KafkaLog::Open({.brokers = cluster_->bootstrap_servers(), .partitions = kPartitions});
    EXPECT_TRUE(log) << log.error().message;
    return std::move(*log);
  }

 private:
  std::unique_ptr<KafkaMockCluster> cluster_;
};

class EventLogContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "embedded") {
      factory_ = std::make_unique<EmbeddedFactory>();
    } else {
      factory_ = std::make_unique<KafkaFactory>();
    }
    log_ = factory_->Make();
    ASSERT_TRUE(log_);
  }

  // Reads a partition from `from` until `count` records came or 10 s passed.
  std::vector<LogRecord> ReadN(const std::string& topic, int32_t partition, int64_t from,
                               size_t count) {
    auto reader = log_->OpenReader(topic, {{partition, from}});
    EXPECT_TRUE(reader) << reader.error().message;
    std::vector<LogRecord> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
      auto got = (*reader)->Poll(count - out.size(), std::chrono::milliseconds(200));
      EXPECT_TRUE(got) << got.error().message;
      if (!got) break;
      std::move(got->begin(), got->end(), std::back_inserter(out));
    }
    return out;
  }

  std::unique_ptr<LogFactory> factory_;
  std::unique_ptr<EventLog> log_;
};

TEST_P(EventLogContractTest, AppendReturnsConsecutivePositionsInTheKeysPartition) {
  auto first = log_->Append("t.customers", "alice", {"a1", "a2", "a3"});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->topic, "t.customers");
  EXPECT_EQ(first->partition, PartitionForKey("alice", kPartitions));
  EXPECT_EQ(first->first_offset, 0);
  EXPECT_EQ(first->last_offset, 2);
  auto second = log_->Append("t.customers", "alice", {"a4"});
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first_offset, 3);
  EXPECT_EQ(second->last_offset, 3);
}

TEST_P(EventLogContractTest, ReadsAPartitionFromAPosition) {
  ASSERT_TRUE(log_->Append("t.customers", "bob", {"b1", "b2", "b3"}));
  const int32_t p = PartitionForKey("bob", kPartitions);
  auto records = ReadN("t.customers", p, 1, 2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].value, "b2");
  EXPECT_EQ(records[0].offset, 1);
  EXPECT_EQ(records[0].key, "bob");
  EXPECT_EQ(records[1].value, "b3");
  EXPECT_EQ(records[1].partition, p);
}

TEST_P(EventLogContractTest, EndOffsetIsTheNextOffset) {
  const int32_t p = PartitionForKey("carol", kPartitions);
  auto before = log_->EndOffset("t.other", p);
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(*before, 0);
  ASSERT_TRUE(log_->Append("t.other", "carol", {"c1", "c2"}));
  EXPECT_EQ(log_->EndOffset("t.other", p).value_or(-1), 2);
}

TEST_P(EventLogContractTest, ConcurrentAppendsKeepEachKeysOrder) {
  constexpr int kThreads = 4, kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "key-" + std::to_string(t);
      for (int i = 0; i < kPerThread; ++i) {
        auto r = log_->Append("t.orders", key, {key + ":" + std::to_string(i)});
        ASSERT_TRUE(r) << r.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::map<std::string, std::vector<std::string>> by_key;
  size_t total = 0;
  for (int32_t p = 0; p < kPartitions; ++p) {
    const auto end = log_->EndOffset("t.orders", p).value_or(0);
    for (auto& r : ReadN("t.orders", p, 0, static_cast<size_t>(end))) {
      EXPECT_EQ(PartitionForKey(r.key, kPartitions), p);
      by_key[r.key].push_back(r.value);
      ++total;
    }
  }
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPerThread));
  for (auto& [key, values] : by_key) {
    ASSERT_EQ(values.size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) EXPECT_EQ(values[i], key + ":" + std::to_string(i));
  }
}

TEST_P(EventLogContractTest, ReaderWaitsForRecordsAppendedLater) {
  const int32_t p = PartitionForKey("dave", kPartitions);
  auto reader = log_->OpenReader("t.customers", {{p, 0}});
  ASSERT_TRUE(reader);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(log_->Append("t.customers", "dave", {"d1"}));
  });
  std::vector<LogRecord> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    auto r = (*reader)->Poll(10, std::chrono::milliseconds(500));
    ASSERT_TRUE(r);
    got = std::move(*r);
  }
  writer.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "d1");
}

TEST_P(EventLogContractTest, ReadsScatteredOffsetsOfAPartition) {
  // 300 records in one partition; read a few near each other, and a few far apart (seeks both
  // ways are exercised by reading twice).
  const int32_t p = PartitionForKey("erin", kPartitions);
  auto value_at = [](int64_t offset) {
    std::string v = "e";
    return v.append(std::to_string(offset));  // not "e" + …: GCC 12 warns falsely (-Wrestrict)
  };
  std::vector<std::string> values;
  for (int i = 0; i < 300; ++i) values.push_back(value_at(i));
  ASSERT_TRUE(log_->Append("t.customers", "erin", values));
  const std::vector<int64_t> offsets = {0, 1, 3, 3, 70, 71, 150, 299};
  for (int round = 0; round < 2; ++round) {
    auto got = log_->ReadAt("t.customers", p, offsets);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), offsets.size());
    for (size_t i = 0; i < offsets.size(); ++i) {
      EXPECT_EQ((*got)[i].offset, offsets[i]);
      EXPECT_EQ((*got)[i].partition, p);
      EXPECT_EQ((*got)[i].value, value_at(offsets[i]));
    }
  }
  auto unsorted = log_->ReadAt("t.customers", p, {5, 2});
  ASSERT_FALSE(unsorted);
  EXPECT_EQ(unsorted.error().code, ErrorCode::kInvalidArgument);
  auto beyond = log_->ReadAt("t.customers", p, {299, 300}, std::chrono::milliseconds(300));
  ASSERT_FALSE(beyond);
  EXPECT_EQ(beyond.error().code, ErrorCode::kUnavailable);
}

INSTANTIATE_TEST_SUITE_P(BothLogs, EventLogContractTest, ::testing::Values("embedded", "kafka"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace keel

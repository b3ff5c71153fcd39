// KafkaLog: EventLog on Kafka through librdkafka. Production and scale-out mode.
//
// Producer: idempotent (enable.idempotence, acks=all), so records of one key are written once
// each and in order. The partition is chosen by Keel's murmur2 (domain/partitioner.h), which is
// the Java client's, so any Kafka client with the default partitioner agrees. One append of
// several records is ordered but, unlike the embedded log, not atomic: Kafka gives that only
// with transactions (a later step). Readers assign partitions and seek; they never join a
// group or commit offsets: projectors keep their positions in their own store.
//
// Topics are created on first use with the configured partition count; an existing topic with
// another count is refused (co-partitioning would break). Thread-safe; the destructor flushes
// outstanding appends (bounded, 10 s) and may block.
#pragma once

#include <memory>
#include <string>

#include "infra/event_log.h"

namespace keel {

class KafkaLog final : public EventLog {
 public:
  struct Options {
    std::string brokers;
    int32_t partitions = 8;
    int replication_factor = 1;
  };

  static Result<std::unique_ptr<KafkaLog>> Open(Options options);
  ~KafkaLog() override;
  KafkaLog(const KafkaLog&) = delete;
  KafkaLog& operator=(const KafkaLog&) = delete;

  int32_t PartitionCount() const override;
  void AppendAsync(const std::string& topic, const std::string& key,
                   std::vector<std::string> values, AppendCallback done) override;
  Result<int64_t> EndOffset(const std::string& topic, int32_t partition) override;
  Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) override;

 private:
  struct Impl;
  explicit KafkaLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// librdkafka's in-process mock cluster: speaks the Kafka protocol on loopback. For tests and
// `keel kafka-mock`. Thread-safe; stops in the destructor.
class KafkaMockCluster final {
 public:
  static Result<std::unique_ptr<KafkaMockCluster>> Start(int brokers = 1);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_; }
  Status CreateTopic(const std::string& topic, int32_t partitions);

 private:
  struct Impl;
  explicit KafkaMockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace keel

// KafkaLog: EventLog on Kafka through librdkafka. Production and scale-out mode.
//
// Writer lease: until command writers own partitions, one process at a time may append. A
// writer's producer is transactional with one transactional.id per deployment
// (Options::transactional_id). Opening the log takes the lease: init_transactions makes the
// brokers fence every older producer with that id (its next transaction fails) and abort what it
// left open; the writer then records itself in kWriterLeaseTopic, which every writer watches for
// a newer one. A fenced writer acknowledges nothing more: its appends fail with kUnavailable and
// Health() says why, until the process opens the log again (taking the lease back).
//
// Appends are committed in transactions by one committing thread, which groups the appends that
// wait into one transaction (group commit). An append is acknowledged once its transaction has
// committed, so the records of one append are atomic for readers, which read committed records
// only (isolation.level=read_committed). A transaction leaves a marker in every partition it
// wrote, and the marker takes an offset: offsets skip, and LogReader::Position says how far a
// reader got. Records are idempotent (acks=all), so each is written once and in order.
//
// The partition is chosen by Keel's murmur2 (domain/partitioner.h), which is the Java client's,
// so any Kafka client with the default partitioner agrees. Readers assign partitions and seek;
// they never join a group or commit offsets: projectors keep their positions in their own store.
//
// Topics: Options::topics are created or checked at Open, others on first use. Keel creates a
// topic with Options::partitions, the replication factor (a warning below 3) and a configuration
// that keeps every event (infra/kafka_topic_policy.h). An existing topic with another partition
// count, or whose configuration would delete events, is refused. librdkafka's mock cluster serves
// neither CreateTopics nor DescribeConfigs: on it a missing topic is refused (keel kafka-mock
// creates Keel's) and configurations are not checked.
//
// Thread-safe. The destructor commits what was appended before it (one transaction, bounded by
// the commit timeout) and may block.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "infra/event_log.h"

namespace keel {

// One partition; each writer appends a record naming itself when it takes the lease.
inline constexpr std::string_view kWriterLeaseTopic = "keel.writer-lease";

class KafkaLog final : public EventLog {
 public:
  struct Options {
    std::string brokers;
    int32_t partitions = 8;
    // Replicas of the topics Keel creates; 0: the smaller of 3 and the cluster's broker count.
    int replication_factor = 0;
    // The writer lease. Every process appending to the same topics must use the same id, or
    // they do not fence each other.
    std::string transactional_id = "keel-writer";
    // A reader only (keel replay): takes no lease; appends fail with kFailedPrecondition.
    bool read_only = false;
    // Created or checked at Open, so that a topic Keel cannot use stops the start.
    std::vector<std::string> topics;
  };

  // Connects, checks Options::topics and, for a writer, takes the lease (fencing the previous
  // holder). kUnavailable when the brokers cannot be reached; kFailedPrecondition for a topic
  // Keel must not use.
  static Result<std::unique_ptr<KafkaLog>> Open(Options options);
  ~KafkaLog() override;
  KafkaLog(const KafkaLog&) = delete;
  KafkaLog& operator=(const KafkaLog&) = delete;

  int32_t PartitionCount() const override;
  void AppendAsync(const std::string& topic, const std::string& key,
                   std::vector<std::string> values, AppendCallback done) override;
  // kUnavailable once this writer has been fenced or its producer failed; lasts for the life of
  // the object.
  Status Health() override;
  Result<int64_t> EndOffset(const std::string& topic, int32_t partition) override;
  Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) override;

  // The replication factor of the topics this log creates.
  int replication_factor() const;

 private:
  struct Impl;
  explicit KafkaLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// librdkafka's in-process mock cluster: speaks the Kafka protocol on loopback. For tests and
// `keel kafka-mock`. It has kWriterLeaseTopic from the start. Thread-safe; stops in the
// destructor.
//
// What it does not do that a real cluster does (librdkafka 2.0.2): it never fences a
// transactional producer (a second init_transactions with the same id gets a new producer id
// and the old one keeps committing), writes no transaction markers (offsets do not skip), shows
// uncommitted and aborted records to read_committed readers, and answers neither CreateTopics
// nor DescribeConfigs.
class KafkaMockCluster final {
 public:
  static Result<std::unique_ptr<KafkaMockCluster>> Start(int brokers = 1);
  ~KafkaMockCluster();
  KafkaMockCluster(const KafkaMockCluster&) = delete;
  KafkaMockCluster& operator=(const KafkaMockCluster&) = delete;

  const std::string& bootstrap_servers() const { return bootstrap_; }
  Status CreateTopic(const std::string& topic, int32_t partitions);
  // The next requests of Kafka protocol API `api_key` (e.g. 26, EndTxn) from any client are
  // answered with these Kafka error codes, one each, in order.
  void FailNextRequests(int16_t api_key, const std::vector<int>& error_codes);

 private:
  struct Impl;
  explicit KafkaMockCluster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace keel

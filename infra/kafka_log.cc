#include "infra/kafka_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

#include "domain/partitioner.h"

namespace keel {
namespace {

constexpr int kAdminTimeoutMs = 10000;

// One append in flight: completes when the last of its records is acknowledged.
struct AppendContext {
  std::string topic;
  int32_t partition;
  std::atomic<int> remaining;
  std::atomic<int64_t> first{INT64_MAX};
  std::atomic<int64_t> last{-1};
  std::mutex mu;
  std::optional<Error> error;  // guarded by mu
  AppendCallback done;
};

Status SetConf(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return Fail(Error::InvalidArgument(std::string("Kafka setting ") + key + ": " + err));
  }
  return {};
}

// A configuration holding `settings`; the caller owns it (rd_kafka_new takes it over).
Result<rd_kafka_conf_t*> MakeConf(
    std::initializer_list<std::pair<const char*, std::string>> settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [key, value] : settings) {
    if (auto st = SetConf(conf, key, value); !st) {
      rd_kafka_conf_destroy(conf);
      return Fail(st.error());
    }
  }
  return conf;
}

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* ctx = static_cast<AppendContext*>(msg->_private);
  if (msg->err) {
    std::lock_guard lock(ctx->mu);
    if (!ctx->error) {
      ctx->error = Error::Unavailable(std::string("Kafka delivery failed: ") +
                                      rd_kafka_err2str(msg->err));
    }
  } else {
    int64_t cur = ctx->first.load();
    while (msg->offset < cur && !ctx->first.compare_exchange_weak(cur, msg->offset)) {}
    cur = ctx->last.load();
    while (msg->offset > cur && !ctx->last.compare_exchange_weak(cur, msg->offset)) {}
  }
  if (ctx->remaining.fetch_sub(1) == 1) {
    std::unique_ptr<AppendContext> owned(ctx);
    if (owned->error) {
      owned->done(Fail(std::move(*owned->error)));
    } else {
      owned->done(AppendResult{owned->topic, owned->partition, owned->first.load(),
                               owned->last.load()});
    }
  }
}

class KafkaReader final : public LogReader {
 public:
  KafkaReader(rd_kafka_t* rk, std::string topic,
              const std::vector<std::pair<int32_t, int64_t>>& starts)
      : rk_(rk), topic_(std::move(topic)) {
    for (auto [partition, offset] : starts) {
      partitions_.push_back(partition);
      next_.push_back(offset);
      seeked_.push_back(false);
    }
  }
  ~KafkaReader() override {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }

  Result<std::vector<LogRecord>> Poll(size_t max_records,
                                      std::chrono::milliseconds wait) override {
    std::vector<LogRecord> out;
    std::optional<Error> error;
    int timeout = static_cast<int>(wait.count());
    while (out.size() < max_records) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, timeout);
      if (!msg) break;
      timeout = 0;  // only the first poll waits
      if (msg->err) {
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          error = Error::Unavailable(std::string("Kafka read failed: ") +
                                     rd_kafka_message_errstr(msg));
        }
      } else {
        LogRecord r;
        r.partition = msg->partition;
        r.offset = msg->offset;
        if (msg->key) r.key.assign(static_cast<const char*>(msg->key), msg->key_len);
        if (msg->payload) r.value.assign(static_cast<const char*>(msg->payload), msg->len);
        if (auto i = IndexOf(r.partition)) {
          next_[*i] = r.offset + 1;
          seeked_[*i] = false;
        }
        out.push_back(std::move(r));
      }
      rd_kafka_message_destroy(msg);
    }
    if (out.empty() && error) return Fail(std::move(*error));
    return out;
  }

  Status Seek(int32_t partition, int64_t offset) override {
    auto index = IndexOf(partition);
    if (!index) {
      return Fail(Error::InvalidArgument("The reader does not read partition " +
                                         std::to_string(partition)));
    }
    // Only this partition moves; messages already fetched from the old position are dropped.
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition)->offset = offset;
    rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list, 5000);
    std::string failure;
    if (!error && list->elems[0].err) failure = rd_kafka_err2str(list->elems[0].err);
    if (error) {
      failure = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (!failure.empty()) return Fail(Error::Unavailable("Kafka seek: " + failure));
    next_[*index] = offset;
    seeked_[*index] = true;
    return {};
  }

  int64_t Position(int32_t partition) override {
    auto index = IndexOf(partition);
    if (!index) return 0;
    // librdkafka moves its position past the transaction markers it consumes (they never
    // reach Poll), but may keep its old one after a seek until a record arrives.
    if (seeked_[*index]) return next_[*index];
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic_.c_str(), partition);
    int64_t position = next_[*index];
    if (!rd_kafka_position(rk_, list) && !list->elems[0].err) {
      position = std::max(position, list->elems[0].offset);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return position;
  }

 private:
  std::optional<size_t> IndexOf(int32_t partition) const {
    auto it = std::find(partitions_.begin(), partitions_.end(), partition);
    if (it == partitions_.end()) return std::nullopt;
    return static_cast<size_t>(it - partitions_.begin());
  }

  rd_kafka_t* rk_;
  const std::string topic_;
  std::vector<int32_t> partitions_;  // assigned at open
  std::vector<int64_t> next_;        // per partition: past the last record returned, or sought
  std::vector<bool> seeked_;         // per partition: sought since the last record returned
};

}  // namespace

struct KafkaLog::Impl {
  Options options;
  rd_kafka_t* producer = nullptr;
  std::atomic<bool> stop{false};
  std::thread poller;
  std::mutex topics_mu;
  std::unordered_set<std::string> topics;  // guarded by topics_mu: known to exist, right count

  ~Impl() {
    if (producer) {
      rd_kafka_flush(producer, 10000);
      stop = true;
      if (poller.joinable()) poller.join();
      rd_kafka_destroy(producer);
    }
  }

  // Partition count of an existing topic, or 0 when it does not exist.
  Result<int32_t> TopicPartitions(const std::string& topic) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, topic.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(producer, 0, rkt, &md, kAdminTimeoutMs);
    rd_kafka_topic_destroy(rkt);
    if (err) return Fail(Error::Unavailable(std::string("Kafka metadata: ") + rd_kafka_err2str(err)));
    int32_t count = 0;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      count = md->topics[0].partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return count;
  }

  Status EnsureTopic(const std::string& topic) {
    {
      std::lock_guard lock(topics_mu);
      if (topics.contains(topic)) return {};
    }
    auto existing = TopicPartitions(topic);
    if (!existing) return Fail(existing.error());
    if (*existing == 0) {
      if (auto st = CreateTopic(topic); !st) return st;
    }
    return CheckAndRemember(topic);
  }

  Status CreateTopic(const std::string& topic) {
    char errstr[512];
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), options.partitions,
                                                    options.replication_factor, errstr, sizeof errstr);
    if (!nt) return Fail(Error::InvalidArgument(std::string("Kafka topic: ") + errstr));
    rd_kafka_queue_t* q = rd_kafka_queue_new(producer);
    rd_kafka_CreateTopics(producer, &nt, 1, nullptr, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kAdminTimeoutMs + 1000);
    // Whatever CreateTopics said (created, exists, unsupported by the broker), the metadata
    // decides: the topic must now exist with our partition count.
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return {};
  }

  Status CheckAndRemember(const std::string& topic) {
    auto count = TopicPartitions(topic);
    if (!count) return Fail(count.error());
    if (*count == 0) return Fail(Error::Unavailable("Kafka topic " + topic + " could not be created"));
    if (*count != options.partitions) {
      return Fail(Error::FailedPrecondition(
          "Kafka topic " + topic + " has " + std::to_string(*count) + " partitions; Keel is " +
          "configured for " + std::to_string(options.partitions) +
          " and co-partitioned topics must agree"));
    }
    std::lock_guard lock(topics_mu);
    topics.insert(topic);
    return {};
  }
};

KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() = default;

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(Options options) {
  if (options.brokers.empty()) return Fail(Error::InvalidArgument("Kafka brokers are required"));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  auto made = MakeConf({{"bootstrap.servers", options.brokers},
                        {"enable.idempotence", "true"},
                        {"acks", "all"},
                        {"linger.ms", "1"},
                        {"partitioner", "murmur2_random"},
                        {"message.timeout.ms", "30000"}});
  if (!made) return Fail(made.error());
  rd_kafka_conf_t* conf = *made;
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char errstr[512];
  impl->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!impl->producer) {
    rd_kafka_conf_destroy(conf);
    return Fail(Error::Unavailable(std::string("Kafka producer: ") + errstr));
  }
  impl->poller = std::thread([raw = impl.get()] {
    while (!raw->stop) rd_kafka_poll(raw->producer, 50);
  });
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));
}

int32_t KafkaLog::PartitionCount() const { return impl_->options.partitions; }

void KafkaLog::AppendAsync(const std::string& topic, const std::string& key,
                           std::vector<std::string> values, AppendCallback done) {
  if (values.empty()) {
    done(Fail(Error::InvalidArgument("An append needs at least one record")));
    return;
  }
  if (auto st = impl_->EnsureTopic(topic); !st) {
    done(Fail(st.error()));
    return;
  }
  auto* ctx = new AppendContext;
  ctx->topic = topic;
  ctx->partition = PartitionForKey(key, impl_->options.partitions);
  ctx->remaining = static_cast<int>(values.size());
  ctx->done = std::move(done);
  for (size_t i = 0; i < values.size(); ++i) {
    rd_kafka_resp_err_t err;
    while (true) {
      err = rd_kafka_producev(
          impl_->producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(ctx->partition),
          RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(values[i].data(), values[i].size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the poller drains the queue
    }
    if (err) {
      // The records not handed to librdkafka count as failed deliveries.
      {
        std::lock_guard lock(ctx->mu);
        if (!ctx->error) {
          ctx->error = Error::Unavailable(std::string("Kafka produce: ") + rd_kafka_err2str(err));
        }
      }
      const int unsent = static_cast<int>(values.size() - i);
      if (ctx->remaining.fetch_sub(unsent) == unsent) {
        std::unique_ptr<AppendContext> owned(ctx);
        owned->done(Fail(std::move(*owned->error)));
      }
      return;
    }
  }
}

Result<int64_t> KafkaLog::EndOffset(const std::string& topic, int32_t partition) {
  if (auto st = impl_->EnsureTopic(topic); !st) return Fail(st.error());
  int64_t low = 0, high = 0;
  auto err = rd_kafka_query_watermark_offsets(impl_->producer, topic.c_str(), partition, &low,
                                              &high, kAdminTimeoutMs);
  if (err) {
    return Fail(Error::Unavailable(std::string("Kafka watermarks: ") + rd_kafka_err2str(err)));
  }
  return high;
}

Result<std::unique_ptr<LogReader>> KafkaLog::OpenReader(
    const std::string& topic, const std::vector<std::pair<int32_t, int64_t>>& starts) {
  if (auto st = impl_->EnsureTopic(topic); !st) return Fail(st.error());
  std::random_device rd;
  auto made = MakeConf({{"bootstrap.servers", impl_->options.brokers},
                        {"group.id", "keel-reader-" + std::to_string(rd())},  // assign only
                        {"enable.auto.commit", "false"},
                        {"enable.auto.offset.store", "false"},
                        {"auto.offset.reset", "earliest"},
                        {"fetch.wait.max.ms", "10"},
                        {"isolation.level", "read_committed"}});
  if (!made) return Fail(made.error());
  rd_kafka_conf_t* conf = *made;
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return Fail(Error::Unavailable(std::string("Kafka consumer: ") + errstr));
  }
  rd_kafka_poll_set_consumer(rk);
  auto reader = std::make_unique<KafkaReader>(rk, topic, starts);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(starts.size()));
  for (auto [partition, offset] : starts) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  auto err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return Fail(Error::Unavailable(std::string("Kafka assign: ") + rd_kafka_err2str(err)));
  return std::unique_ptr<LogReader>(std::move(reader));
}

struct KafkaMockCluster::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

KafkaMockCluster::KafkaMockCluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}
KafkaMockCluster::~KafkaMockCluster() = default;

Result<std::unique_ptr<KafkaMockCluster>> KafkaMockCluster::Start(int brokers) {
  auto impl = std::make_unique<Impl>();
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // This handle only hosts the cluster; it never connects, so its "no bootstrap.servers"
  // notice is noise.
  (void)SetConf(conf, "log_level", "4");
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!impl->rk) {
    rd_kafka_conf_destroy(conf);
    return Fail(Error::Unavailable(std::string("Kafka mock handle: ") + errstr));
  }
  impl->cluster = rd_kafka_mock_cluster_new(impl->rk, brokers);
  if (!impl->cluster) return Fail(Error::Unavailable("Could not start the Kafka mock cluster"));
  return std::unique_ptr<KafkaMockCluster>(new KafkaMockCluster(std::move(impl)));
}

Status KafkaMockCluster::CreateTopic(const std::string& topic, int32_t partitions) {
  auto err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (err) {
    return Fail(Error::Unavailable("Mock topic " + topic + ": " + rd_kafka_err2str(err)));
  }
  return {};
}

}  // namespace keel

#include "infra/kafka_log.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_set>

#include "domain/json.h"
#include "domain/partitioner.h"
#include "infra/kafka_topic_policy.h"
#include "infra/log.h"

namespace keel {
namespace {

constexpr int kAdminTimeoutMs = 10000;
// How long a transaction may take to commit, retries included, before this writer gives up on
// it (its outcome is then unknown, and the writer stops: see Impl::Commit).
constexpr int kCommitTimeoutMs = 30000;
// Records of one transaction at most (librdkafka's queue holds 100,000 messages by default).
constexpr size_t kMaxTransactionRecords = 20000;
// One record's key and value at most: librdkafka's message.max.bytes (1,000,000 by default),
// less room for the record's framing. A larger one is refused before it is queued, so that it
// never fails a transaction (which stops the writer).
constexpr size_t kMaxRecordBytes = 1'000'000 - 4096;

// One append: queued, then produced in a transaction, acknowledged after its commit.
struct AppendContext {
  std::string topic;
  std::string key;
  std::vector<std::string> values;
  int32_t partition = 0;
  AppendCallback done;

  // Filled by delivery reports, on librdkafka's threads.
  std::mutex mu;
  std::condition_variable delivered;
  int outstanding = 0;         // guarded by mu: delivery reports still due
  int64_t first = INT64_MAX;   // guarded by mu
  int64_t last = -1;           // guarded by mu
  std::optional<Error> error;  // guarded by mu
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
    const std::vector<std::pair<const char*, std::string>>& settings) {
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
  std::lock_guard lock(ctx->mu);
  if (msg->err) {
    if (!ctx->error) {
      ctx->error = Error::Unavailable(std::string("Kafka delivery failed: ") +
                                      rd_kafka_err2str(msg->err));
    }
  } else {
    ctx->first = std::min(ctx->first, msg->offset);
    ctx->last = std::max(ctx->last, msg->offset);
  }
  if (--ctx->outstanding == 0) ctx->delivered.notify_all();
}

// Frees a librdkafka error at the end of a scope.
struct ErrorHolder {
  rd_kafka_error_t* error = nullptr;
  ~ErrorHolder() {
    if (error) rd_kafka_error_destroy(error);
  }
  explicit operator bool() const { return error != nullptr; }
  std::string text() const { return error ? rd_kafka_error_string(error) : ""; }
};

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

// A consumer that reads committed records only, with its partitions assigned (never a group
// member). The caller owns it.
Result<rd_kafka_t*> NewConsumer(const std::string& brokers) {
  std::random_device rd;
  auto made = MakeConf({{"bootstrap.servers", brokers},
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
  return rk;
}

Status Assign(rd_kafka_t* rk, const std::string& topic,
              const std::vector<std::pair<int32_t, int64_t>>& starts) {
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(static_cast<int>(starts.size()));
  for (auto [partition, offset] : starts) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
  }
  auto err = rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return Fail(Error::Unavailable(std::string("Kafka assign: ") + rd_kafka_err2str(err)));
  return {};
}

std::string ThisWriter() {
  char host[256] = "unknown";
  (void)::gethostname(host, sizeof host - 1);
  std::random_device rd;
  return std::string(host) + "/" + std::to_string(::getpid()) + "/" + std::to_string(rd());
}

}  // namespace

struct KafkaLog::Impl {
  Options options;
  int replication_factor = 1;
  bool on_mock = false;  // librdkafka's mock cluster: no CreateTopics, no DescribeConfigs
  rd_kafka_t* producer = nullptr;
  std::atomic<bool> stop{false};
  std::thread poller;
  std::mutex topics_mu;
  std::unordered_set<std::string> topics;  // guarded by topics_mu: known to exist, usable

  // Why this writer acknowledges nothing more; set once, never cleared.
  mutable std::mutex failed_mu;
  std::optional<Error> failed;  // guarded by failed_mu

  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<AppendContext>> queue;  // guarded by queue_mu
  bool stopping = false;                             // guarded by queue_mu
  std::thread committer;
  // Appends whose delivery reports never came: librdkafka may still call back with them, so
  // they live until the producer is gone. Committer thread only.
  std::vector<std::unique_ptr<AppendContext>> orphans;

  std::string writer;  // this writer, as recorded in the lease topic
  rd_kafka_t* lease_consumer = nullptr;
  std::thread lease_watcher;

  ~Impl() {
    {
      std::lock_guard lock(queue_mu);
      stopping = true;
    }
    queue_cv.notify_all();
    if (committer.joinable()) committer.join();
    stop = true;
    if (lease_watcher.joinable()) lease_watcher.join();
    if (lease_consumer) {
      rd_kafka_consumer_close(lease_consumer);
      rd_kafka_destroy(lease_consumer);
    }
    if (producer) {
      if (poller.joinable()) poller.join();
      rd_kafka_destroy(producer);
    }
  }

  std::optional<Error> Failed() const {
    std::lock_guard lock(failed_mu);
    return failed;
  }

  void StopAppends(Error why) {
    {
      std::lock_guard lock(failed_mu);
      if (failed) return;
      failed = why;
    }
    Log(LogLevel::kError, "the Kafka log takes no more appends", {{"error", why.message}});
  }

  // The producer's fatal error (fencing among them) as the reason this writer stopped.
  void FailFatally() {
    char reason[512] = "";
    const rd_kafka_resp_err_t err = rd_kafka_fatal_error(producer, reason, sizeof reason);
    if (err == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
        err == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
      StopAppends(Error::Unavailable(
          "This keel process was fenced: a newer one took the writer lease (Kafka "
          "transactional.id " +
          options.transactional_id +
          ") and is the only writer now. This "
          "one acknowledges nothing more; stop it (restarting it takes the lease back)."));
    } else {
      StopAppends(Error::Unavailable(std::string("The Kafka producer failed for good (") +
                                     rd_kafka_err2name(err) + ": " + reason +
                                     "); restart keel to recover"));
    }
  }

  // ---- Topics ----

  // Partitions and replicas of an existing topic; 0 partitions when it does not exist. Asks
  // for every topic: asking for one makes a broker with auto.create.topics.enable create it,
  // with the broker's defaults.
  Result<std::pair<int32_t, int>> DescribeTopic(const std::string& topic) {
    const rd_kafka_metadata_t* md = nullptr;
    auto err = rd_kafka_metadata(producer, 1, nullptr, &md, kAdminTimeoutMs);
    if (err) {
      return Fail(Error::Unavailable(std::string("Kafka metadata: ") + rd_kafka_err2str(err)));
    }
    std::pair<int32_t, int> found{0, 0};
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      if (topic != t.topic || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      found.first = t.partition_cnt;
      found.second = t.partition_cnt > 0 ? t.partitions[0].replica_cnt : 0;
    }
    rd_kafka_metadata_destroy(md);
    return found;
  }

  Status EnsureTopic(const std::string& topic) {
    {
      std::lock_guard lock(topics_mu);
      if (topics.contains(topic)) return {};
    }
    auto existing = DescribeTopic(topic);
    if (!existing) return Fail(existing.error());
    if (existing->first == 0) {
      if (on_mock) {
        return Fail(Error::Unavailable("Kafka topic " + topic +
                                       " does not exist, and "
                                       "librdkafka's mock cluster cannot create topics: create "
                                       "it first (keel kafka-mock creates Keel's)"));
      }
      if (auto st = CreateTopic(topic); !st) return st;
      // A new topic reaches every broker's metadata a moment after it is created.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      do {
        existing = DescribeTopic(topic);
        if (!existing) return Fail(existing.error());
        if (existing->first > 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      } while (std::chrono::steady_clock::now() < deadline);
      if (existing->first == 0) {
        return Fail(Error::Unavailable("Kafka topic " + topic + " was created but is not listed"));
      }
    } else if (existing->second < 3) {
      Log(LogLevel::kWarn,
          "KAFKA TOPIC WITH FEWER THAN 3 REPLICAS: losing one broker's disk can lose "
          "acknowledged events",
          {{"topic", topic}, {"replicas", std::to_string(existing->second)}});
    }
    const bool lease = topic == kWriterLeaseTopic;  // one partition is read; any count will do
    if (!lease && existing->first != options.partitions) {
      return Fail(Error::FailedPrecondition(
          "Kafka topic " + topic + " has " + std::to_string(existing->first) +
          " partitions; Keel is configured for " + std::to_string(options.partitions) +
          " and co-partitioned topics must agree"));
    }
    if (on_mock) {
      Log(LogLevel::kDebug,
          "librdkafka's mock cluster cannot describe topic configurations; "
          "retention not checked",
          {{"topic", topic}});
    } else if (auto config = DescribeConfig(topic); !config) {
      return Fail(config.error());
    } else if (auto st = CheckKeepsEveryEvent(topic, *config); !st) {
      return st;
    }
    std::lock_guard lock(topics_mu);
    topics.insert(topic);
    return {};
  }

  // Runs one admin request and waits for its result event (destroyed by the caller).
  Result<rd_kafka_event_t*> AdminCall(
      const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& call,
      const std::string& what) {
    char errstr[512];
    rd_kafka_AdminOptions_t* admin = rd_kafka_AdminOptions_new(producer, RD_KAFKA_ADMIN_OP_ANY);
    (void)rd_kafka_AdminOptions_set_request_timeout(admin, kAdminTimeoutMs, errstr, sizeof errstr);
    rd_kafka_queue_t* q = rd_kafka_queue_new(producer);
    call(admin, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kAdminTimeoutMs + 2000);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(admin);
    if (!ev) return Fail(Error::Unavailable("Kafka did not answer " + what));
    if (rd_kafka_event_error(ev)) {
      std::string why = rd_kafka_event_error_string(ev);
      rd_kafka_event_destroy(ev);
      return Fail(Error::Unavailable("Kafka " + what + ": " + why));
    }
    return ev;
  }

  Status CreateTopic(const std::string& topic) {
    char errstr[512];
    const int32_t partitions = topic == kWriterLeaseTopic ? 1 : options.partitions;
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(topic.c_str(), partitions, replication_factor, errstr, sizeof errstr);
    if (!nt) return Fail(Error::InvalidArgument(std::string("Kafka topic: ") + errstr));
    for (const auto& [name, value] : NewTopicConfig(replication_factor)) {
      (void)rd_kafka_NewTopic_set_config(nt, name.c_str(), value.c_str());
    }
    auto ev =
        AdminCall([&](rd_kafka_AdminOptions_t* admin,
                      rd_kafka_queue_t* q) { rd_kafka_CreateTopics(producer, &nt, 1, admin, q); },
                  "CreateTopics for " + topic);
    rd_kafka_NewTopic_destroy(nt);
    if (!ev) return Fail(ev.error());
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(*ev), &n);
    Status st;
    for (size_t i = 0; i < n; ++i) {
      const auto err = rd_kafka_topic_result_error(results[i]);
      if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {  // another process was first
        const char* why = rd_kafka_topic_result_error_string(results[i]);
        st = Fail(Error::Unavailable("Kafka could not create topic " + topic + ": " +
                                     (why ? why : rd_kafka_err2str(err))));
      }
    }
    rd_kafka_event_destroy(*ev);
    if (st) {
      Log(LogLevel::kInfo, "created Kafka topic",
          {{"topic", topic},
           {"partitions", std::to_string(partitions)},
           {"replication_factor", std::to_string(replication_factor)}});
    }
    return st;
  }

  // The effective configuration of a topic, name to value.
  Result<std::map<std::string, std::string>> DescribeConfig(const std::string& topic) {
    rd_kafka_ConfigResource_t* resource =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
    auto ev = AdminCall(
        [&](rd_kafka_AdminOptions_t* admin, rd_kafka_queue_t* q) {
          rd_kafka_DescribeConfigs(producer, &resource, 1, admin, q);
        },
        "DescribeConfigs for topic " + topic);
    rd_kafka_ConfigResource_destroy(resource);
    if (!ev) {
      return Fail(Error::Unavailable(ev.error().message + ". Keel does not start on a topic whose "
                                                          "retention it cannot check."));
    }
    std::map<std::string, std::string> config;
    std::optional<Error> error;
    size_t n = 0;
    const rd_kafka_ConfigResource_t** resources =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(*ev), &n);
    for (size_t i = 0; i < n; ++i) {
      if (auto err = rd_kafka_ConfigResource_error(resources[i])) {
        const char* why = rd_kafka_ConfigResource_error_string(resources[i]);
        error = Error::Unavailable("Kafka DescribeConfigs for topic " + topic + ": " +
                                   (why ? why : rd_kafka_err2str(err)));
        continue;
      }
      size_t count = 0;
      const rd_kafka_ConfigEntry_t** entries =
          rd_kafka_ConfigResource_configs(resources[i], &count);
      for (size_t j = 0; j < count; ++j) {
        const char* value = rd_kafka_ConfigEntry_value(entries[j]);
        if (value) config[rd_kafka_ConfigEntry_name(entries[j])] = value;
      }
    }
    rd_kafka_event_destroy(*ev);
    if (error) return Fail(std::move(*error));
    return config;
  }

  // ---- Appends ----

  void Enqueue(std::unique_ptr<AppendContext> ctx) {
    {
      std::lock_guard lock(queue_mu);
      if (!stopping) {
        queue.push_back(std::move(ctx));
        ctx = nullptr;
      }
    }
    if (ctx) return ctx->done(Fail(Error::Unavailable("The Kafka log is closing")));
    queue_cv.notify_one();
  }

  void CommitLoop() {
    SetThreadName("keel-kafka-txn");
    while (true) {
      std::vector<std::unique_ptr<AppendContext>> batch;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        size_t records = 0;
        while (!queue.empty() && (batch.empty() || records + queue.front()->values.size() <=
                                                       kMaxTransactionRecords)) {
          records += queue.front()->values.size();
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      Commit(batch);
    }
  }

  // Produces every append of `batch` in one transaction and answers each once it committed,
  // or with why it did not. A transaction whose outcome stays unknown (its commit neither
  // succeeded nor failed in time) stops the writer: a retry could write its records twice.
  void Commit(std::vector<std::unique_ptr<AppendContext>>& batch) {
    auto answer_all = [&](const Error& e) {
      for (auto& ctx : batch) ctx->done(Fail(e));
    };
    if (auto why = Failed()) return answer_all(*why);
    ErrorHolder begun{rd_kafka_begin_transaction(producer)};
    if (begun) {
      if (rd_kafka_error_is_fatal(begun.error)) {
        FailFatally();
      } else {
        StopAppends(Error::Unavailable("Kafka transaction could not begin: " + begun.text()));
      }
      return answer_all(*Failed());
    }
    std::optional<Error> produce_error;
    for (auto& ctx : batch) {
      {
        std::lock_guard lock(ctx->mu);
        ctx->outstanding = static_cast<int>(ctx->values.size());
      }
      for (size_t i = 0; i < ctx->values.size(); ++i) {
        rd_kafka_resp_err_t err;
        while (true) {
          err = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(ctx->topic.c_str()),
                                  RD_KAFKA_V_PARTITION(ctx->partition),
                                  RD_KAFKA_V_KEY(ctx->key.data(), ctx->key.size()),
                                  RD_KAFKA_V_VALUE(ctx->values[i].data(), ctx->values[i].size()),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_OPAQUE(ctx.get()), RD_KAFKA_V_END);
          if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the poller drains it
        }
        if (err) {
          produce_error =
              Error::Unavailable(std::string("Kafka produce: ") + rd_kafka_err2str(err));
          std::lock_guard lock(ctx->mu);
          ctx->outstanding -= static_cast<int>(ctx->values.size() - i);  // never handed over
          break;
        }
      }
      if (produce_error) break;
    }
    std::optional<Error> failure = produce_error;
    if (!failure) failure = CommitTransaction();
    if (failure && !Failed()) {
      AbortTransaction();
      // The appends queued behind this transaction, and any a command is deciding right now,
      // were decided on write models that hold this transaction's events: committed, they
      // could refer to what the log never got (an order for a customer whose registration was
      // aborted) and be dead-lettered once acknowledged. As the embedded log does after a
      // failed write, the writer stops; a restart folds the log as it is.
      StopAppends(Error::Unavailable("A Kafka transaction failed (" + failure->message +
                                     "); appends decided after it may depend on it, so this "
                                     "writer takes no more. Restart keel to recover"));
    }
    // Every delivery report is in before an append is answered or freed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (auto& ctx : batch) {
      std::unique_lock lock(ctx->mu);
      if (!ctx->delivered.wait_until(lock, deadline, [&] { return ctx->outstanding <= 0; })) {
        lock.unlock();
        ctx->done(Fail(Error::Unavailable("Kafka did not report the delivery of an append")));
        orphans.push_back(std::move(ctx));
        continue;
      }
      if (failure) {
        lock.unlock();
        ctx->done(Fail(*failure));
      } else if (ctx->error) {
        // A commit succeeds only when every record of the transaction was delivered.
        Error e = *ctx->error;
        lock.unlock();
        ctx->done(Fail(std::move(e)));
      } else {
        AppendResult result{ctx->topic, ctx->partition, ctx->first, ctx->last};
        lock.unlock();
        ctx->done(std::move(result));
      }
    }
  }

  // Nothing on success; otherwise why the transaction did not commit.
  std::optional<Error> CommitTransaction() {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kCommitTimeoutMs);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      ErrorHolder e{
          rd_kafka_commit_transaction(producer, std::max<int>(1, static_cast<int>(left.count())))};
      if (!e) return std::nullopt;
      if (rd_kafka_error_is_fatal(e.error)) {
        FailFatally();
        return Failed();
      }
      if (rd_kafka_error_txn_requires_abort(e.error)) {
        return Error::Unavailable("Kafka transaction aborted: " + e.text());
      }
      if (rd_kafka_error_is_retriable(e.error) && std::chrono::steady_clock::now() < deadline) {
        continue;  // the same commit again: librdkafka resumes it
      }
      StopAppends(Error::Unavailable(
          "A Kafka transaction was neither committed nor aborted in time (" + e.text() +
          "); its appends may or may not be in the log. "
          "Restart keel to recover"));
      return Failed();
    }
  }

  void AbortTransaction() {
    ErrorHolder e{rd_kafka_abort_transaction(producer, kCommitTimeoutMs)};
    if (!e) return;
    if (rd_kafka_error_is_fatal(e.error)) return FailFatally();
    StopAppends(Error::Unavailable("A Kafka transaction could not be aborted (" + e.text() +
                                   "); restart keel to recover"));
  }

  // ---- The lease ----

  // Appends this writer's lease record; the offset it landed at.
  Result<int64_t> RecordLease() {
    JsonWriter w;
    w.BeginObject();
    w.Key("writer").String(writer);
    w.Key("transactionalId").String(options.transactional_id);
    w.Key("at").Int(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
    w.EndObject();
    auto ctx = std::make_unique<AppendContext>();
    ctx->topic = std::string(kWriterLeaseTopic);
    ctx->key = options.transactional_id;
    ctx->values.push_back(w.Take());
    ctx->partition = 0;
    std::promise<Result<AppendResult>> promise;
    auto future = promise.get_future();
    ctx->done = [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); };
    Enqueue(std::move(ctx));
    auto appended = future.get();
    if (!appended) return Fail(appended.error());
    return appended->last_offset;
  }

  // Watches the lease topic after this writer's own record: any record there is a newer
  // writer's, so this one stops acknowledging. On a real cluster the brokers fence this writer
  // anyway; the watcher also makes an idle one say so at once (and is all that guards
  // librdkafka's mock cluster, which fences nothing).
  Status WatchLease(int64_t own_offset) {
    auto consumer = NewConsumer(options.brokers);
    if (!consumer) return Fail(consumer.error());
    lease_consumer = *consumer;
    if (auto st = Assign(lease_consumer, std::string(kWriterLeaseTopic), {{0, own_offset + 1}});
        !st) {
      return st;
    }
    lease_watcher = std::thread([this] {
      SetThreadName("keel-kafka-lease");
      while (!stop && !Failed()) {
        rd_kafka_message_t* msg = rd_kafka_consumer_poll(lease_consumer, 100);
        if (!msg) continue;
        if (!msg->err) {
          std::string newer(static_cast<const char*>(msg->payload), msg->len);
          StopAppends(Error::Unavailable(
              "This keel process was fenced: a newer one took the writer lease (Kafka "
              "transactional.id " +
              options.transactional_id + ": " + newer +
              ") and is the only "
              "writer now. This one acknowledges nothing more; stop it (restarting it takes the "
              "lease back)."));
        }
        rd_kafka_message_destroy(msg);
      }
    });
    return {};
  }
};

KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() = default;

Result<std::unique_ptr<KafkaLog>> KafkaLog::Open(Options options) {
  if (options.brokers.empty()) return Fail(Error::InvalidArgument("Kafka brokers are required"));
  if (!options.read_only && options.transactional_id.empty()) {
    return Fail(Error::InvalidArgument("A Kafka writer needs a transactional id"));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::vector<std::pair<const char*, std::string>> settings{{"bootstrap.servers", options.brokers},
                                                            {"enable.idempotence", "true"},
                                                            {"acks", "all"},
                                                            {"linger.ms", "1"},
                                                            {"partitioner", "murmur2_random"},
                                                            {"message.timeout.ms", "30000"}};
  if (!options.read_only) settings.emplace_back("transactional.id", options.transactional_id);
  auto made = MakeConf(settings);
  if (!made) return Fail(made.error());
  rd_kafka_conf_t* conf = *made;
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  // Fatal errors (fencing among them) stop the writer at once, even between transactions.
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t*, int err, const char* reason, void* opaque) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      static_cast<Impl*>(opaque)->FailFatally();
    } else {
      Log(LogLevel::kDebug, "Kafka client", {{"error", reason}});
    }
  });
  rd_kafka_conf_set_opaque(conf, impl.get());
  char errstr[512];
  impl->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!impl->producer) {
    rd_kafka_conf_destroy(conf);
    return Fail(Error::Unavailable(std::string("Kafka producer: ") + errstr));
  }
  impl->poller = std::thread([raw = impl.get()] {
    while (!raw->stop) rd_kafka_poll(raw->producer, 50);
  });

  const rd_kafka_metadata_t* md = nullptr;
  if (auto err = rd_kafka_metadata(impl->producer, 0, nullptr, &md, kAdminTimeoutMs)) {
    return Fail(Error::Unavailable("Kafka brokers " + options.brokers +
                                   " did not answer: " + rd_kafka_err2str(err)));
  }
  const int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  if (char* id = rd_kafka_clusterid(impl->producer, kAdminTimeoutMs)) {
    impl->on_mock = std::string_view(id).starts_with("mockCluster");
    rd_kafka_mem_free(impl->producer, id);
  }
  impl->replication_factor = ReplicationFactorFor(options.replication_factor, brokers);
  if (impl->replication_factor < 3) {
    Log(LogLevel::kWarn,
        "KAFKA REPLICATION FACTOR BELOW 3: topics Keel creates can lose acknowledged events "
        "with one broker's disk (KEEL_KAFKA_REPLICATION_FACTOR)",
        {{"replication_factor", std::to_string(impl->replication_factor)},
         {"brokers", std::to_string(brokers)}});
  }

  for (const auto& topic : options.topics) {
    if (auto st = impl->EnsureTopic(topic); !st) return Fail(st.error());
  }
  if (options.read_only) return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));

  // The lease. init_transactions fences every older producer with this transactional.id and
  // waits until the transaction it left open is aborted, so from here on nothing but this
  // writer can add to the log. The caller must still read the log to its end before deciding
  // anything: the previous holder's last commits are in it (App does, in CommandService::Load).
  if (auto st = impl->EnsureTopic(std::string(kWriterLeaseTopic)); !st) return Fail(st.error());
  ErrorHolder init{rd_kafka_init_transactions(impl->producer, kCommitTimeoutMs)};
  if (init) {
    return Fail(Error::Unavailable("Kafka writer lease (transactional.id " +
                                   options.transactional_id + "): " + init.text()));
  }
  impl->writer = ThisWriter();
  impl->committer = std::thread([raw = impl.get()] { raw->CommitLoop(); });
  auto lease = impl->RecordLease();
  if (!lease) return Fail(lease.error());
  if (auto st = impl->WatchLease(*lease); !st) return Fail(st.error());
  Log(LogLevel::kInfo, "took the Kafka writer lease",
      {{"transactional_id", options.transactional_id},
       {"writer", impl->writer},
       {"lease_offset", std::to_string(*lease)}});
  return std::unique_ptr<KafkaLog>(new KafkaLog(std::move(impl)));
}

int32_t KafkaLog::PartitionCount() const { return impl_->options.partitions; }

int KafkaLog::replication_factor() const { return impl_->replication_factor; }

Status KafkaLog::Health() {
  if (auto why = impl_->Failed()) return Fail(std::move(*why));
  return {};
}

void KafkaLog::AppendAsync(const std::string& topic, const std::string& key,
                           std::vector<std::string> values, AppendCallback done) {
  if (values.empty()) {
    done(Fail(Error::InvalidArgument("An append needs at least one record")));
    return;
  }
  if (impl_->options.read_only) {
    done(Fail(Error::FailedPrecondition("This Kafka log was opened to read only")));
    return;
  }
  if (auto why = impl_->Failed()) {
    done(Fail(std::move(*why)));
    return;
  }
  if (auto st = impl_->EnsureTopic(topic); !st) {
    done(Fail(st.error()));
    return;
  }
  for (const auto& value : values) {
    if (key.size() + value.size() > kMaxRecordBytes) {
      // Refused here, before it is queued: nothing decided after it can have been queued yet.
      done(Fail(Error::PayloadTooLarge("An event of " + std::to_string(value.size()) +
                                       " bytes is over Kafka's record limit of " +
                                       std::to_string(kMaxRecordBytes) + " bytes")));
      return;
    }
  }
  auto ctx = std::make_unique<AppendContext>();
  ctx->topic = topic;
  ctx->key = key;
  ctx->values = std::move(values);
  ctx->partition = PartitionForKey(key, impl_->options.partitions);
  ctx->done = std::move(done);
  impl_->Enqueue(std::move(ctx));
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
  auto rk = NewConsumer(impl_->options.brokers);
  if (!rk) return Fail(rk.error());
  auto reader = std::make_unique<KafkaReader>(*rk, topic, starts);
  if (auto st = Assign(*rk, topic, starts); !st) return Fail(st.error());
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
  std::unique_ptr<KafkaMockCluster> cluster(new KafkaMockCluster(std::move(impl)));
  if (auto st = cluster->CreateTopic(std::string(kWriterLeaseTopic), 1); !st) {
    return Fail(st.error());
  }
  return cluster;
}

Status KafkaMockCluster::CreateTopic(const std::string& topic, int32_t partitions) {
  auto err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (err) {
    return Fail(Error::Unavailable("Mock topic " + topic + ": " + rd_kafka_err2str(err)));
  }
  return {};
}

void KafkaMockCluster::FailNextRequests(int16_t api_key, const std::vector<int>& error_codes) {
  std::vector<rd_kafka_resp_err_t> errors;
  for (int code : error_codes) errors.push_back(static_cast<rd_kafka_resp_err_t>(code));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, api_key, errors.size(), errors.data());
}

}  // namespace keel

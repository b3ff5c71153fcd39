// The projector runtime against the real embedded log and RocksDB: a projection that cannot
// apply an event (and is not told to dead-letter it) retries, is reported stalled with its
// error and lag, and recovers on its own once the cause is gone.
#include "projections/projector_runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "domain/customer.h"
#include "domain/order.h"
#include "domain/topics.h"
#include "infra/embedded_log.h"
#include "infra/rocks_store.h"
#include "projections/customer_history/history_projector.h"
#include "projections/customers/customer_index.h"
#include "projections/customers/customer_queries.h"
#include "projections/customers/customer_records.h"
#include "projections/customers/customers_projector.h"
#include "projections/orders/order_queries.h"
#include "projections/orders/orders_projector.h"
#include "projections/projection_set.h"
#include "projections/registry.h"
#include "projections/testing/map_state_view.h"
#include "projections/users/sessions_projector.h"
#include "tests/test_util.h"

namespace keel {
namespace {

// A projector's tables and the runner's own (checkpoints, dead letters, counters).
std::vector<std::string> RunnerTables(const Projector& projector) {
  std::vector<std::string> tables = projector.tables();
  for (auto t : {kCheckpointsTable, kDeadLettersTable, kProjectionMetaTable})
    tables.emplace_back(t);
  return tables;
}

constexpr char kTopic[] = "test.events";

// Counts events per aggregate; refuses "poison" with a retryable error while `sick` is set.
class CountingProjector final : public Projector {
 public:
  std::string_view name() const override { return "counting"; }
  std::vector<std::string_view> topics() const override { return {kTopic}; }
  std::vector<std::string> tables() const override { return {"counts"}; }
  void Unapply(int32_t, int64_t) override {}
  Status Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
               std::vector<StoreWrite>& writes) override {
    if (event.aggregate_id == "poison" && sick) {
      return Fail(Error::Unavailable("the poison is still there"));
    }
    auto current = view.Get("counts", event.aggregate_id);
    if (!current) return Fail(current.error());
    const int n = *current ? std::stoi(**current) : 0;
    writes.push_back({"counts", event.aggregate_id, std::to_string(n + 1)});
    return {};
  }
  std::atomic<bool> sick{true};
};

std::string Event(const std::string& id, Millis recorded_at) {
  EventEnvelope e;
  e.event_id = id + "-e";
  e.type = std::string(kCustomerDeactivated);  // any supported type will do
  e.schema_version = CurrentSchemaVersion(e.type);
  e.aggregate_type = "test";
  e.aggregate_id = id;
  e.aggregate_version = 1;
  e.occurred_at = e.recorded_at = recorded_at;
  return EncodeEvent(e);
}

// Writes ten keys for each event besides its count: batches fill up with writes fast.
class FanOutProjector final : public Projector {
 public:
  std::string_view name() const override { return "fanout"; }
  std::vector<std::string_view> topics() const override { return {kTopic}; }
  std::vector<std::string> tables() const override { return {"counts", "fanned"}; }
  void Unapply(int32_t, int64_t) override {}
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override {
    auto current = view.Get("counts", event.aggregate_id);
    if (!current) return Fail(current.error());
    const int n = *current ? std::stoi(**current) : 0;
    writes.push_back({"counts", event.aggregate_id, std::to_string(n + 1)});
    for (int i = 0; i < 10; ++i) {
      std::string key = std::to_string(position.partition);
      key += '/';
      key += std::to_string(position.offset);
      key += '/';
      key += std::to_string(i);
      writes.push_back({"fanned", std::move(key), ""});
    }
    return {};
  }
};

// A batch that reaches max_batch_writes is committed there and the rest read again: every
// event is applied once, live and in a replay, with one worker reading partitions whose records
// are mixed in each batch; a limit below one event's writes still moves on.
TEST(ProjectorRunnerTest, ABatchFullOfWritesIsCommittedEarlyAndTheRestReadAgain) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2, .fsync = false});
  ASSERT_TRUE(log);
  std::vector<std::pair<int32_t, int64_t>> last;
  for (int i = 0; i < 120; ++i) {
    std::string key = "k";
    key += std::to_string(i % 7);
    auto r = (*log)->Append(kTopic, key, {Event(key, 1)});
    ASSERT_TRUE(r);
    last.emplace_back(r->partition, r->last_offset);
  }
  auto check = [&](ReadStore& store) {
    int total = 0, fanned = 0;
    ASSERT_TRUE(store.Scan("counts", "", "", [&](std::string_view, std::string_view v) {
      total += std::stoi(std::string(v));
      return true;
    }));
    ASSERT_TRUE(store.Scan("fanned", "", "", [&](std::string_view, std::string_view) {
      ++fanned;
      return true;
    }));
    EXPECT_EQ(total, 120);
    EXPECT_EQ(fanned, 1200);
  };
  FanOutProjector projector;
  std::mutex mu;
  std::vector<size_t> commits;  // events per commit
  auto counted = [&](std::string_view, const std::vector<Millis>& applied) {
    std::lock_guard lock(mu);
    commits.push_back(applied.size());
  };
  auto expect_cut = [&](size_t most) {
    std::lock_guard lock(mu);
    EXPECT_GE(commits.size(), 120 / most);
    for (size_t n : commits) EXPECT_LE(n, most);
    commits.clear();
  };
  {
    auto store = RocksStore::Open(dir.path() + "/live", RunnerTables(projector));
    ASSERT_TRUE(store);
    ProjectorRunner runner(
        **log, **store, projector,
        {.batch_size = 50, .max_batch_writes = 25, .workers = 1, .on_commit = counted});
    ASSERT_TRUE(runner.Start());
    for (auto [p, o] : last) ASSERT_TRUE(runner.WaitFor(p, o, std::chrono::seconds(10)));
    runner.Stop();
    check(**store);
    expect_cut(3);  // 11 writes an event: the third takes a batch to 33
  }
  for (size_t limit : {size_t{25}, size_t{5}}) {
    auto store =
        RocksStore::Open(dir.path() + "/replayed" + std::to_string(limit), RunnerTables(projector));
    ASSERT_TRUE(store);
    ProjectorRunner runner(
        **log, **store, projector,
        {.batch_size = 50, .max_batch_writes = limit, .workers = 1, .on_commit = counted});
    ASSERT_TRUE(runner.RunToEnd(nullptr));
    check(**store);
    expect_cut(limit == 5 ? 1 : 3);
  }
}

TEST(ProjectorRunnerTest, ReportsAStallWithItsErrorAndLagAndRecovers) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log);
  CountingProjector projector;
  std::vector<std::string> tables = RunnerTables(projector);
  auto store = RocksStore::Open(dir.path() + "/store", tables);
  ASSERT_TRUE(store);
  ProjectorRunner runner(**log, **store, projector,
                         {.poll_wait = std::chrono::milliseconds(10),
                          .stall_after = std::chrono::milliseconds(300)});
  ASSERT_TRUE(runner.Start());

  const Millis now = 1'800'000'000'000;
  auto good = (*log)->Append(kTopic, "good", {Event("good", now)});
  ASSERT_TRUE(good);
  ASSERT_TRUE(runner.WaitFor(good->partition, good->last_offset, std::chrono::seconds(5)));
  auto healthy = runner.Describe(now);
  ASSERT_TRUE(healthy) << healthy.error().message;
  EXPECT_EQ(healthy->state, "running");
  EXPECT_EQ(healthy->counters.events_applied, 1);

  auto poison = (*log)->Append(kTopic, "poison", {Event("poison", now - 5000)});
  ASSERT_TRUE(poison);
  for (int i = 0; i < 100 && !runner.stalled(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(runner.stalled());
  auto stalled = runner.Describe(now);
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->state, "stalled");
  EXPECT_NE(stalled->last_error.find("the poison is still there"), std::string::npos);
  const auto& p = stalled->partitions[static_cast<size_t>(poison->partition)];
  EXPECT_EQ(p.lag, 1);
  EXPECT_DOUBLE_EQ(p.lag_seconds, 5.0);
  // A retryable failure is never dead-lettered: the event waits for the projection.
  EXPECT_EQ(stalled->counters.dead_lettered, 0);

  projector.sick = false;
  ASSERT_TRUE(runner.WaitFor(poison->partition, poison->last_offset, std::chrono::seconds(5)));
  for (int i = 0; i < 100 && runner.stalled(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(runner.stalled());
  auto recovered = runner.Describe(now);
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->state, "running");
  EXPECT_TRUE(recovered->last_error.empty());
  EXPECT_EQ(recovered->counters.events_applied, 2);
  EXPECT_EQ(*(*store)->Get("counts", "poison"), std::optional<std::string>("1"));
  runner.Stop();
  EXPECT_EQ(runner.Describe(now)->state, "stopped");
}

// Writes and reads as its events say: "w/<key>/<value>" writes late/<key> without reading it;
// "r/<key>/<tag>" reads late/<key> and writes what it saw to seen/<tag>.
class ScriptedProjector final : public Projector {
 public:
  std::string_view name() const override { return "scripted"; }
  std::vector<std::string_view> topics() const override { return {kTopic}; }
  std::vector<std::string> tables() const override { return {"late", "seen"}; }
  void Unapply(int32_t, int64_t) override {}
  Status Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
               std::vector<StoreWrite>& writes) override {
    const std::string& script = event.aggregate_id;
    const size_t a = script.find('/'), b = script.rfind('/');
    const std::string key = script.substr(a + 1, b - a - 1), arg = script.substr(b + 1);
    if (script[0] == 'w') {
      writes.push_back({"late", key, arg});
      return {};
    }
    if (script[0] == 's') {  // "s/<start>/<arg>": the keys of "late" from <start> on
      std::string keys;
      auto st = view.Scan("late", "", key, [&](std::string_view k, std::string_view) {
        if (!keys.empty()) keys += ',';
        keys += k;
        return true;
      });
      if (!st) return st;
      writes.push_back({"seen", arg, keys});
      return {};
    }
    auto current = view.Get("late", key);
    if (!current) return Fail(current.error());
    writes.push_back({"seen", arg, current->value_or("none")});
    return {};
  }
};

// A second read model of the same topic: keeps a tally in memory, stages it per event and
// publishes it at commit; refuses (kDataLoss) events of aggregate "refused".
class TallyProjector final : public Projector {
 public:
  std::string_view name() const override { return "tally"; }
  std::vector<std::string_view> topics() const override { return {kTopic}; }
  std::vector<std::string> tables() const override { return {"tallies"}; }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView&,
               std::vector<StoreWrite>& writes) override {
    if (event.aggregate_id == "refused") return Fail(Error::DataLoss("tally refuses it"));
    writes.push_back({"tallies", event.aggregate_id, "1"});
    staged.push_back(position.offset);
    return {};
  }
  void Unapply(int32_t, int64_t offset) override {
    ++unapplied;
    if (!staged.empty() && staged.back() == offset) staged.pop_back();
  }
  void Discard(const std::vector<int32_t>&) override { staged.clear(); }
  void Committed(const std::vector<int32_t>&) override {
    published.insert(published.end(), staged.begin(), staged.end());
    staged.clear();
  }
  std::vector<int64_t> staged, published;
  int unapplied = 0;
};

// Every read model of a topic is folded by one runner: an event goes through each projector in
// turn and their writes commit together with one checkpoint; when one refuses an event, the
// others' writes of it are dropped too, and they are told to forget it.
TEST(ProjectorRunnerTest, AGroupCommitsEveryReadModelsWritesOfAnEventOrNone) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 1});
  ASSERT_TRUE(log);
  CountingProjector counting;
  counting.sick = false;
  TallyProjector tally;
  std::vector<std::string> tables = RunnerTables(counting);
  tables.emplace_back("tallies");
  auto store = RocksStore::Open(dir.path() + "/store", tables);
  ASSERT_TRUE(store);
  auto appended = (*log)->Append(kTopic, "k", {Event("a", 1), Event("refused", 2), Event("b", 3)});
  ASSERT_TRUE(appended);
  {
    ProjectorRunner runner(**log, **store,
                           {.name = "both", .topic = kTopic, .projectors = {&counting, &tally}},
                           {.poll_wait = std::chrono::milliseconds(10)});
    ASSERT_TRUE(runner.Start());
    ASSERT_TRUE(
        runner.WaitFor(appended->partition, appended->last_offset, std::chrono::seconds(10)));
    EXPECT_EQ(runner.counters().events_applied, 2);
    EXPECT_EQ(runner.counters().dead_lettered, 1);
    runner.Stop();
  }
  auto get = [&](const char* table, const std::string& key) {
    return (*store)->Get(table, key)->value_or("missing");
  };
  EXPECT_EQ(get("counts", "a"), "1");
  EXPECT_EQ(get("tallies", "a"), "1");
  // Counting took the refused event before tally refused it: its write is gone as well.
  EXPECT_EQ(get("counts", "refused"), "missing");
  EXPECT_EQ(get("tallies", "refused"), "missing");
  EXPECT_EQ(get("counts", "b"), "1");
  EXPECT_EQ(tally.unapplied, 0);  // the refusing projector itself is not told
  EXPECT_EQ(tally.published,
            (std::vector<int64_t>{appended->first_offset, appended->first_offset + 2}));
  // One checkpoint, under the group's name.
  EXPECT_EQ(get("checkpoints", CheckpointKey("both", kTopic, appended->partition)),
            std::to_string(appended->last_offset + 1));
  EXPECT_EQ(get("checkpoints", CheckpointKey("counting", kTopic, appended->partition)), "missing");
}

// The registry is what a generation is made of: one runner per topic, named after it, folding
// every registered read model of that topic; every table is created once.
TEST(ProjectionSetTest, GroupsTheRegisteredReadModelsByTopic) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log);
  const std::vector<std::string> tables = ProjectionSet::Tables();
  EXPECT_EQ(std::set<std::string>(tables.begin(), tables.end()).size(), tables.size());
  auto store = RocksStore::Open(dir.path() + "/store", tables);
  ASSERT_TRUE(store) << store.error().message;
  ProjectionSet set(**log, **store, /*serving=*/true, {});
  std::vector<std::string> groups, customers_topic;
  for (const auto& runner : set.runners()) groups.push_back(runner->group().name);
  for (const Projector* p : set.RunnerOfTopic(kCustomersTopic)->group().projectors) {
    customers_topic.emplace_back(p->name());
  }
  std::vector<std::string> registered;
  for (const auto& r : RegisteredReadModels()) registered.emplace_back(r.name);
  EXPECT_EQ(std::count(groups.begin(), groups.end(), "customers"), 1);
  EXPECT_EQ(customers_topic, (std::vector<std::string>{"orders", "customers", "customer_history",
                                                       "segment_membership", "campaign_audience",
                                                       "transactions", "customer_promotions"}));
  for (const auto& name : registered) EXPECT_TRUE(set.Knows(name)) << name;
  EXPECT_FALSE(set.Knows("nothing"));
  ASSERT_NE(set.Find<CustomersProjector>(), nullptr);
  EXPECT_NE(set.Find<CustomersProjector>()->index(), nullptr);  // serving: the index is kept
}

// The batch overlay indexes a table's writes only once a read needs them; a read then sees the
// last of several earlier writes of a key, and the batch commits the last write.
TEST(ProjectorRunnerTest, AReadInABatchSeesItsLastWriteOfAKey) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 1});
  ASSERT_TRUE(log);
  std::vector<std::string> script = {"w/k/1",  "w/k/2",      "w/x/9",        "r/k/first",
                                     "w/k/3",  "r/k/second", "r/none/third", "w/x/10",
                                     "w/x/11", "r/x/fourth"};
  for (int i = 0; i < 3000; ++i) script.push_back("w/bulk" + std::to_string(i) + "/v");
  script.push_back("r/bulk17/fifth");
  script.push_back("w/k/4");
  std::vector<std::string> events;
  for (size_t i = 0; i < script.size(); ++i) events.push_back(Event(script[i], 1'800'000'000'000));
  auto appended = (*log)->Append(kTopic, "one-partition", events);
  ASSERT_TRUE(appended);
  ScriptedProjector projector;
  std::vector<std::string> tables = RunnerTables(projector);
  auto store = RocksStore::Open(dir.path() + "/store", tables);
  ASSERT_TRUE(store);
  ProjectorRunner runner(**log, **store, projector, {.poll_wait = std::chrono::milliseconds(10)});
  ASSERT_TRUE(runner.Start());
  ASSERT_TRUE(runner.WaitFor(appended->partition, appended->last_offset, std::chrono::seconds(10)));
  auto get = [&](const char* table, const std::string& key) {
    return (*store)->Get(table, key)->value_or("missing");
  };
  EXPECT_EQ(get("seen", "first"), "2");
  EXPECT_EQ(get("seen", "second"), "3");
  EXPECT_EQ(get("seen", "third"), "none");
  EXPECT_EQ(get("seen", "fourth"), "11");
  EXPECT_EQ(get("seen", "fifth"), "v");
  EXPECT_EQ(get("late", "k"), "4");
  EXPECT_EQ(get("late", "x"), "11");
  EXPECT_EQ(get("late", "bulk2999"), "v");
  auto described = runner.Describe(1'800'000'000'000);
  ASSERT_TRUE(described);
  EXPECT_EQ(described->counters.events_applied, static_cast<int64_t>(script.size()));
  runner.Stop();
}

// A scan from a start key sees the committed keys and the batch's own from there on, not those
// before it.
TEST(ProjectorRunnerTest, AScanStartsAtItsStartKeyInTheStoreAndInTheBatch) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 1});
  ASSERT_TRUE(log);
  ScriptedProjector projector;
  auto store = RocksStore::Open(dir.path() + "/store", RunnerTables(projector));
  ASSERT_TRUE(store);
  ProjectorRunner runner(**log, **store, projector, {.poll_wait = std::chrono::milliseconds(10)});
  ASSERT_TRUE(runner.Start());
  auto append = [&](const std::vector<std::string>& script) {
    std::vector<std::string> events;
    for (const auto& step : script) events.push_back(Event(step, 1'800'000'000'000));
    auto appended = (*log)->Append(kTopic, "one-partition", events);
    ASSERT_TRUE(appended);
    ASSERT_TRUE(
        runner.WaitFor(appended->partition, appended->last_offset, std::chrono::seconds(10)));
  };
  append({"w/a/1", "w/b/1", "w/c/1"});  // committed
  append({"w/d/1", "w/ab/1", "s/b/from_b", "s/0/from_0", "s/z/from_z"});
  auto get = [&](const char* key) { return (*store)->Get("seen", key)->value_or("missing"); };
  EXPECT_EQ(get("from_b"), "b,c,d");
  EXPECT_EQ(get("from_0"), "a,ab,b,c,d");
  EXPECT_EQ(get("from_z"), "");
  runner.Stop();
}

// A state view over a map, whose reads of one table can be made to fail.
class MapView final : public StateView {
 public:
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    if (table == failing_table) return Fail(Error::Unavailable("the store is down"));
    auto it = rows.find(std::string(table) + "/" + std::string(key));
    if (it == rows.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    const std::string from = std::string(table) + "/" + std::string(prefix);
    const std::string first = std::string(table) + "/" + std::string(std::max(prefix, start));
    for (auto it = rows.lower_bound(first); it != rows.end() && it->first.starts_with(from); ++it) {
      if (!visit(std::string_view(it->first).substr(table.size() + 1), it->second)) break;
    }
    return {};
  }
  void Commit(const std::vector<StoreWrite>& writes) {
    for (const auto& w : writes) {
      const std::string k = std::string(w.table) + "/" + w.key;
      if (w.value) {
        rows[k] = *w.value;
      } else {
        rows.erase(k);
      }
    }
  }
  std::map<std::string, std::string> rows;
  std::string_view failing_table;
};

// A customer as the projection stored it: profile and figures.
Customer StoredCustomer(const MapView& view, const std::string& id) {
  auto c = CustomerFromJson(view.rows.at(std::string(kCustomersTable) + "/" + id));
  EXPECT_TRUE(c) << c.error().message;
  if (!c) return {};
  EXPECT_TRUE(
      DecodeCustomerFigures(view.rows.at(std::string(kCustomerFiguresTable) + "/" + id), *c));
  return *c;
}

// An event of the current schema version, recorded at `at`.
EventEnvelope MakeEvent(std::string_view type, std::string_view aggregate_type,
                        const std::string& id, int64_t version, std::string payload, Millis at) {
  return testing::MakeTestEvent(type, aggregate_type, id, version, std::move(payload), at);
}

// The OrderPlaced event of `order` under `order_id`.
EventEnvelope PlacedEvent(const std::string& order_id, const Order& order, Millis at) {
  return MakeEvent(kOrderPlaced, kOrderAggregate, order_id, 1, EncodeOrderPlaced(order), at);
}

// The projector remembers customers between events; a dropped batch (Discard) must not leave
// its effects behind, or the batch read again would count them twice.
// A log whose offsets skip, as Kafka's do where transaction markers sit: partition 0 holds
// records at 0, 2 and 4 and ends at 6; partition 1 is empty. Like librdkafka, its reader moves
// its position past a marker only when a Poll passes over it, and returns an error after many
// empty polls instead of letting a reader that never sees the end wait forever.
class LogWithGaps final : public EventLog {
 public:
  explicit LogWithGaps(std::vector<std::string> values) : values_(std::move(values)) {}
  int32_t PartitionCount() const override { return 2; }
  void AppendAsync(const std::string&, const std::string&, std::vector<std::string>,
                   AppendCallback done) override {
    done(Fail(Error::FailedPrecondition("read only")));
  }
  Result<int64_t> EndOffset(const std::string&, int32_t partition) override {
    return partition == 0 ? 2 * static_cast<int64_t>(values_.size()) : 0;
  }
  Result<std::unique_ptr<LogReader>> OpenReader(
      const std::string&, const std::vector<std::pair<int32_t, int64_t>>& starts) override {
    return std::unique_ptr<LogReader>(new Reader(values_, starts));
  }

 private:
  class Reader final : public LogReader {
   public:
    Reader(const std::vector<std::string>& values,
           const std::vector<std::pair<int32_t, int64_t>>& starts)
        : values_(values), positions_(starts.begin(), starts.end()) {}
    Result<std::vector<LogRecord>> Poll(size_t max_records, std::chrono::milliseconds) override {
      std::vector<LogRecord> out;
      auto it = positions_.find(0);
      if (it != positions_.end()) {
        int64_t& next = it->second;
        const int64_t end = 2 * static_cast<int64_t>(values_.size());
        while (out.size() < max_records && next < end) {
          if (next % 2 == 1) {  // a marker: passed over only when nothing precedes it here
            if (!out.empty()) break;
            ++next;
            continue;
          }
          out.push_back({0, next, "k", values_[static_cast<size_t>(next / 2)]});
          ++next;
        }
      }
      if (out.empty() && ++empty_polls_ > 200) {
        return Fail(Error::Unavailable("nothing more to read, ever"));
      }
      return out;
    }
    Status Seek(int32_t partition, int64_t offset) override {
      positions_[partition] = offset;
      return {};
    }
    int64_t Position(int32_t partition) override { return positions_[partition]; }

   private:
    const std::vector<std::string>& values_;
    std::map<int32_t, int64_t> positions_;
    int empty_polls_ = 0;
  };
  const std::vector<std::string> values_;
};

TEST(ProjectorRunnerTest, OffsetsWithoutARecordAreReadPast) {
  const Millis now = 1'800'000'000'000;
  LogWithGaps log({Event("a", now), Event("b", now), Event("c", now)});

  int visited = 0;
  auto read = log.ReadAll(kTopic, [&](const LogRecord&) { ++visited; });
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(visited, 3);

  TempDir dir;
  CountingProjector projector;
  projector.sick = false;
  std::vector<std::string> tables = RunnerTables(projector);
  {
    auto store = RocksStore::Open(dir.path() + "/replayed", tables);
    ASSERT_TRUE(store);
    ProjectorRunner replay(log, **store, projector, {.workers = 2});
    auto st = replay.RunToEnd(nullptr);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(replay.counters().events_applied, 3);
  }

  auto store = RocksStore::Open(dir.path() + "/live", tables);
  ASSERT_TRUE(store);
  ProjectorRunner runner(
      log, **store, projector,
      {.poll_wait = std::chrono::milliseconds(10), .stall_after = std::chrono::milliseconds(200)});
  ASSERT_TRUE(runner.Start());
  ASSERT_TRUE(runner.WaitFor(0, 4, std::chrono::seconds(5)));
  // Past the marker after the last record: nothing waits, so nothing is stalled.
  ASSERT_TRUE(runner.WaitFor(0, 5, std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // health refreshes each second
  EXPECT_FALSE(runner.stalled());
  auto status = runner.Describe(now);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->state, "running");
  EXPECT_EQ(status->partitions[0].position, 6);
  EXPECT_EQ(status->partitions[0].lag, 0);
  runner.Stop();
}

// The registered projectors, each event applied by every one in turn as the runner applies
// them (writes of an event in one vector).
struct RegisteredGroup {
  // `serving_store`: in-memory views are kept, over it.
  explicit RegisteredGroup(ReadStore* serving_store = nullptr) {
    for (const auto& registration : RegisteredReadModels()) {
      projectors.push_back(registration.make({serving_store, projectors}));
    }
  }
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) {
    for (auto& projector : projectors) {
      if (auto st = projector->Apply(event, position, view, writes); !st) return st;
    }
    return {};
  }
  void Discard(const std::vector<int32_t>& partitions) {
    for (auto& projector : projectors) projector->Discard(partitions);
  }
  void Committed(const std::vector<int32_t>& partitions) {
    for (auto& projector : projectors) projector->Committed(partitions);
  }
  const CustomersProjector& customers() const {
    for (const auto& projector : projectors) {
      if (auto* c = dynamic_cast<const CustomersProjector*>(projector.get())) return *c;
    }
    std::abort();
  }
  std::vector<std::unique_ptr<Projector>> projectors;
};

TEST(CustomerProjectorTest, RemembersCustomersAndForgetsADroppedBatch) {
  const std::string id = "018f0000-0000-7000-8000-0000000000aa";
  EventEnvelope registered = MakeEvent(
      kCustomerRegistered, kCustomerAggregate, id, 1,
      EncodeCustomerFields(WithDefaults({.name = "Ada", .email = "ada@x.io"})), 1'700'000'000'000);
  Order order;
  order.customer_id = id;
  order.order_date = 1'700'000'000'000;
  order.amount_cents = 1234;
  EventEnvelope placed =
      PlacedEvent("018f0000-0000-8000-8000-0000000000bb", order, 1'700'000'000'001);

  RegisteredGroup projector;
  MapView view;
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(registered, {0, 0, ""}, view, writes));
  view.Commit(writes);
  // The order's batch fails on its last read, after the customer's stats moved in memory.
  writes.clear();
  view.failing_table = kProjectionMetaTable;
  ASSERT_FALSE(projector.Apply(placed, {0, 1, ""}, view, writes));
  projector.Discard({0});  // what the runner does with a failed batch of partition 0
  // Read again: the order counts once.
  writes.clear();
  view.failing_table = {};
  ASSERT_TRUE(projector.Apply(placed, {0, 1, ""}, view, writes));
  view.Commit(writes);
  const Customer stored = StoredCustomer(view, id);
  EXPECT_EQ(stored.stats.order_count, 1);
  EXPECT_EQ(stored.stats.order_cents, 1234);
  // Remembered: the stored records are not read again for the next event of the customer.
  view.rows.erase(std::string(kCustomersTable) + "/" + id);
  view.rows.erase(std::string(kCustomerFiguresTable) + "/" + id);
  placed.aggregate_id = "018f0000-0000-8000-8000-0000000000cc";
  writes.clear();
  ASSERT_TRUE(projector.Apply(placed, {0, 2, ""}, view, writes));
  view.Commit(writes);
  // An order rewrites the figures alone.
  EXPECT_FALSE(view.rows.contains(std::string(kCustomersTable) + "/" + id));
  Customer second;
  ASSERT_TRUE(
      DecodeCustomerFigures(view.rows.at(std::string(kCustomerFiguresTable) + "/" + id), second));
  EXPECT_EQ(second.stats.order_count, 2);
  EXPECT_EQ(second.stats.order_cents, 2468);
}

// The read store seen directly (a batch of one event at a time).
class StoreView final : public StateView {
 public:
  explicit StoreView(ReadStore& store) : store_(store) {}
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    return store_.Get(table, key);
  }
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return store_.Scan(table, prefix, std::max(prefix, start), visit);
  }

 private:
  ReadStore& store_;
};

// Read models built before the figures were stored apart hold them in the customer record,
// and orders as JSON: such records are served, indexed and folded on, and the next event
// rewrites them in the current form.
TEST(CustomerProjectorTest, FoldsOnCustomerRecordsOfOlderReadModels) {
  TempDir dir;
  auto opened = RocksStore::Open(dir.path(), ProjectionSet::Tables());
  ASSERT_TRUE(opened) << opened.error().message;
  RocksStore& store = **opened;
  RegisteredGroup projector(&store);
  const std::string id = "018f0000-0000-7000-8000-0000000000aa";
  Customer old{.id = id,
               .name = "Ada",
               .email = "ada@x.io",
               .total_spending_cents = 500,
               .visits = 2,
               .created_at = 1,
               .updated_at = 1,
               .version = 1};
  old.stats = {.order_count = 1,
               .order_cents = 1000,
               .first_order_at = 10,
               .last_order_at = 10,
               .last_activity = 10,
               .revision = 1};
  // Its one order, as such a read model stored it too (JSON).
  Order old_order;
  old_order.id = "018f0000-0000-8000-8000-0000000000a0";
  old_order.customer_id = id;
  old_order.order_date = 10;
  old_order.amount_cents = 1000;
  old_order.items = {{"S", "Sock", 1, 1000}};
  old_order.created_at = old_order.updated_at = 10;
  old_order.version = 1;
  ASSERT_TRUE(store.Write({{kCustomersTable, id, CustomerToJson(old)},
                           {kOrdersTable, old_order.id, OrderToJson(old_order)}}));
  EXPECT_EQ(**QueryOrder(store, old_order.id), OrderToJson(old_order));
  EXPECT_EQ(**QueryCustomer(store, id), CustomerToJson(old));
  for (auto& p : projector.projectors) ASSERT_TRUE(p->StartViews(store));
  const CustomerIndex& index = *projector.customers().index();
  auto count_with_orders = [&](int64_t n) {
    CustomerListQuery q;
    q.min_order_count = n;
    return index.Query(q).total;
  };
  EXPECT_EQ(count_with_orders(1), 1);

  StoreView view(store);
  auto apply = [&](const EventEnvelope& event, int64_t offset) {
    std::vector<StoreWrite> writes;
    auto st = projector.Apply(event, {0, offset, ""}, view, writes);
    ASSERT_TRUE(st) << st.error().message;
    ASSERT_TRUE(store.Write(writes));
    projector.Committed({0});
  };
  Order order;
  order.customer_id = id;
  order.order_date = 20;
  order.amount_cents = 1234;
  EventEnvelope placed = PlacedEvent("018f0000-0000-8000-8000-0000000000bb", order, 30);
  apply(placed, 1);

  auto served = QueryCustomer(store, id);
  ASSERT_TRUE(served && *served);
  auto now = CustomerFromJson(**served);
  ASSERT_TRUE(now) << now.error().message;
  EXPECT_EQ(now->name, "Ada");
  EXPECT_EQ(now->stats.order_count, 2);
  EXPECT_EQ(now->stats.order_cents, 2234);
  EXPECT_EQ(now->total_spending_cents, 500);
  EXPECT_EQ((*served)->find("\"orderCount\""), (*served)->rfind("\"orderCount\""));  // once
  EXPECT_EQ(count_with_orders(2), 1);

  apply(MakeEvent(kCustomerUpdated, kCustomerAggregate, id, 2,
                  EncodeCustomerFields({.name = "Ada L"}), 30),
        2);
  EXPECT_FALSE(ProfileHoldsFigures(**store.Get(kCustomersTable, id)));
  auto renamed = CustomerFromJson(**QueryCustomer(store, id));
  ASSERT_TRUE(renamed);
  EXPECT_EQ(renamed->name, "Ada L");
  EXPECT_EQ(renamed->stats.order_count, 2);
  EXPECT_EQ(renamed->total_spending_cents, 500);
  EXPECT_EQ(count_with_orders(2), 1);
  CustomerListQuery by_name;
  by_name.name_contains = "ada l";
  EXPECT_EQ(index.Query(by_name).total, 1);

  // The older order is cancelled: its record is read, and written anew in the compact form.
  apply(MakeEvent(kOrderStatusChanged, kOrderAggregate, old_order.id, 2,
                  EncodeOrderStatusChanged(old_order, OrderStatus::kCancelled), 30),
        3);
  const std::string record = **store.Get(kOrdersTable, old_order.id);
  EXPECT_NE(record.front(), '{');
  auto stored = QueryStoredOrder(store, old_order.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->status, OrderStatus::kCancelled);
  EXPECT_EQ((*stored)->items, old_order.items);
  auto after = CustomerFromJson(**QueryCustomer(store, id));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->stats.order_count, 1);
  EXPECT_EQ(after->stats.order_cents, 1234);

  // A profile without a figures record is served with figures of zero, never without them.
  Customer bare{.id = "bare", .name = "B", .email = "b@x.io", .version = 1};
  ASSERT_TRUE(store.Write({{kCustomersTable, bare.id, CustomerProfileToJson(bare)}}));
  EXPECT_EQ(**QueryCustomer(store, bare.id), CustomerToJson(bare));
}

// The in-memory index gets the customers a batch changed, typed, when the batch commits: not
// before, and not the change of an event another read model of the group refused.
TEST(CustomerProjectorTest, TheIndexGetsABatchsCustomersAtCommitAndNoRefusedEventsChange) {
  TempDir dir;
  auto opened = RocksStore::Open(dir.path(), ProjectionSet::Tables());
  ASSERT_TRUE(opened) << opened.error().message;
  CustomersProjector projector(opened->get());
  ASSERT_TRUE(projector.StartViews(**opened));
  const CustomerIndex& index = *projector.index();
  StoreView view(**opened);
  auto named = [&](const std::string& name) {
    CustomerListQuery q;
    q.name_contains = name;
    return index.Query(q).total;
  };
  const std::string id = "018f0000-0000-7000-8000-0000000000aa";
  std::vector<StoreWrite> writes;
  ASSERT_TRUE(projector.Apply(
      MakeEvent(kCustomerRegistered, kCustomerAggregate, id, 1,
                EncodeCustomerFields(WithDefaults({.name = "Ada", .email = "ada@x.io"})), 1),
      {0, 0, ""}, view, writes));
  EXPECT_EQ(named("ada"), 0);  // nothing before the commit
  ASSERT_TRUE((*opened)->Write(writes));
  projector.Committed({0});
  EXPECT_EQ(named("ada"), 1);

  // The next batch: a rename another read model refuses, then one it takes.
  writes.clear();
  ASSERT_TRUE(projector.Apply(MakeEvent(kCustomerUpdated, kCustomerAggregate, id, 2,
                                        EncodeCustomerFields({.name = "Grace"}), 2),
                              {0, 1, ""}, view, writes));
  projector.Unapply(0, 1);
  writes.clear();
  ASSERT_TRUE(projector.Apply(MakeEvent(kCustomerUpdated, kCustomerAggregate, id, 2,
                                        EncodeCustomerFields({.name = "Lin"}), 3),
                              {0, 2, ""}, view, writes));
  ASSERT_TRUE((*opened)->Write(writes));
  EXPECT_EQ(named("lin"), 0);
  projector.Committed({0});
  EXPECT_EQ(named("lin"), 1);
  EXPECT_EQ(named("grace"), 0);
  EXPECT_EQ(named("ada"), 0);
}

// The sessions view answers from the store until it has loaded, from memory after, and takes
// what commits meanwhile.
TEST(SessionStatesTest, AnswersFromTheStoreUntilLoadedThenFromMemory) {
  TempDir dir;
  auto opened = RocksStore::Open(dir.path(), ProjectionSet::Tables());
  ASSERT_TRUE(opened) << opened.error().message;
  const Millis now = 1'800'000'000'000;
  const std::string later = std::to_string(now + 60'000);
  ASSERT_TRUE((*opened)->Write(
      {{kSessionsTable, "s1", "u1\t" + later + "\tsigned_out"},
       {kSessionsTable, "s2", "u1\t" + later + "\t"},
       {kSessionsTable, "gone", "u1\t" + std::to_string(now - 1) + "\tsigned_out"}}));
  SessionStates states(**opened);
  EXPECT_EQ(**states.Ended("s1"), "signed_out");  // from the store
  EXPECT_EQ(*states.Ended("s2"), std::nullopt);
  ASSERT_TRUE(states.Load(now));
  ASSERT_TRUE((*opened)->Write({{kSessionsTable, "s1", "u1\t" + later + "\t"}}));
  EXPECT_EQ(**states.Ended("s1"), "signed_out");   // from memory now
  EXPECT_EQ(*states.Ended("gone"), std::nullopt);  // expired: not kept
  states.Apply({{"s2", now + 60'000, "password_changed"}}, now);
  EXPECT_EQ(**states.Ended("s2"), "password_changed");
}

// The customer history table points into the log; entries written by read models built
// before it did hold the envelope itself, and are still served. Order events are found
// through the orders' records.
TEST(CustomerHistoryTest, ReadsTheLogAndServesInlineEntriesOfOlderReadModels) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log);
  auto store = RocksStore::Open(dir.path() + "/store", ProjectionSet::Tables());
  ASSERT_TRUE(store) << store.error().message;
  auto appended = (*log)->Append(std::string(kCustomersTopic), "c1",
                                 {R"({"n":1})", R"({"n":2})", R"({"n":3})"});
  ASSERT_TRUE(appended);
  auto key = [&](int64_t offset) {
    char digits[24];
    std::snprintf(digits, sizeof digits, "%020lld", static_cast<long long>(offset));
    return std::string("c1/") + digits;
  };
  const int64_t first = appended->first_offset;
  const std::string partition = std::to_string(appended->partition);
  ASSERT_TRUE((*store)->Write({{kCustomerEventsTable, key(first), partition},
                               {kCustomerEventsTable, key(first + 1), R"({"inline":true})"},
                               {kCustomerEventsTable, key(first + 2), partition}}));
  auto events = QueryCustomerEvents(**store, **log, "c1");
  ASSERT_TRUE(events) << events.error().message;
  EXPECT_EQ(*events, (std::vector<std::string>{R"({"n":1})", R"({"inline":true})", R"({"n":3})"}));
  auto none = QueryCustomerEvents(**store, **log, "c2");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // The customer's orders list their events in their records: those join the history in log
  // order, once each (an older read model also has history entries for some of them), and an
  // order record of an older read model (JSON, no positions) adds nothing.
  auto more = (*log)->Append(std::string(kCustomersTopic), "c1", {R"({"n":4})", R"({"n":5})"});
  ASSERT_TRUE(more);
  ASSERT_EQ(more->partition, appended->partition);
  Order o1;
  o1.id = "o1";
  o1.customer_id = "c1";
  o1.order_date = 1;
  o1.amount_cents = 5;
  o1.version = 3;
  Order o2 = o1;
  o2.id = "o2";
  o2.order_date = 2;
  const int32_t p = appended->partition;
  ASSERT_TRUE((*store)->Write(
      {{kOrdersByCustomerTable, "c1/00000000000000000001/o1", "Pending"},
       {kOrdersByCustomerTable, "c1/00000000000000000002/o2", "Pending"},
       {kOrdersTable, "o1",
        EncodeOrderRecord(o1, {{p, first + 2}, {p, more->first_offset}, {p, more->last_offset}})},
       {kOrdersTable, "o2", OrderToJson(o2)}}));
  auto joined = QueryCustomerEvents(**store, **log, "c1");
  ASSERT_TRUE(joined) << joined.error().message;
  EXPECT_EQ(*joined, (std::vector<std::string>{R"({"n":1})", R"({"inline":true})", R"({"n":3})",
                                               R"({"n":4})", R"({"n":5})"}));
  // An order indexed for the customer but not stored is data loss, not a shorter history.
  ASSERT_TRUE((*store)->Write({{kOrdersByCustomerTable, "c1/00000000000000000003/o3", "Pending"}}));
  auto missing = QueryCustomerEvents(**store, **log, "c1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kDataLoss);
  ASSERT_TRUE(
      (*store)->Write({{kOrdersByCustomerTable, "c1/00000000000000000003/o3", std::nullopt}}));

  // A pointer the log cannot have is refused, not skipped.
  ASSERT_TRUE((*store)->Write({{kCustomerEventsTable, key(more->last_offset + 1), "7"}}));
  auto broken = QueryCustomerEvents(**store, **log, "c1");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, ErrorCode::kDataLoss);
}

}  // namespace
}  // namespace keel

namespace keel {
namespace {

// A read model that has applied more of a partition than the log holds refuses to start: the
// log lost acknowledged events, and folding on would skip the offsets it hands out again.
// A store whose file writes fail (EIO) under a running projection: its flush fails, RocksDB
// will not resume from that, and the store is reopened once the disk answers again. Whatever
// the store had not flushed is folded again from the checkpoints: every event counted exactly
// once, with no restart.
// "a0".."a9", built without GCC 12's false -Wrestrict on "a" + std::to_string(a).
std::string AggregateId(int a) {
  std::string id(1, 'a');
  id += std::to_string(a);
  return id;
}

TEST(ProjectorRunnerTest, AStoreThatFailedAWriteIsReopenedAndTheProjectionCountsEveryEventOnce) {
  TempDir dir;
  auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 2});
  ASSERT_TRUE(log);
  CountingProjector projector;
  projector.sick = false;
  auto faults = std::make_shared<StoreFaults>();
  auto store = RocksStore::Open(dir.path() + "/store", RunnerTables(projector), false, faults);
  ASSERT_TRUE(store);
  ProjectorRunner runner(**log, **store, projector,
                         {.poll_wait = std::chrono::milliseconds(5),
                          .flush_interval = std::chrono::milliseconds(20)});
  ASSERT_TRUE(runner.Start());
  const Millis now = 1'800'000'000'000;
  auto append_round = [&] {
    for (int a = 0; a < 10; ++a) {
      const std::string id = AggregateId(a);
      ASSERT_TRUE((*log)->Append(kTopic, id, {Event(id, now)}));
    }
  };
  auto applied_all = [&] {
    std::vector<std::pair<int32_t, int64_t>> ends;
    for (int32_t p = 0; p < 2; ++p) {
      auto end = (*log)->EndOffset(kTopic, p);
      if (!end || *end == 0) continue;
      ends.emplace_back(p, *end - 1);
    }
    return runner.Applied(ends);
  };
  auto wait_applied = [&](std::chrono::seconds bound) {
    const auto deadline = std::chrono::steady_clock::now() + bound;
    while (!applied_all() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return applied_all();
  };
  for (int i = 0; i < 3; ++i) append_round();
  ASSERT_TRUE(wait_applied(std::chrono::seconds(10)));
  ASSERT_TRUE((*store)->Flush());

  faults->write_errno = EIO;
  for (int i = 0; i < 3; ++i) append_round();
  // The batches land in the memtables; the next flush meets the fault, and from then on the
  // store refuses writes until it has recovered.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*store)->Write({{"counts", "probe", "1"}}) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE((*store)->Write({{"counts", "probe", "1"}})) << "the fault never reached the store";
  for (int i = 0; i < 2; ++i) append_round();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  faults->write_errno = 0;
  for (int i = 0; i < 2; ++i) append_round();
  ASSERT_TRUE(wait_applied(std::chrono::seconds(20))) << "the projection did not resume";
  EXPECT_GE((*store)->epoch(), 1u) << "RocksDB resumed instead: the reopen was not exercised";
  for (int a = 0; a < 10; ++a) {
    auto count = (*store)->Get("counts", AggregateId(a));
    ASSERT_TRUE(count && *count) << a;
    EXPECT_EQ(**count, "10") << "a" << a << " counted once per event";
  }
  runner.Stop();
  store->reset();
  auto reopened = RocksStore::Open(dir.path() + "/store", RunnerTables(projector));
  ASSERT_TRUE(reopened);
  for (int a = 0; a < 10; ++a) {
    auto count = (*reopened)->Get("counts", AggregateId(a));
    ASSERT_TRUE(count && *count) << a;
    EXPECT_EQ(**count, "10") << "a" << a << " after a restart";
  }
}

TEST(ProjectorRunnerTest, ACheckpointBeyondTheLogsEndRefusesToStart) {
  TempDir dir;
  ScriptedProjector projector;
  std::vector<std::string> tables = RunnerTables(projector);
  auto store = RocksStore::Open(dir.path() + "/store", tables);
  ASSERT_TRUE(store);
  {
    auto log = EmbeddedLog::Open({.dir = dir.path() + "/log", .partitions = 1});
    auto appended = (*log)->Append(
        kTopic, "k", {Event("w/k/1", 1'800'000'000'000), Event("w/k/2", 1'800'000'000'000)});
    ASSERT_TRUE(appended);
    ProjectorRunner runner(**log, **store, projector, {.poll_wait = std::chrono::milliseconds(10)});
    ASSERT_TRUE(runner.Start());
    ASSERT_TRUE(runner.WaitFor(0, appended->last_offset, std::chrono::seconds(10)));
    runner.Stop();
  }
  auto empty = EmbeddedLog::Open({.dir = dir.path() + "/other-log", .partitions = 1});
  ASSERT_TRUE(empty);
  ProjectorRunner runner(**empty, **store, projector, {.poll_wait = std::chrono::milliseconds(10)});
  auto started = runner.Start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kDataLoss);
  EXPECT_NE(started.error().message.find("the log ends at 0"), std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace keel

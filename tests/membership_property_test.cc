// Segment membership against a brute-force evaluator, through the real runner (the embedded
// log, RocksDB, the customers group's batches on two workers): random customers with random
// histories, random time-relative rule trees published, redefined and archived between them,
// and clock ticks. After every tick that follows all events so far, each segment's members,
// count and each customer's segments equal EvaluateRules at the tick's time; at the end, the
// members at each earlier tick are reconstructed from the history; and a replay into a fresh
// store writes byte for byte the same membership tables.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "commands/marker_publisher.h"
#include "domain/customer.h"
#include "domain/ids.h"
#include "domain/order.h"
#include "domain/partition_markers.h"
#include "domain/segment_rules.h"
#include "domain/topics.h"
#include "infra/embedded_log.h"
#include "infra/rocks_store.h"
#include "projections/customers/customer_queries.h"
#include "projections/membership/membership_queries.h"
#include "projections/projection_set.h"
#include "projections/testing/map_state_view.h"
#include "tests/test_util.h"

namespace keel {
namespace {

using testing::MakeTestEvent;

constexpr int32_t kPartitions = 4;
constexpr Millis kDay = 86'400'000;
constexpr Millis kStart = 1'780'000'000'000;  // 2026-05-28

std::string Num(int64_t n) { return std::to_string(n); }

// Rule trees that lean on time: in_last_days, not_in_last_days and inactive_days, with figures.
class TimeRules {
 public:
  explicit TimeRules(uint64_t seed) : rng_(seed) {}
  RuleNode Tree() {
    std::string json = Node(0);
    auto tree = ParseSegmentRulesJson(json);
    EXPECT_TRUE(tree) << json << ": " << tree.error().message;
    return tree ? *tree : RuleNode{};
  }

 private:
  std::string Node(int depth) {
    const uint64_t pick = rng_() % 10;
    if (depth >= 2 || pick < 5) return Condition();
    if (pick < 6) return R"({"not":)" + Node(depth + 1) + "}";
    std::string group = pick < 8 ? R"({"and":[)" : R"({"or":[)";
    const int n = 1 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) {
      if (i) group += ",";
      group += Node(depth + 1);
    }
    return group + "]}";
  }
  std::string Condition() {
    auto cond = [](std::string_view field, std::string_view op, const std::string& value) {
      std::string c = R"({"field":")";
      c += field;
      c += R"(","op":")";
      c += op;
      c += R"(","value":)";
      c += value;
      c += "}";
      return c;
    };
    static const char* kTimes[] = {"lastVisit", "lastOrderAt", "createdAt", "firstOrderAt"};
    static const char* kCmp[] = {">", ">=", "<", "<=", "=", "!="};
    switch (rng_() % 5) {
      case 0:
      case 1:
        return cond(kTimes[rng_() % 4], rng_() % 2 ? "in_last_days" : "not_in_last_days",
                    Num(1 + static_cast<int64_t>(rng_() % 6)));
      case 2:
        return cond("inactive_days", kCmp[rng_() % 6], Num(static_cast<int64_t>(rng_() % 6)));
      case 3:
        return cond("inactive_days", "between",
                    "[" + Num(static_cast<int64_t>(rng_() % 3)) + "," +
                        Num(2 + static_cast<int64_t>(rng_() % 3)) + "]");
      default:
        return cond(rng_() % 2 ? "orderCount" : "visits", kCmp[rng_() % 6],
                    Num(static_cast<int64_t>(rng_() % 4)));
    }
  }
  std::mt19937_64 rng_;
};

class MembershipWorld {
 public:
  MembershipWorld() {
    auto log =
        EmbeddedLog::Open({.dir = dir_.path() + "/log", .partitions = kPartitions, .fsync = false});
    EXPECT_TRUE(log);
    log_ = std::move(*log);
    store_ = OpenStore("store");
    set_ = std::make_unique<ProjectionSet>(
        *log_, *store_, false, ProjectorRunner::Options{.batch_size = 37, .workers = 2});
  }

  std::unique_ptr<RocksStore> OpenStore(const std::string& name) {
    auto store = RocksStore::Open(dir_.path() + "/" + name, ProjectionSet::Tables());
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }

  void Append(const std::string& key, const EventEnvelope& e) {
    auto r = log_->Append(std::string(kCustomersTopic), key, {EncodeEvent(e)});
    ASSERT_TRUE(r) << r.error().message;
  }
  void Marker(std::string_view type, std::string payload, Millis at) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      EventEnvelope e = MakeTestEvent(type, kMarkerAggregate, "m", 1, payload, at);
      e.event_id += Num(++markers_);
      Append(KeyForPartition(p, kPartitions), e);
    }
  }
  void Fold() {
    auto st = set_->RunToEnd(nullptr);
    ASSERT_TRUE(st) << st.error().message;
  }

  EventLog& log() { return *log_; }
  ReadStore& store() { return *store_; }
  TempDir& dir() { return dir_; }

 private:
  TempDir dir_;
  std::unique_ptr<EmbeddedLog> log_;
  std::unique_ptr<RocksStore> store_;
  std::unique_ptr<ProjectionSet> set_;
  int markers_ = 0;
};

// Every row of the membership tables.
std::map<std::string, std::string> MembershipRows(ReadStore& store) {
  std::map<std::string, std::string> rows;
  for (std::string_view table :
       {kMembershipRulesTable, kMembershipCustomersTable, kCustomerSegmentsTable,
        kSegmentMembersTable, kMembershipTimersTable, kSegmentHistoryTable}) {
    auto st = store.Scan(table, "", "", [&](std::string_view k, std::string_view v) {
      rows[std::string(table) + "|" + std::string(k)] = std::string(v);
      return true;
    });
    EXPECT_TRUE(st);
  }
  auto st = store.Scan(kProjectionMetaTable, kMemberCountPrefix, "",
                       [&](std::string_view k, std::string_view v) {
                         rows["meta|" + std::string(k)] = std::string(v);
                         return true;
                       });
  EXPECT_TRUE(st);
  return rows;
}

TEST(MembershipPropertyTest, MembersFollowABruteForceEvaluatorAcrossTicksRedefinitionsAndReplay) {
  MembershipWorld world;
  std::mt19937_64 rng(20261202);
  TimeRules gen(11);
  Millis now = kStart;
  auto later = [&](Millis by) {
    now += by;
    return now;
  };

  struct Live {
    std::string id;
    int64_t version = 0;
    std::optional<RuleNode> rules;  // none: archived
  };
  std::vector<Live> segments;
  auto publish = [&](Live& s) {
    PublishedRules p{s.id, s.version, std::nullopt};
    if (s.rules) p.rules_json = EncodeSegmentRules(*s.rules);
    world.Marker(kSegmentRulesPublished, EncodePublishedRules(p), later(1000));
  };
  for (int i = 0; i < 5; ++i) {
    segments.push_back({"seg-" + Num(i), 1, gen.Tree()});
    publish(segments.back());
  }

  std::vector<std::string> customers;
  std::map<std::string, int64_t> versions;
  int orders = 0;
  auto register_customer = [&] {
    const std::string id = "cust-" + Num(static_cast<int64_t>(customers.size()));
    CustomerFields f = WithDefaults({.name = "C " + id, .email = id + "@x.io"});
    f.visits = static_cast<int64_t>(rng() % 3);
    if (rng() % 2)
      f.last_visit = std::optional<Millis>(now - static_cast<Millis>(rng() % 8) * kDay);
    world.Append(id, MakeTestEvent(kCustomerRegistered, kCustomerAggregate, id, 1,
                                   EncodeCustomerFields(f), later(60'000)));
    customers.push_back(id);
    versions[id] = 1;
  };
  auto random_event = [&] {
    const std::string& id = customers[rng() % customers.size()];
    if (rng() % 2) {
      Order o;
      o.id = "order-" + Num(++orders);
      o.customer_id = id;
      o.order_date = now - static_cast<Millis>(rng() % 5) * kDay;
      o.amount_cents = 100 + static_cast<int64_t>(rng() % 10'000);
      o.created_at = now;
      world.Append(id, MakeTestEvent(kOrderPlaced, kOrderAggregate, o.id, 1, EncodeOrderPlaced(o),
                                     later(30'000)));
    } else {
      world.Append(id, MakeTestEvent(kCustomerVisitRecorded, kCustomerAggregate, id, ++versions[id],
                                     EncodeVisit(now - (rng() % 3) * kDay), later(30'000)));
    }
  };

  struct Check {
    Millis at;
    std::map<std::string, std::set<std::string>> members;  // segment → customers
  };
  std::vector<Check> checks;
  // A tick after everything so far, then every answer against brute force at its time.
  auto tick_and_check = [&](const std::string& when) {
    const Millis at = later(static_cast<Millis>(rng() % (3 * kDay)) + 1);
    world.Marker(kClockTicked, EncodeClockTicked(at), at);
    world.Fold();
    Check check{at, {}};
    std::vector<Customer> all;
    for (const auto& id : customers) {
      auto doc = QueryCustomer(world.store(), id);
      ASSERT_TRUE(doc && *doc);
      auto c = CustomerFromJson(**doc);
      ASSERT_TRUE(c);
      all.push_back(std::move(*c));
    }
    size_t discriminating = 0;
    for (const Live& s : segments) {
      std::set<std::string> expected;
      if (s.rules) {
        for (const Customer& c : all) {
          if (EvaluateRules(*s.rules, c, at)) expected.insert(c.id);
        }
      }
      auto members = QuerySegmentMembers(world.store(), s.id, "", 100000);
      ASSERT_TRUE(members);
      std::set<std::string> got;
      for (const auto& m : *members) got.insert(m.customer_id);
      EXPECT_EQ(got, expected) << when << ": " << s.id << " "
                               << (s.rules ? EncodeSegmentRules(*s.rules) : "archived");
      EXPECT_EQ(QueryMemberCount(world.store(), s.id).value(),
                static_cast<int64_t>(expected.size()))
          << when << ": " << s.id;
      if (!expected.empty() && expected.size() < all.size()) ++discriminating;
      check.members[s.id] = expected;
    }
    EXPECT_GT(discriminating, 0u) << when;
    for (const Customer& c : all) {
      auto of = QueryCustomerMemberships(world.store(), c.id);
      ASSERT_TRUE(of);
      std::set<std::string> in, expected;
      for (const auto& m : *of) in.insert(m.segment_id);
      for (const auto& [segment, members] : check.members) {
        if (members.contains(c.id)) expected.insert(segment);
      }
      EXPECT_EQ(in, expected) << when << ": segments of " << c.id;
    }
    checks.push_back(std::move(check));
  };

  for (int i = 0; i < 40; ++i) register_customer();
  tick_and_check("after registrations");
  for (int round = 0; round < 12; ++round) {
    const int events = static_cast<int>(rng() % 40);
    for (int i = 0; i < events; ++i) random_event();
    if (round % 3 == 1) register_customer();
    if (round == 4) {  // a redefinition and a new segment among the events
      segments[1].rules = gen.Tree();
      ++segments[1].version;
      publish(segments[1]);
      segments.push_back({"seg-late", 1, gen.Tree()});
      publish(segments.back());
      publish(segments[0]);  // published twice: changes nothing
    }
    if (round == 7) {  // archived: everyone leaves
      segments[2].rules.reset();
      ++segments[2].version;
      publish(segments[2]);
    }
    tick_and_check("round " + Num(round));
  }

  // Who was in each segment at every check, from the history.
  for (const Check& check : checks) {
    for (const auto& [segment, expected] : check.members) {
      auto then = QueryMembersAt(world.store(), segment, check.at, 1'000'000, 0, 1'000'000);
      ASSERT_TRUE(then) << then.error().message;
      EXPECT_EQ(std::set<std::string>(then->ids.begin(), then->ids.end()), expected)
          << segment << " at " << check.at;
      EXPECT_EQ(then->total, static_cast<int64_t>(expected.size()));
      EXPECT_TRUE(std::is_sorted(then->ids.begin(), then->ids.end()));
      // A page of it is the same slice of the whole.
      auto page = QueryMembersAt(world.store(), segment, check.at, 1'000'000, 2, 3);
      ASSERT_TRUE(page);
      std::vector<std::string> slice;
      for (size_t k = 2; k < then->ids.size() && slice.size() < 3; ++k) {
        slice.push_back(then->ids[k]);
      }
      EXPECT_EQ(page->ids, slice);
    }
  }

  // A replay, one worker and other batches, writes the same tables.
  auto replayed = world.OpenStore("replayed");
  {
    ProjectionSet set(world.log(), *replayed, false, {.batch_size = 1000, .workers = 1});
    ASSERT_TRUE(set.RunToEnd(nullptr));
  }
  EXPECT_EQ(MembershipRows(*replayed), MembershipRows(world.store()));
}

// A read model added to a store whose group had folded events (a newer build over an older
// store) is found missing, so that the server rebuilds the generation; a store built from the
// log's beginning has every read model.
TEST(MembershipPropertyTest, AReadModelNewToAnOlderStoreIsFoundMissing) {
  MembershipWorld world;
  CustomerFields f = WithDefaults({.name = "A", .email = "a@x.io"});
  world.Append("a", MakeTestEvent(kCustomerRegistered, kCustomerAggregate, "a", 1,
                                  EncodeCustomerFields(f), kStart));
  world.Fold();
  ProjectionSet set(world.log(), world.store(), false, {});
  EXPECT_TRUE(set.MissingReadModels().value().empty());
  // As an older build left it: the membership read model never marked present.
  ASSERT_TRUE(
      world.store().Write({{kProjectionMetaTable, "readmodel/segment_membership", std::nullopt}}));
  EXPECT_EQ(set.MissingReadModels().value(), std::vector<std::string>{"segment_membership"});
  ASSERT_TRUE(set.Start());  // starting does not mark it: it still lacks the early events
  set.StopWaits();
  EXPECT_EQ(set.MissingReadModels().value(), std::vector<std::string>{"segment_membership"});
}

// A read model folded by a build that wrote another format of it is found missing too.
TEST(MembershipPropertyTest, AReadModelOfAnOlderFormatIsFoundMissing) {
  MembershipWorld world;
  CustomerFields f = WithDefaults({.name = "A", .email = "a@x.io"});
  world.Append("a", MakeTestEvent(kCustomerRegistered, kCustomerAggregate, "a", 1,
                                  EncodeCustomerFields(f), kStart));
  world.Fold();
  ProjectionSet set(world.log(), world.store(), false, {});
  ASSERT_TRUE(set.MissingReadModels().value().empty());
  EXPECT_EQ(world.store().Get(kProjectionMetaTable, "readmodel/customers").value(), "4");
  // As the build before customers' format 4 left it.
  ASSERT_TRUE(world.store().Write({{kProjectionMetaTable, "readmodel/customers", "3"}}));
  EXPECT_EQ(set.MissingReadModels().value(), std::vector<std::string>{"customers"});
}

int64_t Records(EventLog& log) {
  int64_t n = 0;
  for (int32_t p = 0; p < log.PartitionCount(); ++p) {
    n += log.EndOffset(std::string(kCustomersTopic), p).value_or(0);
  }
  return n;
}

// The publisher places each segment version once on every partition (again after a restart,
// which the partitions ignore), ticks every partition, and its thread ticks on schedule.
TEST(MarkerPublisherTest, EachVersionReachesEveryPartitionOnceAndTicksKeepTime) {
  MembershipWorld world;
  SystemClock clock;
  UuidV7Generator ids(clock, 3);
  Segment a{.id = "a", .rules_json = R"({"field":"visits","op":">","value":1})", .version = 1};
  Segment b{.id = "b",
            .rules_json = R"({"field":"visits","op":"<","value":9})",
            .version = 2,
            .archived = true};
  std::vector<Segment> segments{a, b};
  auto source = [&] { return segments; };
  MarkerPublisher publisher(world.log(), clock, ids,
                            {.tick_interval = std::chrono::milliseconds(0)}, source);
  ASSERT_TRUE(publisher.PublishSegments());
  EXPECT_EQ(Records(world.log()), 2 * kPartitions);
  ASSERT_TRUE(publisher.PublishSegments());
  EXPECT_EQ(Records(world.log()), 2 * kPartitions);  // nothing new: nothing appended
  {
    // No rule depends on time: its thread appends no tick (and publishes everything once).
    MarkerPublisher idle(world.log(), clock, ids, {.tick_interval = std::chrono::milliseconds(20)},
                         source);
    idle.Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    idle.Stop();
    EXPECT_EQ(Records(world.log()), 4 * kPartitions);
  }
  segments[0].version = 2;
  segments[0].rules_json = R"({"field":"lastVisit","op":"in_last_days","value":3})";
  ASSERT_TRUE(publisher.PublishSegments());
  ASSERT_TRUE(publisher.Tick());
  EXPECT_EQ(Records(world.log()), 6 * kPartitions);
  world.Fold();
  EXPECT_EQ(QueryFoldedVersions(world.store(), "a", kPartitions).value(),
            std::vector<int64_t>(kPartitions, 2));
  EXPECT_EQ(QueryFoldedVersions(world.store(), "b", kPartitions).value(),
            std::vector<int64_t>(kPartitions, 2));
  const auto rows = MembershipRows(world.store());

  // A restart publishes everything again; the partitions have it already.
  MarkerPublisher restarted(world.log(), clock, ids,
                            {.tick_interval = std::chrono::milliseconds(20)}, source);
  restarted.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  restarted.Stop();
  const int64_t ticks = Records(world.log()) - 8 * kPartitions;
  EXPECT_GE(ticks, 5 * kPartitions);  // about twelve rounds of ticks, one per partition each
  EXPECT_EQ(ticks % kPartitions, 0);
  world.Fold();
  auto after = MembershipRows(world.store());
  for (int32_t p = 0; p < kPartitions; ++p) {  // only the clocks moved
    after.erase(std::string(kMembershipRulesTable) + "|" + PartitionPart(p));
    EXPECT_TRUE(rows.contains(std::string(kMembershipRulesTable) + "|" + PartitionPart(p)));
  }
  auto before = rows;
  for (int32_t p = 0; p < kPartitions; ++p) {
    before.erase(std::string(kMembershipRulesTable) + "|" + PartitionPart(p));
  }
  EXPECT_EQ(after, before);
}

}  // namespace
}  // namespace keel

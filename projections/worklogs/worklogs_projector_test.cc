// WorklogsProjector: records, indexes and sums follow the events; queries filter, scope and page.
#include "projections/worklogs/worklogs_projector.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

struct Log {
  std::string id, user, date;
  int64_t minutes;
  std::optional<std::string> customer, project;
};

class WorklogsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(const Log& l, int32_t partition, MapStateView& view, MapReadStore* store) {
    Worklog w;
    w.user_id = l.user;
    w.customer_id = l.customer;
    w.project_id = l.project;
    w.log_date = l.date;
    w.duration_minutes = l.minutes;
    auto e =
        MakeTestEvent(kWorklogRecorded, kWorklogAggregate, l.id, 1, EncodeWorklogRecorded(w), kNow);
    std::vector<StoreWrite> writes;
    auto st = projector_.Apply(e, {partition, 0, ""}, view, writes);
    if (st) {
      view.Commit(writes);
      if (store) {
        EXPECT_TRUE(store->Write(writes));
      }
    }
    return st;
  }
  void FoldAll(MapStateView& view, MapReadStore* store) {
    for (size_t i = 0; i < logs_.size(); ++i) {
      ASSERT_TRUE(Fold(logs_[i], static_cast<int32_t>(i % 3), view, store));
    }
  }
  std::vector<std::string> Ids(const WorklogListQuery& q) {
    auto page = QueryWorklogs(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& w : page->items) ids.push_back(w.id);
    return ids;
  }

  const std::vector<Log> logs_ = {
      {"w1", "ann", "2026-03-01", 30, "c1", "p1"},
      {"w2", "ann", "2026-03-02", 45, "c2", std::nullopt},
      {"w3", "bob", "2026-03-01", 60, "c1", "p1"},
      {"w4", "bob", "2026-03-05", 15, std::nullopt, std::nullopt},
      {"w5", "ann", "2026-03-05", 120, "c1", "p2"},
  };
  WorklogsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(WorklogsProjectorTest, SumsPerUserCustomerAndProjectAcrossPartitions) {
  FoldAll(view_, &store_);
  using D = WorklogDimension;
  EXPECT_EQ(*QueryWorklogSum(store_, D::kUser, "ann"), (WorklogSum{195, 3}));
  EXPECT_EQ(*QueryWorklogSum(store_, D::kUser, "bob"), (WorklogSum{75, 2}));
  EXPECT_EQ(*QueryWorklogSum(store_, D::kCustomer, "c1"), (WorklogSum{210, 3}));
  EXPECT_EQ(*QueryWorklogSum(store_, D::kProject, "p1"), (WorklogSum{90, 2}));
  EXPECT_EQ(*QueryWorklogSum(store_, D::kProject, "none"), (WorklogSum{0, 0}));
  auto all = QueryWorklogSums(store_, D::kCustomer);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all,
            (std::vector<std::pair<std::string, WorklogSum>>{{"c1", {210, 3}}, {"c2", {45, 1}}}));
  // A rebuild folds the same rows, sums included.
  MapStateView rebuilt;
  FoldAll(rebuilt, nullptr);
  EXPECT_EQ(rebuilt.rows, view_.rows);
}

TEST_F(WorklogsProjectorTest, ListsFilterScopeAndPage) {
  FoldAll(view_, &store_);
  EXPECT_EQ(Ids({}), (std::vector<std::string>{"w5", "w4", "w2", "w3", "w1"}));
  EXPECT_EQ(Ids({.user_id = "ann"}), (std::vector<std::string>{"w5", "w2", "w1"}));
  EXPECT_EQ(Ids({.user_id = "ann", .customer_id = "c1"}), (std::vector<std::string>{"w5", "w1"}));
  EXPECT_EQ(Ids({.project_id = "p1"}), (std::vector<std::string>{"w3", "w1"}));
  EXPECT_EQ(Ids({.from = "2026-03-02", .to = "2026-03-04"}), (std::vector<std::string>{"w2"}));
  EXPECT_EQ(Ids({.page = 2, .limit = 2}), (std::vector<std::string>{"w2", "w3"}));
  // bob reads his own and those on c2 (ann's w2), nothing else.
  EXPECT_EQ(Ids({.reader = "bob", .visible_customers = {"c2"}}),
            (std::vector<std::string>{"w4", "w2", "w3"}));
  EXPECT_EQ(Ids({.customer_id = "c1", .reader = "bob", .visible_customers = {"c2"}}),
            (std::vector<std::string>{"w3"}));
  auto page = QueryWorklogs(store_, {.limit = 1, .customer_id = "c1"});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->totals, (WorklogSum{210, 3}));
}

// Counts the index entries the queries visit (the worklogs_by_* tables).
class CountingStore final : public ReadStore {
 public:
  explicit CountingStore(ReadStore& inner) : inner_(inner) {}
  Status Write(const std::vector<StoreWrite>& batch) override { return inner_.Write(batch); }
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    return inner_.Get(table, key);
  }
  Status Scan(std::string_view table, std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return inner_.Scan(table, prefix, start, Counted(table, visit));
  }
  Status ScanReverse(
      std::string_view table, std::string_view prefix, std::string_view last,
      const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return inner_.ScanReverse(table, prefix, last, Counted(table, visit));
  }
  Status Flush() override { return inner_.Flush(); }
  int64_t visited = 0;

 private:
  std::function<bool(std::string_view, std::string_view)> Counted(
      std::string_view table, const std::function<bool(std::string_view, std::string_view)>& f) {
    const bool index = table.starts_with("worklogs_by_");
    return [this, index, &f](std::string_view k, std::string_view v) {
      if (index) ++visited;
      return f(k, v);
    };
  }
  ReadStore& inner_;
};

TEST_F(WorklogsProjectorTest, AListReadsNewestFirstAndAtMostItsBound) {
  const int n = static_cast<int>(kMaxWorklogsRead) + 10;
  int64_t minutes = 0;
  for (int i = 0; i < n; ++i) {
    char id[16], date[16];
    std::snprintf(id, sizeof id, "x%05d", i);
    std::snprintf(date, sizeof date, "2026-03-%02d", 1 + i * 28 / n);
    Log l{id, i % 2 ? "bob" : "ann", date, 1 + i % 7, "c1", std::nullopt};
    minutes += l.minutes;
    ASSERT_TRUE(Fold(l, i % 3, view_, &store_));
  }
  CountingStore counting(store_);
  // Without dates: the totals from the sums, and one page read.
  auto page = QueryWorklogs(counting, {.limit = 20});
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->items.front().id, "x10009");
  EXPECT_EQ(page->items.size(), 20u);
  EXPECT_EQ(page->totals, (WorklogSum{minutes, n}));
  EXPECT_FALSE(page->truncated);
  EXPECT_LE(counting.visited, 21);
  counting.visited = 0;
  page = QueryWorklogs(counting, {.page = 2, .limit = 5, .customer_id = "c1"});
  EXPECT_EQ(page->items.front().id, "x10004");
  EXPECT_EQ(page->totals.count, n);
  EXPECT_LE(counting.visited, 11);
  // With dates: at most the bound is read, newest first, and the answer says it stopped.
  counting.visited = 0;
  page = QueryWorklogs(counting, {.limit = 3, .from = "2026-03-01", .to = "2026-03-28"});
  ASSERT_TRUE(page);
  EXPECT_TRUE(page->truncated);
  EXPECT_EQ(page->totals.count, static_cast<int64_t>(kMaxWorklogsRead));
  EXPECT_EQ(page->items.front().id, "x10009");
  EXPECT_LE(counting.visited, static_cast<int64_t>(kMaxWorklogsRead) + 1);
  // A date range stops where it ends.
  counting.visited = 0;
  page = QueryWorklogs(counting, {.from = "2026-03-28", .to = "2026-03-28"});
  EXPECT_FALSE(page->truncated);
  EXPECT_LT(page->totals.count, 400);
  EXPECT_EQ(counting.visited, page->totals.count + 1);
}

TEST_F(WorklogsProjectorTest, ARepeatedOrBadEventIsDataLoss) {
  ASSERT_TRUE(Fold(logs_[0], 0, view_, &store_));
  auto again = Fold(logs_[0], 0, view_, &store_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kDataLoss);
  std::vector<StoreWrite> writes;
  auto bad = MakeTestEvent(kWorklogRecorded, kWorklogAggregate, "w9", 1,
                           R"({"userId":"ann","logDate":"2026-13-01","durationMinutes":5,)"
                           R"("description":"","result":""})",
                           kNow);
  EXPECT_EQ(projector_.Apply(bad, {0, 1, ""}, view_, writes).error().code, ErrorCode::kDataLoss);
  EXPECT_TRUE(writes.empty());
  EXPECT_EQ(*QueryWorklogSum(store_, WorklogDimension::kUser, "ann"), (WorklogSum{30, 1}));
}

}  // namespace
}  // namespace keel

// ProjectsProjector: each project's document follows its events; lists filter and scope.
#include "projections/projects/projects_projector.h"

#include <gtest/gtest.h>

#include <functional>

#include "projections/testing/map_read_store.h"
#include "projections/testing/map_state_view.h"

namespace keel {
namespace {

using testing::MakeTestEvent;
using testing::MapReadStore;
using testing::MapStateView;

constexpr Millis kNow = 1'800'000'000'000;

class ProjectsProjectorTest : public ::testing::Test {
 protected:
  Status Fold(std::string_view type, const std::string& id, int64_t version, std::string payload) {
    std::vector<StoreWrite> writes;
    auto e =
        MakeTestEvent(type, kProjectAggregate, id, version, std::move(payload), kNow + version);
    e.actor = "u1";
    auto st = projector_.Apply(e, {0, version, ""}, view_, writes);
    if (st) {
      view_.Commit(writes);
      EXPECT_TRUE(store_.Write(writes));
    }
    return st;
  }
  void Create(const std::string& id, const std::string& customer, const std::string& owner) {
    ProjectInput in{"P " + id, customer, "", ProjectStatus::kPlanned, std::nullopt};
    ASSERT_TRUE(Fold(kProjectCreated, id, 1, EncodeProjectCreated(in, owner)));
  }
  std::vector<std::string> Ids(const ProjectListQuery& q, int64_t* total = nullptr) {
    auto page = QueryProjects(store_, q);
    EXPECT_TRUE(page) << page.error().message;
    std::vector<std::string> ids;
    for (const auto& p : page->items) ids.push_back(p.id);
    if (total) *total = page->total;
    return ids;
  }

  ProjectsProjector projector_;
  MapStateView view_;
  MapReadStore store_;
};

TEST_F(ProjectsProjectorTest, EventsAreFoldedAndServed) {
  Create("p1", "c1", "ann");
  ASSERT_TRUE(Fold(kProjectStatusChanged, "p1", 2,
                   EncodeProjectStatusChanged(ProjectStatus::kPlanned, ProjectStatus::kActive)));
  ASSERT_TRUE(Fold(kProjectEdited, "p1", 3, R"({"name":"Renamed"})"));
  auto p = QueryProject(store_, "p1");
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->name, "Renamed");
  EXPECT_EQ((*p)->status, ProjectStatus::kActive);
  EXPECT_EQ((*p)->version, 3);
  EXPECT_EQ((*p)->updated_at, kNow + 3);
  EXPECT_FALSE(*QueryProject(store_, "p2"));
  // An illegal move is refused whole.
  auto illegal = Fold(kProjectStatusChanged, "p1", 4,
                      EncodeProjectStatusChanged(ProjectStatus::kActive, ProjectStatus::kPlanned));
  ASSERT_FALSE(illegal);
  EXPECT_EQ(illegal.error().code, ErrorCode::kDataLoss);
  EXPECT_EQ((*QueryProject(store_, "p1"))->version, 3);
}

TEST_F(ProjectsProjectorTest, ListsFilterScopeAndPageNewestFirst) {
  Create("p1", "c1", "ann");
  Create("p2", "c2", "bob");
  Create("p3", "c1", "bob");
  Create("p4", "c3", "cy");
  ASSERT_TRUE(Fold(kProjectStatusChanged, "p3", 2,
                   EncodeProjectStatusChanged(ProjectStatus::kPlanned, ProjectStatus::kActive)));
  int64_t total = 0;
  EXPECT_EQ(Ids({}, &total), (std::vector<std::string>{"p4", "p3", "p2", "p1"}));
  EXPECT_EQ(total, 4);
  EXPECT_EQ(Ids({.customer_id = "c1"}), (std::vector<std::string>{"p3", "p1"}));
  EXPECT_EQ(Ids({.owner_id = "bob"}), (std::vector<std::string>{"p3", "p2"}));
  EXPECT_EQ(Ids({.status = ProjectStatus::kActive}), (std::vector<std::string>{"p3"}));
  EXPECT_EQ(Ids({.page = 2, .limit = 3}, &total), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(total, 4);
  // ann owns p1 and the customer c3: p4 too, not bob's on c1 or c2.
  EXPECT_EQ(Ids({.reader = "ann", .visible_customers = {"c3"}}),
            (std::vector<std::string>{"p4", "p1"}));
}

// Counts the project records a query reads (scanned or got).
class CountingStore final : public ReadStore {
 public:
  explicit CountingStore(ReadStore& inner) : inner_(inner) {}
  Status Write(const std::vector<StoreWrite>& batch) override { return inner_.Write(batch); }
  Result<std::optional<std::string>> Get(std::string_view table, std::string_view key) override {
    if (table == kProjectsTable) ++read;
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
  int64_t read = 0;

 private:
  std::function<bool(std::string_view, std::string_view)> Counted(
      std::string_view table, const std::function<bool(std::string_view, std::string_view)>& f) {
    const bool records = table == kProjectsTable;
    return [this, records, &f](std::string_view k, std::string_view v) {
      if (records) ++read;
      return f(k, v);
    };
  }
  ReadStore& inner_;
};

TEST_F(ProjectsProjectorTest, ARepsListReadsOnlyTheirProjectsAndTheirCustomers) {
  Create("p01", "c1", "ann");
  for (int i = 10; i < 60; ++i) {
    std::string id = "p";
    id += std::to_string(i);  // +=: GCC 12 warns falsely on "literal" + std::string
    Create(id, "c9", "cy");
  }
  Create("p60", "c3", "bob");
  CountingStore counting(store_);
  auto page = QueryProjects(counting, {.reader = "ann", .visible_customers = {"c3"}});
  ASSERT_TRUE(page);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, "p60");
  EXPECT_EQ(page->items[1].id, "p01");
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(counting.read, 2);
  counting.read = 0;
  EXPECT_EQ(QueryProjects(counting, {.limit = 2, .owner_id = "cy"})->total, 50);
  EXPECT_EQ(QueryProjects(counting, {.customer_id = "c1"})->total, 1);
  EXPECT_EQ(counting.read, 51);
  // A new owner or customer moves the project between the indexes.
  ASSERT_TRUE(Fold(kProjectEdited, "p01", 2, R"({"ownerId":"bob","customerId":"c2"})"));
  EXPECT_EQ(Ids({.reader = "ann", .visible_customers = {"c3"}}), (std::vector<std::string>{"p60"}));
  EXPECT_EQ(Ids({.owner_id = "bob"}), (std::vector<std::string>{"p60", "p01"}));
  EXPECT_EQ(Ids({.customer_id = "c1"}), (std::vector<std::string>{}));
  EXPECT_EQ(Ids({.customer_id = "c2"}), (std::vector<std::string>{"p01"}));
}

}  // namespace
}  // namespace keel

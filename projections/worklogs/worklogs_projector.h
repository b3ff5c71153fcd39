// The work logs read model, folded from the worklogs stream: each log's record, four indexes in
// logDate order (by user, customer, project, and all), and running sums of minutes and counts
// per user, per customer and per project.
//
// The sums are counters in kProjectionMetaTable kept per partition (work logs are keyed by
// their own id, so one user's logs fall in every partition, which are folded concurrently); a
// query adds the partitions up. They are folded from the events alone, so a rebuild from the log
// gives the same sums. The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/topics.h"
#include "domain/worklog.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// id → WorklogToJson.
inline constexpr std::string_view kWorklogsTable = "worklogs";
// userId/logDate/id, customerId/logDate/id, projectId/logDate/id, logDate/id → the minutes.
inline constexpr std::string_view kWorklogsByUserTable = "worklogs_by_user";
inline constexpr std::string_view kWorklogsByCustomerTable = "worklogs_by_customer";
inline constexpr std::string_view kWorklogsByProjectTable = "worklogs_by_project";
inline constexpr std::string_view kWorklogsByDateTable = "worklogs_by_date";
// Sums: "worklogs/minutes/<dimension>/<id>/" and "worklogs/count/<dimension>/<id>/" followed by
// the partition (counters.h); dimension is user, customer or project.
inline constexpr std::string_view kWorklogMinutesPrefix = "worklogs/minutes/";
inline constexpr std::string_view kWorklogCountPrefix = "worklogs/count/";

enum class WorklogDimension { kUser, kCustomer, kProject };
std::string_view WorklogDimensionName(WorklogDimension d);  // "user", "customer", "project"

class WorklogsProjector final : public Projector {
 public:
  std::string_view name() const override { return "worklogs"; }
  std::vector<std::string_view> topics() const override { return {kWorklogsTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// Queries; thread-safe as the store is.

Result<std::optional<Worklog>> QueryWorklog(ReadStore& store, std::string_view id);

struct WorklogSum {
  int64_t minutes = 0;
  int64_t count = 0;
  bool operator==(const WorklogSum&) const = default;
};
// The running sum of one user, customer or project (zero when it has no logs).
Result<WorklogSum> QueryWorklogSum(ReadStore& store, WorklogDimension dimension,
                                   std::string_view id);
// Every user's (customer's, project's) sum, by id.
Result<std::vector<std::pair<std::string, WorklogSum>>> QueryWorklogSums(
    ReadStore& store, WorklogDimension dimension);

// At most this many index entries one list request reads (spread over its scans), and the
// deepest a page may reach (page × limit).
inline constexpr size_t kMaxWorklogsRead = 10'000;

struct WorklogListQuery {
  int page = 1;
  int limit = 20;
  std::optional<std::string> user_id, customer_id, project_id;
  std::optional<std::string> from, to;  // logDate, inclusive, "YYYY-MM-DD"
  // A worklogs:read_own caller: only this user's logs and those on `visible_customers`.
  std::optional<std::string> reader;
  std::vector<std::string> visible_customers;
};

struct WorklogPage {
  std::vector<Worklog> items;  // by logDate, newest first (then id, descending)
  WorklogSum totals;           // of every match, not only the page (see `truncated`)
  // The read stopped at kMaxWorklogsRead: the totals are of the newest matches read only.
  bool truncated = false;
};

// One page of the logs `query` admits, newest first. Reads the index newest first (from `to`,
// stopping at `from`); without dates, one filter (or none, for a *_all reader) takes its totals
// from the sums and reads only as far as the page. Otherwise at most kMaxWorklogsRead entries
// are read in all (each scan its share, but never fewer than page × limit, so the page itself
// is exact).
Result<WorklogPage> QueryWorklogs(ReadStore& store, const WorklogListQuery& query);

}  // namespace keel

#include "projections/worklogs/worklogs_projector.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_set>

#include "domain/numbers.h"
#include "projections/counters.h"

namespace keel {
namespace {

std::string SumKey(std::string_view prefix, WorklogDimension d, std::string_view id) {
  std::string key(prefix);
  key += WorklogDimensionName(d);
  key += '/';
  key += id;
  key += '/';
  return key;
}

std::string IndexKey(std::string_view head, const Worklog& log) {
  std::string key(head);
  if (!key.empty()) key += '/';
  key += log.log_date;
  key += '/';
  key += log.id;
  return key;
}

}  // namespace

std::string_view WorklogDimensionName(WorklogDimension d) {
  switch (d) {
    case WorklogDimension::kUser:
      return "user";
    case WorklogDimension::kCustomer:
      return "customer";
    case WorklogDimension::kProject:
      return "project";
  }
  return "user";
}

std::vector<std::string> WorklogsProjector::tables() const {
  return {std::string(kWorklogsTable), std::string(kWorklogsByUserTable),
          std::string(kWorklogsByCustomerTable), std::string(kWorklogsByProjectTable),
          std::string(kWorklogsByDateTable)};
}

Status WorklogsProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kWorklogAggregate) return {};
  Worklog log;
  auto stored = view.Get(kWorklogsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = WorklogFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    log = std::move(*decoded);
  }
  if (auto st = ApplyWorklogEvent(log, event); !st) return st;
  const std::string minutes = std::to_string(log.duration_minutes);
  writes.push_back({kWorklogsTable, log.id, WorklogToJson(log)});
  writes.push_back({kWorklogsByUserTable, IndexKey(log.user_id, log), minutes});
  writes.push_back({kWorklogsByDateTable, IndexKey("", log), minutes});
  std::vector<std::pair<WorklogDimension, std::string>> sums{
      {WorklogDimension::kUser, log.user_id}};
  if (log.customer_id) {
    writes.push_back({kWorklogsByCustomerTable, IndexKey(*log.customer_id, log), minutes});
    sums.emplace_back(WorklogDimension::kCustomer, *log.customer_id);
  }
  if (log.project_id) {
    writes.push_back({kWorklogsByProjectTable, IndexKey(*log.project_id, log), minutes});
    sums.emplace_back(WorklogDimension::kProject, *log.project_id);
  }
  for (const auto& [dimension, id] : sums) {
    auto st = AddToCounter(
        view, PartitionCounterKey(SumKey(kWorklogMinutesPrefix, dimension, id), position.partition),
        log.duration_minutes, writes);
    if (!st) return st;
    st = BumpCounter(
        view, PartitionCounterKey(SumKey(kWorklogCountPrefix, dimension, id), position.partition),
        writes);
    if (!st) return st;
  }
  return {};
}

Result<std::optional<Worklog>> QueryWorklog(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kWorklogsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Worklog>();
  auto log = WorklogFromJson(**stored);
  if (!log) return Fail(log.error());
  return std::optional<Worklog>(std::move(*log));
}

Result<WorklogSum> QueryWorklogSum(ReadStore& store, WorklogDimension dimension,
                                   std::string_view id) {
  auto minutes = SumCounters(store, SumKey(kWorklogMinutesPrefix, dimension, id));
  if (!minutes) return Fail(minutes.error());
  auto count = SumCounters(store, SumKey(kWorklogCountPrefix, dimension, id));
  if (!count) return Fail(count.error());
  return WorklogSum{*minutes, *count};
}

Result<std::vector<std::pair<std::string, WorklogSum>>> QueryWorklogSums(
    ReadStore& store, WorklogDimension dimension) {
  std::map<std::string, WorklogSum> sums;
  for (bool minutes : {true, false}) {
    std::string prefix(minutes ? kWorklogMinutesPrefix : kWorklogCountPrefix);
    prefix += WorklogDimensionName(dimension);
    prefix += '/';
    auto st = store.Scan(kProjectionMetaTable, prefix, "",
                         [&](std::string_view key, std::string_view value) {
                           // <prefix><id>/<partition>
                           std::string_view rest = key.substr(prefix.size());
                           const size_t slash = rest.rfind('/');
                           if (slash == std::string_view::npos) return true;
                           WorklogSum& sum = sums[std::string(rest.substr(0, slash))];
                           (minutes ? sum.minutes : sum.count) += ParseInt64(value).value_or(0);
                           return true;
                         });
    if (!st) return Fail(st.error());
  }
  return std::vector<std::pair<std::string, WorklogSum>>(sums.begin(), sums.end());
}

Result<WorklogPage> QueryWorklogs(ReadStore& store, const WorklogListQuery& q) {
  const std::unordered_set<std::string> visible(q.visible_customers.begin(),
                                                q.visible_customers.end());
  // The index scans, newest first: the most selective filter's, or for a read_own caller
  // without one, the caller's own logs and each visible customer's. `admits_all`: every entry
  // of the scan matches, so no record is read to filter it.
  struct Scan {
    std::string_view table;
    std::string head;  // "" for the date index
    bool admits_all;
  };
  const int filters = (q.user_id ? 1 : 0) + (q.project_id ? 1 : 0) + (q.customer_id ? 1 : 0);
  const bool reader_admits_filter =
      !q.reader || (q.user_id && *q.user_id == *q.reader) ||
      (!q.user_id && q.customer_id && visible.contains(*q.customer_id));
  const bool one_filter_decides = filters == 1 && reader_admits_filter;
  std::vector<Scan> scans;
  std::optional<std::pair<WorklogDimension, std::string>> counted;  // the sum that is the total
  if (q.user_id) {
    scans.push_back({kWorklogsByUserTable, *q.user_id, one_filter_decides});
    counted.emplace(WorklogDimension::kUser, *q.user_id);
  } else if (q.project_id) {
    scans.push_back({kWorklogsByProjectTable, *q.project_id, one_filter_decides});
    counted.emplace(WorklogDimension::kProject, *q.project_id);
  } else if (q.customer_id) {
    scans.push_back({kWorklogsByCustomerTable, *q.customer_id, one_filter_decides});
    counted.emplace(WorklogDimension::kCustomer, *q.customer_id);
  } else if (q.reader) {
    scans.push_back({kWorklogsByUserTable, *q.reader, true});
    for (const auto& c : q.visible_customers) scans.push_back({kWorklogsByCustomerTable, c, true});
  } else {
    scans.push_back({kWorklogsByDateTable, "", true});
  }
  const size_t wanted = static_cast<size_t>(q.page) * static_cast<size_t>(q.limit);
  WorklogPage page;
  // Without dates, one scan that decides alone has its total in the sums: it reads one page.
  bool totals_known = false;
  if (!q.from && !q.to && scans.size() == 1 && scans[0].admits_all) {
    if (counted) {
      auto sum = QueryWorklogSum(store, counted->first, counted->second);
      if (!sum) return Fail(sum.error());
      page.totals = *sum;
      totals_known = true;
    } else if (filters == 0 && !q.reader) {
      auto sums = QueryWorklogSums(store, WorklogDimension::kUser);
      if (!sums) return Fail(sums.error());
      for (const auto& [id, sum] : *sums) {
        page.totals.minutes += sum.minutes;
        page.totals.count += sum.count;
      }
      totals_known = true;
    }
  }
  // Each scan reads at most its share of kMaxWorklogsRead index entries, and never fewer than
  // the page needs: the newest `wanted` of every scan are read, so the page is exact even when
  // a scan is cut short (and the totals are then of what was read).
  const size_t cap = totals_known ? wanted : std::max(kMaxWorklogsRead / scans.size(), wanted);
  struct Hit {
    std::string date, id;
    int64_t minutes;
  };
  std::vector<Hit> hits;
  std::unordered_set<std::string> seen;
  Status failed;
  for (const Scan& s : scans) {
    std::string prefix = s.head;
    if (!prefix.empty()) prefix += '/';
    std::string last;
    if (q.to) {
      last = prefix;
      last += *q.to;
      last += "/\xff";
    }
    size_t read = 0;
    auto st =
        store.ScanReverse(s.table, prefix, last, [&](std::string_view key, std::string_view v) {
          const std::string_view rest = key.substr(prefix.size());
          const std::string_view date = rest.substr(0, 10);
          if (q.from && date < *q.from) return false;
          if (read == cap) {
            page.truncated = !totals_known;
            return false;
          }
          ++read;
          std::string id(rest.substr(11));
          if (!seen.insert(id).second) return true;
          if (!s.admits_all) {
            auto log = QueryWorklog(store, id);
            if (!log || !*log) {
              failed =
                  log ? Status(Fail(Error::DataLoss("Work log " + id + " is indexed, not stored")))
                      : Status(Fail(log.error()));
              return false;
            }
            const Worklog& w = **log;
            if (q.user_id && w.user_id != *q.user_id) return true;
            if (q.customer_id && w.customer_id != *q.customer_id) return true;
            if (q.project_id && w.project_id != *q.project_id) return true;
            if (q.reader && w.user_id != *q.reader &&
                (!w.customer_id || !visible.contains(*w.customer_id))) {
              return true;
            }
          }
          hits.push_back({std::string(date), std::move(id), ParseInt64(v).value_or(0)});
          return true;
        });
    if (!st) return Fail(st.error());
    if (!failed) return Fail(failed.error());
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return std::tie(b.date, b.id) < std::tie(a.date, a.id);
  });
  if (!totals_known) {
    for (const Hit& h : hits) {
      page.totals.minutes += h.minutes;
      ++page.totals.count;
    }
  }
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  for (size_t i = skip; i < hits.size() && page.items.size() < static_cast<size_t>(q.limit); ++i) {
    auto log = QueryWorklog(store, hits[i].id);
    if (!log) return Fail(log.error());
    if (*log) page.items.push_back(std::move(**log));
  }
  return page;
}

}  // namespace keel

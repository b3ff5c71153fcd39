#include "projections/projects/projects_projector.h"

#include <algorithm>
#include <functional>
#include <set>
#include <unordered_set>

namespace keel {
namespace {

std::string IndexKey(std::string_view head, std::string_view id) {
  std::string key(head);
  key += '/';
  key += id;
  return key;
}

// The ids under `head/` in an index table.
Status IndexedIds(ReadStore& store, std::string_view table, std::string_view head,
                  std::set<std::string, std::greater<>>& ids) {
  std::string prefix(head);
  prefix += '/';
  return store.Scan(table, prefix, "", [&](std::string_view key, std::string_view) {
    ids.emplace(key.substr(prefix.size()));
    return true;
  });
}

}  // namespace

Status ProjectsProjector::Apply(const EventEnvelope& event, const EventPosition&, StateView& view,
                                std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kProjectAggregate) return {};
  Project project;
  auto stored = view.Get(kProjectsTable, event.aggregate_id);
  if (!stored) return Fail(stored.error());
  if (*stored) {
    auto decoded = ProjectFromJson(**stored);
    if (!decoded) return Fail(decoded.error());
    project = std::move(*decoded);
  }
  const std::string owner_before = project.owner_id, customer_before = project.customer_id;
  if (auto st = ApplyProjectEvent(project, event); !st) return st;
  writes.push_back({kProjectsTable, event.aggregate_id, ProjectToJson(project)});
  if (!owner_before.empty() && owner_before != project.owner_id) {
    writes.push_back({kProjectsByOwnerTable, IndexKey(owner_before, project.id), std::nullopt});
  }
  if (!customer_before.empty() && customer_before != project.customer_id) {
    writes.push_back(
        {kProjectsByCustomerTable, IndexKey(customer_before, project.id), std::nullopt});
  }
  writes.push_back({kProjectsByOwnerTable, IndexKey(project.owner_id, project.id), ""});
  writes.push_back({kProjectsByCustomerTable, IndexKey(project.customer_id, project.id), ""});
  return {};
}

Result<std::optional<Project>> QueryProject(ReadStore& store, std::string_view id) {
  auto stored = store.Get(kProjectsTable, id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::optional<Project>();
  auto project = ProjectFromJson(**stored);
  if (!project) return Fail(project.error());
  return std::optional<Project>(std::move(*project));
}

Result<ProjectPage> QueryProjects(ReadStore& store, const ProjectListQuery& q) {
  ProjectPage page;
  const std::unordered_set<std::string> visible(q.visible_customers.begin(),
                                                q.visible_customers.end());
  const size_t skip = static_cast<size_t>(q.page - 1) * static_cast<size_t>(q.limit);
  auto admit = [&](Project&& p) {
    if (q.status && p.status != *q.status) return;
    if (q.customer_id && p.customer_id != *q.customer_id) return;
    if (q.owner_id && p.owner_id != *q.owner_id) return;
    if (q.reader && p.owner_id != *q.reader && !visible.contains(p.customer_id)) return;
    if (static_cast<size_t>(page.total++) >= skip &&
        page.items.size() < static_cast<size_t>(q.limit)) {
      page.items.push_back(std::move(p));
    }
  };
  if (q.owner_id || q.customer_id || q.reader) {
    // Newest first: ids are time-ordered.
    std::set<std::string, std::greater<>> ids;
    Status st;
    if (q.owner_id) {
      st = IndexedIds(store, kProjectsByOwnerTable, *q.owner_id, ids);
    } else if (q.customer_id) {
      st = IndexedIds(store, kProjectsByCustomerTable, *q.customer_id, ids);
    } else {
      st = IndexedIds(store, kProjectsByOwnerTable, *q.reader, ids);
      for (const auto& c : q.visible_customers) {
        if (!st) break;
        st = IndexedIds(store, kProjectsByCustomerTable, c, ids);
      }
    }
    if (!st) return Fail(st.error());
    for (const std::string& id : ids) {
      auto p = QueryProject(store, id);
      if (!p) return Fail(p.error());
      if (!*p) return Fail(Error::DataLoss("Project " + id + " is indexed, not stored"));
      admit(std::move(**p));
    }
    return page;
  }
  Status bad;
  auto st = store.ScanReverse(kProjectsTable, "", "", [&](std::string_view, std::string_view v) {
    auto p = ProjectFromJson(v);
    if (!p) {
      bad = Fail(p.error());
      return false;
    }
    admit(std::move(*p));
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return page;
}

}  // namespace keel

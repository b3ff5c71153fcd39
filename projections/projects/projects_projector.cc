#include "projections/projects/projects_projector.h"

#include <algorithm>
#include <unordered_set>

namespace keel {

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
  if (auto st = ApplyProjectEvent(project, event); !st) return st;
  writes.push_back({kProjectsTable, event.aggregate_id, ProjectToJson(project)});
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
  Status bad;
  auto st = store.ScanReverse(kProjectsTable, "", "", [&](std::string_view, std::string_view v) {
    auto p = ProjectFromJson(v);
    if (!p) {
      bad = Fail(p.error());
      return false;
    }
    if (q.status && p->status != *q.status) return true;
    if (q.customer_id && p->customer_id != *q.customer_id) return true;
    if (q.owner_id && p->owner_id != *q.owner_id) return true;
    if (q.reader && p->owner_id != *q.reader && !visible.contains(p->customer_id)) return true;
    if (static_cast<size_t>(page.total++) >= skip &&
        page.items.size() < static_cast<size_t>(q.limit)) {
      page.items.push_back(std::move(*p));
    }
    return true;
  });
  if (!st) return Fail(st.error());
  if (!bad) return Fail(bad.error());
  return page;
}

}  // namespace keel

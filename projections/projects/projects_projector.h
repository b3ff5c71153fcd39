// The projects read model: each project as served (domain/project.h ProjectToJson), folded
// from the projects stream, with indexes by owner and by customer. A list filtered by owner or
// customer, or a projects:read_own caller's, reads only the indexed projects; an unfiltered
// *_all list reads them all (projects are a team's, not a customer base's), newest first (ids are
// time-ordered). The projector holds no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/project.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// project id → ProjectToJson.
inline constexpr std::string_view kProjectsTable = "projects";
// ownerId/projectId → "", customerId/projectId → "".
inline constexpr std::string_view kProjectsByOwnerTable = "projects_by_owner";
inline constexpr std::string_view kProjectsByCustomerTable = "projects_by_customer";

class ProjectsProjector final : public Projector {
 public:
  std::string_view name() const override { return "projects"; }
  std::vector<std::string_view> topics() const override { return {kProjectsTopic}; }
  std::vector<std::string> tables() const override {
    return {std::string(kProjectsTable), std::string(kProjectsByOwnerTable),
            std::string(kProjectsByCustomerTable)};
  }
  int format() const override { return 2; }  // 2: the owner and customer indexes
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Unapply(int32_t, int64_t) override {}  // remembers nothing
};

// One project; nullopt for an unknown id. Thread-safe as the store is.
Result<std::optional<Project>> QueryProject(ReadStore& store, std::string_view id);

struct ProjectListQuery {
  int page = 1;
  int limit = 20;
  std::optional<ProjectStatus> status;
  std::optional<std::string> customer_id;
  std::optional<std::string> owner_id;
  // A projects:read_own caller: only projects this user owns or that are on one of
  // `visible_customers` (the caller's customers).
  std::optional<std::string> reader;
  std::vector<std::string> visible_customers;
};

struct ProjectPage {
  std::vector<Project> items;  // newest first
  int64_t total = 0;           // every match
};

Result<ProjectPage> QueryProjects(ReadStore& store, const ProjectListQuery& query);

}  // namespace keel

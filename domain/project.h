// The project aggregate (seed 002, issue 19): a piece of work for one customer, owned by one
// user, with a status that moves through a small state machine. Its events, the validation of
// input and the one fold that the write side and the projector share. Pure; value types.
//
// The state machine:
//   planned  → active | cancelled
//   active   → on_hold | done | cancelled
//   on_hold  → active | cancelled
//   done, cancelled: final (the project takes no more changes of any kind)
// A project starts planned (the default) or active. An illegal move is refused
// (kFailedPrecondition, 409) naming both states: "Project X is done; it cannot become active".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"

namespace keel {

inline constexpr std::string_view kProjectAggregate = "project";
// {name, customerId, description, status, ownerId}: a new project.
inline constexpr std::string_view kProjectCreated = "ProjectCreated";
// The fields that changed, each with its new value: any of {name, customerId, description,
// ownerId}; never empty.
inline constexpr std::string_view kProjectEdited = "ProjectEdited";
// {from, to}: a move of the state machine above.
inline constexpr std::string_view kProjectStatusChanged = "ProjectStatusChanged";

inline constexpr size_t kMaxProjectNameLength = 200;          // code points, after trimming
inline constexpr size_t kMaxProjectDescriptionLength = 2000;  // code points, after trimming
inline constexpr size_t kMaxProjectIdLength = 100;            // customerId, ownerId

enum class ProjectStatus { kPlanned, kActive, kOnHold, kDone, kCancelled };

// "planned", "active", "on_hold", "done", "cancelled".
std::string_view ProjectStatusName(ProjectStatus status);
std::optional<ProjectStatus> ParseProjectStatus(std::string_view name);
// Whether the machine above allows from → to (never to the same state).
bool CanMoveProject(ProjectStatus from, ProjectStatus to);
bool IsFinalProjectStatus(ProjectStatus status);
// "Project <id> is <from>; it cannot become <to>".
std::string IllegalProjectMove(std::string_view id, ProjectStatus from, ProjectStatus to);

struct Project {
  std::string id;
  std::string name;
  std::string customer_id;
  std::string description;
  ProjectStatus status = ProjectStatus::kPlanned;
  std::string owner_id;
  std::string created_by;  // the actor of ProjectCreated
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;  // 0: does not exist

  bool operator==(const Project&) const = default;
};

// A new project as POST carries it: {name (1–200), customerId (required), description (≤ 2000,
// optional), status (planned | active, default planned), ownerId (optional: the caller)}.
struct ProjectInput {
  std::string name;
  std::string customer_id;
  std::string description;
  ProjectStatus status = ProjectStatus::kPlanned;
  std::optional<std::string> owner_id;  // none: the caller
};

// A change as PUT carries it: any non-empty subset of {name, customerId, description, ownerId,
// status} (a full body is one with all of them). Fields left out keep their value; a status
// moves through the machine.
struct ProjectPatch {
  std::optional<std::string> name;
  std::optional<std::string> customer_id;
  std::optional<std::string> description;
  std::optional<std::string> owner_id;
  std::optional<ProjectStatus> status;
};

// Both trim text, refuse unknown fields by name and list every violation with its field
// (kInvalidArgument, "Validation failed").
Result<ProjectInput> ParseProjectInput(std::string_view body);
Result<ProjectPatch> ParseProjectPatch(std::string_view body);

// Event payloads.
std::string EncodeProjectCreated(const ProjectInput& input, const std::string& owner_id);
// Only the fields of `patch` that differ from `current` (status aside); empty when none do.
std::optional<std::string> EncodeProjectEdited(const Project& current, const ProjectPatch& patch);
std::string EncodeProjectStatusChanged(ProjectStatus from, ProjectStatus to);

// The fold. kDataLoss when the payload is bad, the version does not follow or the move is
// not one the machine allows.
Status ApplyProjectEvent(Project& project, const EventEnvelope& event);

// As served and as the read model stores it: {id, name, customerId, description, status,
// ownerId, createdBy, createdAt, updatedAt, version}.
std::string ProjectToJson(const Project& project);
// Reads what ProjectToJson wrote; kDataLoss when it does not hold a project.
Result<Project> ProjectFromJson(std::string_view json);

}  // namespace keel

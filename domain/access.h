// Roles and permissions (seed 002). A permission is "resource:action"; an action may carry a
// scope, "_own" (only resources the user owns: customers assigned to them and their orders) or
// "_all". Three roles are built in: admin (everything), manager (every customer, segments,
// campaigns, projects, tasks and work logs) and sales_rep (the customers they own, and their own
// projects, tasks and work logs). Admins may define more roles and more
// permissions; the built-in admin role cannot be changed, so nobody can lock the admins out.
// Pure.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace keel {

inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kRoleManager = "manager";
inline constexpr std::string_view kRoleSalesRep = "sales_rep";
// The role of a user who has none yet (a new Google user when no allow-list is configured):
// no permission at all until an admin grants a role. Never a role name (IsRoleName refuses it).
inline constexpr std::string_view kNoRole = "";

// Looked up by string_view without building a string (the request path checks it).
using PermissionSet = std::set<std::string, std::less<>>;

struct PermissionInfo {
  std::string name;  // "customers:read_own"
  std::string description;
};

struct RoleInfo {
  std::string name;
  std::string description;
  PermissionSet permissions;
  bool builtin = false;
};

// The permissions Keel's routes check, with what each allows.
const std::vector<PermissionInfo>& BuiltinPermissions();
// admin, manager and sales_rep with their permissions.
const std::vector<RoleInfo>& BuiltinRoles();

// "resource:action" with lowercase letters, digits and '_' on both sides, at most 64 chars.
bool IsPermissionName(std::string_view name);
// Lowercase letters, digits and '_', 1 to 32 characters.
bool IsRoleName(std::string_view name);

// How far a set of permissions reaches for one resource and action ("customers", "read").
enum class Scope { kNone, kOwn, kAll };
Scope ScopeOf(const PermissionSet& permissions, std::string_view resource,
              std::string_view action);

// Who is asking: the signed-in user, their role and what it allows, and the session.
struct Principal {
  std::string user_id;
  std::string email;
  std::string name;
  std::string role;
  PermissionSet permissions;
  std::string session_id;

  bool Has(std::string_view permission) const {
    return permissions.find(permission) != permissions.end();
  }
  Scope ScopeFor(std::string_view resource, std::string_view action) const {
    return ScopeOf(permissions, resource, action);
  }
  // Whether the action reaches a resource owned by `owner_id` (none: unassigned).
  bool Reaches(std::string_view resource, std::string_view action,
               const std::optional<std::string>& owner_id) const {
    switch (ScopeFor(resource, action)) {
      case Scope::kAll:
        return true;
      case Scope::kOwn:
        return owner_id && *owner_id == user_id;
      case Scope::kNone:
        return false;
    }
    return false;
  }
};

}  // namespace keel

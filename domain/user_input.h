// Parsing of the sign-in and user-administration request bodies: every violation listed, unknown
// fields named, as for customers. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "domain/access.h"
#include "domain/error.h"

namespace keel {

inline constexpr size_t kMinPasswordLength = 10;
inline constexpr size_t kMaxPasswordLength = 256;

struct LoginInput {
  std::string email;  // normalised
  std::string password;
};
Result<LoginInput> ParseLoginInput(std::string_view body);

// POST /auth/register and POST /users: name, email, password, role (default sales_rep).
struct NewUserInput {
  std::string name;
  std::string email;
  std::string password;
  std::string role;
};
Result<NewUserInput> ParseNewUserInput(std::string_view body);

// PATCH /users/:id: name, email, role, isActive, password; at least one.
struct UserPatchInput {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> role;
  std::optional<bool> is_active;
  std::optional<std::string> password;
};
Result<UserPatchInput> ParseUserPatchInput(std::string_view body);

// POST /roles: name, description, permissions (an array of names).
Result<RoleInfo> ParseRoleInput(std::string_view body);
// POST /permissions: name, description.
Result<PermissionInfo> ParsePermissionInput(std::string_view body);
// POST /auth/dev-token: email (default dev@keel.local), role (default admin).
struct DevTokenInput {
  std::string email = "dev@keel.local";
  std::string role = "admin";
};
Result<DevTokenInput> ParseDevTokenInput(std::string_view body);

}  // namespace keel

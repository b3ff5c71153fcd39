// Decisions on users, sessions, roles and permissions, taken against the UserDirectory: which
// events a command appends, or why it is refused. Pure: the caller hashes passwords, draws ids
// and appends.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands/command_meta.h"
#include "domain/user.h"

namespace keel {

struct NewUser {
  std::string name;
  std::string email;  // normalised
  std::string role;
  std::string provider = "local";
  std::string password_hash;  // empty for Google users
  std::optional<std::string> google_id;
  std::optional<std::string> avatar;
};

// kAlreadyExists for a taken email or Google id; a field error for an unknown role (kNoRole is
// accepted: the user can do nothing until an admin grants a role).
Result<std::vector<EventEnvelope>> DecideRegisterUser(const UserDirectory& dir,
                                                      const std::string& id, const NewUser& user,
                                                      const CommandMeta& meta, IdGenerator& ids);

struct UserChange {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::string> role;
  std::optional<bool> is_active;
  std::optional<std::string> password_hash;
  std::optional<std::optional<std::string>> google_id;
  std::optional<std::optional<std::string>> avatar;
  std::optional<std::string> provider;
  std::optional<int64_t> expected_version;
  // The session asking for the change; when it is the changed user's own, a password or role
  // change leaves it signed in (a disablement never does).
  std::string acting_session_id;
};

// The events of the fields that differ (none when nothing does). A new password, a new role or
// a disablement ends the user's other sessions (UserSessionsRevoked, last). kNotFound, kAborted
// for a stale expected version, kFailedPrecondition when the last active admin would be
// disabled or lose the admin role.
Result<std::vector<EventEnvelope>> DecideChangeUser(const UserDirectory& dir, const std::string& id,
                                                    const UserChange& change,
                                                    const CommandMeta& meta, IdGenerator& ids);

// SessionStarted for an active user; kPermissionDenied for a disabled one.
Result<EventEnvelope> DecideStartSession(const UserDirectory& dir, const Session& session,
                                         const CommandMeta& meta, IdGenerator& ids);
// SessionRevoked; nothing when already revoked or unknown.
std::vector<EventEnvelope> DecideRevokeSession(const UserDirectory& dir,
                                               const std::string& session_id,
                                               const CommandMeta& meta, IdGenerator& ids);

// RoleDefined (creates or redefines). Field errors for a bad name or unknown permissions;
// kFailedPrecondition for the admin role, which cannot change.
Result<EventEnvelope> DecideDefineRole(const UserDirectory& dir, const RoleInfo& role,
                                       const CommandMeta& meta, IdGenerator& ids);
// PermissionDefined; kAlreadyExists when the name is taken.
Result<EventEnvelope> DecideDefinePermission(const UserDirectory& dir,
                                             const PermissionInfo& permission,
                                             const CommandMeta& meta, IdGenerator& ids);

}  // namespace keel

#include "commands/user_commands.h"

#include <algorithm>

#include "domain/json.h"

namespace keel {
namespace {

int64_t ActiveAdmins(const UserDirectory& dir) {
  int64_t n = 0;
  for (const User* u : dir.Users()) n += u->role == kRoleAdmin && !u->disabled;
  return n;
}

std::string OneField(std::string_view key, std::string_view value) {
  JsonWriter w;
  w.BeginObject().Key(key).String(value).EndObject();
  return w.Take();
}

}  // namespace

Result<std::vector<EventEnvelope>> DecideRegisterUser(const UserDirectory& dir,
                                                      const std::string& id, const NewUser& user,
                                                      const CommandMeta& meta, IdGenerator& ids) {
  if (user.role != kNoRole && !dir.FindRole(user.role)) {
    return Fail(Error::Validation({{"role", "Unknown role '" + user.role + "'"}}));
  }
  if (dir.FindByEmail(user.email)) {
    return Fail(Error::AlreadyExists("A user with email " + user.email + " already exists"));
  }
  if (user.google_id && dir.FindByGoogleId(*user.google_id)) {
    return Fail(Error::AlreadyExists("A user with this Google account already exists"));
  }
  UserFields f;
  f.name = user.name;
  f.email = user.email;
  f.provider = user.provider;
  f.role = user.role;
  if (!user.password_hash.empty()) f.password_hash = user.password_hash;
  f.google_id = user.google_id;
  f.avatar = user.avatar;
  return std::vector<EventEnvelope>{
      NewEvent(kUserAggregate, kUserRegistered, id, 1, EncodeUserFields(f), meta, ids)};
}

Result<std::vector<EventEnvelope>> DecideChangeUser(const UserDirectory& dir, const std::string& id,
                                                    const UserChange& change,
                                                    const CommandMeta& meta, IdGenerator& ids) {
  const User* u = dir.Find(id);
  if (!u) return Fail(Error::NotFound("User " + id + " not found"));
  if (change.expected_version && *change.expected_version != u->version) {
    return Fail(Error::Aborted("User " + id + " is at version " + std::to_string(u->version) +
                               ", not " + std::to_string(*change.expected_version)));
  }
  if (change.role && !dir.FindRole(*change.role)) {
    return Fail(Error::Validation({{"role", "Unknown role '" + *change.role + "'"}}));
  }
  if (change.email && *change.email != u->email && dir.FindByEmail(*change.email)) {
    return Fail(Error::AlreadyExists("A user with email " + *change.email + " already exists"));
  }
  const bool loses_admin =
      u->role == kRoleAdmin && !u->disabled &&
      ((change.role && *change.role != kRoleAdmin) || (change.is_active && !*change.is_active));
  if (loses_admin && ActiveAdmins(dir) <= 1) {
    return Fail(Error::FailedPrecondition("User " + u->email +
                                          " is the last active admin: Keel must keep one"));
  }

  std::vector<EventEnvelope> events;
  int64_t version = u->version;
  UserFields f;
  if (change.name && *change.name != u->name) f.name = change.name;
  if (change.email && *change.email != u->email) f.email = change.email;
  if (change.google_id && *change.google_id != u->google_id) f.google_id = change.google_id;
  if (change.avatar && *change.avatar != u->avatar) f.avatar = change.avatar;
  if (change.provider && *change.provider != u->provider) f.provider = change.provider;
  if (f.name || f.email || f.google_id || f.avatar || f.provider) {
    events.push_back(
        NewEvent(kUserAggregate, kUserUpdated, id, ++version, EncodeUserFields(f), meta, ids));
  }
  if (change.role && *change.role != u->role) {
    events.push_back(NewEvent(kUserAggregate, kUserRoleChanged, id, ++version,
                              OneField("role", *change.role), meta, ids));
  }
  if (change.password_hash) {
    events.push_back(NewEvent(kUserAggregate, kUserPasswordChanged, id, ++version,
                              OneField("passwordHash", *change.password_hash), meta, ids));
  }
  const bool disables = change.is_active && !*change.is_active && !u->disabled;
  if (change.is_active && *change.is_active == u->disabled) {
    events.push_back(NewEvent(kUserAggregate, *change.is_active ? kUserEnabled : kUserDisabled, id,
                              ++version, "{}", meta, ids));
  }
  // A stolen session must not outlive what its owner did to end it; nor may a disabled
  // account's sessions come back with a later enablement.
  const bool new_role = change.role && *change.role != u->role;
  if (disables || change.password_hash || new_role) {
    std::optional<std::string> kept;
    if (!disables && !change.acting_session_id.empty()) {
      if (const Session* s = dir.FindSession(change.acting_session_id); s && s->user_id == id) {
        kept = s->id;
      }
    }
    const auto live = dir.LiveSessionsOf(id);
    const bool others = std::any_of(live.begin(), live.end(),
                                    [&](const Session* s) { return !kept || s->id != *kept; });
    if (others) {
      const std::string_view reason = disables               ? kRevokedForDisablement
                                      : change.password_hash ? kRevokedForPassword
                                                             : kRevokedForRole;
      events.push_back(NewEvent(kUserAggregate, kUserSessionsRevoked, id, ++version,
                                EncodeSessionsRevoked(reason, kept), meta, ids));
    }
  }
  return events;
}

Result<EventEnvelope> DecideStartSession(const UserDirectory& dir, const Session& session,
                                         const CommandMeta& meta, IdGenerator& ids) {
  const User* u = dir.Find(session.user_id);
  if (!u) return Fail(Error::NotFound("User " + session.user_id + " not found"));
  if (u->disabled) return Fail(Error::PermissionDenied("This account is disabled"));
  return NewEvent(kUserAggregate, kSessionStarted, u->id, u->version + 1, EncodeSession(session),
                  meta, ids);
}

std::vector<EventEnvelope> DecideRevokeSession(const UserDirectory& dir,
                                               const std::string& session_id,
                                               const CommandMeta& meta, IdGenerator& ids) {
  const Session* s = dir.FindSession(session_id);
  if (!s || s->revoked) return {};
  const User* u = dir.Find(s->user_id);
  if (!u) return {};
  return {NewEvent(kUserAggregate, kSessionRevoked, u->id, u->version + 1, EncodeSession(*s), meta,
                   ids)};
}

Result<EventEnvelope> DecideDefineRole(const UserDirectory& dir, const RoleInfo& role,
                                       const CommandMeta& meta, IdGenerator& ids) {
  std::vector<FieldError> errors;
  if (!IsRoleName(role.name)) {
    errors.push_back({"name", "Role names are 1 to 32 lowercase letters, digits or '_'"});
  }
  for (const auto& p : role.permissions) {
    if (!dir.IsPermission(p)) errors.push_back({"permissions", "Unknown permission '" + p + "'"});
  }
  if (role.description.size() > 500) {
    errors.push_back({"description", "At most 500 characters"});
  }
  if (!errors.empty()) return Fail(Error::Validation(std::move(errors)));
  if (role.name == kRoleAdmin) {
    return Fail(Error::FailedPrecondition("The admin role cannot be changed"));
  }
  return NewEvent(kRoleAggregate, kRoleDefined, role.name,
                  dir.AccessVersion(kRoleAggregate, role.name) + 1, EncodeRole(role), meta, ids);
}

Result<EventEnvelope> DecideDefinePermission(const UserDirectory& dir,
                                             const PermissionInfo& permission,
                                             const CommandMeta& meta, IdGenerator& ids) {
  if (!IsPermissionName(permission.name)) {
    return Fail(Error::Validation(
        {{"name", "Permissions are 'resource:action' in lowercase letters, digits or '_'"}}));
  }
  if (permission.description.size() > 500) {
    return Fail(Error::Validation({{"description", "At most 500 characters"}}));
  }
  if (dir.IsPermission(permission.name)) {
    return Fail(Error::AlreadyExists("Permission " + permission.name + " already exists"));
  }
  return NewEvent(kPermissionAggregate, kPermissionDefined, permission.name,
                  dir.AccessVersion(kPermissionAggregate, permission.name) + 1,
                  EncodePermission(permission), meta, ids);
}

}  // namespace keel

// Users, their sessions, and the roles and permissions admins define: all event-sourced on the
// users stream (topic keel.users; key: the user id, or "access" for role and permission
// definitions). UserDirectory folds that stream; the API authenticates against it and serves
// users, roles and permissions from it. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/access.h"
#include "domain/error.h"
#include "domain/event.h"
#include "domain/time.h"
#include "domain/topics.h"

namespace keel {

inline constexpr std::string_view kAccessKey = "access";  // the stream key of role definitions

inline constexpr std::string_view kUserAggregate = "user";
inline constexpr std::string_view kRoleAggregate = "role";
inline constexpr std::string_view kPermissionAggregate = "permission";

inline constexpr std::string_view kUserRegistered = "UserRegistered";
inline constexpr std::string_view kUserUpdated = "UserUpdated";
inline constexpr std::string_view kUserRoleChanged = "UserRoleChanged";
inline constexpr std::string_view kUserDisabled = "UserDisabled";
inline constexpr std::string_view kUserEnabled = "UserEnabled";
inline constexpr std::string_view kUserPasswordChanged = "UserPasswordChanged";
inline constexpr std::string_view kSessionStarted = "SessionStarted";
inline constexpr std::string_view kSessionRevoked = "SessionRevoked";
// Every session of the user ends, but the one named in keptSessionId (if any): appended after a
// password change, a role change or a disablement. One event however many sessions there are;
// sessions the user starts later are not touched (the user's stream is ordered).
inline constexpr std::string_view kUserSessionsRevoked = "UserSessionsRevoked";
inline constexpr std::string_view kRoleDefined = "RoleDefined";
inline constexpr std::string_view kPermissionDefined = "PermissionDefined";

inline constexpr Millis kSessionLifetime = 24LL * 3600 * 1000;  // seed 000: 24 hours

struct User {
  std::string id;
  std::string name;
  std::string email;
  std::optional<std::string> google_id;
  std::string provider = "local";  // "google" or "local"
  std::optional<std::string> avatar;
  std::string role;           // kNoRole: none granted yet
  std::string password_hash;  // Argon2id (libsodium's string form); empty: no local password
  bool disabled = false;
  Millis created_at = 0;
  Millis updated_at = 0;
  int64_t version = 0;
};

struct Session {
  std::string id;
  std::string user_id;
  std::string method;  // "password", "google", "dev"
  Millis started_at = 0;
  Millis expires_at = 0;
  bool revoked = false;
  std::string revoked_for;  // "signed_out", or the reason of a UserSessionsRevoked
};

// The fields of UserRegistered and UserUpdated; absent: unchanged.
struct UserFields {
  std::optional<std::string> name;
  std::optional<std::string> email;
  std::optional<std::optional<std::string>> google_id;
  std::optional<std::string> provider;
  std::optional<std::optional<std::string>> avatar;
  std::optional<std::string> role;           // UserRegistered only
  std::optional<std::string> password_hash;  // UserRegistered only
};

std::string EncodeUserFields(const UserFields& fields);
Result<UserFields> DecodeUserFields(std::string_view payload);

// {"sessionId","method","expiresAt"}
std::string EncodeSession(const Session& session);

// Why a user's sessions were revoked all at once (UserSessionsRevoked's "reason").
inline constexpr std::string_view kRevokedForSignOut = "signed_out";  // SessionRevoked
inline constexpr std::string_view kRevokedForPassword = "password_changed";
inline constexpr std::string_view kRevokedForRole = "role_changed";
inline constexpr std::string_view kRevokedForDisablement = "disabled";
// {"reason","keptSessionId"?}
std::string EncodeSessionsRevoked(std::string_view reason,
                                  const std::optional<std::string>& kept_session_id);

// What a session event says: SessionStarted (session_id, method, expires_at), SessionRevoked
// (session_id, expires_at; reason kRevokedForSignOut) or UserSessionsRevoked (reason,
// kept_session_id, empty when none), of the user e.aggregate_id. kDataLoss for a payload
// that is not one of them.
struct SessionChange {
  std::string session_id;
  std::string method;
  Millis expires_at = 0;
  std::string reason;
  std::string kept_session_id;
};
Result<SessionChange> DecodeSessionChange(const EventEnvelope& event);
// Why a session ended, for people: its revoked_for code (kRevokedFor…) in words.
std::string SessionEndedBecause(std::string_view revoked_for);

// {"name","description","permissions":[..]}
std::string EncodeRole(const RoleInfo& role);
// {"name","description"}
std::string EncodePermission(const PermissionInfo& permission);

// A user as the API shows it: never the password hash; "role" is null for a user without one.
std::string UserToJson(const User& user);
std::string RoleToJson(const RoleInfo& role);
std::string PermissionToJson(const PermissionInfo& permission);

class UserDirectory final {
 public:
  UserDirectory();

  // Folds one event of the users stream. Events of other aggregates are ignored (false).
  // kDataLoss for an event that does not follow the state (the fold is unchanged).
  Result<bool> Apply(const EventEnvelope& event);

  const User* Find(std::string_view id) const;
  const User* FindByEmail(std::string_view email) const;
  const User* FindByGoogleId(std::string_view google_id) const;
  const Session* FindSession(std::string_view id) const;
  // The user's sessions that are not revoked (expired ones included until pruned), by id.
  std::vector<const Session*> LiveSessionsOf(std::string_view user_id) const;
  const RoleInfo* FindRole(std::string_view name) const;
  bool IsPermission(std::string_view name) const;

  // By creation time, then id.
  std::vector<const User*> Users() const;
  std::vector<const RoleInfo*> Roles() const;       // by name
  std::vector<PermissionInfo> Permissions() const;  // by name
  size_t user_count() const { return users_.size(); }
  int64_t AccessVersion(std::string_view aggregate, std::string_view name) const;

  // The principal for a user of this directory (their role's permissions); nullopt for an
  // unknown or disabled user.
  std::optional<Principal> PrincipalFor(std::string_view user_id, std::string session_id) const;

  // Forgets sessions that expired before `now`.
  void PruneSessions(Millis now);
  // Makes the email and Google id indexes say again who holds each now. A fold from the log reads
  // the partitions interleaved in any order, so an email that moved from one user to another may
  // have been released by its old holder's later event after its new holder took it. Called
  // after every fold from the log.
  void RepairIndexes();

 private:
  std::unordered_map<std::string, User> users_;
  std::unordered_map<std::string, std::string> by_email_;
  std::unordered_map<std::string, std::string> by_google_;
  std::unordered_map<std::string, Session> sessions_;
  std::map<std::string, RoleInfo, std::less<>> roles_;
  std::map<std::string, PermissionInfo, std::less<>> permissions_;
  std::map<std::string, int64_t, std::less<>>
      access_versions_;  // "role:<name>", "permission:<name>"
};

}  // namespace keel

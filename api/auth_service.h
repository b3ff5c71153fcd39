// AuthService: who is asking. Signs and checks session tokens, guards password sign-in against
// guessing, admits Google accounts by the allow-list, hashes passwords, and runs the user
// commands (register, change, sessions, roles) through UserService, whose directory is never
// ahead of the log.
//
// Sessions: a session is a SessionStarted event; its token is a JWT (HS256, KEEL_JWT_SECRET)
// naming the user and the session, valid 24 hours. A token is accepted while its signature and
// expiry hold, its session is known and not revoked (logout appends SessionRevoked; a new
// password, a new role or a disablement appends UserSessionsRevoked, which ends the user's
// other sessions) and its user is active. The role is read from the directory on every
// request, so a role redefined takes effect at once. Checked tokens are cached per thread and
// directory generation: the hot path is one hash lookup, with no lock and nothing shared
// between cores.
//
// Sign-in throttling (LoginThrottle): after 5 failed passwords for one account from one client
// address, or 20 from one address, within 15 minutes, sign-ins from there get 429 until the
// window passes; the account's owner still signs in from anywhere else. The client address is
// the one HttpServer found (trusted proxies' X-Forwarded-For included).
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/google_allow_list.h"
#include "api/login_throttle.h"
#include "commands/user_commands.h"
#include "commands/user_service.h"
#include "infra/event_log.h"

namespace keel {

struct AuthConfig {
  std::string jwt_secret;  // required outside dev mode
  bool dev_mode = false;   // enables POST /auth/dev-token; cookies without Secure
  // Dev mode only: no route checks a session (every request is anonymous). For measuring
  // what authentication costs (scripts/bench); dev mode hands out admin sessions anyway.
  bool dev_no_auth = false;
  std::string admin_email;     // the first admin; empty: admin@keel.local
  std::string admin_password;  // empty: a random one, printed once at first start
  Millis session_lifetime = kSessionLifetime;
  int max_failures_per_account_and_address = 5;
  int max_failures_per_address = 20;
  Millis failure_window = 15 * 60 * 1000;
  size_t max_throttled_keys = 100'000;  // the throttle's memory bound
  // Who may sign in with Google (GoogleAllowList's syntax); empty: anyone with a verified
  // Google email, a new user then getting no role until an admin grants one.
  std::string google_allowed_domains;
  // The role of a new Google user admitted by the allow-list.
  std::string default_google_role = std::string(kRoleSalesRep);
};

// A started session: its token and when it ends.
struct SessionToken {
  std::string token;
  Session session;
  std::string user_json;
};

class AuthService final {
 public:
  AuthService(AuthConfig config, EventLog& log, Clock& clock, IdGenerator& ids);

  // Folds the users topic and creates the first admin when there is none. `announce` receives
  // the generated admin password, once (at the first start without KEEL_ADMIN_PASSWORD).
  // kInvalidArgument for a malformed google_allowed_domains.
  Status Load(
      const std::function<void(const std::string& email, const std::string& password)>& announce);

  const AuthConfig& config() const { return config_; }

  // The principal behind a session token; kUnauthenticated with the reason otherwise.
  Result<std::shared_ptr<const Principal>> Authenticate(std::string_view token);

  // Password sign-in from `address`. kUnauthenticated for a wrong email or password (the same
  // message for both), kResourceExhausted while throttled, kPermissionDenied when disabled.
  Result<SessionToken> Login(const std::string& email, std::string_view password,
                             const std::string& address, const CommandMeta& meta);
  // Starts a session for a user (Google sign-in, dev tokens).
  Result<SessionToken> StartSession(const std::string& user_id, const std::string& method,
                                    CommandMeta meta);
  Status Logout(const Principal& who, const CommandMeta& meta);

  // Creates or updates the user behind a verified Google identity; returns the user id.
  // kPermissionDenied when an allow-list is configured and does not admit the account (existing
  // users included). A new user gets default_google_role when the allow-list admitted them,
  // and no role at all when there is no allow-list.
  Result<std::string> UpsertGoogleUser(const std::string& google_id, const std::string& email,
                                       const std::optional<std::string>& hosted_domain,
                                       const std::string& name,
                                       const std::optional<std::string>& avatar,
                                       const CommandMeta& meta);
  // Dev mode: the user with this email, created with `role` when missing.
  Result<std::string> EnsureDevUser(const std::string& email, const std::string& role,
                                    const CommandMeta& meta);

  // Registers a local (password) user: the password is hashed here. Returns the user JSON.
  Result<std::string> RegisterUser(NewUser user, std::string_view password,
                                   const CommandMeta& meta);
  // `password`: a new password to hash, if any. Returns the user JSON.
  Result<std::string> ChangeUser(const std::string& id, UserChange change,
                                 std::optional<std::string> password, const CommandMeta& meta);
  Result<std::string> DefineRole(const RoleInfo& role, const CommandMeta& meta);
  Result<std::string> DefinePermission(const PermissionInfo& permission, const CommandMeta& meta);

  // Reads, as JSON.
  std::optional<std::string> UserJson(const std::string& id) const;
  std::vector<std::string> UsersJson() const;
  std::vector<std::string> RolesJson() const;
  std::vector<std::string> PermissionsJson() const;
  bool UserExists(const std::string& id, bool active_only = true) const;

 public:
  // A checked token, as each thread caches it (auth_service.cc).
  struct CachedToken {
    uint64_t generation = 0;
    Millis expires_at = 0;
    std::shared_ptr<const Principal> principal;
  };

 private:
  AuthConfig config_;
  GoogleAllowList google_allowed_;  // parsed by Load
  Clock& clock_;
  IdGenerator& ids_;
  const uint64_t
      instance_;  // tells this service's cached tokens from another's (tests run several)

  UserService users_;
  LoginThrottle throttle_;
};

}  // namespace keel

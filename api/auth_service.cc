#include "api/auth_service.h"

#include "domain/customer.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "infra/auth_crypto.h"

namespace keel {
namespace {

constexpr size_t kTokenCacheLimit = 10'000;  // per thread

std::atomic<uint64_t> next_instance{1};

struct TokenHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Each thread's checked tokens, for the service instance it last served: no lock and no
// reference count shared between cores on the hot path.
struct ThreadTokenCache {
  uint64_t instance = 0;
  std::unordered_map<std::string, AuthService::CachedToken, TokenHash, std::equal_to<>> tokens;
};
thread_local ThreadTokenCache token_cache;
constexpr std::string_view kIssuer = "keel";

// Verified against when a sign-in names an unknown email, so that it takes as long as a wrong
// password: an Argon2id hash at the cost HashPassword uses, of a random password nobody kept.
constexpr const char* kDummyHash =
    "$argon2id$v=19$m=65536,t=2,p=1$HItGfGWxEhIaJa7J6OMkPw$N8PV6Jo/viQvY/8U2rK72AqkFyg/"
    "dRRVemBuTmGBcmE";

struct Claims {
  std::string sub;
  std::string sid;
  Millis expires_at = 0;
};

// Why a revoked session ended, as its holder is told.
std::string EndedBecause(const Session& s) {
  if (s.revoked_for == kRevokedForPassword) return "the account's password was changed";
  if (s.revoked_for == kRevokedForRole) return "the account's role was changed";
  if (s.revoked_for == kRevokedForDisablement) return "the account was disabled";
  return "signed out";
}

Result<Claims> ParseClaims(std::string_view payload_json) {
  auto doc = json::Parse(payload_json, "Token claims", ErrorCode::kUnauthenticated);
  if (!doc) return Fail(Error::Unauthenticated("Token claims are not JSON"));
  std::string_view iss, sub, sid;
  int64_t exp = 0;
  if ((*doc)["iss"].get(iss) || iss != kIssuer || (*doc)["sub"].get(sub) ||
      (*doc)["sid"].get(sid) || (*doc)["exp"].get(exp)) {
    return Fail(Error::Unauthenticated("Token is not a Keel session token"));
  }
  return Claims{std::string(sub), std::string(sid), exp * 1000};
}

}  // namespace

AuthService::AuthService(AuthConfig config, EventLog& log, Clock& clock, IdGenerator& ids)
    : config_(std::move(config)),
      clock_(clock),
      ids_(ids),
      instance_(next_instance.fetch_add(1)),
      users_(log, clock, ids),
      throttle_({.max_per_account_and_address = config_.max_failures_per_account_and_address,
                 .max_per_address = config_.max_failures_per_address,
                 .window = config_.failure_window,
                 .max_keys = config_.max_throttled_keys}) {}

Status AuthService::Load(
    const std::function<void(const std::string&, const std::string&)>& announce) {
  if (auto st = crypto::Init(); !st) return st;
  auto allowed = GoogleAllowList::Parse(config_.google_allowed_domains);
  if (!allowed) return Fail(allowed.error());
  google_allowed_ = std::move(*allowed);
  if (auto st = users_.Load(); !st) return st;
  const bool has_admin = users_.Read([](const UserDirectory& dir) {
    for (const User* u : dir.Users()) {
      if (u->role == kRoleAdmin && !u->disabled) return true;
    }
    return false;
  });
  if (has_admin) return {};
  // No active admin: the first start (or every admin is gone). Create or promote one.
  const std::string email =
      NormaliseEmail(config_.admin_email.empty() ? "admin@keel.local" : config_.admin_email);
  std::string password = config_.admin_password;
  const bool generated = password.empty();
  if (generated) password = crypto::RandomToken(18);
  CommandMeta meta{.actor = "system:bootstrap"};
  const std::string existing = users_.Read([&](const UserDirectory& dir) {
    const User* u = dir.FindByEmail(email);
    return u ? u->id : std::string();
  });
  Result<std::string> done =
      existing.empty()
          ? RegisterUser({.name = "Administrator", .email = email, .role = std::string(kRoleAdmin)},
                         password, meta)
          : ChangeUser(existing, {.role = std::string(kRoleAdmin), .is_active = true}, password,
                       meta);
  if (!done) return Fail(done.error());
  if (generated && announce) announce(email, password);
  return {};
}

Result<std::shared_ptr<const Principal>> AuthService::Authenticate(std::string_view token) {
  const Millis now = clock_.NowMillis();
  ThreadTokenCache& cache = token_cache;
  if (cache.instance != instance_) {
    cache.tokens.clear();
    cache.instance = instance_;
  }
  if (auto it = cache.tokens.find(token); it != cache.tokens.end() &&
                                          it->second.generation == users_.generation() &&
                                          it->second.expires_at > now) {
    return it->second.principal;
  }
  auto payload = crypto::VerifyHs256(token, config_.jwt_secret);
  if (!payload) return Fail(payload.error());
  auto claims = ParseClaims(*payload);
  if (!claims) return Fail(claims.error());
  if (claims->expires_at <= now) return Fail(Error::Unauthenticated("Session has expired"));

  CachedToken cached;
  auto checked = users_.Read([&](const UserDirectory& dir) -> Status {
    // Generations change only under the directory's lock, held here.
    cached.generation = users_.generation();
    const Session* s = dir.FindSession(claims->sid);
    if (!s || s->user_id != claims->sub) {
      return Fail(Error::Unauthenticated("Session is unknown"));
    }
    if (s->revoked) return Fail(Error::Unauthenticated("Session has ended: " + EndedBecause(*s)));
    if (s->expires_at <= now) return Fail(Error::Unauthenticated("Session has expired"));
    auto principal = dir.PrincipalFor(claims->sub, claims->sid);
    if (!principal) return Fail(Error::Unauthenticated("Account is disabled or unknown"));
    cached.principal = std::make_shared<const Principal>(std::move(*principal));
    cached.expires_at = std::min(s->expires_at, claims->expires_at);
    return {};
  });
  if (!checked) return Fail(checked.error());
  if (cache.tokens.size() >= kTokenCacheLimit) cache.tokens.clear();
  cache.tokens.insert_or_assign(std::string(token), cached);
  return cached.principal;
}

Result<SessionToken> AuthService::Login(const std::string& email_in, std::string_view password,
                                        const std::string& address, const CommandMeta& meta) {
  const std::string email = NormaliseEmail(email_in);
  const Millis now = clock_.NowMillis();
  if (throttle_.Throttled(email, address, now)) {
    return Fail(Error::ResourceExhausted(
        "Too many failed sign-ins from this address: try again in 15 minutes"));
  }
  std::string hash = kDummyHash, id;
  bool disabled = false;
  users_.Read([&](const UserDirectory& dir) {
    if (const User* u = dir.FindByEmail(email); u && !u->password_hash.empty()) {
      hash = u->password_hash;
      id = u->id;
      disabled = u->disabled;
    }
  });
  // Hashing outside every lock: Argon2id takes tens of milliseconds by design.
  const bool ok = crypto::VerifyPassword(hash, password) && !id.empty();
  if (!ok) {
    // Counted for unknown emails too, per pair as for known ones: a 429 that only real
    // accounts earned would tell which emails have one.
    throttle_.RecordFailure(email, address, now);
    return Fail(Error::Unauthenticated("Invalid email or password"));
  }
  if (disabled) return Fail(Error::PermissionDenied("This account is disabled"));
  throttle_.RecordSuccess(email, address);
  CommandMeta m = meta;
  m.actor = id;
  return StartSession(id, "password", m);
}

Result<SessionToken> AuthService::StartSession(const std::string& user_id,
                                               const std::string& method, CommandMeta meta) {
  const Millis now = clock_.NowMillis();
  Session s{crypto::RandomToken(16), user_id, method, now, now + config_.session_lifetime, false};
  if (meta.actor.empty()) meta.actor = user_id;
  if (auto st = users_.StartSession(s, meta); !st) return Fail(st.error());
  JsonWriter w;
  w.BeginObject();
  w.Key("iss").String(kIssuer);
  w.Key("sub").String(user_id);
  w.Key("sid").String(s.id);
  w.Key("iat").Int(now / 1000);
  w.Key("exp").Int(s.expires_at / 1000);
  w.EndObject();
  auto token = crypto::SignHs256(w.str(), config_.jwt_secret);
  if (!token) return Fail(token.error());
  auto user = UserJson(user_id);
  return SessionToken{std::move(*token), std::move(s), user.value_or("null")};
}

Status AuthService::Logout(const Principal& who, const CommandMeta& meta) {
  CommandMeta m = meta;
  m.actor = who.user_id;
  return users_.RevokeSession(who.user_id, who.session_id, m);
}

Result<std::string> AuthService::UpsertGoogleUser(const std::string& google_id,
                                                  const std::string& email_in,
                                                  const std::optional<std::string>& hosted_domain,
                                                  const std::string& name,
                                                  const std::optional<std::string>& avatar,
                                                  const CommandMeta& meta) {
  const std::string email = NormaliseEmail(email_in);
  if (!google_allowed_.empty() && !google_allowed_.Admits(email, hosted_domain)) {
    return Fail(Error::PermissionDenied("The Google account " + email +
                                        " may not sign in here: neither its email nor its domain "
                                        "is on the allow-list"));
  }
  std::string id = users_.Read([&](const UserDirectory& dir) {
    const User* u = dir.FindByGoogleId(google_id);
    if (!u) u = dir.FindByEmail(email);  // a local account signs in with Google: linked
    return u ? u->id : std::string();
  });
  CommandMeta m = meta;
  if (id.empty()) {
    id = ids_.NewId();
    m.actor = id;
    // Without an allow-list anyone with a Google account gets this far: they may hold a
    // session, but do nothing until an admin grants a role.
    NewUser user{name.empty() ? email : name,
                 email,
                 google_allowed_.empty() ? std::string(kNoRole) : config_.default_google_role,
                 "google",
                 "",
                 google_id,
                 avatar};
    auto st = users_.Register(id, user, m);
    if (!st) return Fail(st.error());
    return id;
  }
  m.actor = id;
  UserChange change{
      .google_id = std::optional<std::string>(google_id),
      .avatar = avatar ? std::optional<std::optional<std::string>>(avatar) : std::nullopt};
  if (!name.empty()) change.name = name;
  auto st = users_.Change(id, change, m);
  if (!st) return Fail(st.error());
  return id;
}

Result<std::string> AuthService::EnsureDevUser(const std::string& email_in, const std::string& role,
                                               const CommandMeta& meta) {
  const std::string email = NormaliseEmail(email_in);
  std::string existing = users_.Read([&](const UserDirectory& dir) {
    const User* u = dir.FindByEmail(email);
    return u ? u->id : std::string();
  });
  if (!existing.empty()) return existing;
  const std::string id = ids_.NewId();
  NewUser user{email.substr(0, email.find('@')), email, role, "local", ""};
  auto st = users_.Register(id, user, meta);
  if (!st) return Fail(st.error());
  return id;
}

Result<std::string> AuthService::RegisterUser(NewUser user, std::string_view password,
                                              const CommandMeta& meta) {
  auto hash = crypto::HashPassword(password);
  if (!hash) return Fail(hash.error());
  user.password_hash = std::move(*hash);
  user.provider = "local";
  const std::string id = ids_.NewId();
  auto st = users_.Register(id, user, meta);
  if (!st) return Fail(st.error());
  return UserJson(id).value_or("null");
}

Result<std::string> AuthService::ChangeUser(const std::string& id, UserChange change,
                                            std::optional<std::string> password,
                                            const CommandMeta& meta) {
  if (password) {
    auto hash = crypto::HashPassword(*password);
    if (!hash) return Fail(hash.error());
    change.password_hash = std::move(*hash);
  }
  auto st = users_.Change(id, change, meta);
  if (!st) return Fail(st.error());
  auto json = UserJson(id);
  if (!json) return Fail(Error::NotFound("User " + id + " not found"));
  return *json;
}

Result<std::string> AuthService::DefineRole(const RoleInfo& role, const CommandMeta& meta) {
  if (auto st = users_.DefineRole(role, meta); !st) return Fail(st.error());
  return users_.Read(
      [&](const UserDirectory& dir) { return RoleToJson(*dir.FindRole(role.name)); });
}

Result<std::string> AuthService::DefinePermission(const PermissionInfo& permission,
                                                  const CommandMeta& meta) {
  if (auto st = users_.DefinePermission(permission, meta); !st) return Fail(st.error());
  return PermissionToJson(permission);
}

std::optional<std::string> AuthService::UserJson(const std::string& id) const {
  return users_.Read([&](const UserDirectory& dir) -> std::optional<std::string> {
    const User* u = dir.Find(id);
    if (!u) return std::nullopt;
    return UserToJson(*u);
  });
}

std::vector<std::string> AuthService::UsersJson() const {
  return users_.Read([](const UserDirectory& dir) {
    std::vector<std::string> out;
    for (const User* u : dir.Users()) out.push_back(UserToJson(*u));
    return out;
  });
}

std::vector<std::string> AuthService::RolesJson() const {
  return users_.Read([](const UserDirectory& dir) {
    std::vector<std::string> out;
    for (const RoleInfo* r : dir.Roles()) out.push_back(RoleToJson(*r));
    return out;
  });
}

std::vector<std::string> AuthService::PermissionsJson() const {
  return users_.Read([](const UserDirectory& dir) {
    std::vector<std::string> out;
    for (const auto& p : dir.Permissions()) out.push_back(PermissionToJson(p));
    return out;
  });
}

bool AuthService::UserExists(const std::string& id, bool active_only) const {
  return users_.Read([&](const UserDirectory& dir) {
    const User* u = dir.Find(id);
    return u && (!active_only || !u->disabled);
  });
}

}  // namespace keel

#include "api/auth_service.h"

#include "domain/customer.h"
#include "domain/json.h"
#include "domain/json_input.h"
#include "domain/topics.h"
#include "infra/auth_crypto.h"
#include "infra/log.h"

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

// A decision of one event, as Run() takes decisions.
Result<std::vector<EventEnvelope>> AsList(Result<EventEnvelope> event) {
  if (!event) return Fail(event.error());
  return std::vector<EventEnvelope>{std::move(*event)};
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
      log_(log),
      clock_(clock),
      ids_(ids),
      instance_(next_instance.fetch_add(1)),
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
  {
    std::unique_lock lock(mu_);
    if (auto st = ReloadLocked(); !st) return st;
    for (const User* u : dir_.Users()) {
      if (u->role == kRoleAdmin && !u->disabled) return {};
    }
  }
  // No active admin: the first start (or every admin is gone). Create or promote one.
  const std::string email =
      NormaliseEmail(config_.admin_email.empty() ? "admin@keel.local" : config_.admin_email);
  std::string password = config_.admin_password;
  const bool generated = password.empty();
  if (generated) password = crypto::RandomToken(18);
  CommandMeta meta{.actor = "system:bootstrap"};
  std::string existing;
  {
    std::shared_lock lock(mu_);
    if (const User* u = dir_.FindByEmail(email)) existing = u->id;
  }
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

// Folded aside and swapped in whole: a read that fails halfway leaves the directory as it was,
// never a past one in which a disabled account or an ended session would work again.
Status AuthService::ReloadLocked() {
  UserDirectory fresh;
  auto st = log_.ReadAll(std::string(kUsersTopic), [&](const LogRecord& r) {
    auto event = DecodeEvent(r.value);
    if (!event || CheckSupport(*event) != EventSupport::kSupported) return;
    (void)fresh.Apply(*event);  // an event that does not follow is skipped, as the projector does
  });
  if (!st) return st;
  dir_ = std::move(fresh);
  dir_.PruneSessions(clock_.NowMillis());
  ++generation_;
  stale_ = false;
  return {};
}

// The directory changes only once the log holds the command's events: a command the log
// refused (or whose outcome it could not tell) never takes effect in memory, where sign-ins
// and every session check would otherwise honour it until a restart. append_mu_ keeps every
// other command from deciding between this one's decision and its fold.
Status AuthService::Run(const std::string& key,
                        const std::function<Result<std::vector<EventEnvelope>>(
                            const UserDirectory&, const CommandMeta&)>& decide,
                        CommandMeta meta) {
  // A log that stopped writing stays stopped: refuse before re-reading it or deciding.
  if (auto health = log_.Health(); !health) return Fail(health.error());
  std::lock_guard serial(append_mu_);
  std::vector<EventEnvelope> events;
  std::vector<std::string> values;
  {
    std::unique_lock lock(mu_);
    if (stale_) {
      if (auto st = ReloadLocked(); !st) return st;
    }
    meta.now = clock_.NowMillis();
    if (meta.now - pruned_at_ >= 60000) {  // expired sessions leave the directory, once a minute
      dir_.PruneSessions(meta.now);
      pruned_at_ = meta.now;
    }
    auto decided = decide(dir_, meta);
    if (!decided) return Fail(decided.error());
    events = std::move(*decided);
  }
  if (events.empty()) return {};
  for (const auto& e : events) values.push_back(EncodeEvent(e));
  auto appended = log_.Append(std::string(kUsersTopic), key, std::move(values));
  if (!appended) {
    // The log may hold the events after all (an outcome it could not tell): the next command
    // reads it again first.
    stale_ = true;
    return Fail(appended.error());
  }
  std::unique_lock lock(mu_);
  for (const auto& e : events) {
    if (auto applied = dir_.Apply(e); !applied) {
      // A decision that does not follow from the directory it was made on: a bug. The log is
      // the truth; the directory is read from it again, skipping the event as a fold does.
      Log(LogLevel::kError, "user command's event does not apply; reloading the directory",
          {{"type", e.type}, {"error", applied.error().message}});
      if (auto st = ReloadLocked(); !st) stale_ = true;
      return Fail(applied.error());
    }
  }
  ++generation_;
  return {};
}

Status AuthService::RunRegister(const std::string& id, const NewUser& user,
                                const CommandMeta& meta) {
  return Run(
      id,
      [&](const UserDirectory& dir, const CommandMeta& cm) {
        return DecideRegisterUser(dir, id, user, cm, ids_);
      },
      meta);
}

Status AuthService::RunChange(const std::string& id, const UserChange& change,
                              const CommandMeta& meta) {
  return Run(
      id,
      [&](const UserDirectory& dir, const CommandMeta& cm) {
        return DecideChangeUser(dir, id, change, cm, ids_);
      },
      meta);
}

Result<std::shared_ptr<const Principal>> AuthService::Authenticate(std::string_view token) {
  const Millis now = clock_.NowMillis();
  ThreadTokenCache& cache = token_cache;
  if (cache.instance != instance_) {
    cache.tokens.clear();
    cache.instance = instance_;
  }
  if (auto it = cache.tokens.find(token); it != cache.tokens.end() &&
                                          it->second.generation == generation_.load() &&
                                          it->second.expires_at > now) {
    return it->second.principal;
  }
  auto payload = crypto::VerifyHs256(token, config_.jwt_secret);
  if (!payload) return Fail(payload.error());
  auto claims = ParseClaims(*payload);
  if (!claims) return Fail(claims.error());
  if (claims->expires_at <= now) return Fail(Error::Unauthenticated("Session has expired"));

  CachedToken cached;
  {
    std::shared_lock lock(mu_);
    cached.generation = generation_.load();
    const Session* s = dir_.FindSession(claims->sid);
    if (!s || s->user_id != claims->sub) {
      return Fail(Error::Unauthenticated("Session is unknown"));
    }
    if (s->revoked) return Fail(Error::Unauthenticated("Session has ended: " + EndedBecause(*s)));
    if (s->expires_at <= now) return Fail(Error::Unauthenticated("Session has expired"));
    auto principal = dir_.PrincipalFor(claims->sub, claims->sid);
    if (!principal) return Fail(Error::Unauthenticated("Account is disabled or unknown"));
    cached.principal = std::make_shared<const Principal>(std::move(*principal));
    cached.expires_at = std::min(s->expires_at, claims->expires_at);
  }
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
  {
    std::shared_lock lock(mu_);
    if (const User* u = dir_.FindByEmail(email); u && !u->password_hash.empty()) {
      hash = u->password_hash;
      id = u->id;
      disabled = u->disabled;
    }
  }
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
  auto st = Run(
      user_id,
      [&](const UserDirectory& dir, const CommandMeta& cm) {
        return AsList(DecideStartSession(dir, s, cm, ids_));
      },
      meta);
  if (!st) return Fail(st.error());
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
  return Run(
      who.user_id,
      [&](const UserDirectory& dir, const CommandMeta& cm) -> Result<std::vector<EventEnvelope>> {
        return DecideRevokeSession(dir, who.session_id, cm, ids_);
      },
      m);
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
  std::string id;
  {
    std::shared_lock lock(mu_);
    const User* u = dir_.FindByGoogleId(google_id);
    if (!u) u = dir_.FindByEmail(email);  // a local account signs in with Google: linked
    if (u) id = u->id;
  }
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
    auto st = RunRegister(id, user, m);
    if (!st) return Fail(st.error());
    return id;
  }
  m.actor = id;
  UserChange change{
      .google_id = std::optional<std::string>(google_id),
      .avatar = avatar ? std::optional<std::optional<std::string>>(avatar) : std::nullopt};
  if (!name.empty()) change.name = name;
  auto st = RunChange(id, change, m);
  if (!st) return Fail(st.error());
  return id;
}

Result<std::string> AuthService::EnsureDevUser(const std::string& email_in, const std::string& role,
                                               const CommandMeta& meta) {
  const std::string email = NormaliseEmail(email_in);
  {
    std::shared_lock lock(mu_);
    if (const User* u = dir_.FindByEmail(email)) return u->id;
  }
  const std::string id = ids_.NewId();
  NewUser user{email.substr(0, email.find('@')), email, role, "local", ""};
  auto st = RunRegister(id, user, meta);
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
  auto st = RunRegister(id, user, meta);
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
  auto st = RunChange(id, change, meta);
  if (!st) return Fail(st.error());
  auto json = UserJson(id);
  if (!json) return Fail(Error::NotFound("User " + id + " not found"));
  return *json;
}

Result<std::string> AuthService::DefineRole(const RoleInfo& role, const CommandMeta& meta) {
  auto st = Run(
      std::string(kAccessKey),
      [&](const UserDirectory& dir, const CommandMeta& cm) {
        return AsList(DecideDefineRole(dir, role, cm, ids_));
      },
      meta);
  if (!st) return Fail(st.error());
  std::shared_lock lock(mu_);
  return RoleToJson(*dir_.FindRole(role.name));
}

Result<std::string> AuthService::DefinePermission(const PermissionInfo& permission,
                                                  const CommandMeta& meta) {
  auto st = Run(
      std::string(kAccessKey),
      [&](const UserDirectory& dir, const CommandMeta& cm) {
        return AsList(DecideDefinePermission(dir, permission, cm, ids_));
      },
      meta);
  if (!st) return Fail(st.error());
  return PermissionToJson(permission);
}

std::optional<std::string> AuthService::UserJson(const std::string& id) const {
  std::shared_lock lock(mu_);
  const User* u = dir_.Find(id);
  if (!u) return std::nullopt;
  return UserToJson(*u);
}

std::vector<std::string> AuthService::UsersJson() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const User* u : dir_.Users()) out.push_back(UserToJson(*u));
  return out;
}

std::vector<std::string> AuthService::RolesJson() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const RoleInfo* r : dir_.Roles()) out.push_back(RoleToJson(*r));
  return out;
}

std::vector<std::string> AuthService::PermissionsJson() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& p : dir_.Permissions()) out.push_back(PermissionToJson(p));
  return out;
}

bool AuthService::UserExists(const std::string& id, bool active_only) const {
  std::shared_lock lock(mu_);
  const User* u = dir_.Find(id);
  return u && (!active_only || !u->disabled);
}

}  // namespace keel

#include "domain/user.h"

#include <algorithm>

#include "domain/json.h"
#include "domain/json_input.h"

namespace keel {

using simdjson::dom::element;
using simdjson::dom::element_type;

namespace {

void OptionalString(JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  w.Key(key);
  v ? w.String(*v) : w.Null();
}

Error BadPayload(std::string_view type, std::string_view field) {
  return Error::DataLoss(std::string(type) + " payload field '" + std::string(field) +
                         "' is missing or invalid");
}

// The string at `key`: absent → nullopt; present and null → optional(nullopt).
Result<std::optional<std::optional<std::string>>> NullableString(simdjson::dom::object obj,
                                                                 std::string_view key) {
  element v;
  if (obj.at_key(key).get(v)) return std::optional<std::optional<std::string>>();
  if (v.type() == element_type::NULL_VALUE) {
    return std::optional<std::optional<std::string>>(std::optional<std::string>());
  }
  if (v.type() != element_type::STRING) return Fail(Error::DataLoss("not a string"));
  return std::optional<std::optional<std::string>>(
      std::optional<std::string>(std::string(v.get_string().value_unsafe())));
}

Result<simdjson::dom::object> PayloadObject(std::string_view payload) {
  auto doc = json::Parse(payload, "Event payload", ErrorCode::kDataLoss);
  if (!doc) return Fail(doc.error());
  if (doc->type() != element_type::OBJECT) {
    return Fail(Error::DataLoss("Event payload is not an object"));
  }
  return doc->get_object().value_unsafe();
}

}  // namespace

std::string EncodeUserFields(const UserFields& f) {
  JsonWriter w;
  w.BeginObject();
  if (f.name) w.Key("name").String(*f.name);
  if (f.email) w.Key("email").String(*f.email);
  if (f.google_id) OptionalString(w, "googleId", *f.google_id);
  if (f.provider) w.Key("provider").String(*f.provider);
  if (f.avatar) OptionalString(w, "avatar", *f.avatar);
  if (f.role) w.Key("role").String(*f.role);
  if (f.password_hash) w.Key("passwordHash").String(*f.password_hash);
  w.EndObject();
  return w.Take();
}

Result<UserFields> DecodeUserFields(std::string_view payload) {
  auto obj = PayloadObject(payload);
  if (!obj) return Fail(obj.error());
  UserFields f;
  for (const char* key : {"name", "email", "provider", "role", "passwordHash"}) {
    auto v = NullableString(*obj, key);
    if (!v || (*v && !**v)) return Fail(BadPayload("User", key));
    if (!*v) continue;
    std::string s = std::move(***v);
    const std::string_view k = key;
    if (k == "name")
      f.name = std::move(s);
    else if (k == "email")
      f.email = std::move(s);
    else if (k == "provider")
      f.provider = std::move(s);
    else if (k == "role")
      f.role = std::move(s);
    else
      f.password_hash = std::move(s);
  }
  auto google = NullableString(*obj, "googleId");
  if (!google) return Fail(BadPayload("User", "googleId"));
  f.google_id = std::move(*google);
  auto avatar = NullableString(*obj, "avatar");
  if (!avatar) return Fail(BadPayload("User", "avatar"));
  f.avatar = std::move(*avatar);
  return f;
}

std::string EncodeSession(const Session& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("sessionId").String(s.id);
  w.Key("method").String(s.method);
  w.Key("expiresAt").String(FormatIso8601(s.expires_at));
  w.EndObject();
  return w.Take();
}

std::string EncodeSessionsRevoked(std::string_view reason,
                                  const std::optional<std::string>& kept_session_id) {
  JsonWriter w;
  w.BeginObject();
  w.Key("reason").String(reason);
  if (kept_session_id) w.Key("keptSessionId").String(*kept_session_id);
  w.EndObject();
  return w.Take();
}

std::string EncodeRole(const RoleInfo& role) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(role.name);
  w.Key("description").String(role.description);
  w.Key("permissions").BeginArray();
  for (const auto& p : role.permissions) w.String(p);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::string EncodePermission(const PermissionInfo& p) {
  JsonWriter w;
  w.BeginObject();
  w.Key("name").String(p.name);
  w.Key("description").String(p.description);
  w.EndObject();
  return w.Take();
}

std::string UserToJson(const User& u) {
  JsonWriter w;
  w.BeginObject();
  w.Key("id").String(u.id);
  w.Key("name").String(u.name);
  w.Key("email").String(u.email);
  OptionalString(w, "googleId", u.google_id);
  w.Key("provider").String(u.provider);
  OptionalString(w, "avatar", u.avatar);
  w.Key("role");
  u.role == kNoRole ? w.Null() : w.String(u.role);
  w.Key("hasPassword").Bool(!u.password_hash.empty());
  w.Key("isActive").Bool(!u.disabled);
  w.Key("createdAt").String(FormatIso8601(u.created_at));
  w.Key("updatedAt").String(FormatIso8601(u.updated_at));
  w.Key("version").Int(u.version);
  w.EndObject();
  return w.Take();
}

std::string RoleToJson(const RoleInfo& role) {
  std::string json = EncodeRole(role);
  json.pop_back();
  json += role.builtin ? R"(,"builtin":true})" : R"(,"builtin":false})";
  return json;
}

std::string PermissionToJson(const PermissionInfo& p) { return EncodePermission(p); }

std::string SessionEndedBecause(std::string_view revoked_for) {
  if (revoked_for == kRevokedForPassword) return "the account's password was changed";
  if (revoked_for == kRevokedForRole) return "the account's role was changed";
  if (revoked_for == kRevokedForDisablement) return "the account was disabled";
  return "signed out";
}

Result<SessionChange> DecodeSessionChange(const EventEnvelope& e) {
  auto obj = PayloadObject(e.payload);
  if (!obj) return Fail(obj.error());
  SessionChange change;
  if (e.type == kUserSessionsRevoked) {
    std::string_view reason, kept;
    if ((*obj)["reason"].get(reason)) return Fail(BadPayload(e.type, "reason"));
    if (simdjson::dom::element k; !(*obj)["keptSessionId"].get(k) && k.get(kept)) {
      return Fail(BadPayload(e.type, "keptSessionId"));
    }
    change.reason = reason;
    change.kept_session_id = kept;
    return change;
  }
  if (e.type != kSessionStarted && e.type != kSessionRevoked) {
    return Fail(Error::DataLoss("Not a session event: " + e.type));
  }
  std::string_view sid, expires;
  if ((*obj)["sessionId"].get(sid)) return Fail(BadPayload(e.type, "sessionId"));
  std::optional<Millis> at;
  if ((*obj)["expiresAt"].get(expires) || !(at = ParseIso8601(expires))) {
    return Fail(BadPayload(e.type, "expiresAt"));
  }
  change.session_id = sid;
  change.expires_at = *at;
  if (e.type == kSessionStarted) {
    std::string_view method;
    if ((*obj)["method"].get(method)) return Fail(BadPayload(e.type, "method"));
    change.method = method;
  } else {
    change.reason = kRevokedForSignOut;
  }
  return change;
}

UserDirectory::UserDirectory() {
  for (const auto& r : BuiltinRoles()) roles_.emplace(r.name, r);
  for (const auto& p : BuiltinPermissions()) permissions_.emplace(p.name, p);
}

Result<bool> UserDirectory::Apply(const EventEnvelope& e) {
  if (e.aggregate_type == kRoleAggregate || e.aggregate_type == kPermissionAggregate) {
    std::string version_key = e.aggregate_type + ":" + e.aggregate_id;
    int64_t& version = access_versions_[version_key];
    if (auto st = CheckNextVersion(e, version); !st) return Fail(st.error());
    auto obj = PayloadObject(e.payload);
    if (!obj) return Fail(obj.error());
    std::string_view name, description;
    if ((*obj)["name"].get(name) || name != e.aggregate_id) return Fail(BadPayload(e.type, "name"));
    if ((*obj)["description"].get(description)) return Fail(BadPayload(e.type, "description"));
    if (e.type == kRoleDefined) {
      simdjson::dom::array perms;
      if ((*obj)["permissions"].get(perms)) return Fail(BadPayload(e.type, "permissions"));
      RoleInfo role{std::string(name), std::string(description), {}, false};
      for (element p : perms) {
        std::string_view s;
        if (p.get(s)) return Fail(BadPayload(e.type, "permissions"));
        role.permissions.emplace(s);
      }
      if (auto old = roles_.find(role.name); old != roles_.end())
        role.builtin = old->second.builtin;
      roles_[role.name] = std::move(role);
    } else if (e.type == kPermissionDefined) {
      permissions_[std::string(name)] = {std::string(name), std::string(description)};
    } else {
      return false;
    }
    version = e.aggregate_version;
    return true;
  }
  if (e.aggregate_type != kUserAggregate) return false;

  auto it = users_.find(e.aggregate_id);
  const int64_t current = it == users_.end() ? 0 : it->second.version;
  if (auto st = CheckNextVersion(e, current); !st) {
    return Fail(st.error());
  }
  if (e.type != kUserRegistered && it == users_.end()) {
    return Fail(Error::DataLoss(e.type + " of an unknown user " + e.aggregate_id));
  }

  if (e.type == kUserRegistered || e.type == kUserUpdated) {
    auto f = DecodeUserFields(e.payload);
    if (!f) return Fail(f.error());
    if (e.type == kUserRegistered) {
      if (!f->name || !f->email || !f->role) {
        return Fail(Error::DataLoss("UserRegistered lacks name, email or role"));
      }
      User u;
      u.id = e.aggregate_id;
      u.created_at = e.occurred_at;
      it = users_.emplace(u.id, std::move(u)).first;
    }
    User& u = it->second;
    if (f->email && *f->email != u.email) {
      // Only this user's entry: on a fold from the log another user may already hold it.
      if (auto old = by_email_.find(u.email); old != by_email_.end() && old->second == u.id) {
        by_email_.erase(old);
      }
      u.email = *f->email;
      by_email_[u.email] = u.id;
    }
    if (f->google_id && *f->google_id != u.google_id) {
      if (u.google_id) {
        if (auto old = by_google_.find(*u.google_id);
            old != by_google_.end() && old->second == u.id) {
          by_google_.erase(old);
        }
      }
      u.google_id = *f->google_id;
      if (u.google_id) by_google_[*u.google_id] = u.id;
    }
    if (f->name) u.name = std::move(*f->name);
    if (f->provider) u.provider = std::move(*f->provider);
    if (f->avatar) u.avatar = std::move(*f->avatar);
    if (f->role) u.role = std::move(*f->role);
    if (f->password_hash) u.password_hash = std::move(*f->password_hash);
  } else if (e.type == kUserRoleChanged || e.type == kUserPasswordChanged) {
    auto obj = PayloadObject(e.payload);
    if (!obj) return Fail(obj.error());
    const char* key = e.type == kUserRoleChanged ? "role" : "passwordHash";
    std::string_view value;
    if ((*obj)[key].get(value)) return Fail(BadPayload(e.type, key));
    (e.type == kUserRoleChanged ? it->second.role : it->second.password_hash) = value;
  } else if (e.type == kUserDisabled || e.type == kUserEnabled) {
    it->second.disabled = e.type == kUserDisabled;
  } else if (e.type == kSessionStarted || e.type == kSessionRevoked ||
             e.type == kUserSessionsRevoked) {
    auto change = DecodeSessionChange(e);
    if (!change) return Fail(change.error());
    if (e.type == kSessionStarted) {
      sessions_[change->session_id] = {change->session_id, e.aggregate_id,     change->method,
                                       e.occurred_at,      change->expires_at, false};
    } else if (e.type == kSessionRevoked) {
      if (auto s = sessions_.find(change->session_id); s != sessions_.end()) {
        s->second.revoked = true;
        s->second.revoked_for = kRevokedForSignOut;
      }
    } else {
      for (auto& [sid, session] : sessions_) {
        if (session.user_id == e.aggregate_id && sid != change->kept_session_id &&
            !session.revoked) {
          session.revoked = true;
          session.revoked_for = change->reason;
        }
      }
    }
  } else {
    return false;
  }
  it->second.version = e.aggregate_version;
  if (e.type != kSessionStarted && e.type != kSessionRevoked && e.type != kUserSessionsRevoked) {
    it->second.updated_at = e.occurred_at;
  }
  return true;
}

const User* UserDirectory::Find(std::string_view id) const {
  auto it = users_.find(std::string(id));
  return it == users_.end() ? nullptr : &it->second;
}

const User* UserDirectory::FindByEmail(std::string_view email) const {
  auto it = by_email_.find(std::string(email));
  return it == by_email_.end() ? nullptr : Find(it->second);
}

const User* UserDirectory::FindByGoogleId(std::string_view google_id) const {
  auto it = by_google_.find(std::string(google_id));
  return it == by_google_.end() ? nullptr : Find(it->second);
}

const Session* UserDirectory::FindSession(std::string_view id) const {
  auto it = sessions_.find(std::string(id));
  return it == sessions_.end() ? nullptr : &it->second;
}

std::vector<const Session*> UserDirectory::LiveSessionsOf(std::string_view user_id) const {
  std::vector<const Session*> out;
  for (const auto& [sid, s] : sessions_) {
    if (s.user_id == user_id && !s.revoked) out.push_back(&s);
  }
  std::sort(out.begin(), out.end(),
            [](const Session* a, const Session* b) { return a->id < b->id; });
  return out;
}

const RoleInfo* UserDirectory::FindRole(std::string_view name) const {
  auto it = roles_.find(name);
  return it == roles_.end() ? nullptr : &it->second;
}

bool UserDirectory::IsPermission(std::string_view name) const {
  return permissions_.find(name) != permissions_.end();
}

std::vector<const User*> UserDirectory::Users() const {
  std::vector<const User*> out;
  out.reserve(users_.size());
  for (const auto& [id, u] : users_) out.push_back(&u);
  std::sort(out.begin(), out.end(), [](const User* a, const User* b) {
    return a->created_at != b->created_at ? a->created_at < b->created_at : a->id < b->id;
  });
  return out;
}

std::vector<const RoleInfo*> UserDirectory::Roles() const {
  std::vector<const RoleInfo*> out;
  for (const auto& [name, r] : roles_) out.push_back(&r);
  return out;
}

std::vector<PermissionInfo> UserDirectory::Permissions() const {
  std::vector<PermissionInfo> out;
  for (const auto& [name, p] : permissions_) out.push_back(p);
  return out;
}

int64_t UserDirectory::AccessVersion(std::string_view aggregate, std::string_view name) const {
  auto it = access_versions_.find(std::string(aggregate) + ":" + std::string(name));
  return it == access_versions_.end() ? 0 : it->second;
}

std::optional<Principal> UserDirectory::PrincipalFor(std::string_view user_id,
                                                     std::string session_id) const {
  const User* u = Find(user_id);
  if (!u || u->disabled) return std::nullopt;
  Principal p;
  p.user_id = u->id;
  p.email = u->email;
  p.name = u->name;
  p.role = u->role;
  if (const RoleInfo* role = FindRole(u->role)) p.permissions = role->permissions;
  p.session_id = std::move(session_id);
  return p;
}

void UserDirectory::RepairIndexes() {
  std::erase_if(by_email_, [this](const auto& entry) {
    const User* u = Find(entry.second);
    return !u || u->email != entry.first;
  });
  std::erase_if(by_google_, [this](const auto& entry) {
    const User* u = Find(entry.second);
    return !u || u->google_id != entry.first;
  });
  // Two holders of one key only from an imported log: the one updated last keeps it (ties: the
  // smaller id), whatever the map's order.
  auto claim = [this](auto& index, const std::string& key, const User& u) {
    auto [it, fresh] = index.try_emplace(key, u.id);
    if (fresh || it->second == u.id) return;
    const User* held = Find(it->second);
    if (!held || u.updated_at > held->updated_at ||
        (u.updated_at == held->updated_at && u.id < held->id)) {
      it->second = u.id;
    }
  };
  for (const auto& [id, u] : users_) {
    if (!u.email.empty()) claim(by_email_, u.email, u);
    if (u.google_id) claim(by_google_, *u.google_id, u);
  }
}

void UserDirectory::PruneSessions(Millis now) {
  std::erase_if(sessions_, [now](const auto& kv) { return kv.second.expires_at < now; });
}

}  // namespace keel

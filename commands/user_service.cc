#include "commands/user_service.h"

#include <type_traits>

namespace keel {

void UserService::Stream::BeforeDecide(UserDirectory& dir, Millis now) {
  if (now - pruned_at >= 60000) {  // expired sessions leave the directory, once a minute
    dir.PruneSessions(now);
    pruned_at = now;
  }
}

UserService::UserService(EventLog& log, Clock& clock, IdGenerator& ids)
    : ids_(ids), runtime_(Stream{}, log, clock) {}

template <typename DecideEvents>
Status UserService::Run(const std::string& key, const CommandMeta& meta, DecideEvents decide) {
  auto done =
      runtime_.Run(meta, [&](const UserDirectory& dir, const CommandMeta& m) -> Result<Decided> {
        auto decided = decide(dir, m);
        if (!decided) return Fail(decided.error());
        Decided decision{key, {}};
        if constexpr (std::is_same_v<std::decay_t<decltype(*decided)>, EventEnvelope>) {
          decision.events.push_back(std::move(*decided));
        } else {
          decision.events = std::move(*decided);
        }
        return decision;
      });
  if (!done) return Fail(done.error());
  return {};
}

Status UserService::Register(const std::string& id, const NewUser& user, const CommandMeta& meta) {
  return Run(id, meta, [&](const UserDirectory& dir, const CommandMeta& m) {
    return DecideRegisterUser(dir, id, user, m, ids_);
  });
}

Status UserService::Change(const std::string& id, const UserChange& change,
                           const CommandMeta& meta) {
  return Run(id, meta, [&](const UserDirectory& dir, const CommandMeta& m) {
    return DecideChangeUser(dir, id, change, m, ids_);
  });
}

Status UserService::StartSession(const Session& session, const CommandMeta& meta) {
  return Run(session.user_id, meta, [&](const UserDirectory& dir, const CommandMeta& m) {
    return DecideStartSession(dir, session, m, ids_);
  });
}

Status UserService::RevokeSession(const std::string& user_id, const std::string& session_id,
                                  const CommandMeta& meta) {
  return Run(
      user_id, meta,
      [&](const UserDirectory& dir, const CommandMeta& m) -> Result<std::vector<EventEnvelope>> {
        return DecideRevokeSession(dir, session_id, m, ids_);
      });
}

Status UserService::DefineRole(const RoleInfo& role, const CommandMeta& meta) {
  return Run(std::string(kAccessKey), meta, [&](const UserDirectory& dir, const CommandMeta& m) {
    return DecideDefineRole(dir, role, m, ids_);
  });
}

Status UserService::DefinePermission(const PermissionInfo& permission, const CommandMeta& meta) {
  return Run(std::string(kAccessKey), meta, [&](const UserDirectory& dir, const CommandMeta& m) {
    return DecideDefinePermission(dir, permission, m, ids_);
  });
}

}  // namespace keel

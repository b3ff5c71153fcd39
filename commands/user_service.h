// UserService: runs the commands of the users stream (users, sessions, roles, permissions)
// against the UserDirectory folded from it, on a CommandRuntime that folds a command's events
// only once the log holds them (Visibility::kAfterAppend), one command at a time: a role
// granted or a session started is never honoured by a reader before the log has it, and a
// command the log refused (or whose outcome it could not tell) never takes effect in memory.
// Expired sessions leave the directory at every fold from the log and once a minute before a
// command. Idempotency-Keys are not answered on this stream (they are recorded in the events).
//
// Thread-safety: all methods may be called from any thread; commands wait for the log.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "commands/command_runtime.h"
#include "commands/user_commands.h"
#include "domain/topics.h"
#include "domain/user.h"
#include "infra/event_log.h"

namespace keel {

class UserService final {
 public:
  UserService(EventLog& log, Clock& clock, IdGenerator& ids);
  UserService(const UserService&) = delete;
  UserService& operator=(const UserService&) = delete;

  // Folds the whole users topic into the directory.
  Status Load() { return runtime_.Load(); }

  // The decisions of user_commands.h, appended under the user's key (roles and permissions
  // under kAccessKey) and folded once durable; their errors as those functions give them.
  Status Register(const std::string& id, const NewUser& user, const CommandMeta& meta);
  Status Change(const std::string& id, const UserChange& change, const CommandMeta& meta);
  Status StartSession(const Session& session, const CommandMeta& meta);
  Status RevokeSession(const std::string& user_id, const std::string& session_id,
                       const CommandMeta& meta);
  Status DefineRole(const RoleInfo& role, const CommandMeta& meta);
  Status DefinePermission(const PermissionInfo& permission, const CommandMeta& meta);

  // f(const UserDirectory&) under a shared lock: it sees only what the log holds.
  template <typename F>
  decltype(auto) Read(F&& f) const {
    return runtime_.Read(std::forward<F>(f));
  }
  // Changes with every fold: a check made on the directory holds while it is unchanged.
  uint64_t generation() const { return runtime_.generation(); }

 private:
  // The users stream, as CommandRuntime takes it.
  struct Stream : StreamDefaults {
    using Model = UserDirectory;
    static constexpr std::string_view kTopic = kUsersTopic;
    static constexpr Visibility kVisibility = Visibility::kAfterAppend;
    void Loaded(UserDirectory& dir, Millis now) {
      dir.RepairIndexes();
      dir.PruneSessions(now);
    }
    void BeforeDecide(UserDirectory& dir, Millis now);

    Millis pruned_at = 0;  // when expired sessions last left the directory
  };
  using Runtime = CommandRuntime<Stream>;

  // Runs a decision of events (or of one event) under `key`.
  template <typename DecideEvents>
  Status Run(const std::string& key, const CommandMeta& meta, DecideEvents decide);

  IdGenerator& ids_;
  Runtime runtime_;
};

}  // namespace keel

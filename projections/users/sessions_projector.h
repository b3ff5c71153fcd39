// The sessions read model: every session the users stream started, whether it has ended
// (signed out, or all of its user's sessions revoked), and which users are disabled, as the log
// says, whoever appended it. In a serving generation also SessionStates, an in-memory view the
// authorize hook asks on every request: a session another process ended is refused here within
// a projection batch of the event, without this process's write model knowing of it.
//
// Kept: live sessions only; a user's list of sessions drops those expired by the time of the
// event that rewrites it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "domain/time.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// session id → user id \t expiresAt (ms) \t why it ended ("" while live).
inline constexpr std::string_view kSessionsTable = "sessions";
// user id → that user's sessions, "sessionId:expiresAt" separated by commas.
inline constexpr std::string_view kSessionsByUserTable = "sessions_by_user";
// user id → "" while the user is disabled.
inline constexpr std::string_view kDisabledUsersTable = "disabled_users";

// What the log says of sessions and users: the view the authorize hook reads. Loaded from the
// store once a serving generation runs (changes that arrive meanwhile are held and replayed),
// then kept current by the projection's commits. Thread-safe: reads share a lock.
class SessionStates final {
 public:
  struct Change {
    std::string session_id;  // empty: a change of the user alone
    std::string user_id;
    Millis expires_at = 0;
    std::string ended_for;              // why the session ended (kRevokedFor…); empty while live
    std::optional<bool> user_disabled;  // set by UserDisabled / UserEnabled
  };

  Status Load(ReadStore& store);
  void Apply(const std::vector<Change>& changes);
  // Why, when the log ended this session (its kRevokedFor… code) or disabled its user
  // (kRevokedForDisablement); nullopt for a session it knows no end of (this process's own
  // directory answers for the rest).
  std::optional<std::string> Ended(std::string_view session_id, std::string_view user_id) const;
  bool ready() const;

 private:
  void ApplyLocked(const Change& change);  // mu_ held exclusively

  mutable std::shared_mutex mu_;
  // Whether anything has ended: the common answer (nothing) takes no lock.
  std::atomic<bool> any_{false};
  bool ready_ = false;           // guarded by mu_
  bool loading_ = false;         // guarded by mu_
  std::vector<Change> pending_;  // guarded by mu_
  // Ended sessions (expiry, why), until they expire; guarded by mu_.
  std::unordered_map<std::string, std::pair<Millis, std::string>> ended_;
  std::unordered_set<std::string> disabled_;  // guarded by mu_
  Millis latest_ = 0;                         // the latest expiry seen; guarded by mu_
};

class SessionsProjector final : public Projector {
 public:
  explicit SessionsProjector(bool serving = false);

  std::string_view name() const override { return "sessions"; }
  std::vector<std::string_view> topics() const override { return {kUsersTopic}; }
  std::vector<std::string> tables() const override;
  Status Apply(const EventEnvelope& event, const EventPosition& position, StateView& view,
               std::vector<StoreWrite>& writes) override;
  void Discard(const std::vector<int32_t>& partitions) override;
  void Unapply(int32_t partition, int64_t offset) override;
  void Committed(const std::vector<int32_t>& partitions) override;
  Status StartViews(ReadStore& store) override;

  // The view of a serving generation; nullptr otherwise.
  const SessionStates* states() const { return states_.get(); }

 private:
  struct Staged {
    int64_t offset = 0;
    SessionStates::Change change;
  };
  std::vector<Staged>& StagedOf(int32_t partition);

  const std::unique_ptr<SessionStates> states_;
  std::mutex staged_mu_;
  // Per partition, the changes of the batch being built; guarded by staged_mu_ (the map, not
  // the vectors: a partition's is touched by the one thread folding it).
  std::unordered_map<int32_t, std::vector<Staged>> staged_;
};

}  // namespace keel

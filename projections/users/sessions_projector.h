// The sessions read model: every session of the last 24 hours that the users stream started,
// and whether and why it ended (signed out, or revoked with all of its user's sessions by a new
// password, a new role or a disablement), as the log says, whoever appended it. In a serving
// generation also SessionStates, a view the authorize hook asks on every request: a session
// another process ended is refused here once the projection has the event, even though this
// process's own directory never saw the command.
//
// Bounds: a user's list holds their sessions that have not expired; expired sessions leave it,
// and their records are deleted, whenever it is rewritten (at the user's next session event).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "domain/time.h"
#include "domain/topics.h"
#include "infra/read_store.h"
#include "projections/projector.h"

namespace keel {

// session id → user id \t expiresAt (ms) \t why it ended ("" while live).
inline constexpr std::string_view kSessionsTable = "sessions";
// user id → that user's unexpired sessions, "sessionId:expiresAt" separated by commas.
inline constexpr std::string_view kSessionsByUserTable = "sessions_by_user";

// Which sessions the log has ended. Loaded from the store once a serving generation runs
// (changes that arrive meanwhile are held and replayed), then kept current by the projection's
// commits; until it has loaded (or if its load failed) it answers from the store. Thread-safe:
// reads share a lock.
class SessionStates final {
 public:
  struct Change {
    std::string session_id;
    Millis expires_at = 0;
    std::string ended_for;  // why it ended (kRevokedFor…); empty: started
  };

  // `store`: the generation's, which it answers from until Load has succeeded.
  explicit SessionStates(ReadStore& store) : store_(store) {}

  Status Load(Millis now);
  void Apply(const std::vector<Change>& changes, Millis now);
  // Why the log ended this session (its kRevokedFor… code); nullopt when it has not (or does
  // not know it: this process's own directory answers for those). An error when the store
  // must answer and cannot.
  Result<std::optional<std::string>> Ended(std::string_view session_id) const;

 private:
  void ApplyLocked(const Change& change);  // mu_ held exclusively
  void PruneLocked(Millis now);            // mu_ held exclusively

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  ReadStore& store_;
  mutable std::shared_mutex mu_;
  std::atomic<bool> ready_{false};
  // Whether any session has ended: the common answer (none) takes no lock.
  std::atomic<bool> any_{false};
  bool loading_ = false;         // guarded by mu_
  std::vector<Change> pending_;  // guarded by mu_
  // Ended sessions: expiry and why; guarded by mu_.
  std::unordered_map<std::string, std::pair<Millis, std::string>, Hash, std::equal_to<>> ended_;
  size_t pruned_size_ = 0;  // ended_'s size after the last pruning; guarded by mu_
};

class SessionsProjector final : public Projector {
 public:
  // `serving_store`: the store of a serving generation (the view is kept), or nullptr.
  explicit SessionsProjector(ReadStore* serving_store = nullptr);

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

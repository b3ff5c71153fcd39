#include "projections/users/sessions_projector.h"

#include <algorithm>

#include "domain/numbers.h"
#include "domain/user.h"

namespace keel {
namespace {

struct SessionRecord {
  std::string user_id;
  Millis expires_at = 0;
  std::string ended_for;  // "" while live
};

std::string EncodeSessionRecord(const SessionRecord& r) {
  std::string out = r.user_id;
  out += '\t';
  out += std::to_string(r.expires_at);
  out += '\t';
  out += r.ended_for;
  return out;
}

Result<SessionRecord> DecodeSessionRecord(std::string_view v) {
  const size_t a = v.find('\t');
  const size_t b = a == std::string_view::npos ? a : v.find('\t', a + 1);
  auto expires =
      b == std::string_view::npos ? std::nullopt : ParseInt64(v.substr(a + 1, b - a - 1));
  if (!expires) return Fail(Error::Internal("Session record unreadable"));
  return SessionRecord{std::string(v.substr(0, a)), *expires, std::string(v.substr(b + 1))};
}

// "sessionId:expiresAt" pairs, comma-separated.
std::vector<std::pair<std::string, Millis>> DecodeSessionList(std::string_view v) {
  std::vector<std::pair<std::string, Millis>> out;
  while (!v.empty()) {
    const size_t comma = v.find(',');
    const std::string_view one = v.substr(0, comma);
    const size_t colon = one.rfind(':');
    if (colon != std::string_view::npos) {
      out.emplace_back(std::string(one.substr(0, colon)),
                       ParseInt64(one.substr(colon + 1)).value_or(0));
    }
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return out;
}

std::string EncodeSessionList(const std::vector<std::pair<std::string, Millis>>& list) {
  std::string out;
  for (const auto& [sid, expires] : list) {
    if (!out.empty()) out += ',';
    out += sid;
    out += ':';
    out += std::to_string(expires);
  }
  return out;
}

}  // namespace

Status SessionStates::Load(ReadStore& store) {
  {
    std::unique_lock lock(mu_);
    loading_ = true;
    pending_.clear();
  }
  std::vector<Change> loaded;
  Status bad;
  auto st = store.Scan(kSessionsTable, "", "", [&](std::string_view key, std::string_view v) {
    auto record = DecodeSessionRecord(v);
    if (!record) {
      bad = Fail(record.error());
      return false;
    }
    if (!record->ended_for.empty()) {
      loaded.push_back(
          {std::string(key), record->user_id, record->expires_at, record->ended_for, {}});
    }
    return true;
  });
  if (st && bad) {
    st = store.Scan(kDisabledUsersTable, "", "", [&](std::string_view key, std::string_view) {
      loaded.push_back({"", std::string(key), 0, "", true});
      return true;
    });
  }
  std::unique_lock lock(mu_);
  loading_ = false;
  if (!st || !bad) {
    pending_.clear();
    return !st ? st : bad;
  }
  for (const Change& c : loaded) ApplyLocked(c);
  for (const Change& c : pending_) ApplyLocked(c);
  pending_.clear();
  ready_ = true;
  return {};
}

void SessionStates::Apply(const std::vector<Change>& changes) {
  std::unique_lock lock(mu_);
  if (loading_) {
    pending_.insert(pending_.end(), changes.begin(), changes.end());
  } else if (ready_) {  // before any load, the store holds it and the load will read it
    for (const Change& c : changes) ApplyLocked(c);
  }
}

void SessionStates::ApplyLocked(const Change& c) {
  if (c.user_disabled) {
    if (*c.user_disabled) {
      disabled_.insert(c.user_id);
    } else {
      disabled_.erase(c.user_id);
    }
  }
  if (c.session_id.empty()) {
    if (!disabled_.empty()) any_.store(true, std::memory_order_release);
    return;
  }
  latest_ = std::max(latest_, c.expires_at);
  if (c.ended_for.empty()) return;
  ended_[c.session_id] = {c.expires_at, c.ended_for};
  any_.store(true, std::memory_order_release);
  // Sessions that expired are refused anyway: forget them once the table has doubled. The
  // latest expiry seen is about now plus a session's lifetime.
  if (ended_.size() >= 1024 && ended_.size() % 1024 == 0) {
    std::erase_if(ended_,
                  [&](const auto& e) { return e.second.first < latest_ - kSessionLifetime; });
  }
}

std::optional<std::string> SessionStates::Ended(std::string_view session_id,
                                                std::string_view user_id) const {
  if (!any_.load(std::memory_order_acquire)) return std::nullopt;
  std::shared_lock lock(mu_);
  if (auto it = ended_.find(std::string(session_id)); it != ended_.end()) return it->second.second;
  if (disabled_.contains(std::string(user_id))) return std::string(kRevokedForDisablement);
  return std::nullopt;
}

bool SessionStates::ready() const {
  std::shared_lock lock(mu_);
  return ready_;
}

SessionsProjector::SessionsProjector(bool serving)
    : states_(serving ? std::make_unique<SessionStates>() : nullptr) {}

std::vector<std::string> SessionsProjector::tables() const {
  return {std::string(kSessionsTable), std::string(kSessionsByUserTable),
          std::string(kDisabledUsersTable)};
}

std::vector<SessionsProjector::Staged>& SessionsProjector::StagedOf(int32_t partition) {
  std::lock_guard lock(staged_mu_);
  return staged_[partition];  // references stay valid as the map grows
}

Status SessionsProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kUserAggregate) return {};  // role and permission definitions
  const std::string& user = event.aggregate_id;
  std::vector<SessionStates::Change> changes;
  if (event.type == kUserDisabled || event.type == kUserEnabled) {
    const bool disabled = event.type == kUserDisabled;
    writes.push_back(
        {kDisabledUsersTable, user, disabled ? std::optional<std::string>("") : std::nullopt});
    changes.push_back({"", user, 0, "", disabled});
  } else if (event.type == kSessionStarted || event.type == kSessionRevoked ||
             event.type == kUserSessionsRevoked) {
    auto change = DecodeSessionChange(event);
    if (!change) return Fail(change.error());
    auto stored_list = view.Get(kSessionsByUserTable, user);
    if (!stored_list) return Fail(stored_list.error());
    auto list = DecodeSessionList(stored_list->value_or(""));
    // Expired sessions leave the user's list as it is rewritten (their records stay: a session
    // is refused once expired whatever they say).
    std::erase_if(list, [&](const auto& s) { return s.second < event.occurred_at; });
    auto end = [&](const std::string& sid, const std::string& why) -> Status {
      auto stored = view.Get(kSessionsTable, sid);
      if (!stored) return Fail(stored.error());
      if (!*stored) return {};
      auto record = DecodeSessionRecord(**stored);
      if (!record) return Fail(record.error());
      if (record->user_id != user || !record->ended_for.empty()) return {};
      record->ended_for = why;
      writes.push_back({kSessionsTable, sid, EncodeSessionRecord(*record)});
      changes.push_back({sid, user, record->expires_at, why, {}});
      return {};
    };
    if (event.type == kSessionStarted) {
      writes.push_back({kSessionsTable, change->session_id,
                        EncodeSessionRecord({user, change->expires_at, ""})});
      list.emplace_back(change->session_id, change->expires_at);
      changes.push_back({change->session_id, user, change->expires_at, "", {}});
    } else if (event.type == kSessionRevoked) {
      if (auto st = end(change->session_id, change->reason); !st) return st;
    } else {
      for (const auto& [sid, expires] : list) {
        if (sid == change->kept_session_id) continue;
        if (auto st = end(sid, change->reason); !st) return st;
      }
    }
    writes.push_back({kSessionsByUserTable, user, EncodeSessionList(list)});
  } else {
    return {};
  }
  if (states_) {
    auto& staged = StagedOf(position.partition);
    for (auto& c : changes) staged.push_back({position.offset, std::move(c)});
  }
  return {};
}

void SessionsProjector::Discard(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) StagedOf(p).clear();
}

void SessionsProjector::Unapply(int32_t partition, int64_t offset) {
  auto& staged = StagedOf(partition);
  while (!staged.empty() && staged.back().offset == offset) staged.pop_back();
}

void SessionsProjector::Committed(const std::vector<int32_t>& partitions) {
  for (int32_t p : partitions) {
    auto& staged = StagedOf(p);
    if (states_ && !staged.empty()) {
      std::vector<SessionStates::Change> changes;
      changes.reserve(staged.size());
      for (auto& s : staged) changes.push_back(std::move(s.change));
      states_->Apply(changes);
    }
    staged.clear();
  }
}

Status SessionsProjector::StartViews(ReadStore& store) {
  return states_ ? states_->Load(store) : Status{};
}

}  // namespace keel

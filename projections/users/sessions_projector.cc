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

Status SessionStates::Load(Millis now) {
  {
    std::unique_lock lock(mu_);
    loading_ = true;
    pending_.clear();
  }
  std::vector<Change> loaded;
  Status bad;
  auto st = store_.Scan(kSessionsTable, "", "", [&](std::string_view key, std::string_view v) {
    auto record = DecodeSessionRecord(v);
    if (!record) {
      bad = Fail(record.error());
      return false;
    }
    if (!record->ended_for.empty() && record->expires_at >= now) {
      loaded.push_back({std::string(key), record->expires_at, record->ended_for});
    }
    return true;
  });
  std::unique_lock lock(mu_);
  loading_ = false;
  if (!st || !bad) {
    pending_.clear();  // the store answers meanwhile, and has them
    return !st ? st : bad;
  }
  for (const Change& c : loaded) ApplyLocked(c);
  for (const Change& c : pending_) ApplyLocked(c);
  pending_.clear();
  PruneLocked(now);
  ready_ = true;
  return {};
}

void SessionStates::Apply(const std::vector<Change>& changes, Millis now) {
  std::unique_lock lock(mu_);
  if (loading_) {
    pending_.insert(pending_.end(), changes.begin(), changes.end());
  } else if (ready_) {  // before a load, the store answers and the load will read it
    for (const Change& c : changes) ApplyLocked(c);
    // Expired sessions are refused anyway: forget them once the table has doubled.
    if (ended_.size() >= 1024 && ended_.size() >= 2 * pruned_size_) PruneLocked(now);
  }
}

void SessionStates::ApplyLocked(const Change& c) {
  if (c.ended_for.empty()) return;
  ended_.insert_or_assign(c.session_id, std::pair{c.expires_at, c.ended_for});
  any_.store(true, std::memory_order_release);
}

void SessionStates::PruneLocked(Millis now) {
  std::erase_if(ended_, [&](const auto& e) { return e.second.first < now; });
  pruned_size_ = ended_.size();
}

Result<std::optional<std::string>> SessionStates::Ended(std::string_view session_id) const {
  if (ready_.load(std::memory_order_acquire)) {
    if (!any_.load(std::memory_order_acquire)) return std::nullopt;
    std::shared_lock lock(mu_);
    if (auto it = ended_.find(session_id); it != ended_.end()) return it->second.second;
    return std::nullopt;
  }
  auto stored = store_.Get(kSessionsTable, session_id);
  if (!stored) return Fail(stored.error());
  if (!*stored) return std::nullopt;
  auto record = DecodeSessionRecord(**stored);
  if (!record) return Fail(record.error());
  if (record->ended_for.empty()) return std::nullopt;
  return std::optional<std::string>(record->ended_for);
}

SessionsProjector::SessionsProjector(ReadStore* serving_store)
    : states_(serving_store ? std::make_unique<SessionStates>(*serving_store) : nullptr) {}

std::vector<std::string> SessionsProjector::tables() const {
  return {std::string(kSessionsTable), std::string(kSessionsByUserTable)};
}

std::vector<SessionsProjector::Staged>& SessionsProjector::StagedOf(int32_t partition) {
  std::lock_guard lock(staged_mu_);
  return staged_[partition];  // references stay valid as the map grows
}

Status SessionsProjector::Apply(const EventEnvelope& event, const EventPosition& position,
                                StateView& view, std::vector<StoreWrite>& writes) {
  if (event.aggregate_type != kUserAggregate) return {};  // role and permission definitions
  const bool started = event.type == kSessionStarted;
  const bool signed_out = event.type == kSessionRevoked;
  const bool revoked_all = event.type == kUserSessionsRevoked;
  // A disablement ends every session of the user as well (the directory that decided it may
  // not have known them all: another process may have started some).
  const bool disabled = event.type == kUserDisabled;
  if (!started && !signed_out && !revoked_all && !disabled) return {};
  const std::string& user = event.aggregate_id;
  SessionChange change;
  if (disabled) {
    change.reason = kRevokedForDisablement;
  } else {
    auto decoded = DecodeSessionChange(event);
    if (!decoded) return Fail(decoded.error());
    change = std::move(*decoded);
  }
  auto stored_list = view.Get(kSessionsByUserTable, user);
  if (!stored_list) return Fail(stored_list.error());
  auto list = DecodeSessionList(stored_list->value_or(""));
  // Expired sessions leave the list, and their records go: they are refused whatever they say.
  std::erase_if(list, [&](const auto& s) {
    if (s.second >= event.occurred_at) return false;
    writes.push_back({kSessionsTable, s.first, std::nullopt});
    return true;
  });
  std::vector<SessionStates::Change> changes;
  auto end = [&](const std::string& sid) -> Status {
    auto stored = view.Get(kSessionsTable, sid);
    if (!stored) return Fail(stored.error());
    if (!*stored) return {};
    auto record = DecodeSessionRecord(**stored);
    if (!record) return Fail(record.error());
    if (record->user_id != user || !record->ended_for.empty()) return {};
    record->ended_for = change.reason;
    writes.push_back({kSessionsTable, sid, EncodeSessionRecord(*record)});
    changes.push_back({sid, record->expires_at, change.reason});
    return {};
  };
  if (started) {
    writes.push_back(
        {kSessionsTable, change.session_id, EncodeSessionRecord({user, change.expires_at, ""})});
    list.emplace_back(change.session_id, change.expires_at);
  } else if (signed_out) {
    if (auto st = end(change.session_id); !st) return st;
  } else {
    for (const auto& [sid, expires] : list) {
      if (sid == change.kept_session_id) continue;
      if (auto st = end(sid); !st) return st;
    }
  }
  writes.push_back({kSessionsByUserTable, user, EncodeSessionList(list)});
  if (states_ && !changes.empty()) {
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
      states_->Apply(changes, SystemClock().NowMillis());
    }
    staged.clear();
  }
}

Status SessionsProjector::StartViews(ReadStore&) {
  return states_ ? states_->Load(SystemClock().NowMillis()) : Status{};
}

}  // namespace keel
